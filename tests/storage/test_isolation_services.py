"""Two users on one database: no list or get ever shows the other's rows, and every
mutation of the other's rows is NotFound (and changes nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from storage import NotFound, Storage

from .factories import make_conversation, make_message, utc


@pytest.fixture
def alice(store: Storage, user_id: str, tmp_path: Path) -> dict[str, Any]:
    """One of everything, owned by ``user_id``."""
    db = store.db
    conv = make_conversation(db, user_id, title="Alice's secrets")
    message = make_message(db, user_id, conv, role="assistant", created_at=utc(2025, 4, 10, 9))
    session = store.sessions.start(user_id, window_id="w1", user_agent="kitty")
    execution = store.tools.request(user_id, conv, message, "call_1", "read_file", "builtin", {"path": "/a"},
                                    "read_only")
    rule = store.approvals.add_rule(user_id, "allow", "read_file", scope="conversation", conversation_id=conv)
    store.approvals.update_settings(user_id, max_cost_per_hour="3")
    optimization = store.context.record(user_id, conv, trigger_reason="auto", optimization_type="summarization",
                                        tokens_before=100, tokens_after=10, summary="secret summary")
    store.providers.add(user_id, "shared-name", "openai", default_model="gpt-4o")
    usage = store.usage.record(user_id, provider="openai", model="gpt-4o", input_tokens=10, output_tokens=5,
                               cost="1.50", conversation_id=conv, message_id=message, at=utc(2025, 4, 10, 9))
    budget = store.budgets.set(user_id, "day", max_cost="0")
    share = store.shares.create(user_id, conv, is_public=True)
    store.analytics.recompute_day(user_id, date(2025, 4, 10))
    store.integrations.add(user_id, "shared-name", "mcp-stdio", {"command": ["srv"], "env": {}})
    memory = store.memories.add(user_id, "Alice keeps her keys under the mat")
    template = store.templates.add(user_id, "Shared name", "secret prompt", is_default=True)
    attachment = store.attachments.store(user_id, b"alice's file", original_name="a.txt", message_id=message,
                                         base_dir=tmp_path / "files")
    return {
        "conv": conv, "message": message, "session": session.id, "execution": execution.id, "rule": rule.id,
        "optimization": optimization.id, "usage": usage.id, "budget": budget.id, "share": share.id,
        "token": share.share_token, "memory": memory.id, "template": template.id, "attachment": attachment.id,
    }


def test_reads_never_show_the_other_users_rows(store: Storage, other_user_id: str, alice: dict[str, Any]) -> None:
    bob, a = other_user_id, alice
    empty_reads: list[Callable[[], Any]] = [
        lambda: store.sessions.active(bob),
        lambda: store.sessions.by_window(bob, "w1"),
        lambda: store.tools.list(bob),
        lambda: store.tools.list(bob, conversation_id=a["conv"]),
        lambda: store.approvals.list_rules(bob, conversation_id=a["conv"]),
        lambda: store.approvals.all_rules(bob, include_inactive=True),
        lambda: store.providers.list(bob),
        lambda: store.providers.get_default(bob),
        lambda: store.usage.by(bob, "conversation"),
        lambda: store.budgets.list(bob),
        lambda: store.shares.list(bob),
        lambda: store.shares.list(bob, a["conv"]),
        lambda: store.shares.shared_with_me(bob),
        lambda: store.shares.can_access(bob, a["conv"]),
        lambda: store.analytics.days(bob, date(2025, 1, 1), date(2025, 12, 31)),
        lambda: store.integrations.list(bob),
        lambda: store.memories.list(bob, active_only=False),
        lambda: store.memories.search(bob, "keys mat"),
        lambda: store.templates.list(bob),
        lambda: store.templates.default(bob),
    ]
    for read in empty_reads:
        assert not read(), read
    assert store.sessions.statistics(bob).total == 0
    assert store.tools.cost_in_window(bob, utc(2000, 1, 1)) == 0
    assert not store.tools.known_tool(bob, "read_file")
    assert store.usage.totals(bob).calls == 0
    assert store.usage.spend(bob, "day", at=utc(2025, 4, 10, 12)).calls == 0
    assert store.budgets.check(bob, "openai", estimated_cost="100").allowed
    assert store.approvals.get_settings(bob).max_cost_per_hour == 10  # bob's own defaults
    assert store.analytics.recompute_day(bob, date(2025, 4, 10)).messages == 0

    not_found: list[Callable[[], Any]] = [
        lambda: store.sessions.get(bob, a["session"]),
        lambda: store.tools.get(bob, a["execution"]),
        lambda: store.approvals.get_rule(bob, a["rule"]),
        lambda: store.context.list(bob, a["conv"]),
        lambda: store.context.latest_summary(bob, a["conv"]),
        lambda: store.providers.get_by_name(bob, "shared-name"),
        lambda: store.usage.get(bob, a["usage"]),
        lambda: store.shares.get(bob, a["share"]),
        lambda: store.integrations.get(bob, "shared-name"),
        lambda: store.memories.get(bob, a["memory"]),
        lambda: store.templates.get(bob, a["template"]),
        lambda: store.templates.get_by_name(bob, "Shared name"),
        lambda: store.attachments.get(bob, a["attachment"]),
        lambda: store.attachments.list_for_message(bob, a["message"]),
        lambda: store.attachments.list_for_conversation(bob, a["conv"]),
        lambda: store.attachments.read_bytes(bob, a["attachment"]),
    ]
    for read in not_found:
        with pytest.raises(NotFound):
            read()


def test_mutations_of_the_other_users_rows_are_not_found(
    store: Storage, user_id: str, other_user_id: str, alice: dict[str, Any]
) -> None:
    bob, a = other_user_id, alice
    mutations: list[Callable[[], Any]] = [
        lambda: store.sessions.touch(bob, a["session"]),
        lambda: store.sessions.end(bob, a["session"]),
        lambda: store.tools.request(bob, a["conv"], None, "c", "t", "builtin", {}, "high"),
        lambda: store.tools.decide(bob, a["execution"], approved=True, decided_by="user"),
        lambda: store.tools.start(bob, a["execution"]),
        lambda: store.tools.complete(bob, a["execution"], "x"),
        lambda: store.tools.fail(bob, a["execution"], "x"),
        lambda: store.tools.cancel(bob, a["execution"]),
        lambda: store.approvals.add_rule(bob, "allow", "*", scope="conversation", conversation_id=a["conv"]),
        lambda: store.approvals.deactivate_rule(bob, a["rule"]),
        lambda: store.approvals.remove_rule(bob, a["rule"]),
        lambda: store.context.record(bob, a["conv"], trigger_reason="auto", optimization_type="truncation",
                                     tokens_before=1, tokens_after=0),
        lambda: store.providers.update(bob, "shared-name", default_model="x"),
        lambda: store.providers.set_key_reference(bob, "shared-name", "keyring:tui-chat/x", "sha256:abcd1234"),
        lambda: store.providers.set_default(bob, "shared-name"),
        lambda: store.providers.remove(bob, "shared-name"),
        lambda: store.usage.record(bob, provider="p", model="m", conversation_id=a["conv"]),
        lambda: store.usage.record(bob, provider="p", model="m", message_id=a["message"]),
        lambda: store.budgets.remove(bob, a["budget"]),
        lambda: store.shares.create(bob, a["conv"], is_public=True),
        lambda: store.shares.revoke(bob, a["share"]),
        lambda: store.integrations.update(bob, "shared-name", credentials_ref=None),
        lambda: store.integrations.set_status(bob, "shared-name", "disabled"),
        lambda: store.integrations.remove(bob, "shared-name"),
        lambda: store.memories.add(bob, "x", source_message_id=a["message"]),
        lambda: store.memories.add(bob, "x", source_conversation_id=a["conv"]),
        lambda: store.memories.deactivate(bob, a["memory"]),
        lambda: store.memories.remove(bob, a["memory"]),
        lambda: store.memories.mark_used(bob, [a["memory"]]),
        lambda: store.templates.update(bob, a["template"], name="mine"),
        lambda: store.templates.remove(bob, a["template"]),
        lambda: store.attachments.link(bob, a["attachment"], a["message"]),
        lambda: store.attachments.store(bob, b"x", original_name="x", conversation_id=a["conv"],
                                        base_dir=Path("/nonexistent/never-written")),
    ]
    for mutate in mutations:
        with pytest.raises(NotFound):
            mutate()

    # Nothing of Alice's changed.
    assert store.sessions.get(user_id, a["session"]).is_active
    execution = store.tools.get(user_id, a["execution"])
    assert execution.status == "pending"
    assert store.approvals.get_rule(user_id, a["rule"]).is_active
    assert len(store.context.list(user_id, a["conv"])) == 1
    provider = store.providers.get_by_name(user_id, "shared-name")
    assert provider.default_model == "gpt-4o" and provider.key_ref is None and provider.is_default
    assert [b.id for b in store.budgets.list(user_id)] == [a["budget"]]
    assert store.shares.resolve(a["token"]).conversation_id == a["conv"]
    assert store.integrations.get(user_id, "shared-name").status == "active"
    memory = store.memories.get(user_id, a["memory"])
    assert memory.is_active and memory.use_count == 0
    assert store.templates.get(user_id, a["template"]).name == "Shared name"
    assert store.attachments.read_bytes(user_id, a["attachment"]) == b"alice's file"
    assert store.usage.totals(user_id).calls == 1
    assert store.approvals.get_settings(user_id).max_cost_per_hour == 3


def test_same_names_live_side_by_side(store: Storage, user_id: str, other_user_id: str,
                                      alice: dict[str, Any]) -> None:
    bob = other_user_id
    store.providers.add(bob, "shared-name", "anthropic")
    store.integrations.add(bob, "shared-name", "mcp-http", {"url": "https://bob.example.com/mcp"})
    store.templates.add(bob, "Shared name", "bob's prompt")
    assert store.providers.get_by_name(bob, "shared-name").kind == "anthropic"
    assert store.providers.get_by_name(user_id, "shared-name").kind == "openai"
    assert store.integrations.get(bob, "shared-name").kind == "mcp-http"
    assert store.templates.get_by_name(user_id, "shared name").system_prompt == "secret prompt"
    assert store.templates.get_by_name(bob, "shared name").system_prompt == "bob's prompt"
