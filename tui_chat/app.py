"""The Textual application: screens, global keys, theme, workers. No business logic.

Startup paints first: the database is opened (and this run recorded as a session) by
a thread worker after the screen is up; provider SDKs and the Markdown renderer are
warmed up after that. Every worker runs on the app, so one handler
(``on_worker_state_changed``) turns any failure into a notification instead of a crash.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from .collect import FullCollections
from .widgets.md_style import MarkdownStyle

if TYPE_CHECKING:
    from .factory import AppServices

log = logging.getLogger(__name__)
T = TypeVar("T")


#: Seconds after an answer ends before the full garbage collection put off while it streamed.
COLLECT_AFTER = 1.0


def _search_commands() -> Any:
    from .screens.palette import ConversationSearchCommands

    return ConversationSearchCommands


def _chat_screen() -> Screen:
    from .screens.chat import ChatScreen

    return ChatScreen()


class ChatApp(App[int]):
    """tui-chat. Build it with :func:`tui_chat.factory.make_app`."""

    CSS_PATH = "app.tcss"
    TITLE = "tui-chat"
    COMMANDS = App.COMMANDS | {_search_commands}
    MODES = {"chat": _chat_screen}
    DEFAULT_MODE = "chat"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1", "help", "Help", id="app.help"),
    ]

    class ContextReady(Message):
        """The database is open and the user known; ``preferences`` are theirs."""

        def __init__(self, preferences: dict[str, Any]) -> None:
            super().__init__()
            self.preferences = preferences

    class Warmed(Message):
        """Start-up is over: what the first answer needs is loaded."""

    def __init__(self, services: "AppServices", *, notify_after: float = 15.0,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.services = services
        self.notify_after = notify_after
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.startup_error: BaseException | None = None
        self.markdown_style = MarkdownStyle()
        self.last_input = time.monotonic()
        self.preferences: dict[str, Any] = {}
        self._saving_theme = False
        self._preferences_loaded = False
        self.full_collections = FullCollections()

    # --- start-up ----------------------------------------------------------------------

    def on_mount(self) -> None:
        self._theme_changed(self.current_theme)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        # Paint first: the database opens once the first frame is on screen.
        self.call_after_refresh(self.run_worker, self._start, thread=True, name="start up", group="start-up",
                                exit_on_error=False)

    def _start(self) -> None:
        """Open the database, record the session, then tidy up and warm up (a thread)."""
        services = self.services
        try:
            services.open()
            preferences = services.storage.users.get(services.user_id).preferences
        except Exception as exc:  # noqa: BLE001 - shown, then the app exits with it
            self.call_from_thread(self._start_failed, exc)
            return
        try:
            services.start_session()
        except Exception:  # noqa: BLE001 - a session row is bookkeeping, not a reason to stop
            log.exception("could not record the session")
        self.call_from_thread(self._context_ready, preferences)
        try:
            services.storage.messages.recover_interrupted()
        except Exception:  # noqa: BLE001
            log.exception("could not recover interrupted messages")
        status = services.check_setup()
        if not status.ready:
            self.call_from_thread(self.show_welcome)
        if services.warm_up:
            self._warm_up()
        self.call_from_thread(self._warmed)

    def _warm_up(self) -> None:
        """Import and build what the first answer needs (the renderer, the engine, the
        provider's SDK client), so that sending it waits for none of that."""
        from .widgets.md_render import render_lines

        render_lines("# w\n\n**b** `c`\n\n```python\nx = 1\n```\n\n| a |\n|---|\n| 1 |\n", 80, self.markdown_style)
        try:
            engine = self.services.engine(self.approve_tool)
            directory = self.services.directory()
            name = directory.default_name()
            directory.get(name).prepare()
            del engine
        except Exception:  # noqa: BLE001 - the first turn will report it properly
            log.debug("warm-up failed", exc_info=True)

    def _start_failed(self, exc: BaseException) -> None:
        self.startup_error = exc
        self.exit(return_code=3 if getattr(exc, "code", None) == 3 else 1)

    def _context_ready(self, preferences: dict[str, Any]) -> None:
        self.preferences = dict(preferences)
        self._preferences_loaded = True
        theme = preferences.get("theme")
        if theme and theme in self.available_themes and theme != self.theme:
            self._saving_theme = True
            self.theme = theme
            self._saving_theme = False
        keymap = preferences.get("keymap") or {}
        if keymap:
            self.set_keymap({str(k): str(v) for k, v in keymap.items()})
        self.screen_stack[0].post_message(self.ContextReady(dict(preferences)))

    def _warmed(self) -> None:
        self.screen_stack[0].post_message(self.Warmed())
        if self.services.warm_up:
            # Everything loaded so far (modules, styles, widgets, the renderer) lives as
            # long as the app: collect the start-up garbage once, then keep those objects
            # out of every later collection. A full collection otherwise walks all of
            # them, a pause of a tenth of a second or more in the middle of an answer.
            gc.collect()
            gc.freeze()

    def show_welcome(self) -> None:
        from .screens.welcome import WelcomeScreen

        self.push_screen(WelcomeScreen())

    # --- theme -------------------------------------------------------------------------

    def _theme_changed(self, theme: Any) -> None:
        variables = self.get_css_variables()
        self.markdown_style = MarkdownStyle.from_variables(theme.name, theme.dark, variables)
        from .widgets.markdown_view import StreamingMarkdown

        for widget in self.query(StreamingMarkdown):
            widget.refresh(layout=True)
        if self._preferences_loaded and not self._saving_theme and self.preferences.get("theme") != theme.name:
            self.preferences["theme"] = theme.name
            self.spawn(self.io(self.services.storage.users.update_preferences, self.services.user_id,
                               theme=theme.name), name="save theme", group="preferences")

    def get_theme(self, theme_name: str) -> Any:
        # Textual copies its theme registry on every lookup, and looks the theme up for
        # every painted line; a plain name needs no copy.
        if "," not in theme_name:
            return self._registered_themes.get(theme_name.strip())
        return super().get_theme(theme_name)

    # --- workers -----------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, T], *, name: str, group: str = "default",
              exclusive: bool = False) -> Worker[T]:
        """Run a coroutine as a worker of the app (failures reach the one funnel)."""
        return self.run_worker(work, name=name, group=group, exclusive=exclusive, exit_on_error=False)

    def streaming_started(self) -> None:
        """An answer is streaming: no full garbage collection until it is over."""
        self.full_collections.hold()

    def streaming_stopped(self) -> None:
        """The answer is over: run the put-off full collection once the screen is still."""
        if self.full_collections.release():
            self.set_timer(COLLECT_AFTER, self.full_collections.collect)

    async def io(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call (storage, keyring, network set-up) in a thread."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        error = worker.error
        log.error("worker %s failed", worker.name, exc_info=error)
        text = str(error) if error is not None and str(error) else type(error).__name__
        self.notify(text, title=f"Could not {worker.name}", severity="error", timeout=10)

    # --- tools -------------------------------------------------------------------------

    async def approve_tool(self, request: Any) -> Any:
        """The engine asks before running a tool; the user answers in a modal."""
        from .screens.approval import ApprovalScreen

        return await self.push_screen_wait(ApprovalScreen(request))

    # --- attention ---------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.last_input = time.monotonic()
        await super().on_event(event)

    def answer_finished(self, seconds: float, title: str) -> None:
        """Tell a user who looked away that a long answer is ready."""
        idle = time.monotonic() - self.last_input
        if seconds < self.notify_after or (self.app_focus and idle < self.notify_after):
            return
        self.notify(f"The answer in “{title}” is ready ({seconds:.0f} s).", title="Answer ready", timeout=8)
        self.bell()

    # --- commands and help -------------------------------------------------------------

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from .screens.chat import ChatScreen

        yield from super().get_system_commands(screen)
        chat = self.screen_stack[0] if self.screen_stack else None
        if isinstance(chat, ChatScreen):
            yield from chat.palette_commands()
        yield SystemCommand("Help: keys", "Every key binding", self.action_help)
