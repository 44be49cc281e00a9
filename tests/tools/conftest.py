"""Tool tests: a real SQLite file, a temporary workspace, and the real stdio MCP server."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage import Storage
from tui_chat.engine.tooling import ToolContext
from tui_chat.tools.runtime import Runtime, build_runtime

REPO = Path(__file__).resolve().parents[2]
MCP_COMMAND = [sys.executable, "-m", "tests.fakes.mcp_server"]


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once; each test gets a copy (migrating takes about a second)."""
    path = tmp_path_factory.mktemp("template") / "tools.db"
    Storage.open(f"sqlite:///{path}").close()
    return path


@pytest.fixture
def store(tmp_path: Path, migrated_db: Path) -> Iterator[Storage]:
    import shutil

    target = tmp_path / "tools.db"
    shutil.copyfile(migrated_db, target)
    storage = Storage.open(f"sqlite:///{target}")
    yield storage
    storage.close()


@pytest.fixture
def user_id(store: Storage) -> str:
    return store.users.ensure("local:tester").id


@pytest.fixture
def conversation_id(store: Storage, user_id: str) -> str:
    return store.conversations.create(user_id, provider="openai", model="gpt-4o").id


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("def main():\n    print('hello')\n", encoding="utf-8")
    (root / "README.md").write_text("# Project\n\nSome words.\n", encoding="utf-8")
    return root.resolve()


@pytest.fixture
def context(user_id: str, conversation_id: str, workspace: Path) -> Callable[..., ToolContext]:
    def make(interactive: bool = True, conversation: str | None = None, where: Path | None = None) -> ToolContext:
        return ToolContext(user_id, conversation or conversation_id, str(where or workspace), interactive)

    return make


@pytest.fixture
def runtime(store: Storage, user_id: str) -> Callable[..., Runtime]:
    def make(**options: Any) -> Runtime:
        options.setdefault("mcp_options", {"connect_timeout": 20.0})
        return build_runtime(store, user_id, **options)

    return make


@pytest.fixture
def mcp_server(store: Storage, user_id: str) -> Callable[..., str]:
    """Configure the fake MCP server (stdio) under a name; returns the name."""

    def add(name: str = "fake", *, env: dict[str, str] | None = None, timeout: float | None = 5,
            command: list[str] | None = None, credentials_ref: str | None = None) -> str:
        config: dict[str, Any] = {"command": command or MCP_COMMAND, "env": env or {}, "cwd": str(REPO)}
        if timeout:
            config["timeout"] = timeout
        store.integrations.add(user_id, name, "mcp-stdio", config, credentials_ref=credentials_ref)
        return name

    return add


@pytest.fixture(autouse=True)
def _no_secret_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_CHAT_TEST_API_KEY", "sk-tools-test-secret-0123456789")
    os.environ.pop("PYTHONSTARTUP", None)
