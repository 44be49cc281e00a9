"""The tool audit and usage stats screens: opened from the chat screen (key and palette),
loaded in workers, filtered in the storage query, and rules made from past decisions
that the policy then applies."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Select, Static

from tests.tui.audit_seed import seed_tool_calls, seed_usage
from tests.tui.helpers import settle, started, wait_until
from tui_chat.screens.audit import AuditScreen, RuleFromDecisionScreen
from tui_chat.screens.stats import StatsScreen


def rows(screen: AuditScreen) -> list[tuple[str, ...]]:
    table = screen.query_one("#audit-table", DataTable)
    return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


def tools_shown(screen: AuditScreen) -> list[str]:
    return [row[2] for row in rows(screen)]


async def open_audit(pilot: Any) -> AuditScreen:
    await started(pilot)
    await pilot.press("f4")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, AuditScreen))
    await settle(pilot)
    return pilot.app.screen


async def set_filter(pilot: Any, ident: str, value: str) -> None:
    screen = pilot.app.screen
    screen.query_one(ident, Input).value = value
    await pilot.pause(0.35)  # the filter waits a moment for more typing
    await settle(pilot)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder.resolve()


async def test_audit_lists_seeded_executions(make_tui, context, workspace):
    seed_tool_calls(context.storage, context.user.id, str(workspace))
    app = make_tui()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_audit(pilot)
        shown = rows(screen)
        assert [row[2] for row in shown] == ["fetch_url", "write_file", "read_file", "run_shell", "run_shell"]
        fetch, write, read, rm, status = shown
        assert fetch[1] == "Research notes" and fetch[4] == "pending" and fetch[5] == "–"
        assert write[3].startswith("✎ path=notes.txt, content=final notes") and write[4] == "failed"
        assert write[5] == "user" and write[6] == "1.2 s"
        assert read[5] == "auto" and read[7] == "$0.00"
        assert rm[3] == "rm -rf build" and rm[4] == "denied"
        assert status[5] == "rule run_shell(git status)" and status[6] == "41 ms"
        assert status[0] == datetime(2026, 3, 13, 9, 9, tzinfo=timezone.utc).astimezone().strftime("%m-%d %H:%M")
        assert "5 calls" in str(screen.query_one("#audit-count").render())
        # The newest call is highlighted and shown in full.
        detail = str(screen.query_one("#audit-detail-text", Static).render())
        assert "fetch_url" in detail and "https://docs.python.org/3/library/json.html" in detail
        # Moving down shows the edited call: both argument sets and the error.
        await pilot.press("down")
        await settle(pilot)
        detail = str(screen.query_one("#audit-detail-text", Static).render())
        assert "arguments as requested" in detail and '"content": "draft"' in detail
        assert "arguments as approved (edited)" in detail and '"content": "final notes"' in detail
        assert "PermissionError: notes.txt is read-only" in detail
        await pilot.press("escape")
        assert not isinstance(app.screen, AuditScreen)


async def test_audit_filters_narrow_the_list(make_tui, context, workspace):
    ids = seed_tool_calls(context.storage, context.user.id, str(workspace))
    app = make_tui()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_audit(pilot)
        await set_filter(pilot, "#audit-tool", "shell")
        assert tools_shown(screen) == ["run_shell", "run_shell"]
        screen.query_one("#audit-status", Select).value = "denied"
        await settle(pilot)
        assert [row[3] for row in rows(screen)] == ["rm -rf build"]
        await set_filter(pilot, "#audit-tool", "")
        screen.query_one("#audit-status", Select).clear()
        await settle(pilot)
        assert len(rows(screen)) == 5
        await set_filter(pilot, "#audit-conversation", "research")
        assert tools_shown(screen) == ["fetch_url", "write_file"]
        await set_filter(pilot, "#audit-conversation", ids["build"])
        assert tools_shown(screen) == ["read_file", "run_shell", "run_shell"]
        await set_filter(pilot, "#audit-conversation", "")
        await set_filter(pilot, "#audit-since", "today")  # the app's clock: 14 March
        assert tools_shown(screen) == ["fetch_url", "write_file"]
        await set_filter(pilot, "#audit-since", "last week")
        assert "since:" in str(screen.query_one("#audit-count").render())
        await set_filter(pilot, "#audit-since", "2026-03-13")
        assert len(rows(screen)) == 5
        await set_filter(pilot, "#audit-tool", "nothing-like-this")
        assert rows(screen) == []
        assert "No tool calls match" in str(screen.query_one("#audit-detail-text", Static).render())


async def test_audit_pages_instead_of_loading_everything(make_tui, context, workspace, monkeypatch):
    monkeypatch.setattr("tui_chat.screens.audit.PAGE", 2)
    seed_tool_calls(context.storage, context.user.id, str(workspace))
    app = make_tui()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_audit(pilot)
        assert len(rows(screen)) == 2 and screen.has_more
        assert "more load at the end" in str(screen.query_one("#audit-count").render())
        await pilot.press("down")  # the last row loaded: the next page follows
        await settle(pilot)
        assert len(rows(screen)) == 4
        await pilot.press("m")
        await settle(pilot)
        assert len(rows(screen)) == 5 and not screen.has_more
        assert tools_shown(screen)[-1] == "run_shell"


async def test_make_rule_from_a_decision_is_applied_by_the_policy(make_tui, context, workspace):
    from tui_chat.engine.tooling import ToolContext
    from tui_chat.tools.runtime import build_runtime

    storage, uid = context.storage, context.user.id
    ids = seed_tool_calls(storage, uid, str(workspace))
    runtime = build_runtime(storage, uid, mcp=False)
    here = ToolContext(uid, ids["build"], str(workspace), True)
    elsewhere = ToolContext(uid, ids["research"], str(workspace), True)
    rm = {"command": "rm -rf build"}
    assert runtime.evaluate_sync("run_shell", rm, here).action == "ask"
    app = make_tui()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_audit(pilot)
        await pilot.press("down", "down", "down")  # the denied rm -rf build
        await settle(pilot)
        assert screen.detail.id == ids["rm"]
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RuleFromDecisionScreen))
        dialog = app.screen
        assert dialog.query_one("#rule-action", Select).value == "deny"  # as it was decided
        assert dialog.query_one("#rule-scope", Select).value == "conversation"
        dialog.query_one("#rule-expires", Input).value = "fortnight"
        await pilot.press("ctrl+s")
        assert "fortnight" in str(dialog.query_one("#rule-error").render())
        dialog.query_one("#rule-expires", Input).value = "7d"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
    rules = [r for r in storage.approvals.all_rules(uid) if r.id != ids["rule"]]
    assert [(r.action, r.tool_pattern, r.argument_pattern, r.scope, r.conversation_id, r.source)
            for r in rules] == [("deny", "run_shell", "rm -rf build", "conversation", ids["build"], "audit")]
    assert rules[0].expires_at is not None
    outcome = runtime.evaluate_sync("run_shell", rm, here)
    assert (outcome.action, outcome.decided_by, outcome.rule_id) == ("deny", "rule", rules[0].id)
    assert runtime.evaluate_sync("run_shell", rm, elsewhere).action == "ask"  # scoped to that conversation


async def test_make_an_allow_rule_with_a_pattern_for_the_project(make_tui, context, workspace):
    from tui_chat.engine.tooling import ToolContext
    from tui_chat.tools.runtime import build_runtime

    storage, uid = context.storage, context.user.id
    ids = seed_tool_calls(storage, uid, str(workspace))
    app = make_tui()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_audit(pilot)
        await pilot.press("down")  # write_file, approved with edited arguments
        await settle(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, RuleFromDecisionScreen))
        dialog = app.screen
        assert dialog.query_one("#rule-action", Select).value == "allow"
        dialog.query_one("#rule-scope", Select).value = "project"
        dialog.query_one("#rule-pattern", Input).value = "*.txt"
        await pilot.click("#rule-save")
        await settle(pilot)
        assert app.screen is screen
    [rule] = [r for r in storage.approvals.all_rules(uid) if r.id != ids["rule"]]
    assert (rule.action, rule.tool_pattern, rule.argument_pattern, rule.scope, rule.project_path) == \
        ("allow", "write_file", "*.txt", "project", str(workspace))
    runtime = build_runtime(storage, uid, mcp=False)
    write = {"path": "other.txt", "content": "x"}
    assert runtime.evaluate_sync("write_file", write, ToolContext(uid, ids["research"], str(workspace),
                                                                  True)).action == "allow"


async def test_audit_and_stats_from_the_palette_and_help(make_tui):
    app = make_tui()
    async with app.run_test(size=(120, 50)) as pilot:
        await started(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["Tool audit"].callback()
        await settle(pilot)
        assert isinstance(app.screen, AuditScreen)
        assert str(app.screen.query_one("#audit-count").render()) == "no tool calls"
        await pilot.press("escape")
        commands["Usage stats"].callback()
        await settle(pilot)
        assert isinstance(app.screen, StatsScreen)
        await pilot.press("f1")
        text = "\n".join(static.render().plain for static in app.screen.query(".help-table"))
        for binding in (*AuditScreen.BINDINGS, *StatsScreen.BINDINGS):
            assert binding.description in text
        assert "Tool audit" in text and "Usage stats" in text


def summary(screen: StatsScreen) -> str:
    return str(screen.query_one("#stats-summary", Static).render())


async def open_stats(pilot: Any) -> StatsScreen:
    await started(pilot)
    await pilot.press("f5")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, StatsScreen))
    await settle(pilot)
    screen = pilot.app.screen
    await wait_until(pilot, lambda: screen.report is not None)
    return screen


async def test_stats_shows_the_seeded_totals_and_percentiles(make_tui, context):
    seed_usage(context.storage, context.user.id)
    app = make_tui()
    async with app.run_test(size=(120, 45)) as pilot:
        screen = await open_stats(pilot)
        text = summary(screen)
        assert "5  ·  tokens in 7,500 (cached 0)  out 1,500  ·  cost $0.0220 + unknown" in text
        assert "p50 2,500 ms   p95 3,850 ms" in text  # response time
        assert "p50 350 ms   p95 485 ms" in text  # first token
        assert "1 of 5 call(s)" in text
        assert "3 up / 1 down  (75% up)" in text
        assert "price unknown for 1 call(s)" in text
        assert "2026-02-13 to 2026-03-14 (UTC), 30 days" in str(screen.query_one("#stats-range").render())
        table = screen.query_one("#stats-table", DataTable)
        days = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert days == ["2026-03-12", "2026-03-13", "2026-03-14", "total"]
        tokens = screen.query_one("#stats-tokens")
        assert [value for _, value in tokens.points][-3:] == [1200.0, 6000.0, 1800.0]
        assert "█" in str(tokens.render())
        # By model, most expensive first; then all time takes in January's call.
        screen.query_one("#stats-group", Select).value = "model"
        await settle(pilot)
        await wait_until(pilot, lambda: screen.report.group == "model")
        table = screen.query_one("#stats-table", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == \
            ["gpt-4o", "claude-haiku-4-5", "llama3.2", "total"]
        assert str(table.get_row_at(2)[-1]) == "unknown"
        await pilot.press("p")  # 30d -> all
        await settle(pilot)
        await wait_until(pilot, lambda: screen.report.first.isoformat() == "2026-01-05")
        text = summary(screen)
        assert "cost $0.0420 + unknown" in text and "p50 3,000 ms   p95 4,800 ms" in text
        await pilot.press("p")  # all -> 7d
        await settle(pilot)
        await wait_until(pilot, lambda: screen.report.first.isoformat() == "2026-03-08")
        assert "1 of 5 call(s)" in summary(screen)


async def test_stats_matches_the_command(make_tui, context):
    """The screen and `tui-chat stats --json` come from one computation."""
    from tui_chat.stats import build_report

    seed_usage(context.storage, context.user.id)
    app = make_tui()
    async with app.run_test(size=(120, 45)) as pilot:
        screen = await open_stats(pilot)
        shown = screen.report
    again = build_report(context.storage, context.user.id, shown.first, shown.last, today=shown.last)
    assert (again.totals, again.response_p95, again.first_token_p50, again.up_ratio) == \
        (shown.totals, shown.response_p95, shown.first_token_p50, shown.up_ratio)


async def test_stats_with_nothing_recorded(make_tui):
    app = make_tui()
    async with app.run_test(size=(120, 45)) as pilot:
        screen = await open_stats(pilot)
        text = summary(screen)
        assert "0 of 0 call(s)" in text and "p50 –" in text and "0 up / 0 down" in text
        assert "nothing in this period" in str(screen.query_one("#stats-tokens").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, StatsScreen)
