"""Full garbage collections wait until an answer has finished streaming.

CPython runs a full (generation 2) collection every so often; it walks every object
that has lived a while, and a conversation on screen is a lot of them (every rendered
line is a strip of segments and styles). In the middle of a streaming answer that is a
pause of 50–150 ms with nothing painted: the stutter the reader sees.

While something holds :class:`FullCollections`, only the young generations are
collected (cheap: they hold what was just made). When the last holder lets go, the
normal thresholds come back and the caller runs the one full collection that was put
off, at a moment when nothing moves. Nothing here imports Textual.
"""

from __future__ import annotations

import gc

#: The generation-2 threshold while held: in effect, never.
_HELD = 1_000_000


class FullCollections:
    def __init__(self) -> None:
        self._holders = 0
        self._saved: tuple[int, int, int] | None = None

    @property
    def held(self) -> bool:
        return self._holders > 0

    def hold(self) -> None:
        """Put off full collections until every :meth:`hold` has been released."""
        if self._holders == 0:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, _HELD)
        self._holders += 1

    def release(self) -> bool:
        """Let go of one hold; True when it was the last (time for the put-off collection)."""
        if self._holders == 0:
            return False
        self._holders -= 1
        if self._holders:
            return False
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        return True

    def collect(self) -> int:
        """The put-off full collection, unless something holds collections again."""
        return 0 if self.held else gc.collect()
