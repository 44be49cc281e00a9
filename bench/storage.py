"""Storage benchmark: a large SQLite history, timed through the real services.

Builds (or reuses) a SQLite database of ``--messages`` messages (default 1,000,000)
across about one conversation per thousand messages, one of them with 10,000 messages,
through the real schema (``Database.open`` runs the migrations, so the full-text
triggers index every message as it is inserted). Then, with the app's own engine and
pragmas (``Storage.open``), it times:

1. ``conversations.list(user, limit=50)``: the sidebar;
2. ``messages.branch(user, big, limit=50)``: opening the 10,000-message conversation;
3. ``search.search(user, word, limit=20)``: a rare, a medium (the headline figure) and a
   common word, and a two-word query;
4. ``messages.append(user, id, chunk)``: streamed ~20-character chunks (p50 and p99);
5. the database size (main file plus -wal, after a checkpoint).

Query figures are medians of ``--repeat`` runs after warm-up. The last line printed is
one JSON object with every figure. Run from the repository root::

    .venv/bin/python -m bench.storage --messages 50000        # about a minute
    .venv/bin/python -m bench.storage --db /tmp/bench-1m.db    # 1,000,000; kept for reuse

Message text comes from a fixed vocabulary with a Zipf distribution (deterministic
seed), so word frequencies, and therefore full-text posting lists, look like real text.
The build phase alone uses faster pragmas (no sync, in-memory rollback journal, a large
cache, no foreign-key checks: the generated rows are consistent by construction); the
measured phase uses the app's engine exactly as it is. Building 1,000,000 messages
takes about 9 minutes on two cores; most of it is SQLite's full-text indexing.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a file: this file's folder must not shadow the ``storage`` package.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import argparse
import gc
import heapq
import itertools
import json
import math
import multiprocessing
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, create_engine, event, func, insert, select, text, update

from storage import Database, Storage
from storage.models import Conversation, Message, User
from storage.services.users import DEFAULT_PREFERENCES

BENCH_IDENTITY = "local:bench"
FORMAT_VERSION = 1
BIG_CONVERSATION = 10_000
MESSAGES_PER_CONVERSATION = 1_000

#: Timestamps: two years of history ending here (fixed, so builds are reproducible).
HISTORY_END = datetime(2025, 6, 1, tzinfo=timezone.utc)
HISTORY_DAYS = 730
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

USER_WORDS = (20, 60)
ASSISTANT_WORDS = (80, 300)
TOKENS_PER_WORD = 1.33

#: Zipf vocabulary: the most frequent words are real ones, the long tail is synthetic.
VOCABULARY_SIZE = 200_000
ZIPF_EXPONENT = 1.0

#: Search queries: a real word is placed at the vocabulary rank whose expected share of
#: messages containing it is the target (the hit counts actually found are reported).
QUERY_WORDS = {  # name -> (word, target share of messages containing it)
    "rare": ("kubernetes", 5e-5),
    "medium": ("migration", 5e-3),
    "common": ("python", 0.1),
}
TWO_WORD_QUERY = "python migration"

TARGETS_MS = {"list_ms": 10.0, "page_ms": 10.0, "search_ms": 50.0, "append_p99_ms": 5.0}

BATCH = 5_000  # rows per executemany
ROWS_PER_TRANSACTION = 250_000

COMMON_WORDS = """
the to and a of is you in that it for this can with be i on your as are use or not if have
an from will but by at code function file data so we my do how what here which one all there
example more should would like error value need new also make then set when them using time each
first way only return list class user test other just get some into these than case it's about
because want work change run out type its two call string before line used after first method
add check server model could they our key output input result name where while file system does
version update way number create problem see api help test object does through default config
same still both back look any might query step well page request text fix build support make long
path variable field thank first good loop better approach issue project make sure module table
block option start right know response library script param local state format following last
note database true false null print import package array index based write read instead without
since every update simple specific current single open memory changes works within different run
between message rather multiple just user's order found handle process event test log logic
command values item less each part client thread cache point second able another date level help
source similar next structure full run view already possible performance check parse reason
provide end own field main service size element small small current around error count try
""".split()


# --- vocabulary -------------------------------------------------------------------------


def _synthetic_words(count: int, seed: int, taken: set[str]) -> list[str]:
    """Pronounceable made-up words, unique, none equal to a real word."""
    rng = random.Random(f"vocabulary:{seed}")
    onsets = ("b c d f g h j k l m n p r s t v w z br cr dr gr pr st tr ch sh th pl cl fl sl sp gl").split()
    vowels = ("a e i o u a e i o u ai ea ou io").split()
    codas = ("", "", "", "", "", "", "n", "r", "l", "s", "t", "m", "nd", "rt")
    words: list[str] = []
    seen = set(taken)
    blocked = tuple(w[:6] for w, _ in QUERY_WORDS.values())
    while len(words) < count:
        syllables = rng.choice((1, 2, 2, 2, 2, 3, 3))
        word = "".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables))
        if word in seen or word.startswith(blocked):
            continue
        seen.add(word)
        words.append(word)
    return words


def _expected_share(p: float) -> float:
    """Expected share of messages that contain a word drawn with probability ``p``."""
    def mean_hit(low: int, high: int) -> float:
        lengths = range(low, high + 1)
        return sum(1.0 - (1.0 - p) ** n for n in lengths) / len(lengths)

    return (mean_hit(*USER_WORDS) + mean_hit(*ASSISTANT_WORDS)) / 2


def build_vocabulary(seed: int) -> tuple[list[str], list[float], dict[str, int]]:
    """The vocabulary in rank order, its cumulative Zipf weights and the query words' ranks."""
    weights = [1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in range(VOCABULARY_SIZE)]
    total = sum(weights)
    ranks: dict[str, int] = {}
    for name, (_word, share) in QUERY_WORDS.items():
        # The share falls as the rank grows: bisect on the rank.
        low, high = 0, VOCABULARY_SIZE - 1
        while low < high:
            mid = (low + high) // 2
            if _expected_share(weights[mid] / total) > share:
                low = mid + 1
            else:
                high = mid
        ranks[name] = low
    real = list(dict.fromkeys(w for w in COMMON_WORDS if w.isalpha()))
    query = {w for w, _ in QUERY_WORDS.values()}
    real = [w for w in real if w not in query]
    words = real + _synthetic_words(VOCABULARY_SIZE - len(real), seed, set(real) | query)
    for name in sorted(ranks, key=ranks.get):
        words.insert(ranks[name], QUERY_WORDS[name][0])
    words = words[:VOCABULARY_SIZE]
    return words, list(itertools.accumulate(weights)), ranks


