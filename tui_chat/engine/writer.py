"""Persist a streamed answer while it streams.

Text is buffered in memory and appended to the message row at a fixed interval (0.5 s
by default: a crash loses at most that much), in a worker thread so a slow or locked
database never stalls the event loop that renders the stream. While nothing arrives
(a model thinking), the row is touched every few seconds so another process can tell
a live stream from one whose writer died.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage import Storage

log = logging.getLogger(__name__)


class StreamWriter:
    def __init__(
        self, storage: "Storage", user_id: str, message_id: str, *, interval: float = 0.5, heartbeat: float = 2.0
    ) -> None:
        self._storage = storage
        self._user_id = user_id
        self.message_id = message_id
        self._interval = interval
        self._heartbeat = heartbeat
        self._chunks: list[str] = []  # everything received
        self._pending: list[str] = []  # received but not yet written
        self._task: asyncio.Task[None] | None = None
        self._last_write = time.monotonic()
        self.failures = 0

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    def add(self, text: str) -> None:
        if text:
            self._chunks.append(text)
            self._pending.append(text)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"stream-writer-{self.message_id}")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            batch = "".join(self._pending)
            self._pending.clear()
            try:
                await asyncio.to_thread(self._storage.messages.append, self._user_id, self.message_id, batch)
            except Exception:
                # Keep the text: it is written with the final status instead.
                self.failures += 1
                log.exception("could not append streamed text; it will be saved when the answer ends")
                self._pending.insert(0, batch)
                return
            self._last_write = time.monotonic()
        elif time.monotonic() - self._last_write >= self._heartbeat:
            try:
                await asyncio.to_thread(self._storage.messages.heartbeat, self._user_id, self.message_id)
            except Exception:
                log.exception("could not record stream heartbeat")
            self._last_write = time.monotonic()

    async def stop(self) -> None:
        """Stop the periodic writes. The caller writes the final text with the status."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self._pending.clear()
