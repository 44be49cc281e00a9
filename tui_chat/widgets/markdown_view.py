"""Markdown that streams: finished blocks are rendered once, only the tail is live.

``MarkdownLines`` holds rendered lines of one or more finished pieces of Markdown and
paints them with the line API (no child widgets, no re-parsing). ``StreamingMarkdown``
pairs one for the finished blocks with one for the growing tail, and coalesces incoming
text so the tail is re-rendered at most every ``interval`` seconds, however fast the
text arrives. The cost of an update depends on the size of the tail, never on the
length of the reply.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical
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


class MarkdownLines(Widget):
    """Finished Markdown, rendered once per width and theme and painted line by line."""

    DEFAULT_CSS = """
    MarkdownLines { height: auto; }
    """

    def __init__(self, source: str = "", *, name: str | None = None, id: str | None = None,
                 classes: str | None = None, leading_blank: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._pieces: list[Piece] = split_all(source) if source else []
        self.leading_blank = leading_blank
        self._lines: list[Strip] = []
        self._width = 0
        self._style: MarkdownStyle | None = None
        self._painted: dict[int, Strip] = {}
        self._base_style: Style | None = None
        self._frame_style: Style | None = None

    # --- content ---------------------------------------------------------------------

    @property
    def source(self) -> str:
        return "".join(piece.source for piece in self._pieces)

    @property
    def is_empty(self) -> bool:
        return not self._pieces

    def add_pieces(self, pieces: Iterable[Piece]) -> None:
        """Append finished pieces: only they are rendered, the rest is kept."""
        added = False
        for piece in pieces:
            if self._width and self._style is not None:
                self._lines.extend(self._render_piece(piece, len(self._pieces)))
            self._pieces.append(piece)
            added = True
        if added:
            self.refresh(layout=True)

    def set_source(self, source: str, *, leading_blank: bool | None = None, split: bool = False) -> None:
        """Replace everything with ``source`` (one piece, or its blocks with ``split``)."""
        if leading_blank is not None:
            self.leading_blank = leading_blank
        if split:
            self._pieces = split_all(source)
        else:
            self._pieces = [Piece(source)] if source else []
        self._width = 0
        self._painted.clear()
        self.refresh(layout=True)

    def clear(self) -> None:
        self.set_source("")

    def plain_text(self) -> str:
        return "\n".join(strip.text.rstrip() for strip in self._lines)

    # --- rendering -------------------------------------------------------------------

    def _render_piece(self, piece: Piece, index: int) -> list[Strip]:
        from .md_render import render_strips

        assert self._style is not None
        strips = _trim(render_strips(piece.source, self._width, self._style))
        if (index > 0 or self.leading_blank) and not piece.joined:
            strips.insert(0, Strip.blank(self._width))
        return strips

    def _ensure_rendered(self, width: int) -> None:
        style = markdown_style(self)
        if width == self._width and style == self._style:
            return
        self._width, self._style = width, style
        self._painted.clear()
        lines: list[Strip] = []
        if width > 0:
            for index, piece in enumerate(self._pieces):
                lines.extend(self._render_piece(piece, index))
        self._lines = lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure_rendered(width)
        return len(self._lines)

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
        if base is not self._base_style:
            self._base_style = base
            self._painted.clear()
        selection = self.text_selection
        if selection is None:
            cached = self._painted.get(y)
            if cached is not None:
                return cached
        if y >= len(self._lines):
            return Strip.blank(width, base)
        strip = self._lines[y].apply_style(base)
        if selection is not None:
            strip = _highlight(strip, selection.get_span(y), self.screen.get_component_rich_style("screen--selection"))
        strip = strip.apply_offsets(0, y)
        if selection is None:
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


class StreamingMarkdown(Vertical):
    """A reply that grows: ``append`` text as it arrives, ``finish`` when it ends."""

    DEFAULT_CSS = """
    StreamingMarkdown { height: auto; }
    StreamingMarkdown > .-tail { height: auto; }
    """

    #: Seconds between re-renders of the tail while text streams in.
    interval: float = float(__import__("os").environ.get("TUI_CHAT_STREAM_INTERVAL", "0.06"))

    def __init__(self, source: str = "", *, streaming: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._splitter = BlockSplitter()
        self._pending: list[str] = []
        self._text: list[str] = []
        self._last_flush = 0.0
        self._timer_armed = False
        self.streaming = streaming
        self._done = MarkdownLines(source if not streaming else "", classes="-done")
        self._tail = MarkdownLines(classes="-tail")
        if streaming and source:
            self._pending.append(source)
        if source and not streaming:
            self._text.append(source)

    def compose(self) -> ComposeResult:
        yield self._done
        yield self._tail

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
        pieces = self._splitter.feed(text)
        if pieces:
            self._done.add_pieces(pieces)
        tail = self._splitter.tail
        self._tail.set_source(tail if tail.strip() else "",
                              leading_blank=not self._done.is_empty and not self._splitter.tail_is_continuation)

    def finish(self) -> None:
        """The reply is over: render the rest as finished blocks."""
        self.flush()
        pieces = self._splitter.finish()
        if pieces:
            self._done.add_pieces(pieces)
        self._tail.clear()
        self.streaming = False

    def set_text(self, text: str) -> None:
        """Show a whole (stored) reply."""
        self._splitter = BlockSplitter()
        self._pending.clear()
        self._text = [text]
        self._done.set_source(text, split=True)
        self._tail.clear()
