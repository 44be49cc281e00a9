"""How the chat screen paints: only the rows an update touches, room for a growing
answer added between frames of text, and no full garbage collection while it streams."""

from __future__ import annotations

import functools
import gc
import re

import pytest
from textual._compositor import Compositor
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region

from tests.fakes.provider_server import Scenario
from tests.tui.helpers import answer_streaming, send, settle, started
from tui_chat.app import COLLECT_AFTER
from tui_chat.screens.compositor import RowCroppingCompositor
from tui_chat.widgets.markdown_view import StreamingMarkdown
from tui_chat.widgets.message import MessageData, MessageView


_IDLE_MOVE = re.compile(r"\x1b\[\d+;\d+H(?=\n|\x1b\[\d+;\d+H|$)")


def _terminal_bytes(app, compositor: Compositor, regions: list[Region]) -> str:
    """What a partial update of ``regions`` writes to the terminal, without the cursor
    moves that write nothing (the stock compositor moves to the edge of a widget that
    lies just past the update, and writes none of its cells)."""
    compositor._dirty_regions.update(regions)
    update = compositor.render_partial_update()
    assert update is not None
    return _IDLE_MOVE.sub("", update.render_segments(app.console))


async def test_row_cropping_writes_what_the_stock_compositor_writes(make_tui, provider):
    """Updates of a few rows (the streaming tail), a status line, a region across the
    sidebar and the conversation, a whole column, the whole screen and rows of the answer
    itself: the cropping compositor asks far fewer widgets for far fewer lines (none of
    those hidden behind the answer), and the terminal receives exactly the same bytes."""
    answer = ("# Notes\n\n" + "Some **bold** text and `code` in a paragraph that wraps. " * 6
              + "\n\n```python\nfor i in range(3):\n    print(i)\n```\n\n- one\n- two\n")
    provider.queue(Scenario(text=answer))
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await send(pilot, "Write notes")
        await settle(pilot)
        compositor = app.screen._compositor
        assert isinstance(compositor, RowCroppingCompositor)
        width, height = app.size
        cases = [
            [Region(40, 20, 60, 1)],
            [Region(40, 12, 70, 3), Region(50, 30, 10, 2)],
            [Region(0, height - 2, width, 1)],
            [Region(10, 5, 60, 4)],
            [Region(0, 0, 30, height)],
            [Region(0, 0, width, height - 1)],
        ]
        body = app.screen.chat.message_views[-1].query_one(StreamingMarkdown).region
        tail = Region(body.x, body.y + 2, body.width, 3)  # rows of the answer, as it refreshes them
        cases.append([tail])
        original = Compositor._get_renders
        for regions in cases:
            cropped = _terminal_bytes(app, compositor, regions)
            compositor._get_renders = functools.partial(original, compositor)
            try:
                expected = _terminal_bytes(app, compositor, regions)
            finally:
                del compositor._get_renders
            assert cropped == expected, regions
        # One changed line of the answer: a few lines are painted, not every row of
        # every widget beside it.
        line = Region(40, 20, 60, 1)
        cropped_lines = sum(len(strips) for _, _, strips in compositor._get_renders(line))
        stock_lines = sum(len(strips) for _, _, strips in original(compositor, line))
        assert cropped_lines <= 6 < stock_lines
        # Rows of the answer: the message and the conversation behind it are not asked.
        assert [len(strips) for _, _, strips in compositor._get_renders(tail)] == [3]


@pytest.mark.parametrize("ending", ["finished", "cancelled"])
async def test_no_full_collection_while_an_answer_streams(make_tui, provider, ending):
    provider.queue(Scenario(text="word " * 60 if ending == "finished" else "word " * 400, delay=0.01))
    app = make_tui()
    thresholds = gc.get_threshold()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        view = await answer_streaming(pilot, "Talk", "word")
        assert app.full_collections.held
        assert gc.get_threshold()[:2] == thresholds[:2]
        assert gc.get_threshold()[2] > 10_000
        if ending == "cancelled":
            await pilot.press("escape")
        await settle(pilot)
        assert view.data.status == ("done" if ending == "finished" else "cancelled")
        assert not app.full_collections.held
        await pilot.pause(COLLECT_AFTER + 0.2)  # the put-off collection has run
        assert gc.get_threshold() == thresholds


