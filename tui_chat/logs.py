"""The app's log file, under the log directory (``TUI_CHAT_HOME/logs`` in tests).

Secrets never reach it: records pass through :func:`redact` first, which removes
anything shaped like an API key or an Authorization header.
"""

from __future__ import annotations

import logging
import re
import traceback
from pathlib import Path

from .paths import app_paths

#: A labelled secret: an Authorization or API-key header, a JSON/dict field or an
#: ``api_key=...`` / ``OPENAI_API_KEY=...`` pair, with any auth scheme ("Bearer",
#: "Basic", ...) before the value.
_LABELLED = re.compile(
    r"(?i)((?:\b(?:proxy-)?authorization)|x-api-key|api[_-]?key)"
    r"([\"']?\s*[:=]\s*[\"']?)"
    r"(?:(?:bearer|basic|token|digest|apikey|key)\s+)?"
    r"(?!\[redacted\])[^\s\"',;&}\]]+"
)
#: A bare bearer credential ("... Bearer eyJhbGciOi..."): a token with at least one digit.
_BEARER = re.compile(r"(?i)\b(bearer\s+)(?=[^\s\"']*\d)[A-Za-z0-9._~+/=\-]{8,}")
#: Values shaped like provider keys: OpenAI/Anthropic ``sk-``, Groq ``gsk_``, xAI ``xai-``,
#: Google ``AIza``.
_KEY_SHAPED = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{8,}|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,}|AIza[A-Za-z0-9_\-]{30,})"
)


def redact(text: str) -> str:
    """``text`` with anything shaped like an API key or an Authorization header replaced
    by ``[redacted]`` (the header or field name is kept, so a request stays readable)."""
    text = _LABELLED.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}[redacted]", text)
    return _KEY_SHAPED.sub("[redacted]", text)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


_configured = False


def setup_logging(level: int = logging.INFO) -> Path:
    global _configured
    paths = app_paths().ensure()
    if not _configured:
        handler = logging.FileHandler(paths.log_file, encoding="utf-8")
        handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("tui_chat")
        root.addHandler(handler)
        root.setLevel(level)
        paths.log_file.chmod(0o600)
        _configured = True
    return paths.log_file


def log_exception(exc: BaseException) -> Path:
    path = setup_logging()
    details = "".join(traceback.format_exception(exc))
    logging.getLogger("tui_chat").error("unexpected error\n%s", redact(details))
    return path
