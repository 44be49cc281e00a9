"""The command line: scripted runs fail closed (with the real tools and the fake model),
`tools list`, `policy check|add|list|remove`, and `mcp add|list|import|remove`."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from storage import Storage
from tests.fakes.fixtures import FAKE_API_KEY, fake_provider  # noqa: F401
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.provider_wire import Scenario, ToolCallScript
from tests.tools.conftest import MCP_COMMAND, REPO
from tui_chat.paths import database_url


@pytest.fixture
def tui(fake_provider: FakeProviderServer, workspace: Path):  # noqa: F811
    """``tui-chat ARGS`` in a child process, in the workspace, against the fake model."""
    env = {**os.environ, "OPENAI_API_KEY": FAKE_API_KEY, "OPENAI_BASE_URL": fake_provider.base_url_openai}

    def run(*args: str, cwd: Path | None = None, input: str = "") -> subprocess.CompletedProcess[str]:  # noqa: A002
        return subprocess.run([sys.executable, "-m", "tui_chat.cli", *args], input=input, capture_output=True,
                              text=True, env=env, cwd=cwd or workspace, timeout=120)

    return run


def open_store() -> Storage:
    return Storage.open(database_url())


def executions() -> list:
    store = open_store()
    try:
        return store.tools.list(store.users.ensure().id)
    finally:
        store.close()


def call(name: str, **arguments) -> Scenario:
    return Scenario(tool_calls=[ToolCallScript(name, json.dumps(arguments))], finish_reason="tool_calls")


def tool_messages(fake_provider: FakeProviderServer) -> list[str]:  # noqa: F811
    return [m["content"] for r in fake_provider.chat_requests() for m in r.body["messages"] if m["role"] == "tool"]


# --- scripted mode fails closed --------------------------------------------------------

def test_shell_is_denied_by_default_and_the_model_is_told(tui, fake_provider, workspace) -> None:  # noqa: F811
    fake_provider.queue(call("run_shell", command="echo hello > made.txt"), Scenario(text="I could not."))
    result = tui("-p", "run it", "--output-format", "json")
    assert result.returncode == 0, result.stderr
    assert "tool call run_shell denied" in result.stderr and "a scripted run cannot ask" in result.stderr
    data = json.loads(result.stdout)
    assert data["tool_calls"][0]["approved"] is False and data["text"] == "I could not."
    assert "denied" in tool_messages(fake_provider)[0] and not (workspace / "made.txt").exists()
    [execution] = executions()
    assert execution.status == "denied" and execution.decided_by == "policy"


def test_allow_tool_lets_a_matching_command_run(tui, fake_provider, workspace) -> None:  # noqa: F811
    fake_provider.queue(call("run_shell", command="echo hello"), Scenario(text="It said hello."))
    result = tui("-p", "say hello", "--allow-tool", "run_shell(echo *)")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "It said hello.\n" and "denied" not in result.stderr
    assert tool_messages(fake_provider) == ["exit code 0\nhello\n"]
    [execution] = executions()
    assert execution.status == "completed" and execution.decided_by == "flag"
    assert open_store().approvals.all_rules(open_store().users.ensure().id) == []  # flags are not stored


def test_allow_tool_does_not_cover_a_chained_command(tui, fake_provider, workspace) -> None:  # noqa: F811
    (workspace / "keep.txt").write_text("keep")
    fake_provider.queue(call("run_shell", command="echo hi; rm keep.txt"), Scenario(text="ok"))
    result = tui("-p", "x", "--allow-tool", "run_shell(echo *)")
    assert result.returncode == 0 and "denied" in result.stderr and (workspace / "keep.txt").exists()


def test_deny_tool_and_read_only_mode(tui, fake_provider, workspace) -> None:  # noqa: F811
    fake_provider.queue(call("read_file", path="README.md"), Scenario(text="no"))
    result = tui("-p", "x", "--deny-tool", "read_file")
    assert "--deny-tool 'read_file'" in result.stderr
    fake_provider.queue(call("write_file", path="a.txt", content="x"), call("read_file", path="README.md"),
                        Scenario(text="done"))
    result = tui("-p", "x", "--permission-mode", "read-only", "--allow-tool", "write_file")
    assert "read-only mode" in result.stderr and not (workspace / "a.txt").exists()
    assert tool_messages(fake_provider)[-1].startswith("# Project")


def test_accept_edits_mode(tui, fake_provider, workspace) -> None:  # noqa: F811
    fake_provider.queue(call("edit_file", path="README.md", old_text="Some words.", new_text="Other words."),
                        Scenario(text="edited"))
    result = tui("-p", "x", "--permission-mode", "accept-edits")
    assert result.returncode == 0, result.stderr
    assert (workspace / "README.md").read_text() == "# Project\n\nOther words.\n"


def test_bypass_warns_and_runs(tui, fake_provider, workspace) -> None:  # noqa: F811
    fake_provider.queue(call("run_shell", command="touch made.txt"), Scenario(text="done"))
    result = tui("-p", "x", "--permission-mode", "bypass")
    assert result.returncode == 0 and "DANGEROUS" in result.stderr and (workspace / "made.txt").exists()
    assert "DANGEROUS" in tui("--help").stdout


def test_a_denied_loop_ends_with_exit_code_5(tui, fake_provider) -> None:  # noqa: F811
    fake_provider.queue(*[call("run_shell", command="ls")] * 3)
    result = tui("-p", "loop", "--max-turns", "2")
    assert result.returncode == 5 and result.stderr.count("denied") >= 2


def test_a_bad_pattern_is_a_usage_error(tui) -> None:
    result = tui("-p", "x", "--allow-tool", "run_shell(")
    assert result.returncode == 2 and "--allow-tool" in result.stderr


def test_mcp_tools_in_a_scripted_run(tui, fake_provider, workspace) -> None:  # noqa: F811
    added = tui("mcp", "add", "fake", "--cwd", str(REPO), "--", *MCP_COMMAND)
    assert added.returncode == 0, added.stderr
    assert "fake.echo" in added.stdout and "fake.add" in added.stdout
    assert re.search(r"^fake\.echo +medium +mcp:fake", tui("tools", "list").stdout, re.MULTILINE)
    fake_provider.queue(call("fake__add", a=20, b=22), Scenario(text="42"))
    result = tui("-p", "add", "--allow-tool", "fake.add")
    assert result.returncode == 0, result.stderr
    assert tool_messages(fake_provider) == ["42"]
    fake_provider.queue(call("fake__echo", text="x"), Scenario(text="no"))
    result = tui("-p", "echo", "--allow-tool", "fake.add")
    assert "tool call fake.echo denied" in result.stderr or "tool call fake__echo denied" in result.stderr


# --- tools and policy commands ----------------------------------------------------------

def test_tools_list(tui) -> None:
    result = tui("tools", "list", "--json")
    rows = {r["name"]: r for r in json.loads(result.stdout)["tools"]}
    assert rows["run_shell"]["risk"] == "high" and rows["read_file"]["risk"] == "read_only"
    assert rows["fetch_url"]["risk"] == "low" and rows["write_file"]["source"] == "builtin"
    assert re.search(r"^run_shell +high +builtin", tui("tools", "list").stdout, re.MULTILINE)


def test_policy_check_add_list_remove(tui, workspace) -> None:
    check = tui("policy", "check", "run_shell", '{"command": "rm -rf ~ | grep x"}')
    assert check.returncode == 0 and "decision:   ask" in check.stdout and "$ rm -rf ~ | grep x" in check.stdout
    added = tui("policy", "add", "allow", "run_shell(grep *)", "--scope", "project", "--expires", "7d")
    assert added.returncode == 0 and f"project {workspace}" in added.stdout and "expires in 6d" in added.stdout
    rule_id = added.stdout.split()[-1]
    assert "decision:   ask" in tui("policy", "check", "run_shell", '{"command": "rm -rf ~ | grep x"}').stdout
    assert "decision:   deny" in tui("policy", "check", "run_shell", '{"command": "rm -rf ~ | grep x"}',
                                     "--scripted").stdout
    allowed = tui("policy", "check", "run_shell", '{"command": "grep x README.md"}', "--json")
    data = json.loads(allowed.stdout)
    assert (data["decision"], data["rule_id"], data["rule"]) == ("allow", rule_id, "run_shell(grep *)")
    listing = tui("policy", "list")
    assert "run_shell(grep *)" in listing.stdout and "in 6d" in listing.stdout and f"project {workspace}" in \
        listing.stdout
    assert tui("policy", "remove", rule_id).returncode == 0
    assert json.loads(tui("policy", "list", "--json").stdout) == []
    assert tui("policy", "add", "allow", "run_shell(", "--expires", "7d").returncode == 2
    assert tui("policy", "add", "allow", "x", "--expires", "soon").returncode == 2
    assert tui("policy", "check", "no_such_tool", "{}").returncode == 2


def test_policy_settings(tui) -> None:
    result = tui("policy", "settings", "--low-risk", "--tool", "run_shell=ask", "--json")
    data = json.loads(result.stdout)
    assert data["low_risk_operations"] is True and data["specific_tools"] == {"run_shell": "ask"}
    assert "decision:   allow" in tui("policy", "check", "fetch_url", '{"url": "https://example.org"}').stdout


# --- mcp commands (in this process, with an in-memory keyring) -----------------------------

@pytest.fixture
def cli(capsys, monkeypatch):
    from tui_chat.cli import main

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        out, err = capsys.readouterr()
        return info.value.code or 0, out, err

    return run


def _database_bytes() -> bytes:
    return b"".join(p.read_bytes() for p in Path(os.environ["TUI_CHAT_HOME"]).rglob("*.db*") if p.is_file())


def test_mcp_add_keeps_secrets_in_the_keyring(cli, memory_keyring) -> None:
    code, out, err = cli("mcp", "add", "gh", "--env", "LOG_LEVEL=debug", "--env-secret", "GITHUB_TOKEN",
                         "--no-check", "--", "github-mcp-server", "stdio", stdin="ghp_secretvalue0123456789abcdef\n")
    assert code == 0, err
    assert ("tui-chat-mcp", "gh") in memory_keyring.entries
    assert b"ghp_secretvalue" not in _database_bytes()
    code, out, err = cli("mcp", "list", "--json")
    [row] = json.loads(out)
    assert row["credentials"] == "keyring" and row["env"] == ["LOG_LEVEL"] and row["tools"] is None
    assert cli("mcp", "remove", "gh")[0] == 0
    assert ("tui-chat-mcp", "gh") not in memory_keyring.entries


def test_mcp_import_a_desktop_config(cli, memory_keyring, tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(json.dumps({"mcpServers": {
        "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
        "github": {"command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"],
                   "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_importedsecret0123456789abcd"}},
        "remote": {"type": "http", "url": "https://mcp.example.com/mcp",
                   "headers": {"Authorization": "Bearer abcdef0123456789"}},
        "old": {"type": "sse", "url": "https://mcp.example.com/sse"},
    }}))
    code, out, err = cli("mcp", "import", str(config), "--no-check")
    assert code == 0, err
    assert "imported 3 server(s): files, github, remote" in out and "SSE servers are not supported" in err
    assert b"ghp_imported" not in _database_bytes() and b"abcdef0123456789" not in _database_bytes()
    assert {("tui-chat-mcp", "github"), ("tui-chat-mcp", "remote")} <= set(memory_keyring.entries)
    rows = {r["name"]: r for r in json.loads(cli("mcp", "list", "--json")[1])}
    assert rows["remote"]["kind"] == "mcp-http" and rows["files"]["credentials"] is None


def test_mcp_add_checks_the_server_and_records_failures(cli) -> None:
    code, out, err = cli("mcp", "add", "broken", "--", sys.executable, "-c", "raise SystemExit(1)")
    assert code == 0 and "could not be started" in err
    [row] = json.loads(cli("mcp", "list", "--json")[1])
    assert row["status"] == "error" and "could not be started" in row["error"]
    assert cli("mcp", "add", "both", "--url", "https://x.org/mcp", "--", "cmd")[0] == 2
    assert cli("mcp", "add", "Bad.Name", "--no-check", "--", "cmd")[0] == 2
