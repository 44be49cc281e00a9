"""Tool calls and provider usage at fixed times, for the audit and stats screens.

Times are set after each call's lifecycle, so what the screens show does not depend on
when the test ran.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from storage.models import ToolExecution
from tests.storage.factories import make_feedback, set_fields

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=timezone.utc)


def seed_tool_calls(storage: Any, uid: str, workspace: str = "/tmp/project") -> dict[str, str]:
    """Five calls in two conversations, newest first: fetch (pending), write (edited,
    failed), read (auto, completed), rm (denied by the user), git status (allowed by a
    rule, completed). Returns their ids, the conversations' and the rule's."""
    ids: dict[str, str] = {}
    build = storage.conversations.create(uid, title="Fix the build", provider="fake", model="gpt-4o",
                                         context={"cwd": workspace}, created_at=NOW - timedelta(days=2)).id
    research = storage.conversations.create(uid, title="Research notes", provider="fake", model="gpt-4o",
                                            context={"cwd": workspace}, created_at=NOW - timedelta(days=1)).id
    rule = storage.approvals.add_rule(uid, "allow", "run_shell", "git status", source="cli")
    tools = storage.tools

    def call(name: str, conversation: str, tool: str, params: dict[str, Any], risk: str) -> str:
        record = tools.request(uid, conversation, None, f"call_{name}", tool, "builtin", params, risk)
        ids[name] = record.id
        return record.id

    def times(ex: str, hours_ago: float, took: int | None) -> None:
        at = NOW - timedelta(hours=hours_ago)
        row = tools.get(uid, ex)
        fields: dict[str, Any] = {"created_at": at, "approval_requested_at": at}
        if row.approved_at is not None:
            fields["approved_at"] = at + timedelta(seconds=2)
        if row.executed_at is not None:
            fields["executed_at"] = at + timedelta(seconds=2)
        if row.completed_at is not None:
            fields["completed_at"] = at + timedelta(seconds=2, milliseconds=took or 0)
        if took is not None:
            fields["execution_time_ms"] = took
        set_fields(storage.db, ToolExecution, ex, **fields)

    ex = call("status", build, "run_shell", {"command": "git status"}, "high")
    tools.decide(uid, ex, approved=True, decided_by="rule", rule_id=rule.id, reason="allowed by a rule")
    tools.start(uid, ex)
    tools.complete(uid, ex, {"exit_code": 0, "stdout": "On branch main\nnothing to commit, working tree clean\n"})
    times(ex, 30, 41)

    ex = call("rm", build, "run_shell", {"command": "rm -rf build"}, "high")
    tools.decide(uid, ex, approved=False, decided_by="user", denial_note="Use make clean instead.")
    times(ex, 29, None)

    ex = call("read", build, "read_file", {"path": "README.md"}, "read_only")
    tools.decide(uid, ex, approved=True, decided_by="auto", reason="read-only tools run without asking")
    tools.start(uid, ex)
    tools.complete(uid, ex, {"content": "# Project\n\nSome words.\n"}, cost=Decimal("0"))
    times(ex, 28, 3)

    ex = call("write", research, "write_file", {"path": "notes.txt", "content": "draft"}, "medium")
    tools.decide(uid, ex, approved=True, decided_by="user",
                 approved_parameters={"path": "notes.txt", "content": "final notes"})
    tools.start(uid, ex)
    tools.fail(uid, ex, "PermissionError: notes.txt is read-only")
    times(ex, 5, 1250)

    ex = call("fetch", research, "fetch_url", {"url": "https://docs.python.org/3/library/json.html"}, "low")
    times(ex, 1, None)

    ids.update(build=build, research=research, rule=rule.id)
    return ids


def seed_usage(storage: Any, uid: str) -> dict[str, str]:
    """Provider calls on 12, 13 and 14 March 2026 (and one in January, outside 30 days),
    with timings, one error, and three thumbs up to one down."""
    conversation = storage.conversations.create(uid, title="Usage", provider="fake", model="gpt-4o",
                                                created_at=datetime(2026, 1, 5, 9, tzinfo=timezone.utc))

    def at(day: int, hour: int = 12, month: int = 3) -> datetime:
        return datetime(2026, month, day, hour, tzinfo=timezone.utc)

    def record(when: datetime, model: str, provider: str, inp: int, out: int, cost: str | None, **kw: Any) -> None:
        storage.usage.record(uid, provider=provider, model=model, input_tokens=inp, output_tokens=out, cost=cost,
                             conversation_id=conversation.id, at=when, **kw)

    record(at(5, month=1), "gpt-4o", "openai", 4000, 1000, "0.02", response_ms=5000, first_token_ms=900)
    record(at(12), "gpt-4o", "openai", 1000, 200, "0.0045", response_ms=1000, first_token_ms=200)
    record(at(13), "gpt-4o", "openai", 3000, 600, "0.0135", response_ms=2000, first_token_ms=300)
    record(at(13, 14), "claude-haiku-4-5", "anthropic", 2000, 400, "0.004", response_ms=3000, first_token_ms=400)
    record(at(14), "llama3.2", "ollama", 1500, 300, None, response_ms=4000, first_token_ms=500)
    record(at(14, 13), "gpt-4o", "openai", 0, 0, "0", success=False, error_kind="server")
    for rating in (1, 1, 1, -1):
        message = storage.messages.add(uid, conversation.id, role="assistant", content="answer", created_at=at(14))
        make_feedback(storage.db, uid, message.id, rating, created_at=at(14, 14))
    return {"conversation": conversation.id}
