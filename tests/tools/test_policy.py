"""One policy for every call: rule forms and their order, scopes, expiry, command lines
judged part by part, workspace escapes, the auto-approval settings and the modes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from storage import Storage
from tui_chat.engine.tooling import RememberRule, ToolOutput
from tui_chat.tools.base import Tool
from tui_chat.tools.runtime import Runtime, builtin_tools
from tui_chat.tools.rules import add_rule, rule_from_execution


def _mcp_tool(name: str = "github.create_issue", cost: Decimal | None = None) -> Tool:
    async def run(args, env):
        return ToolOutput("ok")

    server = name.split(".")[0]
    return Tool(name, "an MCP tool", {"type": "object", "properties": {"repo": {"type": "string"}}},
                risk="medium", kind="mcp", source=f"mcp:{server}", run=run, wire_name=name.replace(".", "__"),
                cost=cost)


@pytest.fixture
def rt(store: Storage, user_id: str) -> Runtime:
    return Runtime(store, user_id, tools=[*builtin_tools(), _mcp_tool()])


async def decide(rt: Runtime, context, name: str, args: dict, **kw):
    return await rt.evaluate(name, args, context(**kw))


def rule(store: Storage, user_id: str, action: str, pattern: str, **kw):
    return add_rule(store, user_id, action, pattern, **kw)


# --- the defaults ---------------------------------------------------------------------

async def test_without_rules_read_only_tools_run_and_others_ask(rt: Runtime, context) -> None:
    assert (await decide(rt, context, "read_file", {"path": "README.md"})).action == "allow"
    shell = await decide(rt, context, "run_shell", {"command": "ls"})
    assert shell.action == "ask" and shell.risk == "high" and shell.preview.startswith("$ ls")
    assert (await decide(rt, context, "write_file", {"path": "x", "content": ""})).action == "ask"
    assert (await decide(rt, context, "fetch_url", {"url": "https://example.org/"})).action == "ask"


async def test_a_scripted_run_denies_what_would_ask(rt: Runtime, context) -> None:
    outcome = await decide(rt, context, "run_shell", {"command": "ls -l"}, interactive=False)
    assert outcome.action == "deny" and outcome.decided_by == "policy"
    assert "--allow-tool 'run_shell(ls -l)'" in outcome.reason


async def test_bad_arguments_are_denied_with_the_reason(rt: Runtime, context) -> None:
    outcome = await decide(rt, context, "read_file", {"path": 3})
    assert outcome.action == "deny" and "path must be of type string" in outcome.reason
    outcome = await decide(rt, context, "run_shell", {"cmd": "ls"})
    assert outcome.action == "deny" and "missing required argument(s): command" in outcome.reason


# --- rule forms and order -------------------------------------------------------------

async def test_tool_rule_without_argument_pattern(rt: Runtime, context, store, user_id) -> None:
    rule(store, user_id, "allow", "write_file")
    outcome = await decide(rt, context, "write_file", {"path": "notes.txt", "content": "x"})
    assert outcome.action == "allow" and outcome.decided_by == "rule" and outcome.rule_id
    # a rule without an argument pattern does not reach outside the workspace
    outside = await decide(rt, context, "write_file", {"path": "/tmp/elsewhere.txt", "content": "x"})
    assert outside.action == "ask" and "OUTSIDE the workspace" in outside.reason


async def test_path_argument_patterns(rt: Runtime, context, store, user_id, tmp_path: Path) -> None:
    rule(store, user_id, "allow", "write_file(src/**)")
    assert (await decide(rt, context, "write_file", {"path": "src/new/mod.py", "content": ""})).action == "allow"
    assert (await decide(rt, context, "write_file", {"path": "docs/x.md", "content": ""})).action == "ask"
    assert (await decide(rt, context, "write_file", {"path": "src/../../x", "content": ""})).action == "ask"
    rule(store, user_id, "allow", f"write_file({tmp_path}/scratch/**)")
    assert (await decide(rt, context, "write_file", {"path": str(tmp_path / "scratch" / "a.txt"),
                                                     "content": ""})).action == "allow"


async def test_command_argument_patterns(rt: Runtime, context, store, user_id) -> None:
    rule(store, user_id, "allow", "run_shell(git status*)")
    assert (await decide(rt, context, "run_shell", {"command": "git status --short"})).action == "allow"
    assert (await decide(rt, context, "run_shell", {"command": "git push"})).action == "ask"


async def test_url_and_mcp_patterns(rt: Runtime, context, store, user_id) -> None:
    rule(store, user_id, "allow", "fetch_url(https://docs.python.org/*)")
    assert (await decide(rt, context, "fetch_url", {"url": "https://docs.python.org/3/"})).action == "allow"
    assert (await decide(rt, context, "fetch_url", {"url": "https://evil.example/"})).action == "ask"
    rule(store, user_id, "allow", "github.*")
    # the model calls the provider-safe name; rules use server.tool
    outcome = await decide(rt, context, "github__create_issue", {"repo": "me/x"})
    assert outcome.action == "allow" and "github.*" in outcome.reason
    rule(store, user_id, "deny", "github.create_issue(repo=secret/*)")
    assert (await decide(rt, context, "github__create_issue", {"repo": "secret/vault"})).action == "deny"


async def test_deny_then_ask_then_allow(rt: Runtime, context, store, user_id) -> None:
    rule(store, user_id, "allow", "run_shell")
    rule(store, user_id, "ask", "run_shell(git push*)")
    rule(store, user_id, "deny", "run_shell(rm *)")
    assert (await decide(rt, context, "run_shell", {"command": "make"})).action == "allow"
    assert (await decide(rt, context, "run_shell", {"command": "git push origin"})).action == "ask"
    denied = await decide(rt, context, "run_shell", {"command": "make && rm -rf build"})
    assert denied.action == "deny" and "run_shell(rm *)" in denied.reason
    # deny rules win over settings too
    store.approvals.update_settings(user_id, specific_tools={"read_file": "allow"})
    rule(store, user_id, "deny", "read_file(.env)")
    assert (await decide(rt, context, "read_file", {"path": ".env"})).action == "deny"


# --- command lines: every part must be allowed ----------------------------------------

async def test_rm_piped_into_an_allowed_grep_is_not_allowed(rt: Runtime, context, store, user_id) -> None:
    rule(store, user_id, "allow", "run_shell(grep *)")
    outcome = await decide(rt, context, "run_shell", {"command": "rm -rf ~ | grep x"})
    assert outcome.action == "ask" and "`rm -rf ~`" in outcome.reason
    assert (await decide(rt, context, "run_shell", {"command": "rm -rf ~ | grep x"}, interactive=False)).action \
        == "deny"
    assert (await decide(rt, context, "run_shell", {"command": "grep x README.md"})).action == "allow"


@pytest.mark.parametrize("command", [
    "echo $(rm -rf ~)", "echo `rm -rf ~`", "echo ok; rm -rf ~", "echo ok && rm -rf ~", "echo ok || rm -rf ~",
    "(rm -rf ~)", "echo ok | sh", "echo ok > ~/.bashrc", "echo ok & rm -rf ~", 'echo "$(rm -rf ~)"',
    "bash -c 'echo ok; rm -rf ~'", "xargs rm < files", "sudo echo ok",
])
async def test_chains_substitutions_and_subshells(rt: Runtime, context, store, user_id, command: str) -> None:
    rule(store, user_id, "allow", "run_shell(echo *)")
    rule(store, user_id, "allow", "run_shell(xargs *)")
    outcome = await decide(rt, context, "run_shell", {"command": command}, interactive=False)
    assert outcome.action == "deny", outcome.reason


async def test_each_part_may_be_allowed_by_a_different_rule(rt: Runtime, context, store, user_id) -> None:
    rule(store, user_id, "allow", "run_shell(git log*)")
    rule(store, user_id, "allow", "run_shell(head *)")
    outcome = await decide(rt, context, "run_shell", {"command": "git log --oneline | head -5"})
    assert outcome.action == "allow" and "`head -5`" in outcome.reason and "`git log --oneline`" in outcome.reason


async def test_deny_rules_see_inside_substitutions(rt: Runtime, context, store, user_id) -> None:
    rule(store, user_id, "allow", "run_shell")
    rule(store, user_id, "deny", "run_shell(curl *)")
    assert (await decide(rt, context, "run_shell", {"command": "echo $(curl -s evil.sh)"})).action == "deny"


@pytest.mark.parametrize("command", ["eval 'ls'", "cat <<EOF\nx\nEOF", "echo 'unbalanced", "$CMD"])
async def test_unparseable_commands_match_no_allow_rule(rt: Runtime, context, store, user_id, command) -> None:
    rule(store, user_id, "allow", "run_shell")
    outcome = await decide(rt, context, "run_shell", {"command": command})
    assert outcome.action == "ask" and not outcome.can_remember
    assert "cannot be judged part by part" in outcome.reason


# --- workspace escapes ----------------------------------------------------------------

async def test_reads_outside_the_workspace_are_refused(rt: Runtime, context, workspace: Path, tmp_path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    (workspace / "link").symlink_to(tmp_path / "secret.txt")
    (workspace / "dirlink").symlink_to(tmp_path)
    for path in ("../secret.txt", str(tmp_path / "secret.txt"), "link", "dirlink/secret.txt", "src/../../secret.txt"):
        outcome = await decide(rt, context, "read_file", {"path": path})
        assert outcome.action == "deny" and "outside the workspace" in outcome.reason, path


async def test_writes_outside_the_workspace_are_high_risk_and_never_automatic(rt, context, store, user_id) -> None:
    store.approvals.update_settings(user_id, specific_tools={"write_file": "allow"})
    inside = await decide(rt, context, "write_file", {"path": "a.txt", "content": ""})
    assert inside.action == "allow" and inside.decided_by == "auto"
    outside = await decide(rt, context, "write_file", {"path": "../a.txt", "content": ""})
    assert outside.action == "ask" and outside.risk == "high" and "outside the workspace" in outside.reason


async def test_shell_paths_outside_the_workspace_are_never_auto_approved(rt, context, store, user_id) -> None:
    store.approvals.update_settings(user_id, specific_tools={"run_shell": "allow"})
    assert (await decide(rt, context, "run_shell", {"command": "ls src"})).action == "allow"
    outcome = await decide(rt, context, "run_shell", {"command": "cat /etc/passwd"})
    assert outcome.action == "ask" and "/etc/passwd" in outcome.reason


# --- scopes and expiry ----------------------------------------------------------------

async def test_conversation_rules_stay_in_their_conversation(rt, context, store, user_id, conversation_id) -> None:
    other = store.conversations.create(user_id, provider="openai", model="gpt-4o").id
    rule(store, user_id, "allow", "run_shell(make*)", scope="conversation", conversation=conversation_id)
    assert (await decide(rt, context, "run_shell", {"command": "make"})).action == "allow"
    assert (await decide(rt, context, "run_shell", {"command": "make"}, conversation=other)).action == "ask"


async def test_project_rules_apply_below_their_directory(rt, context, store, user_id, workspace, tmp_path) -> None:
    rule(store, user_id, "allow", "run_shell(make*)", scope="project", project=str(workspace))
    (workspace / "sub").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert (await decide(rt, context, "run_shell", {"command": "make"})).action == "allow"
    assert (await decide(rt, context, "run_shell", {"command": "make"}, where=workspace / "sub")).action == "allow"
    assert (await decide(rt, context, "run_shell", {"command": "make"}, where=elsewhere)).action == "ask"


async def test_expired_rules_no_longer_apply(rt, context, store, user_id, monkeypatch) -> None:
    import storage.services.approvals as approvals
    from storage.types import utcnow

    rule(store, user_id, "allow", "run_shell(make*)", expires_in=3600)
    assert (await decide(rt, context, "run_shell", {"command": "make"})).action == "allow"
    monkeypatch.setattr(approvals, "utcnow", lambda: utcnow() + timedelta(hours=2))
    assert (await decide(rt, context, "run_shell", {"command": "make"})).action == "ask"


# --- the auto-approval settings -------------------------------------------------------

async def test_risk_tiers(rt, context, store, user_id) -> None:
    store.approvals.update_settings(user_id, read_only_operations=False)
    assert (await decide(rt, context, "read_file", {"path": "README.md"})).action == "ask"
    store.approvals.update_settings(user_id, low_risk_operations=True)
    assert (await decide(rt, context, "fetch_url", {"url": "https://example.org"})).action == "allow"
    local = await decide(rt, context, "fetch_url", {"url": "http://127.0.0.1:8080/admin"})
    assert local.action == "ask" and local.risk == "medium" and "private network" in local.reason


async def test_specific_tools(rt, context, store, user_id) -> None:
    store.approvals.update_settings(user_id, specific_tools={"run_shell": "deny", "list_directory": "ask"})
    assert (await decide(rt, context, "run_shell", {"command": "ls"})).action == "deny"
    assert (await decide(rt, context, "list_directory", {})).action == "ask"


async def test_cost_caps(store, user_id, context, conversation_id) -> None:
    pricey = _mcp_tool("paid.search", cost=Decimal("2"))
    cheap = _mcp_tool("paid.lookup", cost=Decimal("0.5"))
    rt = Runtime(store, user_id, tools=[pricey, cheap])
    store.approvals.update_settings(user_id, specific_tools={"paid.*": "allow"}, require_approval_for_new_tools=False)
    outcome = await decide(rt, context, "paid.search", {})
    assert outcome.action == "ask" and "per tool" in outcome.reason
    assert (await decide(rt, context, "paid.lookup", {})).action == "allow"
    execution = store.tools.request(user_id, conversation_id, None, "c1", "paid__lookup", "mcp:paid", {}, "medium")
    store.tools.decide(user_id, execution.id, approved=True, decided_by="user")
    store.tools.start(user_id, execution.id)
    store.tools.complete(user_id, execution.id, {"ok": True}, cost=Decimal("9.8"))
    outcome = await decide(rt, context, "paid.lookup", {})
    assert outcome.action == "ask" and "per hour" in outcome.reason


async def test_new_mcp_tools_ask_until_approved_once(rt, context, store, user_id, conversation_id) -> None:
    store.approvals.update_settings(user_id, specific_tools={"github.create_issue": "allow"})
    first = await decide(rt, context, "github__create_issue", {})
    assert first.action == "ask" and "never been approved" in first.reason
    execution = store.tools.request(user_id, conversation_id, None, "c1", "github__create_issue", "mcp:github", {},
                                    "medium")
    store.tools.decide(user_id, execution.id, approved=True, decided_by="user")
    assert (await decide(rt, context, "github__create_issue", {})).action == "allow"


# --- modes and flags ------------------------------------------------------------------

async def test_read_only_mode(store, user_id, context) -> None:
    store.approvals.update_settings(user_id, read_only_operations=False)
    rt = Runtime(store, user_id, mode="read-only", allow=["write_file"], interactive=False)
    assert (await decide(rt, context, "read_file", {"path": "README.md"}, interactive=False)).action == "allow"
    write = await decide(rt, context, "write_file", {"path": "x", "content": ""}, interactive=False)
    assert write.action == "deny" and "read-only mode" in write.reason


async def test_accept_edits_mode(store, user_id, context) -> None:
    rt = Runtime(store, user_id, mode="accept-edits", interactive=False)
    assert (await decide(rt, context, "edit_file", {"path": "README.md", "old_text": "Some", "new_text": "More"},
                         interactive=False)).action == "allow"
    assert (await decide(rt, context, "write_file", {"path": "../x", "content": ""}, interactive=False)).action \
        == "deny"
    assert (await decide(rt, context, "run_shell", {"command": "ls"}, interactive=False)).action == "deny"


async def test_bypass_mode_runs_everything_but_deny_rules(store, user_id, context) -> None:
    rt = Runtime(store, user_id, mode="bypass", deny=["run_shell(rm *)"], interactive=False)
    outcome = await decide(rt, context, "run_shell", {"command": "curl x | sh"}, interactive=False)
    assert outcome.action == "allow" and outcome.decided_by == "bypass"
    assert (await decide(rt, context, "run_shell", {"command": "rm -rf ~"}, interactive=False)).action == "deny"


async def test_flags_are_rules_for_one_run_only(store, user_id, context) -> None:
    rt = Runtime(store, user_id, allow=["run_shell(echo *)"], deny=["read_file(secret*)"], interactive=False)
    allowed = await decide(rt, context, "run_shell", {"command": "echo hi"}, interactive=False)
    assert allowed.action == "allow" and allowed.decided_by == "flag" and allowed.rule_id is None
    denied = await decide(rt, context, "read_file", {"path": "secret.txt"}, interactive=False)
    assert denied.action == "deny" and "--deny-tool 'read_file(secret*)'" in denied.reason
    assert store.approvals.all_rules(user_id) == []


async def test_a_scripted_run_stops_on_repeated_or_many_denials(store, user_id, context) -> None:
    rt = Runtime(store, user_id, interactive=False, max_denials=3)
    await decide(rt, context, "run_shell", {"command": "ls"}, interactive=False)
    assert rt.stop_reason is None and len(rt.denials) == 1
    await decide(rt, context, "run_shell", {"command": "ls"}, interactive=False)
    assert "asked again for run_shell" in rt.stop_reason
    rt = Runtime(store, user_id, interactive=False, max_denials=3)
    for n in range(3):
        await decide(rt, context, "run_shell", {"command": f"ls {n}"}, interactive=False)
    assert rt.stop_reason == "3 tool calls were denied in this run"


# --- previews -------------------------------------------------------------------------

async def test_previews_show_exactly_what_will_run(rt, context) -> None:
    edit = await decide(rt, context, "edit_file", {"path": "src/app.py", "old_text": "'hello'",
                                                   "new_text": "'bye'"})
    assert "-    print('hello')\n+    print('bye')" in edit.preview and "--- a/src/app.py" in edit.preview
    command = "git log --oneline | head -3 && echo done"
    assert command in (await decide(rt, context, "run_shell", {"command": command})).preview
    assert (await decide(rt, context, "fetch_url", {"url": "https://example.org/a?b=1"})).preview \
        == "GET https://example.org/a?b=1"


# --- "always", and rules from past decisions ------------------------------------------

async def test_always_stores_a_scoped_expiring_rule(rt, context, store, user_id, conversation_id) -> None:
    await rt.remember("run_shell", {"command": "git status | grep modified"},
                      RememberRule("conversation", 3600), context())
    rules = store.approvals.all_rules(user_id)
    assert sorted(r.argument_pattern for r in rules) == ["git status", "grep modified"]
    assert all(r.scope == "conversation" and r.conversation_id == conversation_id and r.expires_at
               and r.source == "prompt" for r in rules)
    assert (await decide(rt, context, "run_shell", {"command": "git status | grep modified"})).action == "allow"
    other = store.conversations.create(user_id, provider="openai", model="gpt-4o").id
    assert (await decide(rt, context, "run_shell", {"command": "git status"}, conversation=other)).action == "ask"


async def test_always_with_a_pattern_and_project_scope(rt, context, store, user_id, workspace) -> None:
    await rt.remember("write_file", {"path": "src/a.py", "content": ""},
                      RememberRule("project", None, "src/**"), context())
    [stored] = store.approvals.all_rules(user_id)
    assert (stored.scope, stored.project_path, stored.argument_pattern, stored.expires_at) == \
        ("project", str(workspace), "src/**", None)


async def test_always_is_refused_for_commands_that_cannot_be_judged(rt, context, store, user_id) -> None:
    await rt.remember("run_shell", {"command": "eval 'rm -rf ~'"}, RememberRule("global"), context())
    assert store.approvals.all_rules(user_id) == []


async def test_a_past_decision_becomes_a_rule(rt, context, store, user_id, conversation_id, workspace) -> None:
    store.conversations.update(user_id, conversation_id, context={"cwd": str(workspace)})
    execution = store.tools.request(user_id, conversation_id, None, "c1", "run_shell", "builtin",
                                    {"command": "rm -rf build"}, "high")
    store.tools.decide(user_id, execution.id, approved=True, decided_by="user",
                       approved_parameters={"command": "make clean"})
    [made] = rule_from_execution(store, user_id, execution.id, scope="global", expires_in=600, runtime=rt)
    assert (made.action, made.tool_pattern, made.argument_pattern, made.source) == \
        ("allow", "run_shell", "make clean", "audit")
    [deny] = rule_from_execution(store, user_id, execution.id, action="deny", scope="project", runtime=rt,
                                 argument_pattern="rm *")
    assert deny.project_path == str(workspace)
    assert (await decide(rt, context, "run_shell", {"command": "rm -rf build"})).action == "deny"


async def test_helpers_for_the_approval_prompt(rt, context) -> None:
    assert rt.check_arguments("run_shell", {"command": ""}) == "command must not be empty"
    assert rt.check_arguments("run_shell", {"command": "ls"}) is None
    assert rt.suggest("run_shell", {"command": "git status --short"}, context()) == \
        ["git status --short", "git status:*", "git:*"]
    assert rt.suggest("run_shell", {"command": "eval x"}, context()) == []
    assert rt.suggest("write_file", {"path": "src/a.py", "content": ""}, context()) == ["src/a.py", "src/**"]
    assert rt.suggest("fetch_url", {"url": "https://docs.python.org/3/x"}, context()) == \
        ["https://docs.python.org/3/x", "https://docs.python.org/*"]
    assert rt.display_name("github__create_issue") == "github.create_issue"


def test_provider_safe_names_never_collide(store, user_id) -> None:
    rt = Runtime(store, user_id, tools=[_mcp_tool("a._b"), _mcp_tool("a_.b")])
    first, second = rt.tools()
    assert first.wire != second.wire and rt.lookup(second.wire) is second


async def test_the_prompt_says_what_always_would_allow(rt: Runtime, context) -> None:
    """"Always" stores one rule per part of a command, the exact path or URL, or the whole
    tool when it has none of those: the approval prompt says which."""
    shell = await decide(rt, context, "run_shell", {"command": "git status && make test"})
    assert shell.remembers == ("run_shell(git status)", "run_shell(make test)")
    mcp = await decide(rt, context, "github.create_issue", {"repo": "a/b"})
    assert mcp.action == "ask"
    assert mcp.remembers == ("every call of github.create_issue, whatever its arguments",)
    hidden = await decide(rt, context, "run_shell", {"command": "eval $(cat script)"})
    assert not hidden.can_remember and hidden.remembers == ()
