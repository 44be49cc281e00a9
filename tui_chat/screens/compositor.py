"""A compositor that paints only the rows an update touches.

Textual's compositor, for a partial update (a few changed lines of a streaming answer),
asks every widget that overlaps the update for *all* of its lines when the widget is
not clipped: the screen, the sidebar, the conversation, the prompt and the status line
each hand over every row they cover, then all but the changed rows are thrown away.
An answer streaming in makes such an update ten or more times a second.

:class:`RowCroppingCompositor` skips the widgets that lie beside the update (none of
their cells is written) and those hidden there by a widget in front (the conversation
and the message around a streaming answer), and asks the others only for the rows
being updated, across their whole width: a line is cut into pieces at widget edges, so a row must be rendered
whole to be cut the same way. The terminal receives exactly the same bytes (tested
against the stock compositor). A full update (a resize, a layout) is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip


class RowCroppingCompositor(Compositor):
    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None or crop.height >= self.size.height:
            yield from super()._get_renders(crop)
            return
        rows = Region(0, crop.y, self.size.width, crop.height)
        in_front: list[Region] = []
        for widget, (region, clip) in self.visible_widgets.items():  # front to back
            visible = region.intersection(clip)
            if not crop.overlaps(visible):
                continue  # e.g. the sidebar, beside a changed line of the conversation
            if any(front.contains_region(visible.intersection(crop)) for front in in_front):
                continue  # e.g. the conversation behind the answer: none of its cells would show
            in_front.append(visible)
            clip = clip.intersection(rows)
            x, y, width, height = region.intersection(clip)
            if width and height:
                yield region, clip, widget.render_lines(Region(x - region.x, y - region.y, width, height))


def crop_repaints_to_rows(screen: Screen) -> None:
    """Give ``screen`` the row-cropping compositor (before it is first laid out)."""
    screen._compositor = RowCroppingCompositor()
