"""Command palette: full-text search across every conversation, jumping to the hit."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.command import Hit, Hits, Provider
from textual.content import Content

from ..widgets.sidebar import snippet_content

MIN_QUERY = 2


class ConversationSearchCommands(Provider):
    """Type at least two characters in the palette to search messages and titles."""

    async def search(self, query: str) -> Hits:
        app: Any = self.app
        query = query.strip()
        if len(query) < MIN_QUERY or not getattr(app, "services", None) or not app.services.ready:
            return
        services = app.services
        try:
            results = await asyncio.to_thread(services.storage.search.search, services.user_id, query, limit=15)
        except Exception:  # noqa: BLE001 - a query with no words: nothing to show
            return
        for rank, hit in enumerate(results.titles):
            yield Hit(1.0 - rank * 0.01, Content.assemble(("Chat: ", "$foreground-muted"), hit.title),
                      lambda c=hit.conversation_id: self._open(c, None), help="Open this conversation")
        for rank, message in enumerate(results.messages):
            title = message.conversation_title or "New conversation"
            yield Hit(0.9 - rank * 0.01, Content.assemble(("In “", "$foreground-muted"), title, ("”: ", "$foreground-muted"),
                                                          snippet_content(message.snippet)),
                      lambda c=message.conversation_id, m=message.message_id: self._open(c, m),
                      help=f"{message.role} message")

    def _open(self, conversation_id: str, message_id: str | None) -> None:
        from .chat import ChatScreen

        screen = self.app.screen_stack[0]
        if isinstance(screen, ChatScreen):
            screen.open_conversation(conversation_id, message_id)
