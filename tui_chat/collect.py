"""Full garbage collections wait until an answer has finished streaming.

CPython runs a full (generation 2) collection every so often; it walks every object
that has lived a while, and a conversation on screen is a lot of them (every rendered
line is a strip of segments and styles). In the middle of a streaming answer that is a
pause of 50–150 ms with nothing painted: the stutter the reader sees.

While something holds :class:`FullCollections`, only the young generations are
collected (cheap: they hold what was just made). When the last holder lets go, the
caller runs the one full collection that was put off, at a moment when nothing moves,
and only then do the normal thresholds come back: restored at release, the next young
collection would find the oldest generation long overdue and run the full collection at
once, in the middle of painting the end of the answer. Nothing here imports Textual.
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
        """Put off full collections until every :meth:`hold` has been released and the
        put-off collection has run."""
        if self._saved is None:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, _HELD)
        self._holders += 1

    def release(self) -> bool:
        """Let go of one hold; True when it was the last (time for :meth:`collect`)."""
        if self._holders == 0:
            return False
        self._holders -= 1
        return self._holders == 0

    def collect(self) -> int:
        """The put-off full collection, then the normal thresholds again (nothing while
        something holds collections again)."""
        if self.held:
            return 0
        found = gc.collect()
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
        return found
