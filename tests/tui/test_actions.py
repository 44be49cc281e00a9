"""What the user does to messages: edit (a branch), regenerate (a sibling), switch
branches, rate, copy, delete; and jumping to a search hit."""

from __future__ import annotations

from tests.fakes.provider_server import Scenario
from tests.tui.helpers import send, settle, started, wait_until
from tui_chat.screens.dialogs import ConfirmScreen, FeedbackScreen, TextEditScreen


async def one_turn(pilot, provider, prompt="What is 2+2?", answer="4."):
    provider.queue(Scenario(text=answer))
    await send(pilot, prompt)
    return pilot.app.screen


def header(view) -> str:
    return view.query_one(".header").render().plain


async def test_edit_makes_a_branch_and_the_switcher_moves_between_them(make_tui, provider, context):
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = await one_turn(pilot, provider)
        user_view = screen.chat.message_views[0]
        original_id = user_view.data.id
        user_view.focus()
        provider.queue(Scenario(text="5, in a different world."))
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, TextEditScreen))
        app.screen.query_one("TextArea").load_text("What is 2+3?")
        await pilot.press("ctrl+s")
        await settle(pilot)
        views = screen.chat.message_views
        assert [v.text for v in views] == ["What is 2+3?", "5, in a different world."]
        assert views[0].data.siblings == (2, 2)
        assert "‹ 2/2 ›" in header(views[0])
        edited_id = views[0].data.id
        storage, uid = context.storage, context.user.id
        assert storage.messages.siblings(uid, edited_id).ids == (original_id, edited_id)
        # the answer hangs under the edit, and no placeholder is left behind
        branch = storage.messages.branch(uid, screen.conversation.id)
        assert [(m.role, m.content) for m in branch.items] == [("user", "What is 2+3?"),
                                                               ("assistant", "5, in a different world.")]
        assert storage.conversations.get(uid, screen.conversation.id).message_count == 4

        views[0].focus()
        await pilot.press("left_square_bracket")
        await settle(pilot)
        views = screen.chat.message_views
        assert [v.text for v in views] == ["What is 2+2?", "4."]
        assert "‹ 1/2 ›" in header(views[0])
        views[0].focus()
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert [v.text for v in screen.chat.message_views] == ["What is 2+3?", "5, in a different world."]


async def test_regenerate_adds_a_sibling_answer(make_tui, provider, context):
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = await one_turn(pilot, provider)
        first_answer = screen.chat.message_views[1].data.id
        provider.queue(Scenario(text="Four."))
        screen.chat.message_views[1].focus()
        await pilot.press("r")
        await settle(pilot)
        views = screen.chat.message_views
        assert [v.text for v in views] == ["What is 2+2?", "Four."]
        assert views[1].data.siblings == (2, 2)
        siblings = context.storage.messages.siblings(context.user.id, views[1].data.id)
        assert siblings.ids[0] == first_answer
        # the regenerated request carried the same question, once
        body = provider.chat_requests()[-1].body
        assert [m["content"] for m in body["messages"] if m["role"] == "user"] == ["What is 2+2?"]


async def test_thumbs_and_comment_are_saved(make_tui, provider, context):
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = await one_turn(pilot, provider)
        answer = screen.chat.message_views[1]
        answer.focus()
        await pilot.press("plus")
        await settle(pilot)
        feedback = context.storage.messages.feedback(context.user.id, answer.data.id)
        assert feedback.rating == 1 and feedback.comment is None
        assert "👍" in header(answer)
        await pilot.press("f")
        await wait_until(pilot, lambda: isinstance(app.screen, FeedbackScreen))
        app.screen.query_one("#comment").value = "too short"
        await pilot.click("#down")
        await settle(pilot)
        feedback = context.storage.messages.feedback(context.user.id, answer.data.id)
        assert (feedback.rating, feedback.comment) == (-1, "too short")
        assert "👎" in header(answer)


async def test_copy_and_copy_code(make_tui, provider):
    app = make_tui()
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = await one_turn(pilot, provider, "code?", "Here:\n\n```python\nx = 1\n```\n\nand\n\n```sh\nls\n```\n")
        screen.chat.message_views[1].focus()
        await pilot.press("c")
        await pilot.press("y")
        await pilot.press("y")
        await pilot.press("y")
        assert copied == [screen.chat.message_views[1].text, "x = 1\n", "ls\n", "x = 1\n"]


async def test_delete_a_message_after_confirmation(make_tui, provider, context):
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        screen = await one_turn(pilot, provider)
        answer = screen.chat.message_views[1]
        answer.focus()
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await settle(pilot)
        assert [v.text for v in screen.chat.message_views] == ["What is 2+2?"]
        branch = context.storage.messages.branch(context.user.id, screen.conversation.id)
        assert [m.content for m in branch.items] == ["What is 2+2?"]


async def test_search_box_jumps_to_the_hit(make_tui, context):
    storage, uid = context.storage, context.user.id
    target = storage.conversations.create(uid, title="Gardening", provider="fake", model="gpt-4o")
    storage.messages.add(uid, target.id, role="user", content="How do tomatoes grow?")
    hit = storage.messages.add(uid, target.id, role="assistant", content="Tomatoes love sun and zucchini neighbours.")
    for index in range(60):  # push the hit off the first page of the branch
        storage.messages.add(uid, target.id, role="user" if index % 2 else "assistant", content=f"filler {index}")
    other = storage.conversations.create(uid, title="Cooking", provider="fake", model="gpt-4o")
    storage.messages.add(uid, other.id, role="user", content="Pasta please")
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("ctrl+f")
        screen = app.screen
        assert screen.focused.id == "sidebar-search"
        await pilot.press(*"zucchini")
        await wait_until(pilot, lambda: screen.sidebar.searching and screen.sidebar.option_list.option_count > 0)
        await settle(pilot)
        await pilot.press("enter")  # from the search box to the results
        await pilot.press("enter")  # open the hit
        await settle(pilot)
        assert screen.conversation.id == target.id
        view = screen.chat.find(hit.id)
        assert view is not None and view.has_class("-hit")
        assert screen.focused is view
        await pilot.pause(0.1)
        assert view.region.y >= 0 and view.region.y < 40  # scrolled into view


async def test_older_pages_load_when_scrolled_to_the_top(make_tui, context):
    storage, uid = context.storage, context.user.id
    record = storage.conversations.create(uid, title="Long", provider="fake", model="gpt-4o")
    for index in range(120):
        storage.messages.add(uid, record.id, role="user" if index % 2 == 0 else "assistant", content=f"m{index}")
    app = make_tui(options={"resume": record.id})
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        chat = app.screen.chat
        first = len(chat.message_views)  # what fills the view, not a whole page
        assert 16 <= first <= 20
        assert chat.message_views[0].text == f"m{120 - first}"
        chat.scroll_home(animate=False, immediate=True)
        await settle(pilot)
        assert len(chat.message_views) == first + 50
        assert chat.message_views[0].text == f"m{70 - first}"
        assert chat.scroll_y > 0  # what was on screen stayed on screen
