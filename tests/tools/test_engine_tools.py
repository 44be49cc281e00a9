"""The runtime inside the real engine, against the fake provider: approvals with edited
arguments (both versions stored), "always", denials with a note, and MCP tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.fixtures import FAKE_API_KEY, fake_provider  # noqa: F401
from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.provider_wire import Scenario, ToolCallScript
from tui_chat.engine import events as ev
from tui_chat.engine.directory import ProviderDirectory
from tui_chat.engine.tooling import ApprovalDecision, ApprovalRequest, RememberRule
from tui_chat.engine.turn import ChatEngine, RetryPolicy, TurnRequest
from tui_chat.tools.rules import add_rule


@pytest.fixture
def directory(store, user_id, fake_provider: FakeProviderServer) -> ProviderDirectory:  # noqa: F811
    store.catalog.seed_builtin()
    store.providers.add(user_id, "fake-openai", kind="openai", base_url=fake_provider.base_url_openai,
                        default_model="gpt-4o", options={"api_key_env": "FAKE_KEY"})
    return ProviderDirectory(store, user_id, use_keyring=False, environ={"FAKE_KEY": FAKE_API_KEY})


class Approver:
    """A stand-in for the approval prompt: answers with the queued decisions, in order."""

    def __init__(self, *decisions: ApprovalDecision) -> None:
        self.decisions = list(decisions)
        self.requests: list[ApprovalRequest] = []

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        self.requests.append(request)
        return self.decisions.pop(0)


def call(name: str, **arguments) -> Scenario:
    return Scenario(tool_calls=[ToolCallScript(name, json.dumps(arguments))], finish_reason="tool_calls")


async def turn(store, user_id, directory, runtime, approve, workspace: Path, prompt: str = "go",
               conversation_id: str | None = None) -> list[ev.Event]:
    engine = ChatEngine(store, user_id, directory, tools=runtime, approve=approve,
                        retry=RetryPolicy(attempts=2, base_delay=0.01), flush_interval=0.05)
    request = TurnRequest(prompt, conversation_id=conversation_id, provider="fake-openai",
                          workspace=str(workspace))
    return [event async for event in engine.run(request)]


def tool_messages(fake_provider: FakeProviderServer) -> list[str]:  # noqa: F811
    return [m["content"] for r in fake_provider.chat_requests() for m in r.body["messages"] if m["role"] == "tool"]


async def test_edited_arguments_run_and_both_versions_are_stored(store, user_id, directory, runtime, workspace,
                                                                 fake_provider) -> None:  # noqa: F811
    fake_provider.queue(call("run_shell", command="echo original"), Scenario(text="done"))
    approver = Approver(ApprovalDecision(True, edited_arguments={"command": "echo edited"}))
    events = await turn(store, user_id, directory, runtime(), approver, workspace)
    [request] = approver.requests
    assert request.outcome.action == "ask" and request.outcome.preview.startswith("$ echo original")
    [execution] = store.tools.list(user_id)
    assert execution.parameters == {"command": "echo original"}
    assert execution.approved_parameters == {"command": "echo edited"}
    assert execution.status == "completed" and execution.decided_by == "user"
    assert execution.result["output"] == "edited\n"
    assert tool_messages(fake_provider) == ["exit code 0\nedited\n"]
    assert events[-1].tool_calls[0]["arguments"] == {"command": "echo edited"}


async def test_edited_arguments_that_a_rule_denies_do_not_run(store, user_id, directory, runtime, workspace,
                                                              fake_provider) -> None:  # noqa: F811
    """Approving an edited call approves what the user wrote, not what the policy refuses:
    a deny rule still holds for the edited version (what the policy would only ask about,
    the approval answers: see the test above)."""
    deny = add_rule(store, user_id, "deny", "run_shell(rm *)")
    fake_provider.queue(call("run_shell", command="echo original"), Scenario(text="ok"))
    approver = Approver(ApprovalDecision(True, edited_arguments={"command": "rm -rf notes"}))
    (workspace / "notes").mkdir()
    await turn(store, user_id, directory, runtime(), approver, workspace)
    [shell] = store.tools.list(user_id)
    assert shell.status == "denied" and shell.decided_by == "rule" and shell.decision_rule_id == deny.id
    assert shell.approved_parameters is None  # not approved: what was tried is in the reason
    assert shell.decision_reason.startswith('the edited arguments {"command": "rm -rf notes"}: ')
    assert (workspace / "notes").is_dir()
    [message] = tool_messages(fake_provider)
    assert message.startswith("Error: The tool call was denied (the edited arguments ")
    assert "Note from the user" not in message


async def test_always_stores_a_rule_and_the_next_call_is_not_asked(store, user_id, directory, runtime, workspace,
                                                                   fake_provider) -> None:  # noqa: F811
    fake_provider.queue(call("run_shell", command="echo one"), Scenario(text="ok"),
                        call("run_shell", command="echo one"), Scenario(text="ok again"))
    approver = Approver(ApprovalDecision(True, remember=RememberRule("conversation", 3600)))
    rt = runtime()
    events = await turn(store, user_id, directory, rt, approver, workspace)
    conversation_id = events[-1].conversation_id
    [rule] = store.approvals.all_rules(user_id)
    assert (rule.tool_pattern, rule.argument_pattern, rule.scope, rule.conversation_id) == \
        ("run_shell", "echo one", "conversation", conversation_id)
    await turn(store, user_id, directory, rt, approver, workspace, conversation_id=conversation_id)
    assert len(approver.requests) == 1
    second = store.tools.list(user_id)[0]
    assert second.decided_by == "rule" and second.decision_rule_id == rule.id and second.status == "completed"


async def test_a_denial_with_a_note_reaches_the_model(store, user_id, directory, runtime, workspace,
                                                      fake_provider) -> None:  # noqa: F811
    fake_provider.queue(call("write_file", path="notes.txt", content="x"), Scenario(text="understood"))
    approver = Approver(ApprovalDecision(False, note="write to docs/ instead"))
    await turn(store, user_id, directory, runtime(), approver, workspace)
    [execution] = store.tools.list(user_id)
    assert execution.status == "denied" and execution.denial_note == "write to docs/ instead"
    assert "write to docs/ instead" in tool_messages(fake_provider)[0]
    assert not (workspace / "notes.txt").exists()


async def test_policy_decisions_are_recorded(store, user_id, directory, runtime, workspace,
                                             fake_provider) -> None:  # noqa: F811
    fake_provider.queue(call("read_file", path="README.md"), call("read_file", path="../../etc/passwd"),
                        Scenario(text="read"))
    approver = Approver()
    await turn(store, user_id, directory, runtime(), approver, workspace)
    denied, allowed = store.tools.list(user_id)
    assert allowed.status == "completed" and allowed.decided_by == "auto" and allowed.risk_level == "read_only"
    assert denied.status == "denied" and "outside the workspace" in denied.decision_reason
    assert approver.requests == []
    first, second = tool_messages(fake_provider)[-2:]
    assert first.startswith("# Project") and "outside the workspace" in second


async def test_mcp_tools_through_the_engine(store, user_id, directory, runtime, mcp_server, workspace,
                                            fake_provider) -> None:  # noqa: F811
    mcp_server("fake")
    rt = runtime()
    await rt.prepare()
    store.approvals.add_rule(user_id, "allow", "fake.add")
    fake_provider.queue(call("fake__add", a=40, b=2), call("fake__echo", text="hi"), Scenario(text="42"))
    approver = Approver(ApprovalDecision(False))
    try:
        await turn(store, user_id, directory, rt, approver, workspace)
    finally:
        await rt.aclose()
    offered = {t["function"]["name"] for t in fake_provider.chat_requests()[0].body["tools"]}
    assert {"fake__add", "fake__echo", "run_shell"} <= offered
    echo, add = store.tools.list(user_id)
    assert (add.tool_source, add.status, add.decided_by, add.result["structured"]) == \
        ("mcp:fake", "completed", "rule", {"result": 42})
    assert echo.status == "denied" and approver.requests[0].tool_name == "fake__echo"
    assert tool_messages(fake_provider)[:1] == ["42"]
