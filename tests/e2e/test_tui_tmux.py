"""The real ``tui-chat`` in a real terminal (tmux, 120x40) against the fake provider
server running as its own process: type a prompt, watch the streamed answer arrive,
quit, and check what the database kept."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from storage import Storage
from tests.e2e.tmux import Tmux, app_environment, prepare_home, tmux_available
from tests.fakes.fixtures import fake_provider_process

pytestmark = pytest.mark.e2e

if not tmux_available():
    if os.environ.get("CI"):
        raise RuntimeError("tmux is required on CI for the end-to-end tests")
    pytest.skip("tmux is not installed", allow_module_level=True)

ANSWER = ("## Tide tables\n\nThe **moon** pulls the sea. High tide comes about every 12 hours.\n\n"
          "```python\nprint('high tide')\n```\n\nEnd of the tide answer.\n")


def queue(base_url: str, scenario: dict) -> None:
    request = urllib.request.Request(f"{base_url}/_fake/scenarios", data=json.dumps(scenario).encode(),
                                     headers={"content-type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def test_prompt_answer_quit_and_stored(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with fake_provider_process() as (_proc, base_url):
        db_url = prepare_home(home, base_url)
        queue(base_url, {"text": ANSWER, "tokens_per_second": 200})
        queue(base_url, {"text": "Tides"})  # the title, asked for after the first answer
        with Tmux(120, 40) as tmux:
            tmux.start([sys.executable, "-m", "tui_chat.cli"], app_environment(home))
            tmux.wait_for_text("Message…", timeout=60)
            tmux.wait_for_text("○ ready", timeout=60)
            tmux.type("Why are there tides?")
            tmux.send("Enter")
            tmux.wait_for_text("Why are there tides?", timeout=30)
            tmux.wait_for_text("End of the tide answer.", timeout=60)
            screen = tmux.capture()
            assert "Tide tables" in screen
            assert "print('high tide')" in screen
            assert "**moon**" not in screen  # rendered as Markdown, not shown raw
            tmux.wait_for_text("○ ready", timeout=30)
            tmux.wait_for(lambda s: "Tides" in s.split("\n")[4] or "Tides" in s, timeout=30)
            tmux.send("C-q")
            tmux.wait_exit()
    storage = Storage.open(db_url)
    try:
        user = storage.users.ensure("local:e2e")
        conversations = storage.conversations.list(user.id).items
        assert len(conversations) == 1
        conversation = conversations[0]
        assert conversation.title == "Tides"
        branch = storage.messages.branch(user.id, conversation.id)
        assert [(m.role, m.status) for m in branch.items] == [("user", "done"), ("assistant", "done")]
        assert branch.items[0].content == "Why are there tides?"
        assert branch.items[1].content == ANSWER
        sessions = storage.sessions.statistics(user.id)
        assert sessions.total == 1 and sessions.active == 0  # recorded, and ended on quit
        assert conversation.session_id is not None
    finally:
        storage.close()
