"""Context-building figures: the next turn of a 10,000-message conversation, and
counting 1 MB of text.

Builds a SQLite database with one 10,000-message conversation (user/assistant turns of
realistic length), caches every message's exact token count once (as the app does the
first time a conversation approaches its window), then times building the context for
the next turn against a 128k-token window. Prints medians; the last line is one JSON
object.

    python bench/context.py [--messages 10000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage import Storage  # noqa: E402
from tui_chat.engine.context import ContextBuilder  # noqa: E402
from tui_chat.engine.tokens import count_tokens, get_encoding  # noqa: E402

WORDS = ("the model context window token message stream answer question python rust async database "
         "index query branch summary memory tool call result file shell approve policy rule cost").split()


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def fill_conversation(store: Storage, user: str, conversation_id: str, count: int, rng: random.Random,
                      label: bool = False) -> None:
    """``count`` alternating user/assistant messages in one linear branch, inserted in
    bulk, with exact token counts cached; with ``label`` each text starts "[mN]"."""
    from sqlalchemy import insert

    from storage.ids import new_id
    from storage.models import Conversation, Message
    from storage.types import utcnow

    rows, parent = [], None
    encoding = get_encoding("o200k_base")
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        content = text(rng, rng.randint(20, 60) if role == "user" else rng.randint(80, 300))
        if label:
            content = f"[m{i}] {content}"
        ident = new_id()
        rows.append({"id": ident, "conversation_id": conversation_id, "user_id": user, "parent_id": parent,
                     "role": role, "content": content, "parts": [], "status": "done",
                     "token_count": len(encoding.encode_ordinary(content)), "meta": {},
                     "created_at": utcnow(), "updated_at": utcnow(), "content_type": "text",
                     "is_pinned": False, "is_edited": False})
        parent = ident
    with store.db.write() as session:
        session.execute(insert(Message), rows)
        session.query(Conversation).filter(Conversation.id == conversation_id).update(
            {"current_message_id": parent, "message_count": len(rows), "last_message_at": utcnow()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--window", type=int, default=128_000)
    args = parser.parse_args()

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        store = Storage.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        user = store.users.ensure("local:bench").id
        conv = store.conversations.create(user, provider="openai", model="gpt-4o")
        started = time.perf_counter()
        fill_conversation(store, user, conv.id, args.messages, rng)
        build_s = time.perf_counter() - started

        builder = ContextBuilder(store, user)
        conversation = store.conversations.get(user, conv.id)
        # The first build finds where the window starts; the engine records that
        # boundary on the conversation, and every later turn starts from it.
        first = builder.build(conversation, conversation.current_message_id, model="gpt-4o",
                              window=args.window, reserve=4096, query="")
        conversation = store.conversations.update(
            user, conv.id, context={**conversation.context, "context_boundary": first.boundary_id})
        timings, cpu = [], []
        for i in range(args.repeat + 3):
            t0, c0 = time.perf_counter(), time.thread_time()
            built = builder.build(conversation, conversation.current_message_id, model="gpt-4o",
                                  window=args.window, reserve=4096, query="")
            if i >= 3:
                timings.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
        sent = len(built.messages)

        megabyte = text(rng, 200_000)[: 1024 * 1024]
        count_tokens("warm", "gpt-4o")
        counts = []
        for _ in range(5):
            t0 = time.perf_counter()
            tokens = count_tokens(megabyte, "gpt-4o")
            counts.append(time.perf_counter() - t0)
        store.close()

    result = {
        "messages": args.messages,
        "context_build_ms": round(statistics.median(timings), 2),
        "context_build_p90_ms": round(sorted(timings)[int(len(timings) * 0.9) - 1], 2),
        # SQLite runs in the calling thread: its CPU time is what a build costs, wall
        # time what it also waited for on a busy machine.
        "context_build_cpu_ms": round(statistics.median(cpu), 2),
        "context_messages_sent": sent,
        "context_tokens": built.tokens,
        "count_1mb_s": round(statistics.median(counts), 4),
        "count_1mb_tokens": tokens,
        "setup_s": round(build_s, 2),
    }
    print(f"context for the next turn of a {args.messages:,}-message conversation: "
          f"{result['context_build_ms']} ms median, {result['context_build_cpu_ms']} ms CPU ({sent} messages, {built.tokens:,} tokens sent)")
    print(f"counting 1 MB of text: {result['count_1mb_s']} s median ({tokens:,} tokens)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
