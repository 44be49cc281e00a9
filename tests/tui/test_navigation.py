"""Moving through a long conversation from the keyboard: k/up walks to older messages
and, past the oldest one loaded, loads the page before it."""

from __future__ import annotations

from tests.tui.helpers import settle, started, wait_until

LONG = "\n\n" + "\n\n".join(f"paragraph {n} of a long message" for n in range(12))


def on_screen(app) -> bool:
    """The focused message's first line is inside the chat view."""
    view, chat = app.focused, app.screen.chat
    return chat.region.contains(view.region.x, view.region.y)


async def test_k_walks_back_through_pages_of_history(make_tui, context):
    storage, uid = context.storage, context.user.id
    conversation = storage.conversations.create(uid, title="long").id
    for i in range(130):
        storage.messages.add(uid, conversation, role="user" if i % 2 == 0 else "assistant", content=f"[m{i}] words" + LONG)
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = app.screen
        screen.open_conversation(conversation)
        await settle(pilot)
        views = screen.chat.message_views
        loaded = len(views)
        assert views[-1].text .startswith("[m129] words") and loaded < 130
        await pilot.press("ctrl+up")
        assert app.focused is views[-1]
        await pilot.press("k", "up")
        await settle(pilot, rounds=1)
        assert app.focused.text.startswith("[m127] words") and on_screen(app)
        # Past the oldest loaded message the previous page is loaded and the walk goes on.
        for _ in range(loaded):
            await pilot.press("k")
            await settle(pilot, rounds=1)
        await wait_until(pilot, lambda: app.focused is not None and app.focused.text.startswith(f"[m{127 - loaded}] words"))
        await settle(pilot)
        assert on_screen(app)
        assert len(screen.chat.message_views) > loaded
        await pilot.press("j")
        await settle(pilot, rounds=1)
        assert app.focused.text.startswith(f"[m{128 - loaded}] words") and on_screen(app)
