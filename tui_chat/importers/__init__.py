"""Import conversations from a file, whatever made it.

:func:`import_file` looks at the file and picks the reader:

- a tui-chat JSON export (``"format": "tui-chat.conversation"``) or share bundle
  (``"format": "tui-chat.share"``),
- ChatGPT's ``conversations.json`` (or the data-export ``.zip`` holding it),
- simonw's ``llm`` logs database (SQLite with ``conversations`` and ``responses``),
- Elia's database (SQLite with ``chat`` and ``message``).

A file that cannot be read or recognised raises :class:`ImportFormatError` before
anything is written. Inside a readable file, each conversation is imported on its own:
a malformed one is reported and skipped, the rest are imported, and what was imported
before is skipped (see :mod:`.base`).
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import ImportFormatError, ImportReport, import_plans
from .bundle import ShareRefused

if TYPE_CHECKING:
    from storage import Storage
    from storage.services.users import UserRecord

__all__ = ["ImportFormatError", "ImportReport", "ShareRefused", "import_file"]

SQLITE_MAGIC = b"SQLite format 3\x00"
ZIP_MAGIC = b"PK\x03\x04"
MAX_JSON_BYTES = 2 * 1024**3


def import_file(storage: "Storage", user: "UserRecord", path: str | Path) -> ImportReport:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        raise ImportFormatError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise ImportFormatError(f"{path} is a directory") from None
    except OSError as exc:
        raise ImportFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(SQLITE_MAGIC):
        return _import_sqlite(storage, user, path)
    if head.startswith(ZIP_MAGIC):
        data = _json_from_zip(path)
    else:
        data = _json(path.read_bytes(), str(path))
    return import_data(storage, user, data)


def import_data(storage: "Storage", user: "UserRecord", data: Any) -> ImportReport:
    from . import bundle, chatgpt

    if bundle.is_bundle(data):
        return bundle.import_bundle(storage, user, data)
    if bundle.is_export(data):
        conversation_id, created = bundle.import_export(storage, user.id, data)
        report = ImportReport("tui-chat export")
        (report.created if created else report.skipped).append(conversation_id)
        return report
    if chatgpt.looks_like(data):
        return import_plans(storage, user.id, "ChatGPT export", chatgpt.plans(data))
    if isinstance(data, list) and not data:
        raise ImportFormatError("the file holds an empty list: no conversations to import")
    raise ImportFormatError("not a format tui-chat can import (a tui-chat export or share bundle, ChatGPT's "
                            "conversations.json, an llm logs.db or an Elia database)")


def _json(raw: bytes, name: str) -> Any:
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportFormatError(f"{name} is neither JSON text nor a SQLite database") from None
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def _json_from_zip(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.rsplit("/", 1)[-1] == "conversations.json"]
            if not names:
                raise ImportFormatError(f"{path} has no conversations.json (is it ChatGPT's data export?)")
            info = archive.getinfo(min(names, key=len))
            if info.file_size > MAX_JSON_BYTES:
                raise ImportFormatError(f"{path}: conversations.json is too large")
            return _json(archive.read(info), f"{path}:{info.filename}")
    except zipfile.BadZipFile as exc:
        raise ImportFormatError(f"{path} is not a readable zip file: {exc}") from None


def _import_sqlite(storage: "Storage", user: "UserRecord", path: Path) -> ImportReport:
    from . import elia, llm_logs

    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ImportFormatError(f"cannot open {path}: {exc}") from None
    with closing(conn):
        try:
            names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            tables = {name: {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')} for name in names}
            if llm_logs.looks_like(tables):
                return import_plans(storage, user.id, "llm logs database", llm_logs.plans(conn, tables))
            if elia.looks_like(tables):
                return import_plans(storage, user.id, "Elia database", elia.plans(conn, tables))
        except sqlite3.Error as exc:
            raise ImportFormatError(f"cannot read {path}: {exc}") from None
    raise ImportFormatError(f"{path} is a SQLite database, but not one from llm or Elia")
