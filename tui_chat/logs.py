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

_SECRET_PATTERNS = [
    re.compile(r"(?i)(authorization|x-api-key|api[_-]?key)(\"?\s*[:=]\s*\"?)(bearer\s+)?[^\s\"',}]+"),
    re.compile(r"\b(sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{8,})"),
]


def redact(text: str) -> str:
    text = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", text)
    return _SECRET_PATTERNS[1].sub("[redacted]", text)


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
