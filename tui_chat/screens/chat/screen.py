"""The main screen: sidebar, conversation, prompt and status line.

Keys and widget messages arrive here and are handed to three small controllers:
conversations (the sidebar), messages (one conversation and actions on its messages)
and turns (asking the engine and rendering its events).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from ...widgets.chat_view import ChatView
from ...widgets.footer import KeyFooter
from ...widgets.message import ErrorNotice, MessageData, MessageView
from ...widgets.prompt import PromptInput
from ...widgets.sidebar import ConversationSidebar
from ...widgets.status import StatusLine
from ..compositor import crop_repaints_to_rows
from .context_budget import ContextBudgetController
from .conversations import ConversationController
from .messages import LoadedPage, MessageController
from .turns import TurnController, TurnPlan

if TYPE_CHECKING:
    from ...app import ChatApp


class ChatScreen(Screen[None]):
    CSS_PATH = "chat.tcss"
    AUTO_FOCUS = "#prompt"

    BINDINGS = [
        Binding("escape", "escape", "Stop / back", id="chat.escape"),
        Binding("ctrl+n", "new_conversation", "New chat", id="chat.new"),
        Binding("ctrl+b", "toggle_sidebar", "Sidebar", id="chat.sidebar"),
        Binding("ctrl+f", "search", "Search", id="chat.search"),
        Binding("f2", "settings", "Settings", id="chat.settings"),
        Binding("ctrl+o", "context_view", "Context", show=False, id="chat.context"),
        Binding("ctrl+up", "focus_messages", "Messages", id="chat.messages"),
        Binding("ctrl+r", "regenerate_last", "Regenerate", show=False, id="chat.regenerate"),
        Binding("ctrl+y", "copy_last", "Copy answer", show=False, id="chat.copy"),
        Binding("f3", "toggle_archived", "Archived", show=False, id="chat.archived"),
        Binding("f4", "audit", "Tool audit", show=False, id="chat.audit"),
        Binding("f5", "stats", "Usage stats", show=False, id="chat.stats"),
    ]

    def __init__(self) -> None:
        super().__init__()
        crop_repaints_to_rows(self)
        self.conversation: Any = None
        #: Provider, model, system prompt and settings for the next new conversation.
        self.draft: dict[str, Any] = {}
        self.conversations = ConversationController(self)
        self.messages = MessageController(self)
        self.turns = TurnController(self)
        self.context_budget = ContextBudgetController(self)

    @property
    def chat_app(self) -> "ChatApp":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        # A grid, not nested containers: every container under the conversation is one
        # more layer to paint on each line when a streaming answer scrolls it.
        yield ConversationSidebar(id="sidebar", clock=self.chat_app.clock)
        yield ChatView(id="chat")
        yield PromptInput(id="prompt")
        yield StatusLine(id="status")

    def on_mount(self) -> None:
        # The footer is two dozen small widgets: add it after the first paint.
        self.call_after_refresh(self._add_footer)

    async def _add_footer(self) -> None:
        await self.mount(KeyFooter())
        self.refresh_bindings()

    @property
    def chat(self) -> ChatView:
        return self.query_one("#chat", ChatView)

    @property
    def sidebar(self) -> ConversationSidebar:
        return self.query_one("#sidebar", ConversationSidebar)

    @property
    def status(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    # --- start-up ----------------------------------------------------------------------

    def on_chat_app_context_ready(self, event: Any) -> None:
        options = self.chat_app.services.options
        for key, option in (("provider", "provider"), ("model", "model"), ("system", "system")):
            if options.get(option):
                self.draft[key] = options[option]
        self.conversations.reload()
        if options.get("resume"):
            self.messages.open(str(options["resume"]))
        elif options.get("continue_"):
            self.chat_app.spawn(self._continue_latest(), name="continue the latest conversation", group="open")
        else:
            self.chat_app.spawn(self._show_defaults(), name="read the default model", group="status")

    async def _continue_latest(self) -> None:
        services = self.chat_app.services
        latest = await self.chat_app.io(services.storage.conversations.latest, services.user_id)
        if latest is not None:
            self.messages.open(latest.id)

    async def _show_defaults(self) -> None:
        directory = await self.chat_app.io(self.chat_app.services.directory)

        def defaults() -> tuple[str, str]:
            name = self.draft.get("provider") or directory.default_name()
            try:
                model = self.draft.get("model") or directory.default_model(name)
            except Exception:  # noqa: BLE001 - no default model: the status says so
                model = ""
            return name, model

        provider, model = await self.chat_app.io(defaults)
        if self.conversation is None:
            self.status.update_state(provider=provider, model=model)
            self.context_budget.refresh_spend()

    def _idle_activity(self) -> str:
        return "loading" if self.status.state.activity == "loading" else "idle"

    def on_chat_app_warmed(self) -> None:
        if self.status.state.activity == "loading":
            self.status.update_state(activity="idle")

    # --- conversations -----------------------------------------------------------------

    def show_conversation(self, page: LoadedPage) -> None:
        record = page.conversation
        self.conversation = record
        self.chat.show_messages(page.items, has_more=page.has_more)
        self.prompt.set_history([item.content for item in page.items if item.role == "user"])
        self.sidebar.mark_current(record.id)
        self.status.update_state(provider=record.provider or "", model=record.model or "", cost=record.total_cost,
                                 context_tokens=page.context_tokens, context_window=page.context_window,
                                 activity=self._idle_activity(), detail="")
        self.sub_title = record.title or "New conversation"
        self.context_budget.refresh_spend()

    def conversation_created(self, conversation_id: str) -> None:
        self.chat_app.spawn(self._adopt(conversation_id), name="open the new conversation", group="adopt")

    async def _adopt(self, conversation_id: str) -> None:
        services = self.chat_app.services
        record = await self.chat_app.io(services.storage.conversations.get, services.user_id, conversation_id)
        self.conversation = record
        self.draft = {}
        self.sidebar.mark_current(record.id)
        self.conversations.reload()

    def conversation_changed(self, record: Any) -> None:
        if self.conversation is not None and record.id == self.conversation.id:
            self.conversation = record
            self.sub_title = record.title or "New conversation"

    def conversation_removed(self, conversation_id: str) -> None:
        if self.conversation is not None and self.conversation.id == conversation_id:
            self.action_new_conversation()

    def turn_finished(self, conversation_id: str, seconds: float) -> None:
        self.chat_app.spawn(self._after_turn(conversation_id, seconds), name="refresh the conversation",
                            group="after-turn")

    async def _after_turn(self, conversation_id: str, seconds: float) -> None:
        app, services = self.chat_app, self.chat_app.services
        record = await app.io(services.storage.conversations.get, services.user_id, conversation_id)
        if self.conversation is None or self.conversation.id == record.id:
            self.conversation = record
            self.status.update_state(cost=record.total_cost)
        self.context_budget.refresh_spend()
        self.messages.refresh_details(conversation_id)
        self.conversations.reload()
        app.answer_finished(seconds, record.title or "New conversation")
        if services.generate_titles and not record.title_is_custom and not record.title:
            engine = await app.io(services.engine, app.approve_tool)
            title = await engine.generate_title(conversation_id)
            if title:
                self.conversations.reload()
                if self.conversation is not None and self.conversation.id == conversation_id:
                    self.sub_title = title

    # --- widget messages ---------------------------------------------------------------

    @on(PromptInput.PromptSubmitted)
    def _prompt_submitted(self, event: PromptInput.PromptSubmitted) -> None:
        if self.turns.running:
            self.notify("An answer is still being written: wait, or press Escape to stop it.", severity="warning")
            event.prompt.load_text(event.text)
            return
        if self.context_budget.handle_command(event.text):
            return
        self.send(event.text)

    def send(self, text: str) -> None:
        conversation_id = self.conversation.id if self.conversation is not None else None
        user_view = self.chat.add_message(MessageData(None, "user", text, created_at=self.chat_app.clock()))
        overrides = {} if conversation_id else dict(self.draft)
        self.turns.start(TurnPlan(text, conversation_id, overrides=overrides, user_view=user_view))

    @on(ErrorNotice.RetryRequested)
    def _retry(self, event: ErrorNotice.RetryRequested) -> None:
        notice = event.notice
        prompt = notice.prompt
        previous = [w for w in self.chat.children if w is not notice]
        notice.remove()
        last = previous[-1] if previous else None
        if isinstance(last, MessageView) and last.data.role == "user" and last.data.id is None:
            last.remove()
        if prompt:
            self.send(prompt)

    @on(MessageView.ActionRequested)
    def _message_action(self, event: MessageView.ActionRequested) -> None:
        self.messages.act(event.view, event.action)

    @on(ChatView.OlderRequested)
    def _older(self, event: ChatView.OlderRequested) -> None:
        self.messages.older(event.before_id)

    @on(ConversationSidebar.ConversationSelected)
    def _selected(self, event: ConversationSidebar.ConversationSelected) -> None:
        self.open_conversation(event.conversation_id, event.message_id)

    @on(ConversationSidebar.ActionRequested)
    def _sidebar_action(self, event: ConversationSidebar.ActionRequested) -> None:
        self.conversations.act(event.action, event.conversation_id)

    @on(ConversationSidebar.ViewChanged)
    def _view_changed(self, event: ConversationSidebar.ViewChanged) -> None:
        self.conversations.reload()

    @on(ConversationSidebar.SearchChanged)
    def _search_changed(self, event: ConversationSidebar.SearchChanged) -> None:
        self.conversations.search(event.query)

    @on(ConversationSidebar.MoreRequested)
    def _more(self) -> None:
        self.conversations.more()

    def open_conversation(self, conversation_id: str, message_id: str | None = None) -> None:
        if self.turns.running:
            self.notify("Wait for the answer to finish (or press Escape) before switching.", severity="warning")
            return
        self.messages.open(conversation_id, message_id)
        if message_id is None:
            self.prompt.focus()

    # --- actions -----------------------------------------------------------------------

    def action_escape(self) -> None:
        if self.turns.cancel():
            self.notify("Stopped. What arrived is kept.")
        elif self.focused is not self.prompt:
            self.prompt.focus()

    def action_new_conversation(self) -> None:
        if self.turns.running:
            self.notify("Wait for the answer to finish (or press Escape) first.", severity="warning")
            return
        self.conversation = None
        self.chat.show_empty()
        self.sidebar.mark_current(None)
        self.prompt.set_history([])
        self.status.update_state(context_tokens=None, context_window=None, activity=self._idle_activity(),
                                 detail="")
        self.sub_title = ""
        self.prompt.focus()

    def action_toggle_sidebar(self) -> None:
        self.show_sidebar(not self.sidebar.display)

    def show_sidebar(self, show: bool = True) -> None:
        self.sidebar.display = show
        self.set_class(not show, "-no-sidebar")

    def action_search(self) -> None:
        self.show_sidebar()
        self.sidebar.focus_search()

    def action_toggle_archived(self) -> None:
        self.show_sidebar()
        self.sidebar.set_view("active" if self.sidebar.view == "archived" else "archived")

    def _at_end(self, then: Any) -> bool:
        """True when the newest messages are mounted; else mounts them and calls ``then``
        once they are."""
        if self.chat.at_end:
            return True
        self.chat.show_end()
        self.call_after_refresh(then)
        return False

    def action_focus_messages(self) -> None:
        if not self._at_end(self.action_focus_messages):
            return
        views = self.chat.message_views
        if views:
            views[-1].focus()
            views[-1].scroll_visible(animate=False)

    def action_focus_prompt(self) -> None:
        self.prompt.focus()

    def _last(self, role: str) -> MessageView | None:
        return next((v for v in reversed(self.chat.message_views) if v.data.role == role), None)

    def action_regenerate_last(self) -> None:
        if not self._at_end(self.action_regenerate_last):
            return
        view = self._last("assistant")
        if view is not None:
            self.messages.act(view, "regenerate")

    def action_copy_last(self) -> None:
        if not self._at_end(self.action_copy_last):
            return
        view = self._last("assistant")
        if view is not None:
            self.messages.act(view, "copy")

    def action_settings(self) -> None:
        from ..settings import SettingsScreen

        self.chat_app.push_screen(SettingsScreen(self.conversation, dict(self.draft)), self._settings_saved)

    def action_audit(self) -> None:
        from ..audit import AuditScreen

        if not isinstance(self.chat_app.screen, AuditScreen):
            self.chat_app.push_screen(AuditScreen())

    def action_stats(self) -> None:
        from ..stats import StatsScreen

        if not isinstance(self.chat_app.screen, StatsScreen):
            self.chat_app.push_screen(StatsScreen())

    def action_context_view(self) -> None:
        self.context_budget.open_view()

    def _settings_saved(self, result: Any) -> None:
        if result is None:
            self.context_budget.refresh_spend()  # budgets are saved in the settings at once
            return
        self.chat_app.spawn(self._apply_settings(result), name="save the settings", group="settings")

    async def _apply_settings(self, result: Any) -> None:
        app, services = self.chat_app, self.chat_app.services
        storage, uid = services.storage, services.user_id
        if result.preferences:
            app.preferences.update(result.preferences)
            await app.io(storage.users.update_preferences, uid, **result.preferences)
        if self.conversation is not None:
            record = await app.io(storage.conversations.update, uid, self.conversation.id, **result.conversation)
            self.conversation = record
            self.status.update_state(provider=record.provider or "", model=record.model or "")
        else:
            self.draft.update({k: v for k, v in result.conversation.items() if k != "system_prompt"})
            if "system_prompt" in result.conversation:
                self.draft["system"] = result.conversation["system_prompt"]
            await self._show_defaults()
        self.context_budget.refresh_spend()
        app.notify("Settings saved.")

    # --- the command palette -----------------------------------------------------------

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("New conversation", "Start a new chat (Ctrl+N)", self.action_new_conversation)
        yield SystemCommand("Search conversations", "Full-text search in the sidebar (Ctrl+F)", self.action_search)
        yield SystemCommand("Settings", "Model, system prompt, parameters, theme (F2)", self.action_settings)
        yield SystemCommand("Tool audit", "Every tool call and its decision; make a rule from one (F4)",
                            self.action_audit)
        yield SystemCommand("Usage stats", "Tokens, cost, response times, errors and ratings (F5)",
                            self.action_stats)
        yield SystemCommand("Context view", "What the next turn sends, summarises or drops; memory on/off (Ctrl+O)",
                            self.action_context_view)
        yield SystemCommand("Compact conversation", "Summarise older turns now, like /compact",
                            self.context_budget.compact)
        yield SystemCommand("Toggle sidebar", "Show or hide the conversation list (Ctrl+B)",
                            self.action_toggle_sidebar)
        yield SystemCommand("Show archived conversations", "Switch the sidebar to archived chats (F3)",
                            self.action_toggle_archived)
        yield SystemCommand("Show the trash", "Deleted conversations, to restore (u) or purge (d)",
                            lambda: (self.show_sidebar(), self.sidebar.set_view("deleted")))
        yield SystemCommand("Stop generating", "Cancel the answer being written (Escape)", self.action_escape)
        yield SystemCommand("Regenerate last answer", "Ask again, as a new branch (Ctrl+R)",
                            self.action_regenerate_last)
        yield SystemCommand("Copy last answer", "Copy the last answer to the clipboard (Ctrl+Y)",
                            self.action_copy_last)
        yield SystemCommand("Focus messages", "Move to the messages to act on them (Ctrl+Up)",
                            self.action_focus_messages)
        for action, title in (("edit", "Edit last message"), ("thumbs_up", "Rate last answer: good"),
                              ("thumbs_down", "Rate last answer: bad"), ("feedback", "Comment on last answer"),
                              ("copy_code", "Copy code from last answer"), ("delete", "Delete last answer"),
                              ("branch_prev", "Previous branch of last answer"),
                              ("branch_next", "Next branch of last answer")):
            role = "user" if action == "edit" else "assistant"
            yield SystemCommand(title, f"Message action ({action.replace('_', ' ')})",
                                lambda a=action, r=role: self._act_on_last(r, a))
        if self.conversation is not None:
            ident = self.conversation.id
            for action, title in (("rename", "Rename conversation"), ("pin", "Pin or unpin conversation"),
                                  ("archive", "Archive or unarchive conversation"),
                                  ("delete", "Delete conversation"), ("tags", "Edit conversation tags")):
                yield SystemCommand(title, "This conversation", lambda a=action: self.conversations.act(a, ident))

    def _act_on_last(self, role: str, action: str) -> None:
        view = self._last(role)
        if view is None:
            self.notify("No such message here yet.")
        else:
            self.messages.act(view, action)
