"""MCP servers for real: the fake server in tests/fakes/mcp_server.py over stdio (and
streamable HTTP), its tools as server.tool under the same policy as built-in tools."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.tools.conftest import REPO
from tui_chat.tools.mcpconfig import Credentials, save_credentials


@pytest.fixture
async def listed(runtime, mcp_server):
    """A runtime with the fake server configured and listed (started once)."""
    mcp_server("fake", env={"FAKE_SETTING": "configured"})
    rt = runtime()
    assert await rt.prepare() == {}
    yield rt
    await rt.aclose()


async def test_tools_are_named_server_tool(listed) -> None:
    names = {t.name: t for t in listed.tools() if t.source == "mcp:fake"}
    assert set(names) == {"fake.echo", "fake.add", "fake.fail", "fake.slow", "fake.env", "fake.write_marker",
                          "fake.crash"}
    assert names["fake.add"].risk == "medium" and names["fake.add"].wire == "fake__add"
    spec = next(s for s in listed.specs() if s.name == "fake__add")
    assert spec.parameters["required"] == ["a", "b"] and "[MCP server fake]" in spec.description


async def test_calls_and_their_errors(listed, context, store, user_id) -> None:
    assert (await listed.execute("fake__add", {"a": 2, "b": 40}, context())).text == "42"
    assert (await listed.execute("fake.echo", {"text": "héllo"}, context())).text == "héllo"
    failed = await listed.execute("fake.fail", {"message": "no luck"}, context())
    assert failed.is_error and "no luck" in failed.text
    invalid = await listed.execute("fake.add", {"a": "two", "b": 1}, context())
    assert invalid.is_error and "'two' is not of type 'integer'" in invalid.text
    record = store.integrations.get(user_id, "fake")
    assert record.status == "active" and record.connected_at is not None and record.error is None


async def test_a_slow_tool_times_out_and_the_server_stays_usable(runtime, mcp_server, context) -> None:
    mcp_server("fake", timeout=1.5)
    rt = runtime()
    try:
        await rt.prepare()
        started = time.monotonic()
        result = await rt.execute("fake.slow", {"seconds": 30}, context())
        assert result.is_error and "did not answer within 1.5 s" in result.text
        assert time.monotonic() - started < 8
        assert (await rt.execute("fake.echo", {"text": "still here"}, context())).text == "still here"
    finally:
        await rt.aclose()


async def test_a_server_that_dies_is_started_again(listed, context, store, user_id) -> None:
    crashed = await listed.execute("fake.crash", {}, context())
    assert crashed.is_error and "stopped" in crashed.text
    assert store.integrations.get(user_id, "fake").status == "error"
    assert (await listed.execute("fake.echo", {"text": "back"}, context())).text == "back"
    assert store.integrations.get(user_id, "fake").status == "active"


async def test_the_server_environment_is_explicit(listed, context, monkeypatch) -> None:
    async def env(name: str) -> str:
        return (await listed.execute("fake.env", {"name": name}, context())).text

    assert await env("FAKE_SETTING") == "configured"
    assert await env("TUI_CHAT_TEST_API_KEY") == "<unset>"  # set in this process, not passed on
    assert await env("TUI_CHAT_HOME") == "<unset>"
    assert await env("PATH") != "<unset>"


async def test_credentials_come_from_the_keyring(runtime, mcp_server, context, memory_keyring) -> None:
    ref = save_credentials("secretive", Credentials(env={"SERVICE_TOKEN": "tok-123"}))
    assert ref == "keyring:tui-chat-mcp/secretive"
    mcp_server("secretive", credentials_ref=ref)
    rt = runtime()
    try:
        await rt.prepare()
        assert (await rt.execute("secretive.env", {"name": "SERVICE_TOKEN"}, context())).text == "tok-123"
    finally:
        await rt.aclose()


async def test_servers_start_lazily(runtime, mcp_server, context, store, user_id) -> None:
    mcp_server("fake")
    first = runtime()
    await first.prepare()
    await first.aclose()
    rt = runtime()  # the listing comes from the cache: nothing is started
    assert "fake__echo" in {s.name for s in rt.specs()}
    assert rt.mcp.servers["fake"].connection is None
    try:
        assert (await rt.execute("fake.echo", {"text": "now"}, context())).text == "now"
        assert rt.mcp.servers["fake"].connection.alive
    finally:
        await rt.aclose()


async def test_a_broken_server_gives_a_clear_error(runtime, mcp_server, store, user_id) -> None:
    mcp_server("crashes", command=[sys.executable, "-c", "import sys; sys.exit(3)"])
    rt = runtime()
    errors = await rt.prepare()
    assert "crashes" in errors and "could not be started" in errors["crashes"]
    record = store.integrations.get(user_id, "crashes")
    assert record.status == "error" and "could not be started" in record.error


async def test_a_hanging_server_never_hangs_the_app(runtime, mcp_server, store, user_id) -> None:
    mcp_server("hangs", command=[sys.executable, "-c", "import time; time.sleep(120)"])
    rt = runtime(mcp_options={"connect_timeout": 2.0})
    started = time.monotonic()
    errors = await rt.prepare()
    assert "did not start within 2 s" in errors["hangs"] and time.monotonic() - started < 10
    assert store.integrations.get(user_id, "hangs").status == "error"


async def test_mcp_tools_are_under_the_same_policy(listed, context, store, user_id) -> None:
    outcome = await listed.evaluate("fake__echo", {"text": "x"}, context())
    assert outcome.action == "ask" and outcome.risk == "medium"
    assert (await listed.evaluate("fake__echo", {"text": "x"}, context(interactive=False))).action == "deny"
    store.approvals.add_rule(user_id, "allow", "fake.echo")
    assert (await listed.evaluate("fake__echo", {"text": "x"}, context())).action == "allow"
    store.approvals.add_rule(user_id, "deny", "fake.*")
    denied = await listed.evaluate("fake__echo", {"text": "x"}, context())
    assert denied.action == "deny" and "fake.*" in denied.reason
    store.approvals.add_rule(user_id, "allow", "fake.add", "a=1")
    assert (await listed.evaluate("fake__add", {"a": 1, "b": 2}, context())).action == "deny"  # deny first


@pytest.fixture
def http_server() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.fakes.mcp_server", "--http", "0"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("READY "), line
        url = line.split()[1]
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def test_streamable_http_servers(runtime, store, user_id, context, http_server: str) -> None:
    store.integrations.add(user_id, "remote", "mcp-http", {"url": http_server, "timeout": 5})
    rt = runtime()
    try:
        assert await rt.prepare() == {}
        assert (await rt.execute("remote__add", {"a": 1, "b": 1}, context())).text == "2"
    finally:
        await rt.aclose()
