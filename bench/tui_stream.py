"""How fast streamed Markdown reaches the screen, in a real terminal.

Runs ``tui-chat`` and the reference app (Textual's own ``Markdown.get_stream()``,
``bench/reference_stream_app.py``) in tmux at 120x40 against the fake provider server
started as a separate process, sends one prompt, and watches the screen with
``tmux capture-pane`` until the answer's last line shows. Prints one JSON line per
figure (medians over ``--runs``):

- ``fast``: a 4,000-token Markdown answer sent as fast as possible: seconds from
  Enter to the last line on screen, and CPU seconds the app used meanwhile;
- ``paced``: the same answer at 100 tokens/s: how far the screen is behind when the
  server sends its last token, the CPU seconds used, and the longest gap between two
  screen updates while it streams;
- ``big``: 20,000 tokens as fast as possible, and its ratio to ``fast``.

    python -m bench.tui_stream [--runs 3] [--scenarios fast,paced,big] [--no-reference]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.e2e.tmux import Tmux, app_environment, prepare_home  # noqa: E402
from tests.fakes.fixtures import fake_provider_process  # noqa: E402
from tests.fakes.provider_wire import generate_markdown, split_text  # noqa: E402

SENTINEL = "ZQX9END"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def answer_text(tokens: int) -> str:
    """About ``tokens`` word-like tokens of varied Markdown ending in a sentinel line."""
    words = split_text("".join(generate_markdown(tokens * 2)))[: tokens - 4]
    body = "".join(words)
    if body.count("```") % 2:
        body += "\n```"
    return body + f"\n\nThe end {SENTINEL}.\n"


def queue(base_url: str, scenario: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{base_url}/_fake/scenarios", data=json.dumps(scenario).encode(),
                                     headers={"content-type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def find_app_pid(pane_pid: int, marker: str, timeout: float = 10.0) -> int:
    """The process under the tmux pane whose command line contains ``marker``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
        children: dict[int, list[tuple[int, str]]] = {}
        for line in out.splitlines():
            pid, ppid, args = line.strip().split(None, 2) + [""] * (3 - len(line.strip().split(None, 2)))
            children.setdefault(int(ppid), []).append((int(pid), args))
        stack = [pane_pid]
        while stack:
            for pid, args in children.get(stack.pop(), []):
                if marker in args and "tmux" not in args:
                    return pid
                stack.append(pid)
        time.sleep(0.05)
    raise RuntimeError(f"no process matching {marker!r} under pane {pane_pid}")


class Watcher:
    """Polls the screen (and the server's request log) until the sentinel shows."""

    def __init__(self, tmux: Tmux, log: Path) -> None:
        self.tmux, self.log = tmux, log

    def run(self, timeout: float, start_text: str | None = None) -> dict[str, float]:
        log_size = self.log.stat().st_size if self.log.exists() else 0
        changes: list[float] = []
        previous = self.tmux.capture()
        server_done: float | None = None
        deadline = time.monotonic() + timeout
        while True:
            screen = self.tmux.capture()
            now = time.monotonic()
            if screen != previous:
                changes.append(now)
                previous = screen
            if server_done is None and self.log.exists() and self.log.stat().st_size > log_size:
                server_done = now
            if SENTINEL in screen:
                return {"end": now, "server_done": server_done or now, "changes": changes}  # type: ignore[dict-item]
            if now > deadline:
                raise TimeoutError(f"the answer did not finish in {timeout:.0f} s; the screen shows:\n{screen}")
            time.sleep(0.01)


