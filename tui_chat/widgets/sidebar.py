"""The conversation sidebar: a search box over a list of conversations or of search hits.

The sidebar only shows what it is given and says what the user asked for; the screen
does the work (loading, renaming, searching) and calls ``show_conversations`` or
``show_results``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from storage.services.conversations import ConversationRecord
    from storage.services.search import SearchResults

VIEWS = ("active", "archived", "deleted")
VIEW_TITLES = {"active": "Conversations", "archived": "Archived", "deleted": "Trash"}
HIGHLIGHT_START, HIGHLIGHT_END = "\u27e6", "\u27e7"


def relative_time(when: datetime, now: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = max(0, int((now - when).total_seconds()))
    for size, unit in ((86400 * 365, "y"), (86400 * 30, "mo"), (86400 * 7, "w"), (86400, "d"), (3600, "h"),
                       (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def snippet_content(snippet: str) -> Content:
    """A search snippet with the matched words (between ⟦ and ⟧) highlighted."""
    parts: list[Content] = []
    rest = " ".join(snippet.split())
    while rest:
        start = rest.find(HIGHLIGHT_START)
        if start < 0:
            parts.append(Content(rest))
            break
        end = rest.find(HIGHLIGHT_END, start)
        if end < 0:
            parts.append(Content(rest.replace(HIGHLIGHT_START, "")))
            break
        parts.append(Content(rest[:start]))
        parts.append(Content.styled(rest[start + 1:end], "bold $text-accent"))
        rest = rest[end + 1:]
    return Content("").join(parts)


class ConversationList(OptionList):
    """The list itself; its keys act on the highlighted conversation."""

    BINDINGS = [
        Binding("r", "request('rename')", "Rename", id="sidebar.rename"),
        Binding("p", "request('pin')", "Pin/unpin", id="sidebar.pin"),
        Binding("a", "request('archive')", "Archive/unarchive", id="sidebar.archive"),
        Binding("d,delete", "request('delete')", "Delete", id="sidebar.delete"),
        Binding("u", "request('restore')", "Restore", id="sidebar.restore"),
        Binding("t", "request('tags')", "Tags", id="sidebar.tags"),
        Binding("v", "cycle_view", "Active/archived/trash", id="sidebar.view"),
    ]

    def action_request(self, action: str) -> None:
        sidebar = self.parent
        if isinstance(sidebar, ConversationSidebar):
            sidebar.action_request(action)

    def action_cycle_view(self) -> None:
        sidebar = self.parent
        if isinstance(sidebar, ConversationSidebar):
            sidebar.action_cycle_view()


class ConversationSidebar(Vertical):
    """Search box, view title and the list. Posts what the user picked or asked for."""

    DEFAULT_CSS = """
    ConversationSidebar { width: 34; }
    ConversationSidebar > ConversationList { height: 1fr; }
    """

    class ConversationSelected(Message):
        """The user opened a conversation (from the list, or a search hit in it)."""

        def __init__(self, conversation_id: str, message_id: str | None = None) -> None:
            super().__init__()
            self.conversation_id = conversation_id
            self.message_id = message_id

    class ActionRequested(Message):
        """The user asked to rename, pin, archive, delete, restore or tag a conversation."""

        def __init__(self, action: str, conversation_id: str) -> None:
            super().__init__()
            self.action = action
            self.conversation_id = conversation_id

    class ViewChanged(Message):
        """The user switched between active, archived and deleted conversations."""

        def __init__(self, view: str) -> None:
            super().__init__()
            self.view = view

    class SearchChanged(Message):
        """The search box changed (an empty query means: back to the list)."""

        def __init__(self, query: str) -> None:
            super().__init__()
            self.query = query

    class MoreRequested(Message):
        """The user reached the end of the list and more conversations exist."""

    def __init__(self, *, id: str | None = None, classes: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.view = "active"
        self.current_id: str | None = None
        self.has_more = False
        self.searching = False
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._records: dict[str, Any] = {}

    def compose(self) -> ComposeResult:
        yield Label(VIEW_TITLES["active"], id="sidebar-title")

    def on_mount(self) -> None:
        # The search box and the list are not needed for the first paint.
        self.call_after_refresh(self._build)

    def _build(self) -> None:
        if not self.query("#sidebar-list"):
            self.mount(Input(placeholder="Search all chats (Ctrl+F)", id="sidebar-search"), before=0)
            self.mount(ConversationList(id="sidebar-list"))

    @property
    def option_list(self) -> OptionList:
        self._build()
        return self.query_one("#sidebar-list", OptionList)

    # --- showing -----------------------------------------------------------------------

    def show_conversations(self, records: Sequence["ConversationRecord"], *, has_more: bool,
                           append: bool = False) -> None:
        self.searching = False
        self.has_more = has_more
        option_list = self.option_list
        highlighted = option_list.highlighted_option.id if option_list.highlighted_option else self.current_id
        if not append:
            option_list.clear_options()
            self._records.clear()
        now = self._clock()
        options = []
        for record in records:
            self._records[record.id] = record
            options.append(Option(self._conversation_prompt(record, now), id=f"c:{record.id}"))
        option_list.add_options(options)
        if not records and not append:
            empty = {"active": "No conversations yet.\nType below to start one.",
                     "archived": "Nothing archived.", "deleted": "The trash is empty."}[self.view]
            option_list.add_option(Option(Content.styled(empty, "$foreground-muted"), disabled=True))
        self.query_one("#sidebar-title", Label).update(VIEW_TITLES[self.view])
        self._highlight(highlighted)

    def _conversation_prompt(self, record: "ConversationRecord", now: datetime) -> Content:
        title = record.title or "New conversation"
        current = record.id == self.current_id
        marker = "● " if current else "★ " if record.is_pinned else "  "
        pin = "★ " if current and record.is_pinned else ""
        first = Content.assemble((marker, "$text-accent"), (pin, "$text-accent"), (title, "bold" if current else ""))
        details = [relative_time(record.last_message_at, now), f"{record.message_count} msg"]
        if record.tags:
            details.append(" ".join(f"#{tag}" for tag in record.tags))
        return Content("\n").join([first, Content.styled("\u00a0\u00a0" + " · ".join(details), "$foreground-muted")])

    def show_results(self, results: "SearchResults") -> None:
        self.searching = True
        option_list = self.option_list
        option_list.clear_options()
        options: list[Option] = []
        for hit in results.titles:
            options.append(Option(Content.assemble(("▸ ", "$text-accent"), (hit.title, "bold")),
                                  id=f"c:{hit.conversation_id}"))
        for index, hit in enumerate(results.messages):
            title = hit.conversation_title or "New conversation"
            prompt = Content("\n").join([
                Content.styled(f"{title} · {hit.role}", "bold"),
                Content("\u00a0\u00a0") + snippet_content(hit.snippet),
            ])
            options.append(Option(prompt, id=f"m:{index}:{hit.conversation_id}:{hit.message_id}"))
        if not options:
            options.append(Option(Content.styled(f"No matches for “{results.query}”.", "$foreground-muted"),
                                  disabled=True))
        option_list.add_options(options)
        self.query_one("#sidebar-title", Label).update(
            f"{len(results.titles) + len(results.messages)} results")
        if option_list.option_count and not options[0].disabled:
            option_list.highlighted = 0

    def show_search_error(self, message: str) -> None:
        self.option_list.clear_options()
        self.option_list.add_option(Option(Content.styled(message, "$text-warning"), disabled=True))

    def mark_current(self, conversation_id: str | None) -> None:
        previous, self.current_id = self.current_id, conversation_id
        now = self._clock()
        for ident in (previous, conversation_id):
            if ident and ident in self._records and not self.searching:
                try:
                    self.option_list.replace_option_prompt(f"c:{ident}",
                                                           self._conversation_prompt(self._records[ident], now))
                except Exception:  # noqa: BLE001 - the option may have gone with a reload
                    pass

    def _highlight(self, option_id: str | None) -> None:
        option_list = self.option_list
        if not option_id:
            return
        if not option_id.startswith(("c:", "m:")):
            option_id = f"c:{option_id}"
        try:
            option_list.highlighted = option_list.get_option_index(option_id)
        except Exception:  # noqa: BLE001 - not in this page
            pass

    @property
    def highlighted_conversation(self) -> str | None:
        option = self.option_list.highlighted_option
        if option is None or option.id is None:
            return None
        return option.id.split(":")[-1] if option.id.startswith("c:") else option.id.split(":")[2]

    # --- user input --------------------------------------------------------------------

    @on(Input.Changed, "#sidebar-search")
    def _search_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.SearchChanged(event.value.strip()))

    @on(Input.Submitted, "#sidebar-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.option_list.option_count:
            self.option_list.focus()

    @on(OptionList.OptionSelected, "#sidebar-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        ident = event.option.id or ""
        if ident.startswith("c:"):
            self.post_message(self.ConversationSelected(ident[2:]))
        elif ident.startswith("m:"):
            _, _, conversation_id, message_id = ident.split(":", 3)
            self.post_message(self.ConversationSelected(conversation_id, message_id))

    @on(OptionList.OptionHighlighted, "#sidebar-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self.has_more and not self.searching and event.option_index >= self.option_list.option_count - 3:
            self.has_more = False
            self.post_message(self.MoreRequested())

    def action_request(self, action: str) -> None:
        ident = self.highlighted_conversation
        if ident is not None:
            self.post_message(self.ActionRequested(action, ident))

    def action_cycle_view(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self.post_message(self.ViewChanged(self.view))

    def set_view(self, view: str) -> None:
        if view != self.view:
            self.view = view
            self.post_message(self.ViewChanged(view))

    def focus_search(self) -> None:
        self._build()
        self.query_one("#sidebar-search", Input).focus()