# --- message text (runs in a worker process while the main one inserts) ----------------

_VOCAB: list[str] = []
_CUM: list[float] = []


def _init_worker(vocabulary: list[str], cumulative: list[float]) -> None:
    global _VOCAB, _CUM
    _VOCAB, _CUM = vocabulary, cumulative


def _sentences(rng: random.Random, words: list[str]) -> list[str]:
    out = []
    i = 0
    while i < len(words):
        chunk = words[i:i + rng.randint(6, 18)]
        i += len(chunk)
        chunk[0] = chunk[0].capitalize()
        out.append(" ".join(chunk) + ("?" if rng.random() < 0.07 else "."))
    return out


def _user_text(rng: random.Random) -> tuple[str, int]:
    n = rng.randint(*USER_WORDS)
    return " ".join(_sentences(rng, rng.choices(_VOCAB, cum_weights=_CUM, k=n))), n


def _assistant_text(rng: random.Random) -> tuple[str, int]:
    n = rng.randint(*ASSISTANT_WORDS)
    sentences = _sentences(rng, rng.choices(_VOCAB, cum_weights=_CUM, k=n))
    paragraphs = []
    i = 0
    while i < len(sentences):
        take = rng.randint(2, 5)
        group = sentences[i:i + take]
        i += take
        if rng.random() < 0.2 and len(group) > 2:
            paragraphs.append("\n".join(f"- {s}" for s in group))
        else:
            paragraphs.append(" ".join(group))
    return "\n\n".join(paragraphs), n


def generate_batch(task: tuple[int, int, bytes]) -> list[tuple[str, int]]:
    """(text, token count) for each message of a batch; roles: 0 user, 1 assistant."""
    seed, start, roles = task
    rng = random.Random(f"text:{seed}:{start}")
    out = []
    for role in roles:
        content, words = _assistant_text(rng) if role else _user_text(rng)
        out.append((content, int(words * TOKENS_PER_WORD) + rng.randint(0, 8)))
    return out


# --- the shape of the history ------------------------------------------------------------


