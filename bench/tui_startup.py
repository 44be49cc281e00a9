"""Start-up to an interactive prompt, in a real terminal.

Launches ``tui-chat`` in tmux (120x40) over a database that already exists (as on any
run after the first), and times from the launch to the moment the prompt is on screen
and takes keys (its placeholder is painted; keys typed from then on land in it). Also
times the moment the app reports it is fully ready (database open, provider SDK and
renderer loaded in the background), and a bare Textual app for comparison. Prints one
JSON line per figure: medians over ``--runs``.

    python -m bench.tui_startup [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.e2e.tmux import Tmux, app_environment, prepare_home  # noqa: E402
from tests.fakes.fixtures import fake_provider_process  # noqa: E402

BARE_APP = """\
from textual.app import App
from textual.widgets import Footer, Input
class Bare(App):
    def compose(self):
        yield Input(placeholder="Message…")
        yield Footer()
Bare().run()
"""


def time_to(command: list[str], env: dict[str, str], marks: list[str], timeout: float = 60) -> list[float]:
    """Seconds from launch until each of ``marks`` is on screen, in order."""
    with Tmux(120, 40) as tmux:
        start = time.monotonic()
        tmux.start(command, env)
        seen = [tmux.wait_for_text(mark, timeout=timeout, interval=0.005) - start for mark in marks]
        tmux.send("C-q")
        tmux.wait_exit()
        return seen


def main() -> None:
    parser = argparse.ArgumentParser(description="Start-up time of tui-chat to an interactive prompt.")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tui-startup-") as tmp, fake_provider_process() as (_proc, base_url):
        home = Path(tmp) / "home"
        prepare_home(home, base_url)
        env = app_environment(home)
        # one run first, so the database and the bytecode caches are warm as on a normal day
        time_to([sys.executable, "-m", "tui_chat.cli"], env, ["Message…", "○ ready"])
        prompt, ready = [], []
        for _ in range(args.runs):
            a, b = time_to([sys.executable, "-m", "tui_chat.cli"], env, ["Message…", "○ ready"])
            prompt.append(a)
            ready.append(b)
        bare_script = Path(tmp) / "bare.py"
        bare_script.write_text(BARE_APP)
        bare = [time_to([sys.executable, str(bare_script)], env, ["Message…"])[0] for _ in range(args.runs)]
    for name, values in (("to_interactive_prompt", prompt), ("to_fully_ready", ready),
                         ("bare_textual_app", bare)):
        print(json.dumps({"bench": "tui_startup", "figure": name, "seconds": round(statistics.median(values), 3),
                          "runs": args.runs, "all": [round(v, 3) for v in values]}), flush=True)


if __name__ == "__main__":
    main()
