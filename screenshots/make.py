"""Render the main screens to SVG in this directory.

    python screenshots/make.py

Each picture comes from the real app (the same factory as the CLI) over a throwaway
database seeded with ``tests/tui/demo.py``, driven with ``App.run_test`` and saved
with ``App.save_screenshot``. The conversation picture streams its answer from the
fake provider server, so what you see is what streaming rendered.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
os.environ["TZ"] = "UTC"
time.tzset()

from tests.fakes.provider_server import FakeProviderServer, Scenario  # noqa: E402
from tests.tui.demo import NOW, STREAMING_ANSWER, seed_demo  # noqa: E402
from tui_chat.context import AppContext  # noqa: E402
from tui_chat.factory import SetupStatus, make_app  # noqa: E402

SIZE = (120, 40)
KEY = "sk-screenshot-0000000000000000"


def build(context: AppContext, server: FakeProviderServer, *, ready: bool = True, **options: Any) -> Any:
    from tui_chat.engine.directory import ProviderDirectory

    app = make_app(
        context,
        directory=lambda storage, uid: ProviderDirectory(storage, uid, use_keyring=False, environ={"SHOT_KEY": KEY}),
        setup_check=lambda services: SetupStatus(ready, "screenshots"),
        options=options, generate_titles=False,
    )
    app.clock = lambda: NOW
    return app


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen never got there")
        await pilot.pause(0.05)


async def shoot(app: Any, name: str, steps: Callable[[Any], Awaitable[None]]) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.services.ready)
        await settle(pilot)
        await steps(pilot)
        for widget in app.screen.query("TextArea, Input"):
            widget.cursor_blink = False
        await pilot.pause(0.2)
        app.save_screenshot(filename=f"{name}.svg", path=str(HERE))
    print(f"screenshots/{name}.svg")


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tui-chat-shots-") as tmp, FakeProviderServer() as server:
        os.environ["TUI_CHAT_HOME"] = str(Path(tmp) / "home")
        context = AppContext.open(f"sqlite:///{tmp}/shots.db", environ={"TUI_CHAT_HOME": str(Path(tmp) / "home"),
                                                                         "TUI_CHAT_USER": "local:demo"})
        storage, uid = context.storage, context.user.id
        storage.providers.add(uid, "fake", kind="openai", base_url=server.base_url_openai, default_model="gpt-4o",
                              options={"api_key_env": "SHOT_KEY"}, make_default=True)
        ids = seed_demo(storage, uid)

        async def stream_an_answer(pilot: Any) -> None:
            screen = pilot.app.screen
            server.queue(Scenario(text=STREAMING_ANSWER, tokens_per_second=400))
            screen.prompt.load_text("Show me the technique once more, with code and a table.")
            await pilot.press("enter")
            await until(pilot, lambda: screen.status.state.activity == "idle" and len(screen.chat.message_views) == 4)
            await settle(pilot)

        await shoot(build(context, server, resume=ids["stream"]), "conversation", stream_an_answer)

        async def search(pilot: Any) -> None:
            screen = pilot.app.screen
            await pilot.press("ctrl+f", *"lifetimes")
            await until(pilot, lambda: screen.sidebar.searching)
            await settle(pilot)

        await shoot(build(context, server, resume=ids["rust"]), "sidebar-search", search)

        async def settings(pilot: Any) -> None:
            await pilot.press("f2")
            await until(pilot, lambda: bool(pilot.app.screen.query("#model"))
                        and pilot.app.screen.query_one("#model").prompt == "Choose a model")
            await settle(pilot)

        await shoot(build(context, server, resume=ids["rust"]), "settings", settings)

        async def nothing(pilot: Any) -> None:
            await settle(pilot)

        empty = AppContext.open(f"sqlite:///{tmp}/empty.db", environ={"TUI_CHAT_HOME": str(Path(tmp) / "home2"),
                                                                       "TUI_CHAT_USER": "local:new"})
        await shoot(build(empty, server, ready=False), "welcome", nothing)

        async def help_screen(pilot: Any) -> None:
            await pilot.press("f1")
            await settle(pilot)

        await shoot(build(context, server, resume=ids["poem"]), "help", help_screen)

        async def context_view(pilot: Any) -> None:
            pilot.app.screen.prompt.load_text("And how do lifetimes interact with async?")
            await pilot.press("ctrl+o")
            await until(pilot, lambda: getattr(pilot.app.screen, "preview", None) is not None)
            await settle(pilot)

        await shoot(build(context, server, resume=ids["rust"]), "context-view", context_view)
        empty.close()
        context.close()


if __name__ == "__main__":
    asyncio.run(main())