def uuid7(ms: int, rng: random.Random) -> str:
    """A UUIDv7 string in :func:`storage.ids.new_id`'s format, for a given millisecond."""
    value = ((ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64
             | 0b10 << 62 | rng.getrandbits(62))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def conversation_sizes(n: int, rng: random.Random) -> list[int]:
    """Message counts: the first is the big conversation, the others share the rest."""
    count = max(2, round(n / MESSAGES_PER_CONVERSATION))
    big = min(BIG_CONVERSATION, n // 2 // 2 * 2)
    rest, others = n - big, count - 1
    cap = max(big // 2, math.ceil(rest / others) + 2)
    weights = [rng.lognormvariate(0.0, 0.9) for _ in range(others)]
    total = sum(weights)
    sizes = [min(cap, max(2, int(w / total * rest) // 2 * 2)) for w in weights]
    diff = rest - sum(sizes)
    order = sorted(range(others), key=lambda i: -weights[i])
    for i in itertools.cycle(order):
        if diff == 0:
            break
        step = 1 if abs(diff) == 1 else 2
        if diff > 0 and sizes[i] + step <= cap:
            sizes[i] += step
            diff -= step
        elif diff < 0 and sizes[i] - step >= 2:
            sizes[i] -= step
            diff += step
    return [big, *sizes]


def conversation_times(size: int, rng: random.Random, window_ms: int) -> list[int]:
    """Millisecond offsets of a conversation's messages from its start."""
    offsets = [0]
    t = 0.0
    for k in range(1, size):
        if k % 2:  # the answer: a few seconds
            gap = rng.uniform(2, 45)
        else:  # the next question: minutes, sometimes days
            gap = rng.lognormvariate(math.log(90), 1.0)
            if rng.random() < 0.04:
                gap += rng.uniform(3600, 3 * 86400)
        t += gap
        offsets.append(int(t * 1000))
    if offsets[-1] > window_ms * 0.95:
        scale = window_ms * 0.95 / offsets[-1]
        offsets = [int(o * scale) for o in offsets]
    return offsets


# --- build -------------------------------------------------------------------------------


def _log(message: str) -> None:
    print(message, flush=True)


def _at(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def _build_engine(url: str) -> Any:
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:  # build phase only
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode = MEMORY", "synchronous = OFF", "foreign_keys = OFF",
                       "cache_size = -1000000", "temp_store = MEMORY"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine


def _ahead(pool: Any, tasks: Iterator[tuple[int, int, bytes]], depth: int) -> Iterator[list[tuple[str, int]]]:
    """Batches of text in order, generated at most ``depth`` batches ahead of the inserts."""
    pending: deque[Any] = deque()
    for task in tasks:
        pending.append(pool.apply_async(generate_batch, (task,)))
        if len(pending) >= depth:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def build(url: str, n: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    Database.open(url).close()  # the real schema: migrations, indexes, search triggers

    rng = random.Random(f"shape:{seed}")
    vocabulary, cumulative, ranks = build_vocabulary(seed)
    sizes = conversation_sizes(n, rng)
    window_ms = HISTORY_DAYS * 86_400_000
    end_ms = int((HISTORY_END - EPOCH).total_seconds() * 1000)
    start_ms = end_ms - window_ms

    offsets = [conversation_times(size, rng, window_ms) for size in sizes]
    starts = [start_ms + rng.randrange(max(1, window_ms - o[-1])) for o in offsets]
    # The big conversation is a long-running one, still in use at the end of the history.
    starts[0] = end_ms - offsets[0][-1] - rng.randrange(3_600_000, 48 * 3_600_000)

    # Messages in time order across conversations (rowids follow time, as in the app).
    def timeline(owner: int) -> Iterator[tuple[int, int]]:
        base = starts[owner]
        return ((base + offset, owner) for offset in offsets[owner])

    merged = heapq.merge(*(timeline(i) for i in range(len(sizes))))
    stamps, owners, roles = array("q"), array("l"), bytearray()
    seen = [0] * len(sizes)
    last = -1
    for ms, owner in merged:
        ms = max(ms, last + 1)  # strictly increasing: ids sort like created_at
        last = ms
        stamps.append(ms)
        owners.append(owner)
        roles.append(seen[owner] % 2)
        seen[owner] += 1
    del offsets, merged
    _log(f"plan: {n:,} messages in {len(sizes):,} conversations (largest {sizes[0]:,}), "
         f"{(time.perf_counter() - started):.1f}s")

    ids = random.Random(f"ids:{seed}")
    user_id = uuid7(start_ms - 86_400_000, ids)
    models = [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4.1-mini"),
              ("openai-compatible", "llama3.1:8b")]
    conv_model = [models[rng.choice((0, 0, 1, 1, 1, 2, 3))] for _ in sizes]
    first_ms = [starts[i] for i in range(len(sizes))]
    conv_ids = [uuid7(first_ms[i] - 1000, ids) for i in range(len(sizes))]
    statuses = ["active"] * len(sizes)
    for i in range(1, len(sizes)):
        roll = rng.random()
        statuses[i] = "archived" if roll < 0.04 else "deleted" if roll < 0.05 else "active"
    pinned = set(rng.sample(range(1, len(sizes)), k=min(len(sizes) - 1, max(1, len(sizes) // 200))))
    title_words = vocabulary[30:5000]

    engine = _build_engine(url)
    conversations = Conversation.__table__
    messages = Message.__table__
    with engine.begin() as conn:
        conn.execute(insert(User.__table__), [{
            "id": user_id, "identity": BENCH_IDENTITY, "email": None, "name": "Bench", "avatar": None,
            "is_active": True, "last_active_at": HISTORY_END, "preferences": dict(DEFAULT_PREFERENCES),
            "metadata": {}, "created_at": _at(start_ms - 86_400_000), "updated_at": HISTORY_END,
        }])
        rows = []
        for i, size in enumerate(sizes):
            title = " ".join(rng.choices(title_words, k=rng.randint(2, 6))).capitalize()
            provider, model = conv_model[i]
            created = _at(first_ms[i] - 1000)
            rows.append({
                "id": conv_ids[i], "user_id": user_id, "session_id": None, "window_id": None,
                "title": title, "title_is_custom": rng.random() < 0.1, "provider": provider, "model": model,
                "system_prompt": None, "context_window": None, "context_strategy": "truncate",
                "settings": {}, "approval_overrides": {}, "status": statuses[i],
                "is_pinned": i in pinned and statuses[i] == "active",
                "message_count": size, "token_count": 0, "total_cost": Decimal(0), "summary": None,
                "context": {}, "metadata": {}, "current_message_id": None, "last_message_at": created,
                "created_at": created, "updated_at": created, "deleted_at": None,
            })
        conn.execute(insert(conversations), rows)

    tip: list[str | None] = [None] * len(sizes)
    tip_ms = [0] * len(sizes)
    tokens = [0] * len(sizes)
    tasks = ((seed, s, bytes(roles[s:s + BATCH])) for s in range(0, n, BATCH))
    inserted = 0
    context = multiprocessing.get_context("fork")
    conn = engine.connect()
    transaction = conn.begin()
    with context.Pool(1, initializer=_init_worker, initargs=(vocabulary, cumulative)) as pool:
        for texts in _ahead(pool, tasks, depth=4):
            rows = []
            for k, (content, count) in enumerate(texts):
                g = inserted + k
                owner = owners[g]
                ms = stamps[g]
                created = _at(ms)
                message_id = uuid7(ms, ids)
                assistant = roles[g] == 1
                provider, model = conv_model[owner] if assistant else (None, None)
                rows.append({
                    "id": message_id, "conversation_id": conv_ids[owner], "user_id": user_id,
                    "parent_id": tip[owner], "role": "assistant" if assistant else "user",
                    "content": content, "content_type": "markdown" if assistant else "text",
                    "parts": [], "status": "done", "token_count": count,
                    "provider": provider, "model": model, "finish_reason": "stop" if assistant else None,
                    "metadata": {}, "is_pinned": False, "is_edited": False, "edited_at": None,
                    "created_at": created,
                    "updated_at": created + timedelta(seconds=len(content) / 400) if assistant else created,
                })
                tip[owner] = message_id
                tip_ms[owner] = ms
                tokens[owner] += count
            conn.execute(insert(messages), rows)
            before, inserted = inserted, inserted + len(rows)
            if inserted // ROWS_PER_TRANSACTION != before // ROWS_PER_TRANSACTION or inserted == n:
                transaction.commit()
                transaction = conn.begin()
                _log(f"  {inserted:,} messages, {(time.perf_counter() - started):.0f}s")
    stmt = (update(conversations).where(conversations.c.id == bindparam("cid"))
            .values(current_message_id=bindparam("tip"), token_count=bindparam("tokens"),
                    total_cost=bindparam("cost"), last_message_at=bindparam("last"),
                    updated_at=bindparam("last"), deleted_at=bindparam("deleted")))
    conn.execute(stmt, [{
        "cid": conv_ids[i], "tip": tip[i], "tokens": tokens[i],
        "cost": Decimal(tokens[i]) * Decimal("0.000003"), "last": _at(tip_ms[i]),
        "deleted": _at(tip_ms[i] + 86_400_000) if statuses[i] == "deleted" else None,
    } for i in range(len(sizes))])
    build_s = time.perf_counter() - started
    meta = {"bench": {
        "version": FORMAT_VERSION, "messages": n, "seed": seed, "conversations": len(sizes),
        "big_conversation_id": conv_ids[0], "big_conversation_messages": sizes[0],
        "query_ranks": ranks, "build_s": round(build_s, 1),
    }}
    conn.execute(update(User.__table__).where(User.__table__.c.id == user_id).values(metadata=meta))
    transaction.commit()
    conn.close()
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA journal_mode = WAL")  # as the app leaves it
    finally:
        raw.close()
    engine.dispose()
    build_s = time.perf_counter() - started
    _log(f"build: {n:,} messages in {build_s:.1f}s")
    return meta["bench"] | {"build_s": round(build_s, 1)}


# --- measuring ---------------------------------------------------------------------------


def _ms(ns: int) -> float:
    return ns / 1e6


class Samples:
    """Wall-clock and calling-thread CPU times of repeated runs, in milliseconds.

    SQLite runs inside the calling thread, so CPU time is the work an operation costs;
    wall time adds waiting (disk, fsync, and other processes on a busy machine).
    """

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def run(self, fn: Callable[[], Any]) -> Any:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        result = fn()
        self.cpu.append(_ms(time.thread_time_ns() - c0))
        self.wall.append(_ms(time.perf_counter_ns() - t0))
        return result

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def __str__(self) -> str:
        return (f"median {self.median:8.3f} ms  p90 {percentile(self.wall, 90):8.3f}  min {min(self.wall):8.3f}"
                f"  max {max(self.wall):8.3f}  | cpu median {self.cpu_median:8.3f}  (n={len(self.wall)})")


def timed(fn: Callable[[], Any], repeat: int, warmup: int) -> Samples:
    for _ in range(warmup):
        fn()
    samples = Samples()
    for _ in range(repeat):
        samples.run(fn)
    return samples


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class StatementLog:
    """Every SQL statement an operation runs, with its own time (for ``--explain``)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.entries: list[tuple[str, Any, float]] = []

    def __enter__(self) -> "StatementLog":
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.info["bench_t0"] = time.perf_counter_ns()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        self.entries.append((statement, parameters, _ms(time.perf_counter_ns() - conn.info.pop("bench_t0"))))


def explain(store: Storage, label: str, fn: Callable[[], Any]) -> None:
    """Run ``fn`` once and print each statement it ran, its time and its query plan."""
    with StatementLog(store.db.engine) as log:
        t0 = time.perf_counter_ns()
        fn()
        total = _ms(time.perf_counter_ns() - t0)
    _log(f"\n--- {label}: {len(log.entries)} statements, {total:.2f} ms in all")
    raw = store.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters, took in log.entries:
            _log(f"[{took:.2f} ms] {' '.join(statement.split())[:400]}")
            if statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "INSERT", "DELETE")):
                for row in cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters or ()):
                    _log(f"      plan: {row[-1]}")
        cursor.close()
    finally:
        raw.close()


def fts_hits(store: Storage, query: str) -> int:
    match = " ".join(f'"{word}"' for word in query.split())
    with store.db.read() as session:
        return int(session.scalar(text("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH :q"),
                                  {"q": match}) or 0)


def chunks(seed: int, count: int) -> Iterator[str]:
    """Streamed pieces of about 20 characters, as a provider sends them."""
    rng = random.Random(f"chunks:{seed}")
    words = COMMON_WORDS
    for _ in range(count):
        piece = ""
        while len(piece) < 18:
            piece += rng.choice(words) + " "
        yield piece[: rng.randint(16, 24)]


def database_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def run(args: argparse.Namespace) -> dict[str, Any]:
    path = Path(args.db).resolve() if args.db else None
    scratch = None
    if path is None:
        scratch = Path(tempfile.mkdtemp(prefix="tui-chat-bench-"))
        path = scratch / "bench.db"
    url = f"sqlite:///{path}"
    try:
        info = None
        if path.exists() and not args.rebuild:
            info = existing_build(path)
            if info is None or info["messages"] != args.messages or info["seed"] != args.seed:
                raise SystemExit(f"{path} exists but is not a {args.messages:,}-message bench database "
                                 f"(seed {args.seed}); pass --rebuild to replace it")
            _log(f"reusing {path} ({info['messages']:,} messages, built in {info['build_s']}s)")
            reused = True
        else:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            info = build(url, args.messages, args.seed)
            reused = False
        return measure(url, path, info, args) | {"reused": reused}
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def existing_build(path: Path) -> dict[str, Any] | None:
    """The build parameters recorded in a bench database, if its messages are all there."""
    connection = sqlite3.connect(path)
    try:
        row = connection.execute("SELECT metadata FROM users WHERE identity = ?", (BENCH_IDENTITY,)).fetchone()
        info = json.loads(row[0]).get("bench") if row else None
        if not info or info.get("version") != FORMAT_VERSION:
            return None
        count = connection.execute("SELECT count(*) FROM messages").fetchone()[0]
        unfinished = connection.execute(
            "SELECT count(*) FROM messages WHERE status IN ('pending', 'streaming')").fetchone()[0]
        return info if count - unfinished == info["messages"] else None
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def restore_big_conversation(store: Storage, user_id: str, big_id: str) -> None:
    """Remove streaming messages a previous run left (if it was killed) and put the big
    conversation's times back as built, so every run measures the same database."""
    with store.db.read() as session:
        leftovers = list(session.scalars(select(Message.id).where(
            Message.conversation_id == big_id, Message.status.in_(("pending", "streaming")))))
    for message_id in leftovers:
        store.messages.delete(user_id, message_id)
    with store.db.write() as session:
        last = session.scalar(select(func.max(Message.created_at)).where(Message.conversation_id == big_id))
        session.execute(update(Conversation).where(Conversation.id == big_id)
                        .values(last_message_at=last, updated_at=last))


def measure(url: str, path: Path, info: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    store = Storage.open(url)  # the app's engine, pragmas and migrations check
    try:
        with store.db.read() as session:
            user_id = session.scalar(select(User.id).where(User.identity == BENCH_IDENTITY))
            big_id = info["big_conversation_id"]
        restore_big_conversation(store, user_id, big_id)
        with store.db.read() as session:
            big_count = session.scalar(select(func.count()).where(Message.conversation_id == big_id))
            conversations = session.scalar(select(func.count()).select_from(Conversation))
            active = session.scalar(select(func.count()).where(Conversation.status == "active"))
            total = session.scalar(select(func.count()).select_from(Message))
        repeat, warmup = args.repeat, max(3, args.repeat // 10)
        _log(f"\nSQLite {sqlite3.sqlite_version}, {total:,} messages, {conversations:,} conversations, "
             f"big conversation {big_count:,} messages; {repeat} runs after {warmup} warm-up")

        page = store.conversations.list(user_id, limit=50)
        assert len(page.items) == min(50, active), "conversations.list returned a short page"
        branch = store.messages.branch(user_id, big_id, limit=50)
        assert len(branch.items) == 50 and branch.has_more, "messages.branch returned a short page"
        results: dict[str, Any] = {}
        gc.collect()

        cpu: dict[str, float] = {}
        list_s = timed(lambda: store.conversations.list(user_id, limit=50), repeat, warmup)
        _log(f"list 50 conversations               {list_s}")
        page_s = timed(lambda: store.messages.branch(user_id, big_id, limit=50), repeat, warmup)
        _log(f"newest 50 of {big_count:,} messages       {page_s}")
        results["list_ms"], cpu["list_ms"] = list_s.median, list_s.cpu_median
        results["page_ms"], cpu["page_ms"] = page_s.median, page_s.cpu_median

        queries = {name: word for name, (word, _share) in QUERY_WORDS.items()} | {"two_words": TWO_WORD_QUERY}
        hits: dict[str, int] = {}
        returned: dict[str, int] = {}
        for name, query in queries.items():
            hits[name] = fts_hits(store, query)
            returned[name] = len(store.search.search(user_id, query, limit=20).messages)
            samples = timed(lambda q=query: store.search.search(user_id, q, limit=20), repeat, warmup)
            key = "search_ms" if name == "medium" else f"search_{name}_ms"
            results[key], cpu[key] = samples.median, samples.cpu_median
            _log(f"search {query!r:<18} {hits[name]:>7,} hits  {samples}")

        if args.explain:
            explain(store, "conversations.list", lambda: store.conversations.list(user_id, limit=50))
            explain(store, "messages.branch", lambda: store.messages.branch(user_id, big_id, limit=50))
            for name, query in queries.items():
                explain(store, f"search.search {query!r}",
                        lambda q=query: store.search.search(user_id, q, limit=20))

        # Streaming: one assistant message in the big conversation, grown chunk by chunk.
        message = store.messages.add(user_id, big_id, role="assistant", status="pending",
                                     provider="openai", model="gpt-4o")
        try:
            pieces = chunks(args.seed, args.appends + 20)
            for piece in itertools.islice(pieces, 20):  # warm-up
                store.messages.append(user_id, message.id, piece)
            append_s = Samples()
            checkpointed: list[bool] = []  # the commit also copied the WAL into the main file
            for piece in pieces:
                stamp = path.stat().st_mtime_ns
                append_s.run(lambda p=piece: store.messages.append(user_id, message.id, p))
                checkpointed.append(path.stat().st_mtime_ns != stamp)
            if args.explain:
                explain(store, "messages.append", lambda: store.messages.append(user_id, message.id, "x" * 20))
        finally:
            restore_big_conversation(store, user_id, big_id)  # leave the database as built
        wall = append_s.wall
        plain = [w for w, c in zip(wall, checkpointed) if not c]
        with_checkpoint = [w for w, c in zip(wall, checkpointed) if c]
        results["append_p50_ms"], cpu["append_p50_ms"] = append_s.median, append_s.cpu_median
        results["append_p99_ms"], cpu["append_p99_ms"] = percentile(wall, 99), percentile(append_s.cpu, 99)
        results["append_max_ms"] = max(wall)
        results["append_over_5ms"] = sum(1 for w in wall if w > 5.0)
        results["append_checkpoints"] = len(with_checkpoint)
        results["append_p99_without_checkpoint_ms"] = percentile(plain, 99) if plain else 0.0
        _log(f"append ~20-char chunk               {append_s}")
        _log(f"    p99 {results['append_p99_ms']:.3f} ms (cpu p99 {cpu['append_p99_ms']:.3f}); "
             f"{results['append_over_5ms']} of {len(wall)} over 5 ms; {len(with_checkpoint)} ran a WAL checkpoint"
             + (f" (median {statistics.median(with_checkpoint):.3f} ms)" if with_checkpoint else "")
             + f"; p99 of the others {results['append_p99_without_checkpoint_ms']:.3f} ms")

        with store.db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        results["db_bytes"] = database_bytes(path)
        _log(f"database file {results['db_bytes']:,} bytes ({results['db_bytes'] / 2**20:,.0f} MiB) at {path}")
    finally:
        store.close()

    figures = {key: round(value, 3) if isinstance(value, float) else value for key, value in results.items()}
    met = {key: figures[key] <= limit for key, limit in TARGETS_MS.items()}
    _log("targets: " + ", ".join(f"{key} <= {limit:g} ms {'met' if met[key] else 'MISSED'} ({figures[key]})"
                                 for key, limit in TARGETS_MS.items()))
    return {
        "messages": total, "conversations": conversations, "big_conversation_messages": big_count,
        "build_s": info["build_s"], **figures,
        "search_words": {name: queries[name] for name in queries},
        "search_hits": hits, "search_returned": returned,
        "cpu_ms": {key: round(value, 3) for key, value in cpu.items()},
        "repeat": repeat, "appends": len(append_s.wall), "sqlite": sqlite3.sqlite_version,
        "targets_met": met,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in the database (default 1,000,000)")
    parser.add_argument("--db", help="database file to build and keep, or to reuse when it was built already")
    parser.add_argument("--rebuild", action="store_true", help="replace the --db file even if it exists")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per query (default 30)")
    parser.add_argument("--appends", type=int, default=2_000, help="streamed chunks to time (default 2,000)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generated history (default 1)")
    parser.add_argument("--explain", action="store_true", help="print each statement's time and query plan")
    args = parser.parse_args(argv)
    if args.messages < 200:
        parser.error("--messages must be at least 200")
    figures = run(args)
    print(json.dumps(figures, sort_keys=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
