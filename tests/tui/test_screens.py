"""Welcome, help, settings, the command palette and notifications."""

from __future__ import annotations

from tests.fakes.provider_server import Scenario
from tests.tui.helpers import send, settle, started, wait_until
from tui_chat.factory import AppServices, default_setup_check
from tui_chat.screens.help import HelpScreen
from tui_chat.screens.settings import SettingsScreen
from tui_chat.screens.welcome import WelcomeScreen


async def test_welcome_screen_when_nothing_is_set_up(make_tui):
    app = make_tui(ready=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        text = app.screen.query_one("#welcome-steps").render().plain
        assert "tui-chat keys set openai" in text
        assert "tui-chat providers add NAME --kind openai-compatible --base-url URL" in text
        assert "ollama" in text.lower()
        await pilot.press("enter")
        assert not isinstance(app.screen, WelcomeScreen)
        assert app.screen.focused is app.screen.prompt


async def test_no_welcome_once_something_is_set_up(make_tui, provider):
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert not isinstance(app.screen, WelcomeScreen)


def test_default_setup_check(context, monkeypatch):
    services = AppServices(context=context)
    monkeypatch.setattr("tui_chat.factory._port_open", lambda host, port, timeout=0.2: False)
    assert not default_setup_check(services, environ={}).ready
    assert default_setup_check(services, environ={"OPENAI_API_KEY": "sk-x"}).ready
    context.storage.providers.add(context.user.id, "local", kind="openai-compatible",
                                  base_url="http://127.0.0.1:9/v1", default_model="m")
    assert default_setup_check(services, environ={}).ready


async def test_help_lists_every_binding(make_tui):
    from tui_chat.app import ChatApp
    from tui_chat.screens.chat import ChatScreen
    from tui_chat.widgets.message import MessageView
    from tui_chat.widgets.prompt import PromptInput
    from tui_chat.widgets.sidebar import ConversationList

    app = make_tui()
    async with app.run_test(size=(120, 50)) as pilot:
        await started(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(static.render().plain for static in app.screen.query(".help-table"))
        for cls in (ChatApp, ChatScreen, PromptInput, ConversationList, MessageView):
            for binding in cls.BINDINGS:
                assert binding.description in text, binding
        assert "ctrl+j" in text and "enter" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_palette_offers_every_action(make_tui, provider):
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for expected in ("New conversation", "Search conversations", "Settings", "Toggle sidebar",
                         "Show archived conversations", "Show the trash", "Stop generating",
                         "Regenerate last answer", "Copy last answer", "Edit last message",
                         "Rate last answer: good", "Rate last answer: bad", "Comment on last answer",
                         "Copy code from last answer", "Delete last answer", "Help: keys"):
            assert expected in titles
        await send(pilot, "hello")
        titles = {command.title for command in app.get_system_commands(app.screen)}
        assert {"Rename conversation", "Delete conversation", "Edit conversation tags"} <= titles


async def test_palette_search_jumps_to_a_conversation(make_tui, context):
    from tui_chat.screens.palette import ConversationSearchCommands

    storage, uid = context.storage, context.user.id
    record = storage.conversations.create(uid, title="Astronomy", provider="fake", model="gpt-4o")
    storage.messages.add(uid, record.id, role="user", content="Tell me about nebulae")
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        provider = ConversationSearchCommands(app.screen)
        hits = [hit async for hit in provider.search("nebulae")]
        assert hits
        hits[0].command()
        await settle(pilot)
        assert app.screen.conversation.id == record.id


async def test_settings_change_the_conversation_and_preferences(make_tui, provider, context):
    app = make_tui()
    async with app.run_test(size=(120, 45)) as pilot:
        await started(pilot)
        provider.queue(Scenario(text="ok"))
        await send(pilot, "hi")
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        settings = app.screen
        await wait_until(pilot, lambda: settings.query_one("#model").prompt == "Choose a model")
        settings.query_one("#model-name").value = "fake-model-large"
        settings.query_one("#system").load_text("Answer in French.")
        settings.query_one("#temperature").value = "0.3"
        settings.query_one("#max-tokens").value = "500"
        settings.query_one("#theme").value = "nord"
        await pilot.press("ctrl+s")
        await settle(pilot)
        conversation = context.storage.conversations.get(context.user.id, app.screen.conversation.id)
        assert conversation.model == "fake-model-large"
        assert conversation.system_prompt == "Answer in French."
        assert conversation.settings == {"temperature": 0.3, "max_tokens": 500}
        assert app.theme == "nord"
        assert context.storage.users.get(context.user.id).preferences["theme"] == "nord"
        assert app.screen.status.state.model == "fake-model-large"
        provider.queue(Scenario(text="d'accord"))
        await send(pilot, "encore")
        body = provider.chat_requests()[-1].body
        assert body["model"] == "fake-model-large"
        assert body["temperature"] == 0.3
        assert body["messages"][0] == {"role": "system", "content": "Answer in French."}


async def test_settings_rejects_a_bad_temperature(make_tui, provider):
    app = make_tui()
    async with app.run_test(size=(120, 45)) as pilot:
        await started(pilot)
        await pilot.press("f2")
        await wait_until(pilot, lambda: isinstance(app.screen, SettingsScreen))
        app.screen.query_one("#temperature").value = "7"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert "between 0 and 2" in app.screen.query_one("#settings-error").render().plain


async def test_long_answer_notifies_when_the_user_looked_away(make_tui, provider):
    app = make_tui(notify_after=0.0)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await started(pilot)
        provider.queue(Scenario(text="done"))
        app.app_focus = False
        await send(pilot, "take your time")
        assert any("is ready" in n.message for n in app._notifications)


async def test_theme_preference_is_applied_at_start(make_tui, context):
    context.storage.users.update_preferences(context.user.id, theme="gruvbox")
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        assert app.theme == "gruvbox"


async def test_keymap_preference_rebinds_keys(make_tui, context):
    context.storage.users.update_preferences(context.user.id, keymap={"chat.sidebar": "ctrl+g"})
    app = make_tui()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(pilot)
        await pilot.press("ctrl+g")
        assert not app.screen.sidebar.display
