"""Integrations (MCP servers): validated configs, no secrets, status and timestamps."""

from __future__ import annotations

import pytest

from storage import Conflict, NotFound, Storage, ValidationError

STDIO = {"command": ["npx", "-y", "@modelcontextprotocol/server-filesystem", "/work"], "env": {"LOG_LEVEL": "info"}}
HTTP = {"url": "https://mcp.example.com/mcp", "headers": {"X-Team": "core"}, "timeout": 30}


def test_add_stdio_and_http(store: Storage, user_id: str) -> None:
    fs = store.integrations.add(user_id, "files", "mcp-stdio", STDIO)
    web = store.integrations.add(user_id, "github", "mcp-http", HTTP, credentials_ref="keyring:tui-chat/github")
    assert fs.config == STDIO and fs.status == "active" and fs.connected_at is None
    assert web.credentials_ref == "keyring:tui-chat/github"
    assert store.integrations.get(user_id, "github") == web
    assert [i.name for i in store.integrations.list(user_id)] == ["files", "github"]
    assert [i.name for i in store.integrations.list(user_id, kind="mcp-http")] == ["github"]
    other = store.integrations.add(user_id, "custom", "other", {"anything": [1, 2, {"x": None}]})
    assert other.config == {"anything": [1, 2, {"x": None}]}


@pytest.mark.parametrize(
    ("name", "kind", "config", "field"),
    [
        ("Files", "mcp-stdio", STDIO, "name"),
        ("my.server", "mcp-stdio", STDIO, "name"),
        ("files", "mcp-sse", STDIO, "kind"),
        ("files", "mcp-stdio", {"command": "npx -y server", "env": {}}, "config.command"),
        ("files", "mcp-stdio", {"command": [], "env": {}}, "config.command"),
        ("files", "mcp-stdio", {"command": ["npx", 3], "env": {}}, "config.command"),
        ("files", "mcp-stdio", {"command": ["npx"]}, "config.env"),
        ("files", "mcp-stdio", {"command": ["npx"], "env": {"BAD NAME": "x"}}, "config.env"),
        ("files", "mcp-stdio", {"command": ["npx"], "env": {"N": 1}}, "config.env.N"),
        ("files", "mcp-stdio", {"command": ["npx"], "env": {"GITHUB_TOKEN": "ghp_x"}}, "config"),
        ("files", "mcp-stdio", {"command": ["npx"], "env": {}, "api_key": "k"}, "config"),
        ("files", "mcp-stdio", {"command": ["npx"], "env": {}, "shell": True}, "config"),
        ("files", "mcp-stdio", {"command": ["npx"], "env": {}, "timeout": 0}, "config.timeout"),
        ("web", "mcp-http", {"url": "ws://example.com"}, "config.url"),
        ("web", "mcp-http", {}, "config.url"),
        ("web", "mcp-http", {"url": "https://u:p@example.com"}, "config.url"),
        ("web", "mcp-http", {"url": "https://x.com", "headers": {"Authorization": "Bearer abc"}}, "config"),
        ("web", "mcp-http", {"url": "https://x.com", "headers": {"X-Id": 5}}, "config.headers.X-Id"),
        ("web", "other", {"nested": {"password": "p"}}, "config"),
        ("web", "other", ["not", "a", "mapping"], "config"),
    ],
)
def test_add_validation(store: Storage, user_id: str, name: str, kind: str, config, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        store.integrations.add(user_id, name, kind, config)
    assert info.value.field == field
    assert store.integrations.list(user_id) == []


def test_secret_values_are_refused_too(store: Storage, user_id: str) -> None:
    with pytest.raises(ValidationError, match="keyring"):
        store.integrations.add(user_id, "gh", "mcp-stdio",
                               {"command": ["gh-mcp"], "env": {"GH_HOST": "ghp_abcdefghijklmnopqrstuvwxyz0123"}})
    with pytest.raises(ValidationError):
        store.integrations.add(user_id, "gh", "mcp-http", HTTP, credentials_ref="ghp_abcdefghij klmnop")


def test_unique_name_per_user(store: Storage, user_id: str, other_user_id: str) -> None:
    store.integrations.add(user_id, "files", "mcp-stdio", STDIO)
    with pytest.raises(Conflict, match="files"):
        store.integrations.add(user_id, "files", "mcp-http", HTTP)
    assert store.integrations.add(other_user_id, "files", "mcp-stdio", STDIO).name == "files"


def test_status_lifecycle(store: Storage, user_id: str) -> None:
    store.integrations.add(user_id, "files", "mcp-stdio", STDIO)
    connected = store.integrations.set_status(user_id, "files", "active")
    assert connected.connected_at is not None and connected.last_synced_at == connected.connected_at
    synced = store.integrations.set_status(user_id, "files", "active")
    assert synced.connected_at == connected.connected_at and synced.last_synced_at >= connected.last_synced_at
    failed = store.integrations.set_status(user_id, "files", "error", error="spawn npx ENOENT")
    assert failed.status == "error" and failed.error == "spawn npx ENOENT"
    back = store.integrations.set_status(user_id, "files", "active")
    assert back.error is None and back.connected_at >= failed.last_synced_at
    with pytest.raises(ValidationError):
        store.integrations.set_status(user_id, "files", "error")
    with pytest.raises(ValidationError):
        store.integrations.set_status(user_id, "files", "active", error="but broken")
    with pytest.raises(ValidationError):
        store.integrations.set_status(user_id, "files", "sleeping")
    assert store.integrations.set_status(user_id, "files", "disabled").status == "disabled"


def test_update_and_remove(store: Storage, user_id: str) -> None:
    store.integrations.add(user_id, "files", "mcp-stdio", STDIO, credentials_ref="keyring:tui-chat/fs")
    updated = store.integrations.update(user_id, "files", config={"command": ["fs-server"], "env": {}})
    assert updated.config == {"command": ["fs-server"], "env": {}} and updated.credentials_ref == "keyring:tui-chat/fs"
    with pytest.raises(ValidationError):
        store.integrations.update(user_id, "files", config={"url": "https://x.com"})  # still a stdio server
    cleared = store.integrations.update(user_id, "files", credentials_ref=None)
    assert cleared.credentials_ref is None
    removed = store.integrations.remove(user_id, "files")
    assert removed.name == "files"
    with pytest.raises(NotFound):
        store.integrations.get(user_id, "files")
