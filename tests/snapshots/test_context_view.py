"""Picture of the context view. The docstring says what the picture should show.

Update with ``pytest tests/snapshots/test_context_view.py --snapshot-update`` after
checking the report; rendered at 120x40 with a fixed clock, in UTC.
"""

from __future__ import annotations

from typing import Any

from tests.tui.helpers import settle, wait_until

SIZE = (120, 40)


def test_context_view(snap_compare, make_tui, provider, context):
    """The context view over the dimmed chat, for “A long talk” (60 messages of about
    55 tokens, gpt-4o with a 2,400-token window, 500 kept for the reply) with the draft
    “what is my cat called?”: the title, “fake · gpt-4o  window 2,400 · reply reserve
    500 · strategy truncate”, an amber bar almost full with “1,875 of 1,900 tokens
    (99%), exact”, the amber warning that older turns will be left out, the System line
    (prompt 0 · summary of older turns 13 in amber · memories 21 · draft 10), the
    checked “Use remembered facts in this conversation (m)” box with “+ my cat is called
    Miso  8 tok”, the counts “32 sent · 0 pinned · 10 summarised · 18 dropped”, then the
    table (role, tokens, fate, message) scrolled to where the sent messages begin: five
    red “dropped” rows with muted text (m23–m27) above green “sent” rows (m28 on); the
    keys line at the bottom."""
    from tests.tui.test_context_budgets import long_conversation

    conversation, _ = long_conversation(context)
    app = make_tui(options={"resume": conversation.id})

    async def run_before(pilot: Any) -> None:
        await wait_until(pilot, lambda: pilot.app.services.ready)
        await settle(pilot)
        pilot.app.screen.prompt.load_text("what is my cat called?")
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: getattr(pilot.app.screen, "preview", None) is not None)
        await settle(pilot)
        for widget in pilot.app.query("TextArea, Input"):
            widget.cursor_blink = False

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
