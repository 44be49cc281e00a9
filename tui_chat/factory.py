"""One app factory for the CLI, the tests, the snapshot tests and the screenshot script.

``make_app`` wires a :class:`ChatApp` to its services. Everything slow (the database,
provider SDKs, the engine) is reached through :class:`AppServices`, lazily and off the
UI thread, so the first paint never waits for it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage import Storage

    from .app import ChatApp
    from .context import AppContext
    from .engine.directory import ProviderDirectory
    from .engine.turn import ChatEngine

#: Builds the engine: (storage, user_id, directory, approve=...) -> ChatEngine
EngineFactory = Callable[..., "ChatEngine"]


@dataclass(frozen=True)
class SetupStatus:
    """Whether any provider can answer: a key, a configured endpoint, or a local Ollama."""

    ready: bool
    reason: str = ""


@dataclass
class AppServices:
    """What the TUI works with. Methods that touch the database or the network block:
    call them from thread workers (or ``asyncio.to_thread``), never on the UI loop."""

    context: "AppContext | None" = None
    opener: Callable[[], "AppContext"] | None = None
    directory_factory: Callable[["Storage", str], "ProviderDirectory"] | None = None
    engine_factory: EngineFactory | None = None
    setup_check: Callable[["AppServices"], SetupStatus] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    session_info: dict[str, Any] | None = None  # kwargs for storage.sessions.start
    session_id: str | None = None
    window_id: str | None = None
    warm_up: bool = True
    generate_titles: bool = True
    _directory: "ProviderDirectory | None" = None
    _engine: "ChatEngine | None" = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the database ------------------------------------------------------------------

    def open(self) -> "AppContext":
        """The context, opening the database on first use (blocking)."""
        with self._lock:
            if self.context is None:
                if self.opener is None:
                    from .context import AppContext

                    self.context = AppContext.open(self.options.get("db"))
                else:
                    self.context = self.opener()
            return self.context

    @property
    def ready(self) -> bool:
        return self.context is not None

    @property
    def storage(self) -> "Storage":
        if self.context is None:
            raise RuntimeError("the database is not open yet")
        return self.context.storage

    @property
    def user_id(self) -> str:
        if self.context is None:
            raise RuntimeError("the database is not open yet")
        return self.context.user.id

    def start_session(self) -> None:
        """Record this run of the app (once)."""
        if self.session_info is not None and self.session_id is None:
            record = self.storage.sessions.start(self.user_id, **self.session_info)
            self.session_id = record.id
            self.window_id = record.window_id

    def end_session(self) -> None:
        if self.session_id is not None and self.context is not None:
            self.storage.sessions.end(self.user_id, self.session_id)

    # --- providers and the engine --------------------------------------------------------

    def directory(self) -> "ProviderDirectory":
        if self._directory is None:
            self.open()
            if self.directory_factory is not None:
                self._directory = self.directory_factory(self.storage, self.user_id)
            else:
                from .engine.directory import ProviderDirectory

                self._directory = ProviderDirectory(self.storage, self.user_id)
        return self._directory

    def engine(self, approve: Any = None) -> "ChatEngine":
        if self._engine is None:
            directory = self.directory()
            kwargs = {"approve": approve} if approve is not None else {}
            if self.engine_factory is not None:
                self._engine = self.engine_factory(self.storage, self.user_id, directory, **kwargs)
            else:
                from .engine.turn import ChatEngine
                from .tools.runtime import build_runtime

                # Every tool call goes through the same policy as scripted runs; what it
                # would ask about, the app asks in its approval modal.
                tools = build_runtime(self.storage, self.user_id, interactive=True)
                self._engine = ChatEngine(self.storage, self.user_id, directory, tools=tools, **kwargs)
        return self._engine

    def check_setup(self) -> SetupStatus:
        if self.setup_check is not None:
            return self.setup_check(self)
        return default_setup_check(self)


def default_setup_check(services: AppServices, environ: dict[str, str] | None = None) -> SetupStatus:
    """Ready when a key is in the environment or the keyring, a provider is configured,
    or Ollama answers on its default port."""
    env = os.environ if environ is None else environ
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        if env.get(var, "").strip():
            return SetupStatus(True, f"{var} is set")
    try:
        if services.storage.providers.list(services.user_id, active_only=True):
            return SetupStatus(True, "a provider is configured")
    except Exception:  # noqa: BLE001 - a broken row must not stop the app from starting
        pass
    try:
        from .secrets import KeyStore

        if KeyStore().list():
            return SetupStatus(True, "a key is in the keyring")
    except Exception:  # noqa: BLE001 - no usable keyring: same as no key
        pass
    if _port_open("127.0.0.1", 11434):
        return SetupStatus(True, "Ollama is running")
    return SetupStatus(False, "no provider key and no local endpoint")


def _port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def make_app(
    context: "AppContext | None" = None,
    *,
    opener: Callable[[], "AppContext"] | None = None,
    directory: "ProviderDirectory | Callable[[Storage, str], ProviderDirectory] | None" = None,
    engine_factory: EngineFactory | None = None,
    setup_check: Callable[[AppServices], SetupStatus] | None = None,
    options: dict[str, Any] | None = None,
    session_info: dict[str, Any] | None = None,
    warm_up: bool = False,
    generate_titles: bool = True,
    notify_after: float = 15.0,
) -> "ChatApp":
    """The TUI over ``context`` (or one opened by ``opener`` in the background).

    ``directory`` is a ProviderDirectory or a factory ``(storage, user_id) -> directory``;
    ``engine_factory`` builds the engine (tests pass fast retries); ``setup_check``
    decides whether the welcome screen shows; ``options`` are the CLI's (provider,
    model, system, resume, continue_); ``warm_up`` preloads the provider SDK and the
    Markdown renderer after the first paint; ``generate_titles`` asks the model for a
    title after the first answer of a new conversation.
    """
    from .app import ChatApp

    if directory is not None and not callable(directory):
        fixed = directory

        def directory_factory(storage: "Storage", user_id: str) -> "ProviderDirectory":
            return fixed
    else:
        directory_factory = directory  # type: ignore[assignment]
    services = AppServices(
        context=context, opener=opener, directory_factory=directory_factory, engine_factory=engine_factory,
        setup_check=setup_check, options=dict(options or {}), session_info=session_info, warm_up=warm_up,
        generate_titles=generate_titles,
    )
    return ChatApp(services, notify_after=notify_after)
