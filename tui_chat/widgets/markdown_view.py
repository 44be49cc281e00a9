"""Markdown that streams: finished blocks are rendered once, only the tail is live.

``StreamingMarkdown`` is one widget painted with the line API (no child widget per
block, nothing re-parsed): the lines of the finished blocks, then the lines of the
growing tail. Incoming text is coalesced, so the tail is re-rendered at most every
``interval`` seconds however fast the text arrives, and only the screen rows that
actually changed are painted again. While the reply streams, its height grows in steps
of ``reserve`` lines (blank room under the text): a change of height scrolls the whole
conversation and repaints the screen, so it happens once per step, not once per line,
and a little before the text needs the room, halfway between two re-renders of the
tail, so that its cost never holds back the text.

The cost of an update depends on the size of the tail, never on the length of the reply.
"""

from __future__ import annotations

import time

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from .markdown_blocks import BlockSplitter, Piece, split_all
from .md_style import MarkdownStyle

DEFAULT_STYLE = MarkdownStyle()


def markdown_style(widget: Widget) -> MarkdownStyle:
    """The theme-derived style the app provides (a default outside a ChatApp)."""
    return getattr(widget.app, "markdown_style", DEFAULT_STYLE)


class GrowsInPlace:
    """For a widget whose lines never depend on its height (no top or bottom border or
    padding, laid out from the top): a layout that changes only its height keeps the
    lines already styled, and does not ask for a second layout (the pass that resized it
    has repainted whatever moved). Textual would restyle every visible line: about
    15 ms for a streaming answer's growth step."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        current: Size = self._size  # type: ignore[attr-defined]
        if current and size.width == current.width:
            self._size = size  # only the height changed: keep the styled lines
        return super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]


class StreamingMarkdown(GrowsInPlace, Widget):
    """A reply: ``append`` text as it arrives and ``finish`` when it ends, or give the
    whole text to the constructor (or ``set_text``) for a stored reply."""

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; }
    """

    #: Seconds between re-renders of the tail while text streams in.
    interval: float = 0.075
    #: Lines of room added at a time while streaming.
    reserve: int = 20
    #: Add the next room once the text is this close to the end of the room, between
    #: two re-renders of the tail: the whole-screen layout and repaint a change of height
    #: costs then never delays a frame of text.
    grow_ahead: int = 4

    def __init__(self, source: str = "", *, streaming: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.streaming = streaming
        self._splitter = BlockSplitter()
        self._pending: list[str] = []
        self._text: list[str] = []
        self._pieces: list[Piece] = []
        self._last_flush = 0.0
        self._timer_armed = False
        self._grow_armed = False
        # Rendered at (_width, _style): finished pieces, then the tail.
        self._done: list[Strip] = []
        self._tail: list[Strip] = []
        self._width = 0
        self._style: MarkdownStyle | None = None
        self._reserved = 0
        self._painted: dict[int, Strip] = {}
        self._base_style: Style | None = None
        self._frame_style: Style | None = None
        if source:
            if streaming:
                self._pending.append(source)
            else:
                self._text.append(source)
                self._pieces = split_all(source)

    # --- text ----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """Everything received so far (including what is not rendered yet)."""
        return "".join(self._text) + "".join(self._pending)

    def append(self, text: str) -> None:
        if not text:
            return
        self._pending.append(text)
        now = time.monotonic()
        if now - self._last_flush >= self.interval:
            self.flush()
        elif not self._timer_armed:
            self._timer_armed = True
            self.set_timer(self.interval - (now - self._last_flush), self._timer_flush)

    def _timer_flush(self) -> None:
        self._timer_armed = False
        if self._pending:
            self.flush()

    def flush(self) -> None:
        """Render what has arrived: finish blocks that are complete, redraw the tail."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._text.append(text)
        self._update(self._splitter.feed(text))

    def finish(self) -> None:
        """The reply is over: render the rest as finished blocks."""
        self.flush()
        reserved = self._height()
        self.streaming = False
        self._reserved = 0
        self._update(self._splitter.finish())
        self._painted.clear()  # kept only while streaming: Textual keeps the lines it styled
        if self._height() != reserved:  # give back the room kept for more text
            self.refresh(layout=True)

    def set_text(self, text: str) -> None:
        """Show a whole (stored) reply."""
        self._splitter = BlockSplitter()
        self._pending.clear()
        self._text = [text]
        self._pieces = split_all(text)
        self._reserved = 0
        self._invalidate()

    def plain_text(self) -> str:
        return "\n".join(strip.text.rstrip() for strip in self._done + self._tail)

    # --- rendering -----------------------------------------------------------------------

    @property
    def _rendered(self) -> bool:
        return bool(self._width) and self._style is markdown_style(self)

    def _invalidate(self) -> None:
        self._width = 0
        self._painted.clear()
        self.refresh(layout=True)

    def _height(self) -> int:
        lines = len(self._done) + len(self._tail)
        return max(lines, self._reserved) if self.streaming else lines

    def _render_piece(self, piece: Piece, index: int) -> list[Strip]:
        from .md_render import render_strips

        assert self._style is not None
        strips = _trim(render_strips(piece.source, self._width, self._style))
        if index > 0 and not piece.joined and strips:
            strips.insert(0, Strip.blank(self._width))
        return strips

    def _render_tail(self) -> list[Strip]:
        tail = self._splitter.tail
        if not tail.strip():
            return []
        index = len(self._pieces) if not self._splitter.tail_is_continuation else 0
        return self._render_piece(Piece(tail, joined=self._splitter.tail_is_continuation), index)

    def _update(self, pieces: list[Piece]) -> None:
        """Add finished ``pieces``; re-render the tail; paint only what changed."""
        if not self._rendered:
            self._pieces.extend(pieces)
            self._invalidate()
            return
        height = self._height()
        start = len(self._done)
        before = self._tail
        for piece in pieces:
            self._done.extend(self._render_piece(piece, len(self._pieces)))
            self._pieces.append(piece)
        self._tail = self._render_tail()
        lines = len(self._done) + len(self._tail)
        if self.streaming:
            if lines > self._reserved:
                self._reserved = lines + self.reserve
            elif lines > self._reserved - self.grow_ahead and not self._grow_armed:
                self._grow_armed = True
                self.set_timer(self.interval / 2, self._grow)
        after = self._done[start:] + self._tail
        span = max(len(before), len(after))
        changed = [y for y in range(span)
                   if (before[y] if y < len(before) else None) != (after[y] if y < len(after) else None)]
        for y in changed:
            self._painted.pop(start + y, None)
        dirty = [Region(0, start + changed[0], self._width, changed[-1] - changed[0] + 1)] if changed else []
        if self._height() != height:
            self._resize(*dirty)
        elif dirty:
            self.refresh(*dirty)

    def _grow(self) -> None:
        """Add room before the text needs it (see ``grow_ahead``)."""
        self._grow_armed = False
        lines = len(self._done) + len(self._tail)
        if self.streaming and self._rendered and lines > self._reserved - self.grow_ahead:
            self._reserved = lines + self.reserve
            self._resize()

    def _resize(self, *changed: Region) -> None:
        """Lay out again for a new height. The lines above keep their place in the widget,
        so only the ``changed`` ones are painted again (see ``GrowsInPlace``)."""
        if changed:
            self.refresh(*changed, layout=True)
        else:
            self.clear_cached_dimensions()
            self.refresh(repaint=False, layout=True)

    def _ensure_rendered(self, width: int) -> None:
        style = markdown_style(self)
        if width == self._width and style is self._style:
            return
        self._width, self._style = width, style
        self._painted.clear()
        self._done, self._tail = [], []
        if width > 0:
            for index, piece in enumerate(self._pieces):
                self._done.extend(self._render_piece(piece, index))
            self._tail = self._render_tail()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure_rendered(width)
        return self._height()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._painted.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        # The base style walks every ancestor: work it out once per paint, not per line.
        self._frame_style = self.rich_style
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._ensure_rendered(width)
        base = self._frame_style if self._frame_style is not None else self.rich_style
        if base != self._base_style:
            self._base_style = base
            self._painted.clear()
        selection = self.text_selection
        if selection is None:
            cached = self._painted.get(y)
            if cached is not None:
                return cached
        done = len(self._done)
        if y < done:
            line = self._done[y]
        elif y - done < len(self._tail):
            line = self._tail[y - done]
        else:
            return Strip.blank(width, base)
        strip = line.apply_style(base)
        if selection is not None:
            strip = _highlight(strip, selection.get_span(y), self.screen.get_component_rich_style("screen--selection"))
        strip = strip.apply_offsets(0, y)
        if selection is None and self.streaming:
            self._painted[y] = strip
        return strip

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract(self.plain_text()), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._painted.clear()
        self.refresh()


def _is_blank(strip: Strip) -> bool:
    return not strip.text.strip() and not any(seg.style and seg.style.bgcolor for seg in strip)


def _trim(strips: list[Strip]) -> list[Strip]:
    """Without blank lines at either end: pieces are spaced evenly by the caller."""
    start, end = 0, len(strips)
    while start < end and _is_blank(strips[start]):
        start += 1
    while end > start and _is_blank(strips[end - 1]):
        end -= 1
    return strips[start:end]


def _highlight(strip: Strip, span: tuple[int, int] | None, style: Style) -> Strip:
    if span is None:
        return strip
    start, end = span
    length = strip.cell_length
    end = length if end == -1 else min(end, length)
    if start >= end:
        return strip
    before, middle, after = strip.divide([start, end, length])[:3]
    middle = Strip(Segment.apply_style(middle, post_style=style), middle.cell_length)
    return Strip.join([before, middle, after])
