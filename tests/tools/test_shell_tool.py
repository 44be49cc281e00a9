"""run_shell: a timeout that kills the whole process group, an output cap, no stdin,
the workspace as working directory, and no secrets in the environment."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tui_chat.tools.runtime import Runtime


def rt_with(store, user_id, **env) -> Runtime:
    return Runtime(store, user_id, env=env)


async def test_runs_in_the_workspace(store, user_id, context, workspace: Path) -> None:
    result = await rt_with(store, user_id).execute("run_shell", {"command": "pwd; ls src"}, context())
    assert not result.is_error and result.text == f"exit code 0\n{workspace}\napp.py\n"
    assert result.data["exit_code"] == 0 and result.data["output"] == f"{workspace}\napp.py\n"


async def test_a_failing_command_is_a_result_not_an_error(store, user_id, context) -> None:
    result = await rt_with(store, user_id).execute("run_shell", {"command": "echo oops >&2; exit 3"}, context())
    assert not result.is_error and result.text == "exit code 3\noops\n"


async def test_no_stdin(store, user_id, context) -> None:
    started = time.monotonic()
    result = await rt_with(store, user_id).execute("run_shell", {"command": "cat; read x; echo got=$x"}, context())
    assert result.text == "exit code 0\ngot=\n" and time.monotonic() - started < 5


async def test_timeout_kills_the_process_group(store, user_id, context, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    started = time.monotonic()
    command = f"sleep 60 & echo $! > {marker}; sleep 60"
    result = await rt_with(store, user_id).execute("run_shell", {"command": command, "timeout": 1}, context())
    assert result.is_error and "stopped after 1 s (timeout)" in result.text and result.data["timed_out"]
    assert time.monotonic() - started < 10
    background = int(marker.read_text())
    for _ in range(50):
        try:
            os.kill(background, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the background child survived the timeout")


async def test_output_cap_stops_the_command(store, user_id, context) -> None:
    started = time.monotonic()
    result = await rt_with(store, user_id, shell_output_limit=10_000).execute("run_shell", {"command": "yes"},
                                                                             context())
    assert result.is_error and "output passed 10,000 bytes" in result.text
    assert len(result.data["output"]) == 10_000 and time.monotonic() - started < 10


async def test_secrets_are_not_in_the_environment(store, user_id, context, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abcdefghijklmnopqrstuvwx")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_abcdefghijklmnopqrstuvwxyz0123")
    monkeypatch.setenv("HARMLESS_SETTING", "kept")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@db/app")
    monkeypatch.setenv("SOME_HEADER", "Bearer abcdefghij")
    result = await rt_with(store, user_id).execute("run_shell", {"command": "env"}, context())
    assert "sk-abc" not in result.text and "ghp_" not in result.text and "TUI_CHAT_TEST_API_KEY" not in result.text
    assert "hunter2" not in result.text and "Bearer" not in result.text
    assert "HARMLESS_SETTING=kept" in result.text and "PAGER=cat" in result.text


async def test_large_output_is_clipped_for_the_model(store, user_id, context) -> None:
    result = await rt_with(store, user_id).execute("run_shell", {"command": "seq 1 20000"}, context())
    assert "characters of the output omitted" in result.text
    assert result.data["output"].splitlines()[-1] == "20000" and result.text.rstrip().endswith("20000")
