"""What each provider puts on the wire: messages, tools, images, limits, keys."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.fakes.provider_server import FakeProviderServer, Scenario
from tests.providers.conftest import collect, collect_until_error, request, text_of
from tui_chat.providers import (
    ChatMessage,
    ChatRequest,
    ImagePart,
    ProviderSettings,
    ToolCall,
    ToolSpec,
    create_provider,
)

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
TOOL = ToolSpec("read_file", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}},
                                             "required": ["path"]})
HISTORY = (
    ChatMessage("user", "What is in a.txt and b.txt?"),
    ChatMessage("assistant", "Reading both.", reasoning="need both files", reasoning_signature="sig-1",
                tool_calls=(ToolCall("call_1", "read_file", '{"path": "a.txt"}'),
                            ToolCall("call_2", "read_file", '{"path": "b.txt"}'))),
    ChatMessage("tool", "alpha", tool_call_id="call_1"),
    ChatMessage("tool", "permission denied", tool_call_id="call_2", is_error=True),
    ChatMessage("user", "Thanks. And now?"),
)


async def test_openai_request_shape(make_provider, fake_provider: FakeProviderServer) -> None:
    req = ChatRequest(model="gpt-4o", messages=HISTORY, system="Be brief.", tools=(TOOL,), temperature=0.3,
                      top_p=0.9, frequency_penalty=0.1, presence_penalty=0.2, stop=("END",), max_tokens=500)
    await collect(make_provider("openai"), req)
    sent = fake_provider.last_request
    assert sent.path == "/v1/chat/completions"
    body = sent.body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 500 and "max_completion_tokens" not in body
    assert (body["temperature"], body["top_p"], body["stop"]) == (0.3, 0.9, ["END"])
    assert (body["frequency_penalty"], body["presence_penalty"]) == (0.1, 0.2)
    assert body["tools"] == [{"type": "function", "function": {"name": "read_file", "description": "Read a file",
                                                               "parameters": dict(TOOL.parameters)}}]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is in a.txt and b.txt?"},
        {"role": "assistant", "content": "Reading both.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.txt"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "b.txt"}'}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "alpha"},
        {"role": "tool", "tool_call_id": "call_2", "content": "Error: permission denied"},
        {"role": "user", "content": "Thanks. And now?"},
    ]


async def test_anthropic_request_shape(make_provider, fake_provider: FakeProviderServer) -> None:
    req = ChatRequest(model="claude-sonnet-5-5", messages=HISTORY, system="Be brief.", tools=(TOOL,),
                      temperature=0.3, top_p=0.9, stop=("END",))
    await collect(make_provider("anthropic"), req)
    sent = fake_provider.last_request
    assert sent.path == "/v1/messages" and "anthropic-version" in sent.headers
    body = sent.body
    assert body["system"] == "Be brief." and body["max_tokens"] == 8192
    assert (body["stop_sequences"], body["stream"]) == (["END"], True)
    assert not {"temperature", "top_p", "top_k"} & set(body)  # API 2026-10-21 rejects them
    assert body["tools"] == [{"name": "read_file", "description": "Read a file",
                              "input_schema": dict(TOOL.parameters)}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "What is in a.txt and b.txt?"}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "need both files", "signature": "sig-1"},
            {"type": "text", "text": "Reading both."},
            {"type": "tool_use", "id": "call_1", "name": "read_file", "input": {"path": "a.txt"}},
            {"type": "tool_use", "id": "call_2", "name": "read_file", "input": {"path": "b.txt"}},
        ]},
        {"role": "user", "content": [  # both results and the next prompt in one user turn
            {"type": "tool_result", "tool_use_id": "call_1", "content": "alpha"},
            {"type": "tool_result", "tool_use_id": "call_2", "content": "permission denied", "is_error": True},
            {"type": "text", "text": "Thanks. And now?"},
        ]},
    ]


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_images_are_sent_as_base64(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    message = ChatMessage("user", "What is this?", images=(ImagePart(PNG, "image/png"),))
    await collect(make_provider(api), ChatRequest(model="vision-model", messages=(message,)))
    content = fake_provider.last_request.body["messages"][0]["content"]
    if api == "openai":
        assert content[0] == {"type": "text", "text": "What is this?"}
        url = content[1]["image_url"]["url"]
        assert content[1]["type"] == "image_url" and url.startswith("data:image/png;base64,")
        assert base64.b64decode(url.split(",", 1)[1]) == PNG
    else:
        image = content[0]
        assert image["type"] == "image" and image["source"]["type"] == "base64"
        assert image["source"]["media_type"] == "image/png"
        assert base64.b64decode(image["source"]["data"]) == PNG
        assert content[1] == {"type": "text", "text": "What is this?"}


@pytest.mark.parametrize(("model", "param"), [
    ("o3-mini", "max_completion_tokens"), ("o1", "max_completion_tokens"), ("gpt-5", "max_completion_tokens"),
    ("gpt-5-mini", "max_completion_tokens"), ("openai/o4-mini", "max_completion_tokens"),
    ("gpt-4o", "max_tokens"), ("llama3.2", "max_tokens"),
])
async def test_max_tokens_parameter_name(model: str, param: str, make_provider,
                                         fake_provider: FakeProviderServer) -> None:
    await collect(make_provider("openai"), request(model=model, max_tokens=321, reasoning_effort="low"))
    body = fake_provider.last_request.body
    other = {"max_tokens", "max_completion_tokens"} - {param}
    assert body[param] == 321 and not other & set(body)
    assert body["reasoning_effort"] == "low"


async def test_options_switch_usage_and_token_parameter(make_provider, fake_provider: FakeProviderServer) -> None:
    provider = make_provider("openai-compatible", options={"stream_usage": False,
                                                           "max_tokens_param": "max_completion_tokens",
                                                           "headers": {"HTTP-Referer": "https://example.test"}})
    events = await collect(provider, request(model="local-model", max_tokens=64))
    body = fake_provider.last_request.body
    assert "stream_options" not in body and body["max_completion_tokens"] == 64
    assert fake_provider.last_request.headers["http-referer"] == "https://example.test"
    assert text_of(events) == "You said: Hello"
    assert not any(type(e).__name__ == "UsageReport" for e in events)  # nothing asked, nothing reported


async def test_openai_reasoning_field_variants(make_provider, fake_provider: FakeProviderServer) -> None:
    fake_provider.queue(Scenario(text="ok", reasoning="via reasoning field", reasoning_field="reasoning"))
    events = await collect(make_provider("openai-compatible"))
    assert "".join(getattr(e, "text", "") for e in events if type(e).__name__ == "ReasoningDelta") == (
        "via reasoning field")


async def test_anthropic_thinking_parameters(make_provider, fake_provider: FakeProviderServer) -> None:
    provider = make_provider("anthropic")
    await collect(provider, request(model="claude-opus-4-1", reasoning_effort="high", max_tokens=8000))
    body = fake_provider.last_request.body
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    assert body["max_tokens"] > 16384  # the budget must fit below max_tokens
    await collect(provider, request(model="claude-sonnet-5-5", reasoning_effort="medium"))
    body = fake_provider.last_request.body
    assert body["thinking"] == {"type": "adaptive"} and body["output_config"] == {"effort": "medium"}
    assert body["max_tokens"] == 32000
    await collect(provider, request(model="claude-sonnet-5-5", reasoning_effort="low", max_tokens=2000))
    assert fake_provider.last_request.body["max_tokens"] == 2000
    await collect(provider, request(model="claude-haiku-4-5"))
    body = fake_provider.last_request.body
    assert body["max_tokens"] == 8192 and "thinking" not in body
    await collect(provider, request(model="claude-3-haiku-20240307"))
    assert fake_provider.last_request.body["max_tokens"] == 4096


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_list_models(api: str, make_provider, fake_provider: FakeProviderServer) -> None:
    models = await make_provider(api).list_models()
    assert [m.id for m in models] == ["fake-model-small", "fake-model-large"]
    assert all(m.provider == f"test-{api}" for m in models)
    if api == "anthropic":
        assert (models[0].context_window, models[0].max_output_tokens) == (200000, 64000)
    assert fake_provider.last_request.path.startswith("/v1/models")


async def test_list_models_auth_error(make_provider, fake_provider_factory) -> None:
    server = fake_provider_factory(api_key="right")
    with pytest.raises(Exception) as info:
        await make_provider("openai", server=server, api_key="wrong-key-value").list_models()
    assert getattr(info.value, "kind", None) == "auth"


async def test_compatible_endpoint_without_key_never_sends_the_openai_key(
        make_provider, fake_provider: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key-must-stay-home")
    events = await collect(make_provider("openai-compatible", api_key=None))
    assert text_of(events) == "You said: Hello"
    assert fake_provider.last_request.headers["authorization"] == "Bearer not-needed"


async def test_openai_kind_reads_key_and_base_url_from_the_environment(
        fake_provider: FakeProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_provider.base_url_openai)
    provider = create_provider(ProviderSettings(name="openai", kind="openai"))
    try:
        assert text_of(await collect(provider)) == "You said: Hello"
    finally:
        await provider.aclose()
    assert fake_provider.last_request.headers["authorization"] == "Bearer sk-from-env"


@pytest.mark.parametrize("api", ["openai", "anthropic", "anthropic-profile"])
async def test_missing_key_is_an_auth_error(api: str, fake_provider: FakeProviderServer, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE",
                 "ANTHROPIC_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/anthropic profile either
    if api == "anthropic-profile":  # a configured but empty profile directory
        monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic"))
    kind = api.split("-")[0]
    url = fake_provider.base_url_anthropic if kind == "anthropic" else fake_provider.base_url_openai
    provider = create_provider(ProviderSettings(name=kind, kind=kind, base_url=url))
    try:
        _, error = await collect_until_error(provider)
    finally:
        await provider.aclose()
    assert error.kind == "auth"
    assert "no usable credentials" in error.message if api == "anthropic-profile" else "no API key" in error.message
    assert fake_provider.chat_requests() == []  # failed before sending anything
