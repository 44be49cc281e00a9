"""The fake provider server itself: its process mode, control routes and recordings."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fakes.fixtures import fake_provider_process
from tests.fakes.provider_server import FakeProviderServer, Scenario
from tests.fakes.provider_wire import generate_markdown, split_text
from tests.providers.conftest import collect, text_of
from tui_chat.providers import ProviderSettings, create_provider


def _post(url: str, payload: object) -> object:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as response:
        return json.loads(response.read())


def test_split_text_and_markdown_are_deterministic() -> None:
    assert split_text("a bb  ccc") == ["a", " bb", "  ccc"]
    assert "".join(split_text("héllo wörld", 4)) == "héllo wörld" and len(split_text("héllo wörld", 4)) == 4
    tokens = generate_markdown(500)
    assert len(tokens) == 500 and tokens == generate_markdown(500)
    text = "".join(tokens)
    assert "## Section 1" in text and "```python" in text and "| name | value |" in text


def test_scenario_round_trips_through_json() -> None:
    scenario = Scenario.from_dict({"text": "x", "tool_calls": [{"name": "f", "arguments": "{}"}], "delay": 0.1})
    assert Scenario.from_dict(json.loads(json.dumps(scenario.to_dict()))) == scenario


async def test_separate_process_with_script_control_routes_and_log(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"default": {"text": "default answer"},
                                  "scenarios": [{"text": "scripted first", "chunks": 2}]}))
    log = tmp_path / "requests.jsonl"
    with fake_provider_process("--script", str(script), "--api-key", "sk-proc", "--log", str(log)) as (_, url):
        provider = create_provider(ProviderSettings(name="p", kind="openai-compatible", base_url=f"{url}/v1",
                                                    api_key="sk-proc"))
        try:
            assert text_of(await collect(provider)) == "scripted first"
            assert text_of(await collect(provider)) == "default answer"
            _post(f"{url}/_fake/scenarios", [{"text": "queued over HTTP"}])
            assert text_of(await collect(provider)) == "queued over HTTP"
        finally:
            await provider.aclose()
        with urllib.request.urlopen(f"{url}/_fake/requests", timeout=5) as response:
            recorded = json.loads(response.read())
    assert [r["path"] for r in recorded] == ["/v1/chat/completions"] * 3
    assert all(r["headers"]["authorization"] == "Bearer sk-proc" for r in recorded)
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(logged) == 3 and all(r["completed"] for r in logged)


def test_port_file(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    with fake_provider_process("--port-file", str(port_file)) as (_, url):
        assert url.endswith(f":{port_file.read_text()}")


async def test_wrong_key_gets_the_real_401_shapes(fake_provider_factory) -> None:
    server: FakeProviderServer = fake_provider_factory(api_key="sk-right-0000")
    for path, headers in (("/v1/chat/completions", {}), ("/v1/messages", {"anthropic-version": "2026-10-21"})):
        req = urllib.request.Request(server.base_url + path, data=b"{}", method="POST",
                                     headers={"authorization": "Bearer sk-wrong-123456789", **headers})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=5)
        assert info.value.code == 401
        body = json.loads(info.value.read())
        if "anthropic-version" in headers:
            assert body == {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
        else:
            assert body["error"]["code"] == "invalid_api_key" and "sk-" in body["error"]["message"]
            assert "123456789" not in body["error"]["message"]  # masked, as the real API does
