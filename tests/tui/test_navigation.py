"""Moving through a long conversation from the keyboard: k/up walks to older messages
and, past the oldest one loaded, loads the page before it; every key moves one message,
however fast the keys come."""

from __future__ import annotations

from textual import events

from tests.tui.helpers import settle, started, wait_until

LONG = "\n\n" + "\n\n".join(f"paragraph {n} of a long message" for n in range(12))


def on_screen(app) -> bool:
    """The focused message's first line is inside the chat view."""
    view, chat = app.focused, app.screen.chat
    return chat.region.contains(view.region.x, view.region.y)


def focused_label(app) -> str:
    return app.focused.text.split(" ", 1)[0] if app.focused is not None and hasattr(app.focused, "text") else ""


def burst(app, key: str, count: int) -> None:
    """``count`` presses queued at once, as a terminal delivers a held key or a pasted
    run of keys: all of them wait in the app's queue before it handles the first."""
    for _ in range(count):
        app.post_message(events.Key(key, key))


def fill(context, count: int, text: str = "words") -> str:
    storage, uid = context.storage, context.user.id
    conversation = storage.conversations.create(uid, title="long").id
    for i in range(count):
        storage.messages.add(uid, conversation, role="user" if i % 2 == 0 else "assistant", content=f"[m{i}] {text}")
    return conversation


async def test_keys_pressed_without_pauses_each_move_one_message(make_tui, context):
    conversation = fill(context, 40, "words" + LONG)
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        app.screen.open_conversation(conversation)
        await settle(pilot)
        await pilot.press("ctrl+up", *["k"] * 12)
        await settle(pilot)
        assert focused_label(app) == "[m27]" and on_screen(app)
        burst(app, "k", 9)
        burst(app, "j", 3)
        await settle(pilot)
        assert focused_label(app) == "[m21]" and on_screen(app)


async def test_a_burst_of_keys_crosses_page_boundaries(make_tui, context):
    conversation = fill(context, 130)
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = app.screen
        screen.open_conversation(conversation)
        await settle(pilot)
        loaded = len(screen.chat.message_views)
        assert loaded < 130
        await pilot.press("ctrl+up", *["k"] * (loaded + 5))
        await settle(pilot)
        assert focused_label(app) == f"[m{129 - loaded - 5}]" and on_screen(app)
        # Held down past two more page boundaries, then one step forward, all queued at once.
        burst(app, "k", 60)
        burst(app, "j", 1)
        await wait_until(pilot, lambda: focused_label(app) == f"[m{129 - loaded - 64}]")
        await settle(pilot)
        assert focused_label(app) == f"[m{129 - loaded - 64}]" and on_screen(app)
        # At the oldest message more k presses stay there.
        burst(app, "k", 129 - loaded - 64 + 10)
        await wait_until(pilot, lambda: focused_label(app) == "[m0]")
        await settle(pilot)
        labels = [view.text.split(" ", 1)[0] for view in screen.chat.message_views]
        assert not screen.chat.has_more and labels == [f"[m{n}]" for n in range(len(labels))]
        assert len(labels) <= screen.chat.max_mounted + 50  # the newest may have given way
        await pilot.press("j")
        assert focused_label(app) == "[m1]" and on_screen(app)


async def test_k_walks_back_through_pages_of_history(make_tui, context):
    conversation = fill(context, 130, "words" + LONG)
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


async def test_a_long_walk_keeps_a_bounded_window_of_messages_mounted(make_tui, context, monkeypatch):
    """Walking back far unmounts the newest messages (below the screen) and walking down
    again brings them back, one message per key both ways; Ctrl+Up (the last message)
    from far back goes to the newest message of the conversation."""
    from tui_chat.widgets.chat_view import ChatView

    monkeypatch.setattr(ChatView, "max_mounted", 60)
    monkeypatch.setattr(ChatView, "newer_page", 20)
    conversation = fill(context, 300)
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        chat = app.screen.chat
        app.screen.open_conversation(conversation)
        await settle(pilot)
        await pilot.press("ctrl+up")
        most = 0
        for target in (250, 200, 150, 100):  # back, a burst at a time
            burst(app, "k", 50)
            await wait_until(pilot, lambda: focused_label(app) == f"[m{target - 1}]")
            await settle(pilot)
            assert on_screen(app)
            most = max(most, len(chat.message_views))
        assert most <= 60 + 50  # the cap, plus the page just loaded
        assert not chat.at_end and chat.query(".newer-marker")
        for target in (150, 200, 250, 299):  # and forward again
            burst(app, "j", target - int(focused_label(app)[2:-1]))
            await wait_until(pilot, lambda: focused_label(app) == f"[m{target}]")
            await settle(pilot)
            assert on_screen(app)
            most = max(most, len(chat.message_views))
        assert most <= 60 + 50 and chat.at_end and not chat.query(".newer-marker")
        labels = [view.text.split(" ", 1)[0] for view in chat.message_views]
        assert labels == [f"[m{n}]" for n in range(300 - len(labels), 300)]  # in order, none missing
        # From far back, Ctrl+Up brings the end back and focuses the newest message.
        burst(app, "k", 120)
        await wait_until(pilot, lambda: focused_label(app) == "[m179]")
        await settle(pilot)
        assert not chat.at_end
        waiting = len(chat._newer)
        chat.scroll_end(animate=False, immediate=True)  # the mouse wheel at the bottom: the next ones come
        await wait_until(pilot, lambda: len(chat._newer) < waiting)
        await settle(pilot)
        await pilot.press("ctrl+up")
        await wait_until(pilot, lambda: focused_label(app) == "[m299]")
        await settle(pilot)
        assert chat.at_end and on_screen(app)
