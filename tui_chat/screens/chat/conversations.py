"""The sidebar's work: listing, organising and searching conversations.

Every storage call runs in a thread; each flow is one app worker, so a failure (a
title too long, a conversation gone) becomes a notification, never a crash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..dialogs import ConfirmScreen, TextInputScreen

if TYPE_CHECKING:
    from textual.timer import Timer

    from ...app import ChatApp
    from .screen import ChatScreen

PAGE = 100
SEARCH_DELAY = 0.25


class ConversationController:
    def __init__(self, screen: "ChatScreen") -> None:
        self.screen = screen
        self._cursor: str | None = None
        self._search_timer: "Timer | None" = None
        self._query = ""

    @property
    def app(self) -> "ChatApp":
        return self.screen.app  # type: ignore[return-value]

    # --- the list ----------------------------------------------------------------------

    def reload(self) -> None:
        if not self.app.services.ready:
            return
        if self._query:
            self.search(self._query, delay=0)
            return
        self.app.spawn(self._load(append=False), name="load the conversations", group="sidebar", exclusive=True)

    def more(self) -> None:
        if self._cursor:
            self.app.spawn(self._load(append=True), name="load more conversations", group="sidebar")

    async def _load(self, *, append: bool) -> None:
        services = self.app.services
        sidebar = self.screen.sidebar
        page = await self.app.io(services.storage.conversations.list, services.user_id, status=sidebar.view,
                                 limit=PAGE, cursor=self._cursor if append else None)
        self._cursor = page.next_cursor
        sidebar.show_conversations(page.items, has_more=page.next_cursor is not None, append=append)

    # --- search ------------------------------------------------------------------------

    def search(self, query: str, *, delay: float = SEARCH_DELAY) -> None:
        self._query = query
        if self._search_timer is not None:
            self._search_timer.stop()
            self._search_timer = None
        if not query:
            self.app.spawn(self._load(append=False), name="load the conversations", group="sidebar",
                           exclusive=True)
            return
        if delay <= 0:
            self._run_search()
        else:
            self._search_timer = self.screen.set_timer(delay, self._run_search)

    def _run_search(self) -> None:
        self._search_timer = None
        if self._query and self.app.services.ready:
            self.app.spawn(self._search(self._query), name="search", group="sidebar", exclusive=True)

    async def _search(self, query: str) -> None:
        from storage.errors import ValidationError

        services = self.app.services
        try:
            results = await self.app.io(services.storage.search.search, services.user_id, query, limit=50)
        except ValidationError as exc:
            self.screen.sidebar.show_search_error(str(exc).split(": ", 1)[-1])
            return
        if query == self._query:
            self.screen.sidebar.show_results(results)

    # --- organising --------------------------------------------------------------------

    def act(self, action: str, conversation_id: str) -> None:
        flows = {"rename": self._rename, "pin": self._pin, "archive": self._archive, "delete": self._delete,
                 "restore": self._restore, "tags": self._tags}
        flow = flows.get(action)
        if flow is not None:
            self.app.spawn(flow(conversation_id), name=f"{action} the conversation", group="organise")

    async def _record(self, conversation_id: str) -> Any:
        services = self.app.services
        return await self.app.io(services.storage.conversations.get, services.user_id, conversation_id)

    async def _change(self, method: str, *args: Any, **kwargs: Any) -> Any:
        services = self.app.services
        fn = getattr(services.storage.conversations, method)
        record = await self.app.io(fn, services.user_id, *args, **kwargs)
        self.reload()
        self.screen.conversation_changed(record)
        return record

    async def _rename(self, conversation_id: str) -> None:
        record = await self._record(conversation_id)
        title = await self.app.push_screen_wait(
            TextInputScreen("Rename conversation", record.title or "", placeholder="Title"))
        if title is not None and title.strip():
            await self._change("rename", conversation_id, title.strip())

    async def _pin(self, conversation_id: str) -> None:
        record = await self._record(conversation_id)
        await self._change("pin", conversation_id, not record.is_pinned)
        self.app.notify("Unpinned." if record.is_pinned else "Pinned to the top.")

    async def _archive(self, conversation_id: str) -> None:
        record = await self._record(conversation_id)
        archived = record.status != "archived"
        await self._change("archive", conversation_id, archived)
        self.app.notify("Archived (press v in the list to see archived chats)." if archived else "Unarchived.")

    async def _delete(self, conversation_id: str) -> None:
        record = await self._record(conversation_id)
        title = record.title or "this conversation"
        if record.status == "deleted":
            sure = await self.app.push_screen_wait(
                ConfirmScreen(f"Delete “{title}” for good? This cannot be undone.", yes="Delete forever"))
            if sure:
                services = self.app.services
                await self.app.io(services.storage.conversations.purge, services.user_id, conversation_id)
                self.reload()
                self.screen.conversation_removed(conversation_id)
            return
        sure = await self.app.push_screen_wait(ConfirmScreen(f"Delete “{title}”?", yes="Delete"))
        if sure:
            await self._change("delete", conversation_id)
            self.screen.conversation_removed(conversation_id)
            self.app.notify("Moved to the trash: press v in the list until “Trash”, then u to restore.")

    async def _restore(self, conversation_id: str) -> None:
        record = await self._record(conversation_id)
        if record.status == "active":
            self.app.notify("This conversation is not archived or deleted.")
            return
        await self._change("restore", conversation_id)
        self.app.notify("Restored.")

    async def _tags(self, conversation_id: str) -> None:
        record = await self._record(conversation_id)
        answer = await self.app.push_screen_wait(TextInputScreen(
            "Tags", " ".join(record.tags), placeholder="work rust ideas",
            hint="Words separated by spaces; remove a word to remove the tag."))
        if answer is None:
            return
        wanted = {tag.strip().lower().lstrip("#") for tag in answer.replace(",", " ").split() if tag.strip()}
        services = self.app.services
        storage = services.storage.conversations

        def apply() -> None:
            for tag in set(record.tags) - wanted:
                storage.remove_tag(services.user_id, conversation_id, tag)
            for tag in sorted(wanted - set(record.tags)):
                storage.add_tag(services.user_id, conversation_id, tag)

        await self.app.io(apply)
        self.reload()
