"""How the chat screen paints: only the rows an update touches, and no full garbage
collection while an answer streams."""

from __future__ import annotations

import functools
import gc

import pytest
from textual._compositor import Compositor
from textual.geometry import Region

from tests.fakes.provider_server import Scenario
from tests.tui.helpers import answer_streaming, send, settle, started
from tui_chat.screens.compositor import RowCroppingCompositor


def _terminal_bytes(app, compositor: Compositor, regions: list[Region]) -> str:
    """What a partial update of ``regions`` writes to the terminal."""
    compositor._dirty_regions.update(regions)
    update = compositor.render_partial_update()
    assert update is not None
    return update.render_segments(app.console)


async def test_row_cropping_writes_what_the_stock_compositor_writes(make_tui, provider):
    """Updates of a few rows (the streaming tail), a status line, a region across the
    sidebar and the conversation, a whole column and the whole screen: the cropping
    compositor asks far fewer widgets for far fewer lines, and the terminal receives
    exactly the same bytes."""
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
        assert gc.get_threshold() == thresholds
