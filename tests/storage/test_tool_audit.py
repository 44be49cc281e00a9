"""The audit list of tool executions: filters applied in the query, keyset pages, the
conversation title and the deciding rule alongside each call; and the usage timings the
stats report takes its percentiles from."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from storage import NotFound, Storage, ValidationError
from storage.models import ToolExecution

from .factories import make_conversation, set_fields, utc

T0 = utc(2026, 3, 1, 12)


@pytest.fixture
def calls(store: Storage, user_id: str) -> dict[str, str]:
    """Six calls in two conversations, one a minute from T0 (oldest first)."""
    build = make_conversation(store.db, user_id, title="Fix the build")
    notes = make_conversation(store.db, user_id, title="Notes 100%_done")
    rule = store.approvals.add_rule(user_id, "allow", "run_shell", "git status")
    ids: dict[str, str] = {}

    def call(name: str, conv: str, tool: str, params: dict, minute: int) -> str:
        ex = store.tools.request(user_id, conv, None, f"c-{name}", tool, "builtin", params, "high")
        set_fields(store.db, ToolExecution, ex.id, created_at=T0 + timedelta(minutes=minute))
        ids[name] = ex.id
        return ex.id

    ex = call("status", build, "run_shell", {"command": "git status"}, 0)
    store.tools.decide(user_id, ex, approved=True, decided_by="rule", rule_id=rule.id)
    store.tools.start(user_id, ex)
    store.tools.complete(user_id, ex, {"stdout": "clean"}, cost="0.002")
    ex = call("rm", build, "run_shell", {"command": "rm -rf /"}, 1)
    store.tools.decide(user_id, ex, approved=False, decided_by="user", denial_note="no")
    ex = call("read", build, "read_file", {"path": "README.md"}, 2)
    store.tools.decide(user_id, ex, approved=True, decided_by="auto")
    store.tools.start(user_id, ex)
    store.tools.fail(user_id, ex, "no such file")
    call("write", notes, "write_file", {"path": "a.txt", "content": "x"}, 3)
    ex = call("issue", notes, "github.create_issue", {"title": "bug"}, 4)
    store.tools.decide(user_id, ex, approved=True, decided_by="user", approved_parameters={"title": "Bug"})
    call("fetch", notes, "fetch_url", {"url": "https://example.com"}, 5)
    ids["build"], ids["notes"], ids["rule"] = build, notes, rule.id
    return ids


def names(page) -> list[str]:
    return [e.tool_name for e in page.entries]


def test_newest_first_with_titles_rules_and_errors(store: Storage, user_id: str, calls) -> None:
    page = store.tools.audit(user_id)
    assert names(page) == ["fetch_url", "github.create_issue", "write_file", "read_file", "run_shell", "run_shell"]
    assert not page.has_more
    by_id = {e.id: e for e in page.entries}
    status = by_id[calls["status"]]
    assert status.conversation_title == "Fix the build" and status.status == "completed"
    assert (status.decided_by, status.decision_rule_id, status.rule_action, status.rule_tool_pattern,
            status.rule_argument_pattern) == ("rule", calls["rule"], "allow", "run_shell", "git status")
    assert status.cost == Decimal("0.002") and status.execution_time_ms is not None and not status.has_error
    assert by_id[calls["read"]].has_error and by_id[calls["read"]].status == "failed"
    issue = by_id[calls["issue"]]
    assert issue.parameters == {"title": "bug"} and issue.approved_parameters == {"title": "Bug"}
    assert issue.rule_action is None and issue.conversation_title == "Notes 100%_done"
    assert status.created_at == T0


def test_filters_narrow_the_query(store: Storage, user_id: str, calls) -> None:
    assert names(store.tools.audit(user_id, tool="SHELL")) == ["run_shell", "run_shell"]
    assert names(store.tools.audit(user_id, tool="github.")) == ["github.create_issue"]
    assert names(store.tools.audit(user_id, status="pending")) == ["fetch_url", "write_file"]
    assert names(store.tools.audit(user_id, status=("denied", "failed"))) == ["read_file", "run_shell"]
    assert len(store.tools.audit(user_id, conversation="build").entries) == 3
    assert len(store.tools.audit(user_id, conversation=calls["notes"]).entries) == 3
    since = store.tools.audit(user_id, since=T0 + timedelta(minutes=4))
    assert names(since) == ["fetch_url", "github.create_issue"]
    window = store.tools.audit(user_id, since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert names(window) == ["read_file", "run_shell"]
    both = store.tools.audit(user_id, tool="run_shell", status="denied", conversation="fix")
    assert [e.id for e in both.entries] == [calls["rm"]]
    assert store.tools.audit(user_id, tool="nothing").entries == []
    # Blank filters mean no filter.
    assert len(store.tools.audit(user_id, tool="  ", conversation="").entries) == 6


def test_like_wildcards_in_filters_are_literal(store: Storage, user_id: str, calls) -> None:
    assert len(store.tools.audit(user_id, conversation="100%_").entries) == 3
    assert store.tools.audit(user_id, conversation="1%0").entries == []
    assert store.tools.audit(user_id, tool="run%").entries == []
    assert store.tools.audit(user_id, tool="_").entries != []  # run_shell has a real underscore
    assert store.tools.audit(user_id, tool="x_y").entries == []


def test_pages_with_before_id(store: Storage, user_id: str, calls) -> None:
    first = store.tools.audit(user_id, limit=4)
    assert len(first.entries) == 4 and first.has_more
    second = store.tools.audit(user_id, limit=4, before_id=first.entries[-1].id)
    assert names(second) == ["run_shell", "run_shell"] and not second.has_more
    assert {e.id for e in first.entries}.isdisjoint(e.id for e in second.entries)
    # Ties on the time are broken by id, so nothing is skipped or repeated.
    for ex_id in calls.values():
        if ex_id in {calls["build"], calls["notes"], calls["rule"]}:
            continue
        set_fields(store.db, ToolExecution, ex_id, created_at=T0)
    seen: list[str] = []
    before = None
    while True:
        page = store.tools.audit(user_id, limit=2, before_id=before)
        seen += [e.id for e in page.entries]
        if not page.has_more:
            break
        before = page.entries[-1].id
    assert len(seen) == len(set(seen)) == 6


def test_scoped_to_the_user_and_checked(store: Storage, user_id: str, other_user_id: str, calls) -> None:
    assert store.tools.audit(other_user_id).entries == []
    with pytest.raises(NotFound):
        store.tools.audit(other_user_id, before_id=calls["rm"])
    with pytest.raises(ValidationError):
        store.tools.audit(user_id, status="exploded")
    with pytest.raises(ValidationError):
        store.tools.audit(user_id, limit=0)
    with pytest.raises(ValidationError):
        store.tools.audit(user_id, since=T0.replace(tzinfo=None))


def test_a_removed_rule_leaves_the_decision(store: Storage, user_id: str, calls) -> None:
    store.approvals.remove_rule(user_id, calls["rule"])
    [entry] = [e for e in store.tools.audit(user_id).entries if e.id == calls["status"]]
    assert entry.decided_by == "rule" and entry.decision_rule_id is None and entry.rule_action is None


def test_usage_timings_and_first_call(store: Storage, user_id: str) -> None:
    assert store.usage.first_at(user_id) is None
    assert store.usage.timings(user_id) == ([], [])
    for day, response, first_token in ((2, 1000, 200), (3, 3000, None), (5, None, 50)):
        store.usage.record(user_id, provider="openai", model="gpt-4o", response_ms=response,
                           first_token_ms=first_token, at=utc(2026, 3, day, 9))
    assert store.usage.first_at(user_id) == utc(2026, 3, 2, 9)
    responses, first_tokens = store.usage.timings(user_id, utc(2026, 3, 2), utc(2026, 3, 4))
    assert sorted(responses) == [1000, 3000] and first_tokens == [200]
    assert sorted(store.usage.timings(user_id)[1]) == [50, 200]
