"""Time-sortable identifiers (UUIDv7, RFC 9562) as 36-character strings.

Ids made by one process sort in creation order, even within one millisecond: the 12-bit
``rand_a`` field is used as a counter, seeded randomly each millisecond. Ids for imported
records can be made for a past time with ``new_id(at=...)``.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime

_lock = threading.Lock()
_last_ms = -1
_counter = 0


def new_id(at: datetime | None = None) -> str:
    global _last_ms, _counter
    if at is not None:
        ms = int(at.timestamp() * 1000)
        counter = int.from_bytes(os.urandom(2), "big") & 0x0FFF
    else:
        with _lock:
            ms = time.time_ns() // 1_000_000
            if ms <= _last_ms:
                ms = _last_ms
                _counter += 1
                if _counter > 0x0FFF:  # 4096 ids in one millisecond: borrow the next one
                    ms += 1
                    _counter = 0
            else:
                _counter = int.from_bytes(os.urandom(2), "big") & 0x07FF
            _last_ms = ms
            counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def id_time(identifier: str) -> datetime:
    """The creation time encoded in an id (UTC, millisecond precision)."""
    from datetime import timezone

    ms = int(identifier.replace("-", "")[:12], 16)
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
