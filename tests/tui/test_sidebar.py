"""The conversation list: pinned first, rename, pin, archive, delete and restore, tags."""

from __future__ import annotations

from datetime import timedelta

from tests.tui.conftest import FIXED_NOW
from tests.tui.helpers import settle, started, wait_until
from tui_chat.screens.dialogs import ConfirmScreen, TextInputScreen


def seed(context, titles):
    storage, uid = context.storage, context.user.id
    ids = []
    for index, title in enumerate(titles):
        record = storage.conversations.create(uid, title=title, provider="fake", model="gpt-4o",
                                              created_at=FIXED_NOW - timedelta(hours=len(titles) - index))
        storage.messages.add(uid, record.id, role="user", content=f"question about {title}",
                             created_at=FIXED_NOW - timedelta(hours=len(titles) - index))
        ids.append(record.id)
    return ids


def listed(app):
    option_list = app.screen.sidebar.option_list
    ids = [option_list.get_option_at_index(i).id for i in range(option_list.option_count)]
    return [ident for ident in ids if ident is not None]


async def focus_list(pilot, app, conversation_id):
    sidebar = app.screen.sidebar
    sidebar.option_list.focus()
    sidebar.option_list.highlighted = sidebar.option_list.get_option_index(f"c:{conversation_id}")
    await pilot.pause()


async def test_list_is_pinned_first_then_by_recency(make_tui, context):
    first, second, third = seed(context, ["Alpha", "Beta", "Gamma"])
    context.storage.conversations.pin(context.user.id, first)
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert listed(app) == [f"c:{first}", f"c:{third}", f"c:{second}"]


async def test_rename_pin_archive_delete_and_restore(make_tui, context):
    alpha, beta = seed(context, ["Alpha", "Beta"])
    storage, uid = context.storage, context.user.id
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)

        await focus_list(pilot, app, alpha)
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, TextInputScreen))
        app.screen.query_one("Input").value = "Renamed alpha"
        await pilot.press("enter")
        await settle(pilot)
        assert storage.conversations.get(uid, alpha).title == "Renamed alpha"

        await focus_list(pilot, app, alpha)
        await pilot.press("p")
        await settle(pilot)
        assert storage.conversations.get(uid, alpha).is_pinned
        assert listed(app)[0] == f"c:{alpha}"

        await focus_list(pilot, app, beta)
        await pilot.press("a")
        await settle(pilot)
        assert storage.conversations.get(uid, beta).status == "archived"
        assert f"c:{beta}" not in listed(app)
        await pilot.press("v")  # archived view
        await settle(pilot)
        assert listed(app) == [f"c:{beta}"]
        await focus_list(pilot, app, beta)
        await pilot.press("a")  # unarchive
        await settle(pilot)
        assert storage.conversations.get(uid, beta).status == "active"
        await pilot.press("v", "v")  # trash, then back to active
        await settle(pilot)
        assert app.screen.sidebar.view == "active"

        await focus_list(pilot, app, alpha)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # changed my mind
        await settle(pilot)
        assert storage.conversations.get(uid, alpha).status == "active"
        await focus_list(pilot, app, alpha)
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot)
        assert storage.conversations.get(uid, alpha).status == "deleted"
        assert f"c:{alpha}" not in listed(app)

        await pilot.press("v", "v")  # archived, then trash
        await settle(pilot)
        assert app.screen.sidebar.view == "deleted"
        assert listed(app) == [f"c:{alpha}"]
        await focus_list(pilot, app, alpha)
        await pilot.press("u")
        await settle(pilot)
        assert storage.conversations.get(uid, alpha).status == "active"
        assert listed(app) == []


async def test_tags_are_edited_from_the_list(make_tui, context):
    (alpha,) = seed(context, ["Alpha"])
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await focus_list(pilot, app, alpha)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, TextInputScreen))
        app.screen.query_one("Input").value = "work #ideas"
        await pilot.press("enter")
        await settle(pilot)
    assert context.storage.conversations.get(context.user.id, alpha).tags == ("ideas", "work")


async def test_selecting_a_conversation_opens_it(make_tui, context):
    alpha, beta = seed(context, ["Alpha", "Beta"])
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await focus_list(pilot, app, alpha)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert screen.conversation.id == alpha
        assert [v.text for v in screen.chat.message_views] == ["question about Alpha"]
        assert screen.focused is screen.prompt


async def test_ctrl_b_hides_the_sidebar(make_tui, context):
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("ctrl+b")
        assert not app.screen.sidebar.display
        await pilot.press("ctrl+b")
        assert app.screen.sidebar.display
