"""Opening a conversation one page at a time, and what the user does to a message.

Copy, edit (a new branch), regenerate (a sibling), feedback, delete, switching
branches, jumping to a search hit. Storage calls run in threads inside app workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...widgets.markdown_blocks import block_parser
from ...widgets.message import MessageData, MessageView
from ..dialogs import ConfirmScreen, FeedbackScreen, TextEditScreen
from .turns import TurnPlan

if TYPE_CHECKING:
    from ...app import ChatApp
    from .screen import ChatScreen

PAGE = 50
#: The fewest messages a conversation opens with. It opens with enough to fill the view
#: (a message takes at least three rows) and no more: each one mounted costs time and
#: memory, and older ones come a page at a time as the reader goes up.
FIRST_PAGE = 16
#: How many pages back a search hit is looked for on the current branch.
MAX_REVEAL_PAGES = 40


@dataclass
class LoadedPage:
    conversation: Any
    items: list[MessageData]
    has_more: bool
    context_window: int | None = None
    context_tokens: int | None = None


class MessageController:
    def __init__(self, screen: "ChatScreen") -> None:
        self.screen = screen

    @property
    def app(self) -> "ChatApp":
        return self.screen.app  # type: ignore[return-value]

    # --- loading -----------------------------------------------------------------------

    def open(self, conversation_id: str, reveal: str | None = None) -> None:
        self.app.spawn(self._open(conversation_id, reveal), name="open the conversation", group="open",
                       exclusive=True)

    async def _open(self, conversation_id: str, reveal: str | None) -> None:
        first = min(PAGE, max(FIRST_PAGE, self.screen.size.height // 2))
        page = await self.app.io(self._load, conversation_id, reveal, None, first)
        self.screen.show_conversation(page)
        if reveal and not self.screen.chat.reveal(reveal):
            self.app.notify("That message is no longer in this conversation.", severity="warning")

    def _load(self, conversation_id: str, reveal: str | None, before: str | None = None,
              limit: int = PAGE) -> LoadedPage:
        services = self.app.services
        storage, uid = services.storage, services.user_id
        conversation = storage.conversations.get(uid, conversation_id)
        page = storage.messages.branch(uid, conversation_id, limit=limit, before=before)
        items = list(page.items)
        has_more = page.has_more
        if reveal and not any(m.id == reveal for m in items):
            items, has_more = self._page_with(conversation_id, reveal, items, has_more)
        data = self._to_data(items)
        window, tokens = self._context_numbers(conversation, items)
        return LoadedPage(conversation, data, has_more, window, tokens)

    def _page_with(self, conversation_id: str, message_id: str, items: list[Any],
                   has_more: bool) -> tuple[list[Any], bool]:
        """Pages back until ``message_id`` shows; if it is on another branch, switch to it."""
        services = self.app.services
        storage, uid = services.storage, services.user_id
        collected = list(items)
        for _ in range(MAX_REVEAL_PAGES):
            if not has_more or not collected:
                break
            older = storage.messages.branch(uid, conversation_id, limit=PAGE, before=collected[0].id)
            collected = list(older.items) + collected
            has_more = older.has_more
            if any(m.id == message_id for m in older.items):
                return collected, has_more
        storage.messages.switch_branch(uid, message_id)
        page = storage.messages.branch(uid, conversation_id, limit=PAGE)
        collected, has_more = list(page.items), page.has_more
        for _ in range(MAX_REVEAL_PAGES):
            if any(m.id == message_id for m in collected) or not has_more:
                break
            older = storage.messages.branch(uid, conversation_id, limit=PAGE, before=collected[0].id)
            collected = list(older.items) + collected
            has_more = older.has_more
        return collected, has_more

    def _to_data(self, records: list[Any]) -> list[MessageData]:
        services = self.app.services
        storage, uid = services.storage, services.user_id
        ids = [record.id for record in records]
        all_siblings = storage.messages.siblings_many(uid, ids)
        ratings = {key: fb.rating for key, fb in storage.messages.feedback_many(uid, ids).items()}
        data = []
        for record in records:
            siblings = all_siblings.get(record.id)
            count = len(siblings.ids) if siblings is not None else 1
            rating = ratings.get(record.id) if record.role == "assistant" else None
            shown = (siblings.index + 1, count) if siblings is not None and count > 1 else None
            data.append(MessageData.from_record(record, siblings=shown,
                                                rating=rating, execution=self._execution(record)))
        return data

    def _execution(self, record: Any) -> Any:
        """The tool_executions row a tool message reports on: both versions of the
        arguments, who decided, how it ended (None when it is not there)."""
        if record.role != "tool":
            return None
        execution_id = next((p.get("execution_id") for p in record.parts or ()
                             if isinstance(p, dict) and p.get("type") == "tool_result"), None)
        if not execution_id:
            return None
        from storage import NotFound

        services = self.app.services
        try:
            return services.storage.tools.get(services.user_id, execution_id)
        except NotFound:  # deleted (or another user's): the message's own parts are shown
            return None

    def _context_numbers(self, conversation: Any, items: list[Any]) -> tuple[int | None, int | None]:
        tokens = None
        for record in reversed(items):
            meta = record.meta or {}
            context = meta.get("context") or {}
            if context.get("tokens") is not None or meta.get("context_tokens") is not None:
                tokens = context.get("tokens", meta.get("context_tokens"))
                if context.get("window"):
                    return int(context["window"]), tokens
                break
        window = conversation.context_window
        if window is None and conversation.provider and conversation.model:
            try:
                kind = self.app.services.directory().configured()[conversation.provider].kind
                entry = self.app.services.storage.catalog.get(kind, conversation.model)
                window = entry.context_window if entry else None
            except Exception:  # noqa: BLE001 - unknown provider: no window shown
                window = None
        return window, tokens

    def older(self, before_id: str) -> None:
        conversation = self.screen.conversation
        if conversation is not None:
            self.app.spawn(self._older(conversation.id, before_id), name="load older messages", group="older",
                           exclusive=True)

    async def _older(self, conversation_id: str, before_id: str) -> None:
        services = self.app.services

        def load() -> tuple[list[MessageData], bool]:
            page = services.storage.messages.branch(services.user_id, conversation_id, limit=PAGE, before=before_id)
            return self._to_data(list(page.items)), page.has_more

        items, has_more = await self.app.io(load)
        self.screen.chat.prepend_messages(items, has_more=has_more)

    def refresh_details(self, conversation_id: str) -> None:
        """After a turn: sibling counters and ids of what was just streamed."""
        self.app.spawn(self._refresh_details(conversation_id), name="refresh the conversation", group="details")

    async def _refresh_details(self, conversation_id: str) -> None:
        services = self.app.services
        views = [view for view in self.screen.chat.message_views if view.data.id]

        def load() -> dict[str, tuple[int, int] | None]:
            result: dict[str, tuple[int, int] | None] = {}
            for view in views[-4:]:
                siblings = services.storage.messages.siblings(services.user_id, view.data.id)
                result[view.data.id] = (siblings.index + 1, len(siblings.ids)) if len(siblings.ids) > 1 else None
            return result

        for message_id, siblings in (await self.app.io(load)).items():
            view = self.screen.chat.find(message_id)
            if view is not None:
                view.set_siblings(siblings)

    # --- actions -----------------------------------------------------------------------

    def act(self, view: MessageView, action: str) -> None:
        if action == "copy":
            self.app.copy_to_clipboard(view.text)
            self.app.notify("Message copied.")
            return
        if action == "copy_code":
            self._copy_code(view)
            return
        if view.data.id is None:
            self.app.notify("This message is still being saved; try again in a moment.", severity="warning")
            return
        flows = {"edit": self._edit, "regenerate": self._regenerate, "retry": self._regenerate,
                 "thumbs_up": self._thumbs_up, "thumbs_down": self._thumbs_down, "feedback": self._feedback,
                 "delete": self._delete, "branch_prev": self._branch_prev, "branch_next": self._branch_next}
        flow = flows.get(action)
        if flow is not None:
            self.app.spawn(flow(view), name=action.replace("_", " "), group="message-action")

    def _copy_code(self, view: MessageView) -> None:
        blocks = [t.content for t in block_parser().parse(view.text) if t.type in ("fence", "code_block")]
        if not blocks:
            self.app.notify("This message has no code block.", severity="warning")
            return
        index = getattr(view, "_code_index", -1) + 1
        index = index if index < len(blocks) else 0
        view._code_index = index  # type: ignore[attr-defined]
        self.app.copy_to_clipboard(blocks[index])
        self.app.notify(f"Code block {index + 1} of {len(blocks)} copied.")

    async def _edit(self, view: MessageView) -> None:
        if view.data.role != "user":
            self.app.notify("Only your own messages can be edited; use r to regenerate an answer.")
            return
        if self.screen.turns.running:
            self.app.notify("Wait for the answer to finish (or press Escape) before editing.", severity="warning")
            return
        text = await self.app.push_screen_wait(TextEditScreen("Edit message (a new branch)", view.text))
        if text is None or text == view.text:
            return
        services = self.app.services
        conversation = self.screen.conversation
        assert conversation is not None
        storage, uid = services.storage, services.user_id

        def branch() -> tuple[Any, str]:
            edited = storage.messages.edit(uid, view.data.id, text)
            # The engine answers "again" under a message's parent: give it one under the edit.
            holder = storage.messages.add(uid, conversation.id, role="assistant", content="", status="done",
                                          parent_id=edited.id, advance=False)
            return edited, holder.id

        edited, holder_id = await self.app.io(branch)
        siblings = await self.app.io(storage.messages.siblings, uid, edited.id)
        chat = self.screen.chat
        chat.remove_after(view)
        view.remove()
        user_view = chat.add_message(MessageData(edited.id, "user", text, created_at=edited.created_at,
                                                 siblings=(siblings.index + 1, len(siblings.ids))))

        def tidy() -> None:
            try:
                storage.messages.delete(uid, holder_id)
            except Exception:  # noqa: BLE001 - already gone
                pass

        self.screen.turns.start(TurnPlan(text, conversation.id, regenerate_from=holder_id, user_view=user_view,
                                         cleanup=tidy))

    async def _regenerate(self, view: MessageView) -> None:
        if view.data.role != "assistant":
            self.app.notify("Regenerate works on an answer; focus one and press r.")
            return
        conversation = self.screen.conversation
        if conversation is None or self.screen.turns.running:
            return
        self.screen.chat.remove_after(view)
        view.remove()
        self.screen.turns.start(TurnPlan("", conversation.id, regenerate_from=view.data.id))

    async def _rate(self, view: MessageView, rating: int, comment: str | None = None) -> None:
        services = self.app.services
        await self.app.io(services.storage.messages.set_feedback, services.user_id, view.data.id, rating, comment)
        view.set_rating(rating)

    async def _thumbs_up(self, view: MessageView) -> None:
        await self._rate(view, 1)
        self.app.notify("Thanks! Press f to add a comment.")

    async def _thumbs_down(self, view: MessageView) -> None:
        await self._rate(view, -1)
        self.app.notify("Noted. Press f to say what was wrong.")

    async def _feedback(self, view: MessageView) -> None:
        services = self.app.services
        current = await self.app.io(services.storage.messages.feedback, services.user_id, view.data.id)
        answer = await self.app.push_screen_wait(
            FeedbackScreen(current.rating if current else 1, (current.comment or "") if current else ""))
        if answer is not None:
            await self._rate(view, answer[0], answer[1])

    async def _delete(self, view: MessageView) -> None:
        sure = await self.app.push_screen_wait(ConfirmScreen("Delete this message? Replies to it are kept."))
        if not sure:
            return
        services = self.app.services
        await self.app.io(services.storage.messages.delete, services.user_id, view.data.id)
        view.remove()
        self.app.notify("Message deleted.")

    async def _branch_prev(self, view: MessageView) -> None:
        await self._switch(view, -1)

    async def _branch_next(self, view: MessageView) -> None:
        await self._switch(view, +1)

    async def _switch(self, view: MessageView, step: int) -> None:
        services = self.app.services
        storage, uid = services.storage, services.user_id
        siblings = await self.app.io(storage.messages.siblings, uid, view.data.id)
        if len(siblings.ids) < 2:
            self.app.notify("This message has no other branch.")
            return
        if self.screen.turns.running:
            self.app.notify("Wait for the answer to finish before switching branches.", severity="warning")
            return
        target = siblings.ids[(siblings.index + step) % len(siblings.ids)]
        await self.app.io(storage.messages.switch_branch, uid, target)
        conversation = self.screen.conversation
        if conversation is not None:
            await self._open(conversation.id, None)
            new_view = self.screen.chat.find(target)
            if new_view is not None:
                self.screen.chat.call_after_refresh(new_view.focus)
