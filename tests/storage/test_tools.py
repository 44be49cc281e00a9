"""Tool executions: the lifecycle state machine, decisions, listing, costs, cascades."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from storage import Conflict, NotFound, Storage, ValidationError
from storage.models import Conversation, ToolExecution

from .factories import ago, fetch, make_conversation, make_message, set_fields


@pytest.fixture
def conv(store: Storage, user_id: str) -> str:
    return make_conversation(store.db, user_id)


def request(store: Storage, user_id: str, conv: str, name: str = "run_shell", **kw):
    message_id = kw.pop("message_id", None)
    return store.tools.request(
        user_id, conv, message_id, kw.pop("call_id", "call_1"), name, kw.pop("source", "builtin"),
        kw.pop("parameters", {"command": "ls -la"}), kw.pop("risk", "high"),
    )


def test_request_is_pending_with_request_time(store: Storage, user_id: str, conv: str) -> None:
    message = make_message(store.db, user_id, conv, role="assistant")
    ex = request(store, user_id, conv, message_id=message)
    assert ex.status == "pending" and ex.approval_requested_at is not None
    assert ex.message_id == message and ex.parameters == {"command": "ls -la"} and ex.risk_level == "high"
    assert ex.effective_parameters == {"command": "ls -la"}


def test_request_checks_ownership_and_values(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    with pytest.raises(NotFound):
        request(store, other_user_id, conv)
    elsewhere = make_conversation(store.db, user_id)
    message = make_message(store.db, user_id, elsewhere)
    with pytest.raises(NotFound):
        request(store, user_id, conv, message_id=message)
    with pytest.raises(ValidationError) as info:
        request(store, user_id, conv, risk="extreme")
    assert info.value.field == "risk_level"
    with pytest.raises(ValidationError):
        request(store, user_id, conv, parameters={"x": object()})
    with pytest.raises(ValidationError):
        request(store, user_id, conv, name="  ")


def test_full_successful_lifecycle(store: Storage, user_id: str, conv: str) -> None:
    rule = store.approvals.add_rule(user_id, "allow", "run_shell")
    ex = request(store, user_id, conv)
    ex = store.tools.decide(user_id, ex.id, approved=True, decided_by="rule", rule_id=rule.id, reason="allowed")
    assert ex.status == "approved" and ex.approved_at is not None
    assert ex.decided_by == "rule" and ex.decision_rule_id == rule.id and ex.decision_reason == "allowed"
    ex = store.tools.start(user_id, ex.id)
    assert ex.status == "executing" and ex.executed_at is not None
    set_fields(store.db, ToolExecution, ex.id, executed_at=ago(seconds=2))
    ex = store.tools.complete(user_id, ex.id, {"stdout": "file\n", "exit": 0}, cost="0.25")
    assert ex.status == "completed" and ex.result == {"stdout": "file\n", "exit": 0}
    assert ex.cost == Decimal("0.25") and 1900 <= ex.execution_time_ms <= 10_000
    assert ex.completed_at >= ex.executed_at


def test_edited_parameters_are_stored_only_when_changed(store: Storage, user_id: str, conv: str) -> None:
    a = request(store, user_id, conv)
    a = store.tools.decide(user_id, a.id, approved=True, decided_by="user",
                           approved_parameters={"command": "ls"})
    assert a.approved_parameters == {"command": "ls"} and a.parameters == {"command": "ls -la"}
    assert a.effective_parameters == {"command": "ls"}
    b = request(store, user_id, conv, call_id="call_2")
    b = store.tools.decide(user_id, b.id, approved=True, decided_by="user",
                           approved_parameters={"command": "ls -la"})
    assert b.approved_parameters is None


def test_denial_with_note(store: Storage, user_id: str, conv: str) -> None:
    ex = request(store, user_id, conv)
    ex = store.tools.decide(user_id, ex.id, approved=False, decided_by="user", denial_note="use git status instead")
    assert ex.status == "denied" and ex.denial_note == "use git status instead" and ex.approved_at is not None
    with pytest.raises(Conflict):
        store.tools.start(user_id, ex.id)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"approved": True, "decided_by": "robot"}, "decided_by"),
        ({"approved": True, "decided_by": "user", "denial_note": "no"}, "denial_note"),
        ({"approved": False, "decided_by": "user", "approved_parameters": {}}, "approved_parameters"),
    ],
)
def test_decide_validation(store: Storage, user_id: str, conv: str, kwargs: dict, field: str) -> None:
    ex = request(store, user_id, conv)
    with pytest.raises(ValidationError) as info:
        store.tools.decide(user_id, ex.id, **kwargs)
    assert info.value.field == field
    assert store.tools.get(user_id, ex.id).status == "pending"


def test_decide_with_another_users_rule(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    theirs = store.approvals.add_rule(other_user_id, "allow", "*")
    ex = request(store, user_id, conv)
    with pytest.raises(NotFound):
        store.tools.decide(user_id, ex.id, approved=True, decided_by="rule", rule_id=theirs.id)
    assert store.tools.get(user_id, ex.id).status == "pending"


def test_invalid_transitions_raise_conflict(store: Storage, user_id: str, conv: str) -> None:
    ex = request(store, user_id, conv)
    with pytest.raises(Conflict):
        store.tools.start(user_id, ex.id)  # not approved yet
    with pytest.raises(Conflict):
        store.tools.complete(user_id, ex.id, "done")
    store.tools.decide(user_id, ex.id, approved=True, decided_by="auto")
    with pytest.raises(Conflict):
        store.tools.decide(user_id, ex.id, approved=False, decided_by="user")  # decided twice
    with pytest.raises(Conflict):
        store.tools.fail(user_id, ex.id, "boom")  # never ran
    store.tools.start(user_id, ex.id)
    failed = store.tools.fail(user_id, ex.id, "exit status 2")
    assert failed.status == "failed" and failed.error_message == "exit status 2"
    for finish in (lambda: store.tools.cancel(user_id, ex.id), lambda: store.tools.complete(user_id, ex.id, 1)):
        with pytest.raises(Conflict) as info:
            finish()
        assert "failed" in str(info.value)


@pytest.mark.parametrize("stage", ["pending", "approved", "executing"])
def test_cancel_from_each_open_state(store: Storage, user_id: str, conv: str, stage: str) -> None:
    ex = request(store, user_id, conv)
    if stage != "pending":
        store.tools.decide(user_id, ex.id, approved=True, decided_by="user")
    if stage == "executing":
        store.tools.start(user_id, ex.id)
    cancelled = store.tools.cancel(user_id, ex.id, reason="interrupted")
    assert cancelled.status == "cancelled" and cancelled.completed_at is not None
    assert cancelled.error_message == "interrupted"
    assert (cancelled.execution_time_ms is not None) == (stage == "executing")


def test_list_filters_and_pages_newest_first(store: Storage, user_id: str, conv: str) -> None:
    other_conv = make_conversation(store.db, user_id)
    ids = []
    for i in range(5):
        ex = request(store, user_id, conv if i % 2 == 0 else other_conv, name="read_file" if i < 3 else "run_shell",
                     call_id=f"c{i}")
        set_fields(store.db, ToolExecution, ex.id, created_at=ago(minutes=10 - i))
        ids.append(ex.id)
    store.tools.decide(user_id, ids[4], approved=True, decided_by="user")

    assert [e.id for e in store.tools.list(user_id)] == ids[::-1]
    assert [e.id for e in store.tools.list(user_id, tool_name="read_file")] == [ids[2], ids[1], ids[0]]
    assert [e.id for e in store.tools.list(user_id, status="approved")] == [ids[4]]
    assert [e.id for e in store.tools.list(user_id, status=("pending",), conversation_id=conv)] == [ids[2], ids[0]]
    assert [e.id for e in store.tools.list(user_id, since=ago(minutes=8.5), until=ago(minutes=7.5))] == [ids[2]]
    page1 = store.tools.list(user_id, limit=2)
    page2 = store.tools.list(user_id, limit=2, before_id=page1[-1].id)
    page3 = store.tools.list(user_id, limit=2, before_id=page2[-1].id)
    assert [e.id for e in page1 + page2 + page3] == ids[::-1]
    with pytest.raises(ValidationError):
        store.tools.list(user_id, status="running")
    with pytest.raises(ValidationError):
        store.tools.list(user_id, limit=0)


def test_cost_in_window(store: Storage, user_id: str, conv: str) -> None:
    costs = []
    for i, cost in enumerate(("0.40", "0.35", None)):
        ex = request(store, user_id, conv, call_id=f"c{i}")
        store.tools.decide(user_id, ex.id, approved=True, decided_by="auto")
        store.tools.start(user_id, ex.id)
        costs.append(store.tools.complete(user_id, ex.id, "ok", cost=cost))
    set_fields(store.db, ToolExecution, costs[0].id, completed_at=ago(hours=2))
    assert store.tools.cost_in_window(user_id, ago(hours=1)) == Decimal("0.35")
    assert store.tools.cost_in_window(user_id, ago(hours=3)) == Decimal("0.75")
    assert store.tools.cost_in_window(user_id, ago(seconds=-60)) == Decimal(0)
    with pytest.raises(ValidationError):
        store.tools.complete(user_id, costs[0].id, "ok", cost="-1")


def test_known_tool(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    assert not store.tools.known_tool(user_id, "run_shell")
    denied = request(store, user_id, conv)
    store.tools.decide(user_id, denied.id, approved=False, decided_by="user")
    dropped = request(store, user_id, conv, call_id="c2")
    store.tools.cancel(user_id, dropped.id)
    assert not store.tools.known_tool(user_id, "run_shell")  # denied or dropped unseen
    ok = request(store, user_id, conv, call_id="c3")
    store.tools.decide(user_id, ok.id, approved=True, decided_by="user")
    store.tools.cancel(user_id, ok.id)
    assert store.tools.known_tool(user_id, "run_shell")  # approved once, even if cancelled later
    assert not store.tools.known_tool(other_user_id, "run_shell")


def test_deleting_the_conversation_deletes_executions(store: Storage, user_id: str, conv: str) -> None:
    ex = request(store, user_id, conv)
    with store.db.write() as session:
        session.delete(session.get(Conversation, conv))
    assert fetch(store.db, ToolExecution, ex.id) is None


def test_removing_the_deciding_rule_keeps_the_execution(store: Storage, user_id: str, conv: str) -> None:
    rule = store.approvals.add_rule(user_id, "allow", "run_shell")
    ex = request(store, user_id, conv)
    store.tools.decide(user_id, ex.id, approved=True, decided_by="rule", rule_id=rule.id)
    store.approvals.remove_rule(user_id, rule.id)
    kept = store.tools.get(user_id, ex.id)
    assert kept.status == "approved" and kept.decision_rule_id is None and kept.decided_by == "rule"


def test_since_bound_is_inclusive_and_until_exclusive(store: Storage, user_id: str, conv: str) -> None:
    ex = request(store, user_id, conv)
    at = ago(minutes=5)
    set_fields(store.db, ToolExecution, ex.id, created_at=at)
    assert [e.id for e in store.tools.list(user_id, since=at)] == [ex.id]
    assert store.tools.list(user_id, until=at) == []
    assert [e.id for e in store.tools.list(user_id, until=at + timedelta(microseconds=1))] == [ex.id]