async def test_room_for_more_text_is_added_between_frames_of_text():
    """A streaming answer adds room before the text reaches the end of what it has,
    on its own timer, not in the frame that paints new text."""
    class One(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield StreamingMarkdown(streaming=True)

    app = One()
    async with app.run_test(size=(80, 30)) as pilot:
        body = app.query_one(StreamingMarkdown)
        body.append("first line\n\n")
        body.flush()
        await pilot.pause()
        room = body._reserved
        assert room == len(body.plain_text().splitlines()) + body.reserve
        # Text up to just inside the last few lines of the room: no growth in that frame.
        paragraphs = "\n\n".join(f"paragraph {i}" for i in range(room // 2 - 1))
        body.append(paragraphs + "\n\n")
        body.flush()
        lines = len(body._done) + len(body._tail)
        assert room - body.grow_ahead < lines <= room
        assert body._reserved == room
        # Half a frame later the room has grown, with no new text.
        await pilot.pause(body.interval)
        assert body._reserved == lines + body.reserve
        await pilot.pause()
        assert body.size.height == body._reserved
        body.finish()
        await pilot.pause()
        assert body.size.height == len(body.plain_text().splitlines())


async def test_a_growth_step_keeps_the_lines_already_styled():
    """Room added under a streaming answer changes only heights: the message and its
    text keep the lines Textual has already styled (only the new rows are styled), and
    the screen shows exactly what styling everything again would show."""
    class One(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll():
                yield MessageView(MessageData(None, "assistant", model="m"), streaming=True)

    app = One()
    async with app.run_test(size=(80, 30)) as pilot:
        view = app.query_one(MessageView)
        body = view.query_one(StreamingMarkdown)
        body.append("\n\n".join(f"paragraph {i} with **bold** text" for i in range(6)) + "\n\n")
        body.flush()
        await pilot.pause()
        room = body._reserved
        # The message's rows, and the rows of text that no new text can change.
        styled = {view: dict(view._styles_cache._cache),
                  body: {y: strip for y, strip in body._styles_cache._cache.items() if y < len(body._done)}}
        assert all(styled.values())
        body.append("\n\n".join(f"more {i}" for i in range(room // 2)) + "\n\n")
        body.flush()
        await pilot.pause(body.interval)
        await pilot.pause()
        assert body._reserved > room and body.size.height == body._reserved
        for widget, lines in styled.items():
            kept = widget._styles_cache._cache
            assert all(kept.get(y) is strip for y, strip in lines.items()), widget

        def screen_bytes() -> str:
            update = app.screen._compositor.render_full_update()
            return update.render_segments(app.console)

        shown = screen_bytes()
        for widget in app.screen.walk_children(with_self=True):
            widget._styles_cache.clear()
        body._painted.clear()
        assert screen_bytes() == shown


async def test_the_prompt_cursor_is_steady_while_an_answer_streams(make_tui, provider):
    """Each blink of the prompt's cursor repaints the prompt: it does not blink while an
    answer streams, and blinks again afterwards."""
    provider.queue(Scenario(text="word " * 60, delay=0.01))
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        prompt = app.screen.prompt
        assert prompt.cursor_blink
        await answer_streaming(pilot, "Talk", "word")
        assert not prompt.cursor_blink
        assert prompt._cursor_visible
        await settle(pilot)
        assert prompt.cursor_blink


async def test_an_answer_that_outgrows_the_screen_keeps_its_width(make_tui, provider, monkeypatch):
    """The conversation keeps room for its scrollbar from the start: when an answer grows
    past the bottom of the screen and the scrollbar shows, its text is not wrapped and
    rendered again at a new width (every finished block is rendered once)."""
    paragraphs = [f"Paragraph {n}: " + "some words that fill a line " * 5 for n in range(30)]
    provider.queue(Scenario(text="\n\n".join(paragraphs), delay=0.005))
    widths: list[int] = []  # each time the whole answer is rendered (again)
    original = StreamingMarkdown._ensure_rendered

    def recording(self, width):
        if width and (width != self._width or self._style is None):
            widths.append(width)
        return original(self, width)

    monkeypatch.setattr(StreamingMarkdown, "_ensure_rendered", recording)
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        view = await answer_streaming(pilot, "Write", "Paragraph 1:")
        body = view.query_one(StreamingMarkdown)
        width = body.size.width
        await settle(pilot)
        chat = app.screen.chat
        assert chat.max_scroll_y > 0  # it outgrew the screen
        assert body.size.width == width
        assert widths == [width]
