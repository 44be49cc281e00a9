"""Where tui-chat keeps its files.

Everything the app writes lives under one of these directories. ``TUI_CHAT_HOME``
relocates all of them (config, data, logs) under a single directory, which is what the
tests and sandboxes use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "tui-chat"
HOME_ENV = "TUI_CHAT_HOME"
DB_ENV = "TUI_CHAT_DB"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def database_file(self) -> Path:
        return self.data_dir / "tui-chat.db"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def backups_dir(self) -> Path:
        return self.data_dir / "backups"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "tui-chat.log"

    def ensure(self) -> "AppPaths":
        """Create the directories, readable by the owner only."""
        for directory in (self.config_dir, self.data_dir, self.log_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def app_paths(environ: dict[str, str] | None = None) -> AppPaths:
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    if home:
        root = Path(home).expanduser()
        return AppPaths(root / "config", root / "data", root / "logs")
    import platformdirs

    return AppPaths(
        Path(platformdirs.user_config_dir(APP_NAME)),
        Path(platformdirs.user_data_dir(APP_NAME)),
        Path(platformdirs.user_log_dir(APP_NAME)),
    )


def database_url(explicit: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The database URL: ``--db``, then ``TUI_CHAT_DB``, then the default SQLite file."""
    env = os.environ if environ is None else environ
    url = explicit or env.get(DB_ENV)
    if url:
        if "://" not in url:  # a bare path means a SQLite file
            url = f"sqlite:///{Path(url).expanduser().resolve()}"
        return url
    return f"sqlite:///{app_paths(env).database_file}"
