"""Pictures of the main screens. Each docstring says what the picture should show.

Update them with ``pytest tests/snapshots --snapshot-update`` after checking the
report; they are rendered at 120x40 with a fixed clock, in UTC, from ``tests/tui/demo``.
"""

from __future__ import annotations

from typing import Any

from tests.tui.demo import seed_demo
from tests.tui.helpers import settle, wait_until

SIZE = (120, 40)


def quiet(app: Any) -> None:
    for widget in app.screen.query("TextArea, Input"):
        widget.cursor_blink = False


async def ready(pilot: Any) -> None:
    await wait_until(pilot, lambda: pilot.app.services.ready)
    await settle(pilot)
    quiet(pilot.app)


def test_conversation(snap_compare, make_tui, context):
    """The pinned “Streaming Markdown in Textual” conversation, open: sidebar with six
    conversations (pinned first, with tags and relative times, the open one marked ●),
    the user's question on a tinted background, the answer rendered as Markdown — a
    heading, a paragraph with bold/italic/inline code, a numbered list, a Python code
    block with a “python … ⧉ copy” header and syntax colours, a three-column table and
    a quote — then the empty prompt with its placeholder and the status line
    “fake · gpt-4o │ ctx 1.8k/128k (1%) │ $0.0123 │ ○ ready”, and the footer keys."""
    ids = seed_demo(context.storage, context.user.id)
    app = make_tui(options={"resume": ids["stream"]})

    async def run_before(pilot: Any) -> None:
        await ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_new_chat(snap_compare, make_tui, context):
    """A new chat: the sidebar lists the demo conversations with none marked, the chat
    area shows the centred hint (Enter to send, Ctrl+N, Ctrl+F, …), the prompt is
    focused and empty, the status line names the default provider and model."""
    seed_demo(context.storage, context.user.id)
    context.storage.users.update_preferences(context.user.id, default_provider="fake", default_model="gpt-4o")
    app = make_tui()
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_sidebar_search(snap_compare, make_tui, context):
    """Searching “lifetimes”: the search box holds the query and is focused, the list
    shows the title hit “▸ Rust lifetimes, explained” and the message hits with the
    matched word highlighted in their snippets; the chat area is unchanged."""
    seed_demo(context.storage, context.user.id)
    app = make_tui()

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("ctrl+f", *"lifetimes")
        screen = pilot.app.screen
        await wait_until(pilot, lambda: screen.sidebar.searching)
        await settle(pilot)
        quiet(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_error_with_retry(snap_compare, make_tui, context):
    """“Regex for ISO dates”: the question, then an answer that failed: its header,
    the red line “✖ failed: rate limited by the provider (429); retried 3 times” and a
    Retry button beside it."""
    ids = seed_demo(context.storage, context.user.id)
    app = make_tui(options={"resume": ids["regex"]})
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_branch_switcher(snap_compare, make_tui, context):
    """“Birthday poem for Ana”: the answer on screen is the second of two, so its
    header ends with the branch switcher “‹ 2/2 ›”; the answer is focused (accent
    border) and the footer lists the message keys (copy, edit, regenerate, …)."""
    ids = seed_demo(context.storage, context.user.id)
    app = make_tui(options={"resume": ids["poem"]})

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        pilot.app.screen.chat.message_views[-1].focus()
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_welcome(snap_compare, make_tui):
    """First run with no provider: the welcome screen explains the three ways to start —
    `tui-chat keys set openai` (or anthropic, or an environment variable),
    `tui-chat providers add NAME --kind openai-compatible --base-url URL`, or Ollama on
    localhost:11434 — and says r checks again, Enter continues."""
    app = make_tui(ready=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_settings(snap_compare, make_tui, provider, context):
    """Settings for the open conversation over the dimmed chat: provider “fake”,
    model “gpt-4o” chosen from the list the provider returned, the model name field,
    an empty system prompt, temperature and max tokens left to the model's default,
    then Preferences: theme textual-dark and empty default provider/model, then the
    Budgets heading with “No caps: nothing limits spending.” (the row to add a cap is
    below, scrolled out of view, hence the scrollbar), with Save and Cancel buttons."""
    ids = seed_demo(context.storage, context.user.id)
    app = make_tui(options={"resume": ids["rust"]})

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: pilot.app.screen.query("#model") and
                         pilot.app.screen.query_one("#model").prompt == "Choose a model")
        await settle(pilot)
        quiet(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help(snap_compare, make_tui):
    """The help screen over the chat: every key binding by section — Everywhere,
    Chat, Prompt (Ctrl+J newline, Enter sends, Up/Down history), Conversation list,
    A focused message — keys in accent colour with their descriptions."""
    app = make_tui()
    assert snap_compare(app, terminal_size=(120, 50), press=["f1"], run_before=ready)


def test_tool_audit(snap_compare, make_tui, context):
    """The tool audit (F4) over five seeded calls, newest first: fetch_url pending in
    “Research notes”; write_file with edited arguments (✎ path=notes.txt, content=final
    notes), failed after 1.2 s, decided by user; read_file completed (auto, $0.00);
    rm -rf build denied by user; git status completed in 41 ms, decided by “rule
    run_shell(git status)”. Above: the empty tool, status, conversation and since
    filters; below: “5 calls” and the highlighted fetch_url call in full — its
    conversation, request time, the arguments as requested — then the footer keys."""
    from tests.tui.audit_seed import seed_tool_calls

    seed_tool_calls(context.storage, context.user.id)
    app = make_tui()

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("f4")
        await settle(pilot)
        quiet(pilot.app)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_usage_stats(snap_compare, make_tui, context):
    """Usage stats (F5) for the last 30 days, by day: 2026-02-13 to 2026-03-14; the
    summary says 5 calls, 7,500 tokens in and 1,500 out, cost $0.0220 + unknown,
    response time p50 2,500 ms / p95 3,850 ms, first token p50 350 ms / p95 485 ms,
    1 error of 5 calls, ratings 3 up / 1 down (75% up) and a warning that one call's
    price is unknown; two column charts (tokens, cost per day) with columns only for
    12–14 March, the 13th tallest in both; the table lists the three days and a total."""
    from tests.tui.audit_seed import seed_usage

    seed_usage(context.storage, context.user.id)
    app = make_tui()

    async def run_before(pilot: Any) -> None:
        await ready(pilot)
        await pilot.press("f5")
        await settle(pilot)
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "report", None) is not None)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
