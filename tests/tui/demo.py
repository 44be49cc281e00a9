"""A small, realistic history for snapshots and screenshots (fixed times, no network)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=timezone.utc)

STREAMING_ANSWER = """\
## Streaming Markdown without stutter

Re-rendering the whole reply on every token costs more as the reply grows. Split it \
into **blocks** instead: a block is *finished* once the next one starts, so it can be \
rendered once and never parsed again. Only the last block stays `live`.

1. Append the delta to the tail.
2. Parse the tail; move complete blocks to the finished list.
3. Redraw the tail at most every 60 ms.

```python
def feed(self, text: str) -> list[Piece]:
    self.tail += text
    finished, self.tail = split_finished(self.tail)
    return finished
```

| approach | cost per token | 4,000 tokens |
|---|---|---|
| re-render everything | grows with the reply | slower every second |
| finished blocks + live tail | constant | about a second |

> Keep the scroll anchored to the end only while the reader is there.
"""

RUST_ANSWER = """\
A lifetime names **how long a reference is valid**. The compiler checks that no \
reference outlives the value it points to:

```rust
fn longest<'a>(x: &'a str, y: &'a str) -> &'a str {
    if x.len() > y.len() { x } else { y }
}
```

Both inputs live at least as long as `'a`, so the result does too.
"""


def _add(storage: Any, uid: str, cid: str, when: datetime, role: str, content: str, **kwargs: Any) -> Any:
    defaults: dict[str, Any] = {"created_at": when}
    if role == "assistant":
        defaults.update(provider="fake", model="gpt-4o",
                        meta={"context": {"tokens": 1840, "window": 128000}})
    defaults.update(kwargs)
    return storage.messages.add(uid, cid, role=role, content=content, **defaults)


def seed_demo(storage: Any, uid: str) -> dict[str, str]:
    """Conversations of every kind; returns their ids by short name."""
    ids: dict[str, str] = {}

    def conversation(name: str, title: str, hours_ago: float, **kwargs: Any) -> tuple[str, datetime]:
        when = NOW - timedelta(hours=hours_ago)
        record = storage.conversations.create(uid, title=title, provider="fake", model="gpt-4o", created_at=when,
                                              **kwargs)
        ids[name] = record.id
        return record.id, when

    cid, when = conversation("lisbon", "Three days in Lisbon", 240, tags=["travel"])
    _add(storage, uid, cid, when, "user", "Plan three days in Lisbon, slow pace.")
    _add(storage, uid, cid, when + timedelta(minutes=1), "assistant",
         "**Day 1** — Alfama and the castle.\n\n**Day 2** — Belém.\n\n**Day 3** — Sintra by train.")

    cid, when = conversation("sql", "SQL window functions", 30, tags=["sql", "work"])
    _add(storage, uid, cid, when, "user", "When do I need a window function?")
    _add(storage, uid, cid, when + timedelta(minutes=1), "assistant",
         "When each row needs a value computed **over other rows** without collapsing them, "
         "like a running total:\n\n```sql\nSELECT day, SUM(amount) OVER (ORDER BY day) FROM sales;\n```\n")

    cid, when = conversation("regex", "Regex for ISO dates", 5)
    _add(storage, uid, cid, when, "user", "A regex that matches ISO 8601 dates?")
    _add(storage, uid, cid, when + timedelta(minutes=1), "assistant", "", status="error",
         meta={"error": {"kind": "rate_limit", "message": "rate limited by the provider (429); retried 3 times"}})

    cid, when = conversation("rust", "Rust lifetimes, explained", 3, tags=["rust"])
    _add(storage, uid, cid, when, "user", "Explain Rust lifetimes with one example.")
    _add(storage, uid, cid, when + timedelta(minutes=1), "assistant", RUST_ANSWER)

    cid, when = conversation("poem", "Birthday poem for Ana", 2)
    question = _add(storage, uid, cid, when, "user", "A four-line birthday poem for Ana, who loves the sea.")
    _add(storage, uid, cid, when + timedelta(minutes=1), "assistant",
         "Ana, the tide comes in to sing,\nthe gulls bring gifts on silver wing,\n"
         "another year, another shore —\nmay every wave bring you more.", parent_id=question.id)
    _add(storage, uid, cid, when + timedelta(minutes=2), "assistant",
         "Salt on the wind and sun on the bay,\nthe sea sends its love on your day;\n"
         "sail on, dear Ana, wild and free,\nas deep and as bright as the sea.", parent_id=question.id)

    cid, when = conversation("stream", "Streaming Markdown in Textual", 0.5, tags=["textual", "perf"])
    _add(storage, uid, cid, when, "user", "How do I stream a long Markdown answer without the UI stuttering?")
    _add(storage, uid, cid, when + timedelta(minutes=1), "assistant", STREAMING_ANSWER)
    storage.conversations.pin(uid, cid)
    storage.conversations.add_cost(uid, cid, Decimal("0.0123"))
    return ids
