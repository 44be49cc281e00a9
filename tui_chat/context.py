"""The application context: paths, database and the current user, without any UI."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import AppError, ExitCode
from .paths import AppPaths, app_paths, database_url

if TYPE_CHECKING:
    from storage import Storage
    from storage.services.users import UserRecord


@dataclass
class AppContext:
    paths: AppPaths
    db_url: str
    storage: "Storage"
    user: "UserRecord"

    @classmethod
    def open(cls, db: str | None = None, *, environ: dict[str, str] | None = None) -> "AppContext":
        """Open the database (creating or upgrading it) and identify the user."""
        env = os.environ if environ is None else environ
        paths = app_paths(env).ensure()
        url = database_url(db, env)
        from storage import DatabaseError, Storage, StorageError

        try:
            storage = Storage.open(url, backup_dir=paths.backups_dir)
            user = storage.users.ensure(env.get("TUI_CHAT_USER") or None)
            storage.catalog.seed_builtin()
        except DatabaseError as exc:
            raise AppError(f"cannot open the database: {exc}", ExitCode.CONFIG) from exc
        except StorageError as exc:
            raise AppError(str(exc), ExitCode.CONFIG) from exc
        except Exception as exc:  # driver errors: bad URL, server down, missing driver
            raise AppError(f"cannot open the database {_safe_url(url)}: {_first_line(exc)}", ExitCode.CONFIG) from exc
        return cls(paths, url, storage, user)

    def close(self) -> None:
        self.storage.close()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
