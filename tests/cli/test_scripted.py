"""``tui-chat -p``: output formats, stdin, conversations, and every exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import Storage
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.provider_wire import Scenario, ToolCallScript
from tui_chat.paths import database_url


def open_store() -> Storage:
    return Storage.open(database_url())


def user_of(store: Storage) -> str:
    return store.users.ensure().id


def test_text_output_streams_answer_and_records_it(run_cli, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="The answer is 42."))
    result = run_cli("-p", "What is the answer?", "--model", "gpt-4o")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "The answer is 42.\n" and result.stderr == ""
    store = open_store()
    conversation = store.conversations.latest(user_of(store))
    assert conversation.title == "What is the answer" and conversation.context["source"] == "cli"
    assert [m.content for m in store.messages.branch(user_of(store), conversation.id).items] == [
        "What is the answer?", "The answer is 42."]
    store.close()


def test_json_output_has_the_documented_fields(run_cli, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="hi there", input_tokens=1000, output_tokens=10))
    result = run_cli("-p", "hello", "--model", "gpt-4o", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"conversation_id", "message_id", "text", "provider", "model", "usage", "cost_usd",
                         "tool_calls", "finish_reason"}
    assert data["text"] == "hi there" and data["provider"] == "openai" and data["model"] == "gpt-4o"
    assert data["usage"]["input_tokens"] == 1000 and data["cost_usd"] == pytest.approx(0.0026)
    assert data["finish_reason"] == "stop"


def test_stream_json_is_one_event_per_line(run_cli, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="a b c", chunks=3))
    result = run_cli("-p", "x", "--provider", "anthropic", "--model", "claude-haiku-4-5", "--output-format", "stream-json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["type"] == "turn_started" and events[-1]["type"] == "turn_finished"
    assert "".join(e["text"] for e in events if e["type"] == "text") == "a b c"


def test_stdin_is_added_to_the_prompt(run_cli, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="ok"), Scenario(text="ok"))
    assert run_cli("-p", "Summarise:", input="line one\nline two\n").returncode == 0
    assert fake_provider.chat_requests()[0].body["messages"][-1]["content"] == "Summarise:\n\nline one\nline two"
    assert run_cli("-p", "-", input="only stdin").returncode == 0
    assert fake_provider.chat_requests()[1].body["messages"][-1]["content"] == "only stdin"


def test_continue_and_resume(run_cli, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="one"), Scenario(text="two"), Scenario(text="three"))
    first = json.loads(run_cli("-p", "first", "--output-format", "json").stdout)
    run_cli("-p", "second", "-c")
    third = json.loads(run_cli("-p", "third", "-r", first["conversation_id"], "--output-format", "json").stdout)
    assert third["conversation_id"] == first["conversation_id"]
    sent = [m["content"] for m in fake_provider.chat_requests()[2].body["messages"]]
    assert sent == ["first", "one", "second", "two", "third"]


def test_attach_inlines_text_files(run_cli, fake_provider: FakeProviderServer, tmp_path: Path) -> None:
    note = tmp_path / "notes.txt"
    note.write_text("remember the milk")
    fake_provider.queue(Scenario(text="ok"))
    assert run_cli("-p", "read this", "--attach", str(note)).returncode == 0
    assert "remember the milk" in fake_provider.chat_requests()[0].body["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["-p", ""], "", "prompt is empty"),
        (["-p", "x", "--temperature", "3"], "", "--temperature"),
        (["-p", "x", "-c", "-r", "abc"], "", "either --continue or --resume"),
        (["-p", "x", "-r", "no-such-id"], "", "no conversation with id"),
        (["-p", "x", "--output-format", "yaml"], "", "yaml"),
        (["-p", "x", "--attach", "/no/such/file"], "", "no such file"),
        (["--no-such-flag"], "", "no-such-flag"),
    ],
)
def test_usage_errors_exit_2(run_cli, args: list[str], stdin: str, message: str) -> None:
    result = run_cli(*args, input=stdin)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_auth_error_exits_3(run_cli, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(status=401))
    result = run_cli("-p", "x")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_unknown_provider_exits_3(run_cli) -> None:
    result = run_cli("-p", "x", "--provider", "nope")
    assert result.returncode == 3 and "unknown provider 'nope'" in result.stderr


def test_provider_errors_exit_4_after_retries(run_cli, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(*[Scenario(status=503, retry_after="0")] * 4)
    result = run_cli("-p", "x")
    assert result.returncode == 4
    assert result.stderr.count("retrying") == 3 and len(fake_provider.chat_requests()) == 4


def test_network_error_exits_4(run_cli, cli_env: dict[str, str]) -> None:
    env = {**cli_env, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    result = run_cli("-p", "x", env=env)
    assert result.returncode == 4 and "Traceback" not in result.stderr


def test_turn_limit_exits_5_and_denied_tools_are_reported(run_cli, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(*[Scenario(tool_calls=[ToolCallScript("run_shell", f'{{"command": "ls {i}"}}')],
                                   finish_reason="tool_calls") for i in range(2)])
    result = run_cli("-p", "loop", "--max-turns", "2")
    assert result.returncode == 5
    assert "denied" in result.stderr and "turn limit" in result.stderr


def test_cost_limit_exits_5(run_cli, fake_provider: FakeProviderServer) -> None:
    call = Scenario(tool_calls=[ToolCallScript("read_file", '{"path": "a"}')], finish_reason="tool_calls",
                    input_tokens=100_000, output_tokens=100)
    fake_provider.queue(call, Scenario(text="done"))
    result = run_cli("-p", "x", "--model", "gpt-4o", "--max-cost", "0.01")
    assert result.returncode == 5 and "cost limit" in result.stderr


def test_unexpected_error_exits_1_with_one_line_and_a_logged_traceback(monkeypatch, capsys) -> None:
    import tui_chat.context
    from tui_chat.cli import main

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tui_chat.context.AppContext, "open", boom)
    with pytest.raises(SystemExit) as exit_info:
        main(["list"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "disk on fire" in err
    log = Path(os.environ["TUI_CHAT_HOME"]) / "logs" / "tui-chat.log"
    assert "Traceback" in log.read_text()


def _start_streaming(cli_env: dict[str, str], fake_provider: FakeProviderServer) -> subprocess.Popen[str]:
    words = [f"w{i}" for i in range(400)]
    fake_provider.queue(Scenario(text=" ".join(words), delay=0.02))
    return subprocess.Popen([sys.executable, "-m", "tui_chat.cli", "-p", "stream please"], env=cli_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=0)


def _read_words(proc: subprocess.Popen[str], count: int) -> str:
    seen = ""
    while len(seen.split()) < count:
        char = proc.stdout.read(1)
        assert char, proc.stderr.read()
        seen += char
    return seen


def test_interrupt_exits_130_and_keeps_the_partial_answer(cli_env, fake_provider: FakeProviderServer) -> None:
    proc = _start_streaming(cli_env, fake_provider)
    shown = _read_words(proc, 30)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(30) == 130
    store = open_store()
    uid = user_of(store)
    answer = store.messages.branch(uid, store.conversations.latest(uid).id).items[-1]
    assert answer.status == "cancelled" and answer.content.startswith(shown.strip())
    store.close()


def test_killed_process_loses_at_most_a_second_and_is_marked_interrupted(cli_env, fake_provider, run_cli) -> None:
    proc = _start_streaming(cli_env, fake_provider)
    shown = _read_words(proc, 120)  # words arrive every 20 ms: 50 a second
    proc.kill()
    proc.wait(30)
    store = open_store()
    uid = user_of(store)
    answer = store.messages.branch(uid, store.conversations.latest(uid).id).items[-1]
    assert answer.status == "streaming"
    saved = len(answer.content.split())
    assert saved >= len(shown.split()) - 50, (saved, len(shown.split()))  # at most ~1 s lost
    # A new process recognises the dead stream (its writer stopped touching the row).
    from datetime import timedelta

    from sqlalchemy import update

    from storage.models import Message
    from storage.types import utcnow

    with store.db.write() as session:
        session.execute(update(Message).where(Message.id == answer.id).values(updated_at=utcnow() - timedelta(minutes=1)))
    fake_provider.queue(Scenario(text="fresh"))
    assert run_cli("-p", "next").returncode == 0
    recovered = store.messages.get(uid, answer.id)
    assert recovered.status == "interrupted" and recovered.content == answer.content
    store.close()


def test_memory_and_compact_commands(run_cli, fake_provider: FakeProviderServer) -> None:
    added = run_cli("memory", "add", "the", "deploy", "key", "lives", "in", "vault")
    assert added.returncode == 0, added.stderr
    assert "the deploy key lives in vault" in run_cli("memory", "list").stdout
    fake_provider.queue(*[Scenario(text=f"answer {i}") for i in range(3)], Scenario(text="a short gist"))
    first = json.loads(run_cli("-p", "q0", "--output-format", "json").stdout)
    run_cli("-p", "q1", "-c")
    run_cli("-p", "where does the deploy key live?", "-c")
    assert "deploy key lives in vault" in fake_provider.chat_requests()[2].body["messages"][0]["content"]
    compacted = run_cli("compact", first["conversation_id"], "--keep", "2")
    assert compacted.returncode == 0, compacted.stderr
    assert "compacted" in compacted.stdout
    assert run_cli("memory", "remove", added.stdout.strip()).returncode == 0
    assert run_cli("memory", "list").stdout == ""


def test_scripted_runs_are_recorded_as_sessions(run_cli, fake_provider: FakeProviderServer, cli_env) -> None:
    fake_provider.queue(Scenario(text="ok"))
    env = {**cli_env, "TMUX_PANE": "%42", "TERM_PROGRAM": "WezTerm"}
    assert run_cli("-p", "hi", env=env).returncode == 0
    store = open_store()
    uid = user_of(store)
    conversation = store.conversations.latest(uid)
    assert conversation.window_id == "%42" and conversation.session_id is not None
    assert store.sessions.active(uid) == []  # the run's session ended with it
    stats = store.sessions.statistics(uid)
    assert stats.total == 1
    store.close()


def test_repeated_denials_are_a_policy_stop_with_exit_5(run_cli, fake_provider: FakeProviderServer) -> None:
    call = Scenario(tool_calls=[ToolCallScript("run_shell", '{"command": "rm -rf /"}')], finish_reason="tool_calls")
    fake_provider.queue(call, call, call)
    result = run_cli("-p", "wipe", "--max-turns", "5")
    assert result.returncode == 5
    assert "a policy stopped the run" in result.stderr
    assert len(fake_provider.chat_requests()) == 2  # the same denied call asked again ends the run