def run_once(app: str, base_url: str, log: Path, scenario: dict[str, Any], timeout: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="tui-stream-") as tmp, Tmux(120, 40) as tmux:
        home = Path(tmp)
        env = app_environment(home)
        if app == "tui-chat":
            prepare_home(home, base_url)
            command = [sys.executable, "-m", "tui_chat.cli"]
            marker, ready = "tui_chat.cli", "○ ready"
        else:
            command = [sys.executable, "-m", "bench.reference_stream_app", "--base-url", base_url]
            marker, ready = "reference_stream_app", "Press Enter"
        tmux.start(command, env)
        tmux.wait_for_text(ready, timeout=60)
        time.sleep(0.5)
        pid = find_app_pid(tmux.pane_pid(), marker)
        queue(base_url, scenario)
        if app == "tui-chat":
            tmux.type("Write a long answer")
        cpu0 = process_cpu(pid)
        t0 = time.monotonic()
        tmux.send("Enter")
        seen = Watcher(tmux, log).run(timeout)
        cpu = process_cpu(pid) - cpu0
        changes = [c for c in seen["changes"] if c >= t0]  # type: ignore[union-attr]
        gaps = [b - a for a, b in zip(changes, changes[1:])]
        first_change = changes[0] if changes else seen["end"]
        tmux.send("C-q")
        return {
            "seconds_to_last_line": seen["end"] - t0,
            "behind_at_end": max(0.0, seen["end"] - seen["server_done"]),
            "cpu_seconds": cpu,
            "max_frame_gap": max(gaps[1:], default=0.0),  # from the first paint of the answer on
            "first_paint": first_change - t0,
        }


def measure(app: str, name: str, base_url: str, log: Path, scenario: dict[str, Any], runs: int,
            timeout: float, keys: list[str]) -> dict[str, Any]:
    results = [run_once(app, base_url, log, scenario, timeout) for _ in range(runs)]
    figures = {key: round(statistics.median(r[key] for r in results), 3) for key in keys}
    line = {"bench": "tui_stream", "app": app, "scenario": name, "runs": runs, **figures,
            "all": {key: [round(r[key], 3) for r in results] for key in keys}}
    print(json.dumps(line), flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description="Streaming render speed of tui-chat vs Textual's Markdown stream.")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference-runs", type=int, default=1)
    parser.add_argument("--scenarios", default="fast,paced,big")
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--big-tokens", type=int, default=20000)
    parser.add_argument("--rate", type=float, default=100.0, help="tokens per second for the paced run")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    wanted = args.scenarios.split(",")
    with tempfile.TemporaryDirectory(prefix="tui-stream-log-") as tmp:
        log = Path(tmp) / "requests.jsonl"
        with fake_provider_process("--log", str(log)) as (_proc, base_url):
            results: dict[tuple[str, str], dict[str, Any]] = {}
            apps = ["tui-chat"] + ([] if args.no_reference else ["reference"])
            fast = {"text": answer_text(args.tokens)}
            if "fast" in wanted:
                for app in apps:
                    runs = args.runs if app == "tui-chat" else args.reference_runs
                    results[(app, "fast")] = measure(app, "fast", base_url, log, fast, runs, 600,
                                                     ["seconds_to_last_line", "cpu_seconds", "first_paint"])
            if "paced" in wanted:
                paced = {**fast, "tokens_per_second": args.rate}
                timeout = args.tokens / args.rate * 3 + 60
                for app in apps:
                    runs = args.runs if app == "tui-chat" else args.reference_runs
                    results[(app, "paced")] = measure(
                        app, "paced", base_url, log, paced, runs, timeout,
                        ["behind_at_end", "cpu_seconds", "max_frame_gap", "seconds_to_last_line"])
            if "big" in wanted:
                big = {"text": answer_text(args.big_tokens)}
                results[("tui-chat", "big")] = measure("tui-chat", "big", base_url, log, big, args.runs, 600,
                                                       ["seconds_to_last_line", "cpu_seconds"])
                if ("tui-chat", "fast") in results:
                    ratio = (results[("tui-chat", "big")]["seconds_to_last_line"]
                             / results[("tui-chat", "fast")]["seconds_to_last_line"])
                    print(json.dumps({"bench": "tui_stream", "app": "tui-chat", "scenario": "big/fast",
                                      "tokens": [args.big_tokens, args.tokens], "time_ratio": round(ratio, 2)}))
            if ("reference", "fast") in results and ("tui-chat", "fast") in results:
                speedup = (results[("reference", "fast")]["seconds_to_last_line"]
                           / results[("tui-chat", "fast")]["seconds_to_last_line"])
                print(json.dumps({"bench": "tui_stream", "scenario": "fast", "speedup_vs_reference":
                                  round(speedup, 1)}))


if __name__ == "__main__":
    main()
