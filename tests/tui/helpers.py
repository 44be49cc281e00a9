"""Helpers for Pilot tests: wait for the app to settle, read what it shows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def settle(pilot: Pilot[Any], rounds: int = 3) -> None:
    """Let messages, workers and refreshes run until nothing is left to do.

    Not while a modal is open: a worker waiting for the user never completes."""
    app = pilot.app
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for something driven by the outside world (the fake server's pacing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def started(pilot: Pilot[Any]) -> None:
    """Wait for start-up (database open, sidebar loaded)."""
    await wait_until(pilot, lambda: pilot.app.services.ready)
    await settle(pilot)


async def send(pilot: Pilot[Any], text: str) -> None:
    screen = pilot.app.screen
    screen.prompt.focus()
    screen.prompt.load_text(text)
    await pilot.press("enter")
    await settle(pilot)


async def answer_streaming(pilot: Pilot[Any], prompt: str, expect: str) -> Any:
    """Send ``prompt`` and return the answer's view once ``expect`` shows in it (the
    answer still streaming, when the fake server paces it)."""
    screen = pilot.app.screen
    screen.prompt.load_text(prompt)
    await pilot.press("enter")
    await wait_until(pilot, lambda: len(screen.chat.message_views) == 2 and expect in
                     screen.chat.message_views[1].text)
    return screen.chat.message_views[1]
