"""Opening and scrolling a 10,000-message conversation, in a real terminal.

Builds a database with one conversation of 10,000 messages (each text starts with its
index, "[m9999]" being the newest) and one of 2 messages, then runs ``tui-chat -r ID``
in tmux (120x40) against the fake provider process and times:

- ``open_seconds``: launch to the newest message on screen, for the long and for the
  short conversation; ``open_extra_seconds`` is their difference (what the length of the
  history costs, start-up aside);
- ``switch_seconds``: in the app opened on the short conversation, from Enter on the
  long one in the sidebar to its newest message on screen (opening a conversation,
  start-up aside);
- ``scroll``: from the newest message, ``--steps`` presses of ``k`` (previous message,
  loading older pages as it goes), sent 10 ms apart, until "[m{10000 - steps - 1}]"
  shows: seconds in all and per message;
- ``rss_mb``: the app's resident memory after opening and after scrolling, and its peak.

Prints one JSON line per figure: medians over ``--runs``.

    python -m bench.tui_history [--runs 5] [--messages 10000] [--steps 100]
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

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.context import fill_conversation  # noqa: E402
from tests.e2e.tmux import Tmux, app_environment, prepare_home  # noqa: E402
from tests.fakes.fixtures import fake_provider_process  # noqa: E402


def app_pid(tmux: Tmux) -> int:
    """The Python process under the pane's shell."""
    shell = tmux.pane_pid()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{shell}/task/{shell}/children")
        pids = children.read_text().split() if children.exists() else []
        if pids:
            return int(pids[0])
        time.sleep(0.01)
    raise TimeoutError("the app process did not start")


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def run(env: dict[str, str], conversation: str, newest: str, *, steps: int = 0, oldest_wanted: str = "",
        switch_to: str = "") -> dict:
    with Tmux(120, 40) as tmux:
        start = time.monotonic()
        tmux.start([sys.executable, "-m", "tui_chat.cli", "-r", conversation], env)
        opened = tmux.wait_for_text(newest, timeout=60, interval=0.005) - start
        pid = app_pid(tmux)
        tmux.wait_for_text("○ ready", timeout=60)
        result = {"open": opened, "rss_open": memory_mb(pid)[0]}
        if switch_to:  # the long conversation is second in the sidebar
            for key in ("C-f", "Enter", "Down", "Down"):
                tmux.send(key)
                time.sleep(0.15)
            began = time.monotonic()
            tmux.send("Enter")
            result["switch"] = tmux.wait_for_text(switch_to, timeout=60, interval=0.005) - began
        if steps:
            tmux.send("C-Up")
            time.sleep(0.3)
            began = time.monotonic()
            for _ in range(steps):  # one key at a time, as a person holding it down
                tmux.send("k")
                time.sleep(0.01)
            result["scroll"] = tmux.wait_for_text(oldest_wanted, timeout=120, interval=0.01) - began
            result["rss_scrolled"], result["rss_peak"] = memory_mb(pid)
        tmux.send("C-q")
        tmux.wait_exit()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description="Opening and scrolling a long conversation in tui-chat.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    from storage import Storage

    with tempfile.TemporaryDirectory(prefix="tui-history-") as tmp, fake_provider_process() as (_proc, base_url):
        home = Path(tmp) / "home"
        url = prepare_home(home, base_url)
        store = Storage.open(url)
        user = store.users.ensure("local:e2e").id
        long = store.conversations.create(user, title="ten thousand messages").id
        fill_conversation(store, user, long, args.messages, random.Random(7), label=True)
        short = store.conversations.create(user, title="two messages").id
        fill_conversation(store, user, short, 2, random.Random(8), label=True)
        store.close()
        env = app_environment(home)
        newest = f"[m{args.messages - 1}]"
        wanted = f"[m{args.messages - 1 - args.steps}]"
        run(env, short, "[m1]")  # warm the caches, as on any day but the first
        longs, shorts = [], []
        for _ in range(args.runs):
            longs.append(run(env, long, newest, steps=args.steps, oldest_wanted=wanted))
            shorts.append(run(env, short, "[m1]", switch_to=newest))

    def median(rows: list[dict], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    figures = [
        {"figure": "open_seconds", "messages": args.messages, "seconds": round(median(longs, "open"), 3),
         "short_conversation_seconds": round(median(shorts, "open"), 3),
         "all": [round(row["open"], 3) for row in longs]},
        {"figure": "switch_seconds", "messages": args.messages, "seconds": round(median(shorts, "switch"), 3),
         "all": [round(row["switch"], 3) for row in shorts]},
        {"figure": "open_extra_seconds", "seconds": round(median(longs, "open") - median(shorts, "open"), 3)},
        {"figure": "scroll", "messages_back": args.steps, "seconds": round(median(longs, "scroll"), 3),
         "ms_per_message": round(median(longs, "scroll") / args.steps * 1000, 2)},
        {"figure": "rss_mb", "after_open": round(median(longs, "rss_open"), 1),
         "after_scroll": round(median(longs, "rss_scrolled"), 1), "peak": round(median(longs, "rss_peak"), 1),
         "short_conversation": round(median(shorts, "rss_open"), 1)},
    ]
    for figure in figures:
        print(json.dumps({"bench": "tui_history", "runs": args.runs, **figure}), flush=True)


if __name__ == "__main__":
    main()
