"""Errors and logs that include a request show it with the credentials redacted."""

from __future__ import annotations

import logging

import click
import pytest

from tui_chat import cli as cli_module
from tui_chat import logs
from tui_chat.logs import redact

OPENAI_KEY = "sk-proj-Redact7Hq2Wz9Rt4Yp6Xn3Vb8Mc1Kd5Js0Fg"
ANTHROPIC_KEY = "sk-ant-api03-Redact4Tb7Nq2Wx9Rz6Yp3Vm8Kc1Jd5Hs0Fg-AAAA"
OPAQUE_KEY = "f3a9c2e7b1d84e6a9c0b5d2e8f7a1c3b"  # a compatible server's key: no known prefix


@pytest.mark.parametrize("text, secret, kept", [
    (f"Authorization: Bearer {OPENAI_KEY}", OPENAI_KEY, "Authorization: [redacted]"),
    (f"authorization: bearer {OPAQUE_KEY}", OPAQUE_KEY, "authorization: [redacted]"),
    (f"x-api-key: {ANTHROPIC_KEY}", ANTHROPIC_KEY, "x-api-key: [redacted]"),
    (f"X-Api-Key: {OPAQUE_KEY}", OPAQUE_KEY, "X-Api-Key: [redacted]"),
    (f'{{"model": "gpt-4o", "api_key": "{OPAQUE_KEY}"}}', OPAQUE_KEY, '"api_key": "[redacted]"'),
    (f'{{"apiKey":"{OPAQUE_KEY}","n":1}}', OPAQUE_KEY, '"apiKey":"[redacted]"'),
    (f"{{'authorization': 'Bearer {OPAQUE_KEY}', 'accept': 'application/json'}}", OPAQUE_KEY,
     "'authorization': '[redacted]', 'accept': 'application/json'"),
    (f"Headers({{'x-api-key': '{OPAQUE_KEY}'}})", OPAQUE_KEY, "'x-api-key': '[redacted]'"),
    (f"Authorization: Basic {OPAQUE_KEY}", OPAQUE_KEY, "Authorization: [redacted]"),
    (f"Proxy-Authorization: Bearer {OPAQUE_KEY}", OPAQUE_KEY, "Proxy-Authorization: [redacted]"),
    (f"OPENAI_API_KEY={OPAQUE_KEY} tui-chat -p hi", OPAQUE_KEY, "OPENAI_API_KEY=[redacted] tui-chat -p hi"),
    (f"https://host/v1?api_key={OPAQUE_KEY}&x=1", OPAQUE_KEY, "?api_key=[redacted]&x=1"),
    (f"token rejected: Bearer {OPAQUE_KEY}", OPAQUE_KEY, "token rejected: Bearer [redacted]"),
    (f"the key {OPENAI_KEY} is wrong", OPENAI_KEY, "the key [redacted] is wrong"),
    (f"key={ANTHROPIC_KEY}", ANTHROPIC_KEY, "key=[redacted]"),
])
def test_redact_realistic_strings(text, secret, kept):
    cleaned = redact(text)
    assert secret not in cleaned
    assert kept in cleaned
    assert redact(cleaned) == cleaned  # redacting twice changes nothing


def test_redact_a_whole_request_dump():
    dump = (
        "POST /v1/chat/completions HTTP/1.1\r\n"
        "Host: api.openai.com\r\n"
        f"Authorization: Bearer {OPENAI_KEY}\r\n"
        "Content-Type: application/json\r\n\r\n"
        '{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": true}\n'
        "POST /v1/messages HTTP/1.1\r\n"
        f"x-api-key: {ANTHROPIC_KEY}\r\n"
        "anthropic-version: 2023-06-01\r\n"
    )
    cleaned = redact(dump)
    assert OPENAI_KEY not in cleaned and ANTHROPIC_KEY not in cleaned
    assert "Authorization: [redacted]\r\n" in cleaned and "x-api-key: [redacted]\r\n" in cleaned
    # Everything that is not a credential is kept, so the request stays useful.
    for kept in ("POST /v1/chat/completions HTTP/1.1", "Host: api.openai.com", "Content-Type: application/json",
                 '"content": "hi"', "anthropic-version: 2023-06-01"):
        assert kept in cleaned


@pytest.mark.parametrize("text", [
    "Bearer tokens are sent in the Authorization header.",
    "Set OPENAI_API_KEY is not set; see the docs.",
    "options: api_key_env = GROQ_API_KEY",
    "the ask-me-anything session",
    "max_tokens: 1024, temperature: 0.7",
])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_the_log_file_is_redacted(monkeypatch):
    monkeypatch.setattr(logs, "_configured", False)
    logger = logging.getLogger("tui_chat")
    before = list(logger.handlers)
    try:
        path = logs.setup_logging()
        logging.getLogger("tui_chat.test").error("request failed: %s", {"authorization": f"Bearer {OPAQUE_KEY}"})
        logs.log_exception(RuntimeError(f"POST /v1/messages with x-api-key: {ANTHROPIC_KEY}"))
        for handler in logger.handlers:
            handler.flush()
        text = path.read_text()
    finally:
        for handler in logger.handlers[:]:
            if handler not in before:
                logger.removeHandler(handler)
                handler.close()
    assert "request failed" in text and "[redacted]" in text
    assert OPAQUE_KEY not in text and ANTHROPIC_KEY not in text
    assert path.stat().st_mode & 0o077 == 0  # the owner's only


def _boom_command(message: str) -> click.Command:
    @click.command("boom")
    def boom() -> None:
        raise RuntimeError(message)

    return boom


def test_unexpected_error_line_on_stderr_is_redacted(monkeypatch, capsys):
    """An unexpected error whose message includes a request (an SDK or HTTP library
    error carrying headers) must not print the credentials."""
    import types

    module = types.ModuleType("tui_chat.commands._boom")
    module.boom = _boom_command(f"request POST /v1/chat/completions headers={{'authorization': 'Bearer {OPAQUE_KEY}'}}")
    monkeypatch.setitem(__import__("sys").modules, "tui_chat.commands._boom", module)
    monkeypatch.setitem(cli_module.SUBCOMMANDS, "boom", "_boom:boom")
    monkeypatch.setattr(logs, "_configured", False)
    with pytest.raises(SystemExit) as info:
        cli_module.main(["boom"])
    err = capsys.readouterr().err
    logger = logging.getLogger("tui_chat")
    for handler in logger.handlers[:]:
        if isinstance(handler, logging.FileHandler):
            logger.removeHandler(handler)
            handler.close()
    assert info.value.code == 1 and "unexpected error" in err
    assert OPAQUE_KEY not in err
