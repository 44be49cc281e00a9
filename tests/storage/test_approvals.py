"""Approval rules (validation, selection by context, expiry) and auto-approval settings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storage import NotFound, Storage, ValidationError
from storage.models import ApprovalRule, AutoApprovalSettings, Conversation
from storage.services.approvals import normalize_project_path, path_within

from .factories import ago, fetch, make_conversation, set_fields


@pytest.fixture
def conv(store: Storage, user_id: str) -> str:
    return make_conversation(store.db, user_id)


def test_add_rule_round_trip(store: Storage, user_id: str, conv: str) -> None:
    expiry = ago(days=-7)
    rule = store.approvals.add_rule(
        user_id, "allow", "run_shell", argument_pattern="git status*", scope="conversation",
        conversation_id=conv, expires_at=expiry, source="prompt", note="approved always from the prompt",
    )
    got = store.approvals.get_rule(user_id, rule.id)
    assert (got.action, got.tool_pattern, got.argument_pattern) == ("allow", "run_shell", "git status*")
    assert got.scope == "conversation" and got.conversation_id == conv and got.source == "prompt"
    assert got.expires_at == expiry and not got.is_expired and got.is_active


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"action": "maybe"}, "action"),
        ({"tool_pattern": "   "}, "tool_pattern"),
        ({"tool_pattern": "x" * 201}, "tool_pattern"),
        ({"argument_pattern": ""}, "argument_pattern"),
        ({"argument_pattern": "a" * 4001}, "argument_pattern"),
        ({"scope": "team"}, "scope"),
        ({"scope": "conversation"}, "conversation_id"),
        ({"scope": "project"}, "project_path"),
        ({"scope": "project", "project_path": "relative/dir"}, "project_path"),
        ({"project_path": "/srv"}, "project_path"),
        ({"expires_at": ago(seconds=1)}, "expires_at"),
        ({"source": "magic"}, "source"),
    ],
)
def test_add_rule_validation(store: Storage, user_id: str, kwargs: dict, field: str) -> None:
    kwargs = {"action": "allow", "tool_pattern": "read_file", **kwargs}
    with pytest.raises(ValidationError) as info:
        store.approvals.add_rule(user_id, **kwargs)
    assert info.value.field == field


def test_conversation_rule_needs_own_conversation(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    with pytest.raises(NotFound):
        store.approvals.add_rule(other_user_id, "allow", "*", scope="conversation", conversation_id=conv)


def test_same_rule_twice_is_one_rule_with_the_new_expiry(store: Storage, user_id: str) -> None:
    first = store.approvals.add_rule(user_id, "allow", "read_file", expires_at=ago(days=-1))
    second = store.approvals.add_rule(user_id, "allow", "read_file")
    assert second.id == first.id and second.expires_at is None
    third = store.approvals.add_rule(user_id, "deny", "read_file")
    assert third.id != first.id
    assert len(store.approvals.all_rules(user_id)) == 2


def test_list_rules_selects_by_context(store: Storage, user_id: str, conv: str) -> None:
    other_conv = make_conversation(store.db, user_id)
    glob = store.approvals.add_rule(user_id, "deny", "run_shell", argument_pattern="rm -rf*")
    project = store.approvals.add_rule(user_id, "allow", "write_file", scope="project", project_path="/home/a/proj/")
    sibling = store.approvals.add_rule(user_id, "allow", "write_file", scope="project", project_path="/home/a/projx")
    mine = store.approvals.add_rule(user_id, "allow", "fetch_url", scope="conversation", conversation_id=conv)
    store.approvals.add_rule(user_id, "allow", "fetch_url", scope="conversation", conversation_id=other_conv)

    def ids(**kw):
        return [r.id for r in store.approvals.list_rules(user_id, **kw)]

    assert ids() == [glob.id]
    assert ids(conversation_id=conv) == [glob.id, mine.id]
    assert ids(project_path="/home/a/proj") == [glob.id, project.id]
    assert ids(project_path="/home/a/proj/src/deep") == [glob.id, project.id]
    assert ids(project_path="/home/a/projx/src") == [glob.id, sibling.id]
    assert ids(project_path="/home/a") == [glob.id]
    assert ids(conversation_id=conv, project_path="/home/a/proj/src") == [glob.id, project.id, mine.id]


def test_expired_and_inactive_rules(store: Storage, user_id: str) -> None:
    soon = store.approvals.add_rule(user_id, "allow", "read_file", expires_at=ago(seconds=-60))
    off = store.approvals.add_rule(user_id, "allow", "list_dir")
    set_fields(store.db, ApprovalRule, soon.id, expires_at=ago(seconds=1))
    store.approvals.deactivate_rule(user_id, off.id)
    assert store.approvals.list_rules(user_id) == []
    shown = store.approvals.list_rules(user_id, include_expired=True)
    assert [(r.id, r.is_expired) for r in shown] == [(soon.id, True)]
    assert {r.id for r in store.approvals.all_rules(user_id, include_inactive=True)} == {soon.id, off.id}
    assert [r.id for r in store.approvals.all_rules(user_id)] == [soon.id]


def test_remove_rule(store: Storage, user_id: str, other_user_id: str) -> None:
    rule = store.approvals.add_rule(user_id, "ask", "mcp.github.*")
    with pytest.raises(NotFound):
        store.approvals.remove_rule(other_user_id, rule.id)
    store.approvals.remove_rule(user_id, rule.id)
    assert fetch(store.db, ApprovalRule, rule.id) is None
    with pytest.raises(NotFound):
        store.approvals.remove_rule(user_id, rule.id)


def test_conversation_rules_go_with_their_conversation(store: Storage, user_id: str, conv: str) -> None:
    rule = store.approvals.add_rule(user_id, "allow", "*", scope="conversation", conversation_id=conv)
    with store.db.write() as session:
        session.delete(session.get(Conversation, conv))
    assert fetch(store.db, ApprovalRule, rule.id) is None


def test_settings_are_created_with_safe_defaults(store: Storage, user_id: str) -> None:
    settings = store.approvals.get_settings(user_id)
    assert settings.read_only_operations is True and settings.low_risk_operations is False
    assert settings.require_approval_for_new_tools is True and settings.specific_tools == {}
    assert settings.max_cost_per_tool == Decimal("1.00") and settings.max_cost_per_hour == Decimal("10.00")
    assert store.approvals.get_settings(user_id) == settings  # read again: the same row
    with store.db.read() as session:
        assert session.query(AutoApprovalSettings).count() == 1


def test_update_settings(store: Storage, user_id: str) -> None:
    updated = store.approvals.update_settings(
        user_id, low_risk_operations=True, max_cost_per_tool="0.05", max_cost_per_hour=Decimal("2.5"),
        specific_tools={"run_shell": "deny", "fetch_url": "allow"},
    )
    assert updated.low_risk_operations and updated.max_cost_per_tool == Decimal("0.05")
    assert updated.max_cost_per_hour == Decimal("2.5")
    assert store.approvals.get_settings(user_id).specific_tools == {"run_shell": "deny", "fetch_url": "allow"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"colour": "red"}, "settings"),
        ({"read_only_operations": "yes"}, "read_only_operations"),
        ({"max_cost_per_tool": "-1"}, "max_cost_per_tool"),
        ({"max_cost_per_hour": "lots"}, "max_cost_per_hour"),
        ({"max_cost_per_hour": float("nan")}, "max_cost_per_hour"),
        ({"specific_tools": {"run_shell": "sometimes"}}, "specific_tools['run_shell']"),
        ({"specific_tools": ["run_shell"]}, "specific_tools"),
    ],
)
def test_update_settings_validation(store: Storage, user_id: str, changes: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        store.approvals.update_settings(user_id, **changes)
    assert info.value.field == field
    assert store.approvals.get_settings(user_id).max_cost_per_tool == Decimal("1.00")


def test_settings_for_unknown_user(store: Storage) -> None:
    with pytest.raises(NotFound):
        store.approvals.get_settings("nobody")


def test_path_helpers() -> None:
    assert normalize_project_path("/a/b/../c/") == "/a/c"
    assert normalize_project_path("C:\\Work\\proj\\") == "C:\\Work\\proj"
    assert path_within("/a/b", "/a") and path_within("/a", "/a") and not path_within("/ab", "/a")
    assert path_within("/anything", "/")
    assert path_within("c:\\work\\proj\\src", "C:\\Work\\proj")
