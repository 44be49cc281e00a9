"""``batched_reads``: after waiting on the network for an event, wait a little longer, so
that a paced answer is read in batches instead of one wake-up per token."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tui_chat.engine.turn import batched_reads


class Source:
    """Events that are either ready at once or arrive after a network-like wait; it
    records when the consumer asked for each one and whether it was closed."""

    def __init__(self, events: list[tuple[str, float]]) -> None:
        self.events = events
        self.asked: list[float] = []
        self.closed = False

    async def __call__(self) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        try:
            for value, wait in self.events:
                self.asked.append(loop.time())
                if wait:
                    await asyncio.sleep(wait)
                yield value
        finally:
            self.closed = True


async def _consume(source: Source, window: float) -> tuple[list[str], list[float]]:
    loop = asyncio.get_running_loop()
    got, yielded = [], []
    async for value in batched_reads(source(), window):
        got.append(value)
        yielded.append(loop.time())
    return got, yielded


async def test_events_pass_through_unchanged_and_in_order() -> None:
    events = [("a", 0.0), ("b", 0.01), ("c", 0.0), ("d", 0.01)]
    for window in (0.0, 0.03):
        source = Source(events)
        got, _ = await _consume(source, window)
        assert got == ["a", "b", "c", "d"]
        assert source.closed


async def test_a_pause_follows_only_an_event_that_was_waited_for() -> None:
    window = 0.05
    source = Source([("waited", 0.02), ("ready", 0.0), ("ready too", 0.0), ("end", 0.0)])
    _, yielded = await _consume(source, window)
    # After the waited-for event the next one is asked for a window later...
    assert source.asked[1] - yielded[0] >= window * 0.9
    # ...after events that were ready at once, straight away (well under the window).
    assert source.asked[2] - yielded[1] < window / 2
    assert source.asked[3] - yielded[2] < window / 2


async def test_stopping_early_closes_the_source() -> None:
    source = Source([("a", 0.01), ("b", 0.01), ("c", 0.01)])
    async with contextlib.aclosing(batched_reads(source(), 0.01)) as events:
        async for value in events:
            assert value == "a"
            break
    assert source.closed



async def test_no_pause_when_events_come_faster_than_they_are_read() -> None:
    """A long run of ready events (a backlog, a fast model) before a wait: the wait is
    the loop being busy or the sender catching up, not a paced answer; no pause."""
    window = 0.2
    source = Source([(f"e{i}", 0.0) for i in range(40)] + [("late", 0.01), ("next", 0.0)])
    got, yielded = await _consume(source, window)
    assert len(got) == 42
    assert source.asked[41] - yielded[40] < window / 2
