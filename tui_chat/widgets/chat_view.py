"""The conversation: a scrolling column of message views, one page at a time.

Only the newest page of the branch is mounted when a conversation opens; scrolling to
the top asks for the page before it (:class:`ChatView.OlderRequested`). The view is
anchored to the bottom, so it follows a streaming answer while the reader is at the
end, and stops following as soon as they scroll up.

At most ``max_mounted`` messages are mounted, however far back the reader goes: past
that, the newest ones (below the screen) are unmounted and kept as data, and come back
as the reader goes down again, while the oldest ones (above the screen) give way and are
loaded again from storage like any older page. Anything that needs the end of the
conversation (a new message, "the last answer") brings the newest messages back first.

From the keyboard (k/j on a focused message) the view moves the focus itself, one
message per key however fast the keys come: a step past the oldest loaded message asks
for the page before it and is taken, with any steps that arrive meanwhile, when that
page is mounted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from .message import ErrorNotice, MessageData, MessageView, attach_tool_call, fold_tool_messages

EMPTY_TEXT = (
    "Start a conversation: type below and press Enter.\n\n"
    "Ctrl+N new chat · Ctrl+F search · Ctrl+B sidebar · F2 settings · F1 help · Ctrl+P commands"
)


class ChatView(VerticalScroll, can_focus=False):
    """Message views of the current branch (the newest page, plus older pages on demand)."""

    #: Most message views mounted at once (each costs Textual widgets and cached lines).
    max_mounted: int = 100
    #: Messages mounted again at a time on the way back down.
    newer_page: int = 50

    DEFAULT_CSS = """
    ChatView { height: 1fr; }
    """

    class OlderRequested(Message):
        """The reader scrolled to the top and older messages exist."""

        def __init__(self, before_id: str) -> None:
            super().__init__()
            self.before_id = before_id

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.has_more = False
        self.loading_older = False
        # Keyboard steps past the oldest loaded message, waiting for the older page:
        # the message they count from (it keeps the focus meanwhile) and how many.
        self._steps_from: MessageView | None = None
        self._steps_pending = 0
        # Newer messages unmounted while the reader walked back, oldest first; keyboard
        # steps past the newest mounted message, waiting for the next ones to mount.
        self._newer: list[MessageData] = []
        self._forward: tuple[MessageView, int] | None = None

    def on_mount(self) -> None:
        self.show_empty()

    # --- content -----------------------------------------------------------------------

    @property
    def message_views(self) -> list[MessageView]:
        return [child for child in self.children if isinstance(child, MessageView)]

    def show_empty(self) -> None:
        self._drop_newer()
        self.remove_children()
        self.has_more = False
        self._forget_steps()
        self.mount(Static(Content.styled(EMPTY_TEXT, "$foreground-muted"), classes="empty-state", markup=False))

    def show_messages(self, items: Iterable[MessageData], *, has_more: bool) -> None:
        """Replace the view with one page (oldest first) and follow the end. Tool messages
        show as entries under the answer that made the calls."""
        items = fold_tool_messages(items)
        self._drop_newer()
        self.remove_children()
        self.has_more = has_more
        self.loading_older = False
        self._forget_steps()
        widgets: list[Static | MessageView] = []
        if has_more:
            widgets.append(self._older_marker())
        widgets.extend(MessageView(item) for item in items)
        if not widgets:
            self.show_empty()
            return
        self.mount_all(widgets)
        self.anchor()

    def prepend_messages(self, items: list[MessageData], *, has_more: bool) -> None:
        """Mount an older page above the current one, keeping what is on screen in place."""
        self.loading_older = False
        for marker in self.query(".older-marker"):
            marker.remove()
        self.has_more = has_more
        items = fold_tool_messages(items)
        waiting = self._steps_from
        self._fold_into(items[-1] if items else None)
        views: list[Static | MessageView] = [MessageView(item) for item in items]
        if waiting is not None and self._steps_from is None and views:
            # The focused tool message was folded into the answer that made the call:
            # that answer is where it now shows, one step back.
            self._steps_from, self._steps_pending = views[-1], self._steps_pending - 1  # type: ignore[assignment]
            views[-1].focus(scroll_visible=False)
        if has_more:
            views.insert(0, self._older_marker())
        if not views:
            self._take_pending_steps()
            return
        before_height = self.virtual_size.height
        first = self.children[0] if self.children else None
        if first is not None:
            self.mount_all(views, before=first)
        else:
            self.mount_all(views)

        def keep_place() -> None:
            added = self.virtual_size.height - before_height
            if added > 0:
                self.scroll_to(y=self.scroll_y + added, animate=False, immediate=True)
            self._take_pending_steps()
            self._unmount_newest()

        self.call_after_refresh(keep_place)

    def _fold_into(self, answer: MessageData | None) -> None:
        """Tool messages at the top of the view that belong to ``answer`` (the last one
        of an older page) move under it."""
        if answer is None or answer.role != "assistant" or not answer.tools:
            return
        for view in self.message_views:
            if view.data.role != "tool" or view.data.tool is None or not attach_tool_call(answer, view.data.tool):
                break
            if view is self._steps_from:  # it goes: count the steps from the answer instead
                self._steps_from = None
            view.remove()

    def _older_marker(self) -> Static:
        return _marker("↑ older messages: scroll up to load", "older-marker")

    def add_message(self, data: MessageData, *, streaming: bool = False) -> MessageView:
        self.show_end()
        for empty in self.query(".empty-state"):
            empty.remove()
        view = MessageView(data, streaming=streaming)
        self.mount(view)
        if not self.is_anchored:
            self.anchor()
        return view

    def add_error(self, message: str, prompt: str | None) -> ErrorNotice:
        self.show_end()
        notice = ErrorNotice(message, prompt)
        self.mount(notice)
        return notice

    def add_notice(self, message: str) -> Static:
        """A line from the app in the conversation (a compaction, ...), not from the model."""
        self.show_end()
        for empty in self.query(".empty-state"):
            empty.remove()
        notice = Static(Content.styled(f"↧ {message}", "$text-accent"), classes="notice -info standalone",
                        markup=False)
        self.mount(notice)
        if not self.is_anchored:
            self.anchor()
        return notice

    def remove_after(self, view: MessageView | None) -> None:
        """Remove every message view after ``view`` (all of them for None)."""
        self._drop_newer()
        found = view is None
        for child in list(self.children):
            if found and isinstance(child, (MessageView, ErrorNotice)):
                child.remove()
            if child is view:
                found = True

    def find(self, message_id: str) -> MessageView | None:
        for view in self.message_views:
            if view.data.id == message_id:
                return view
        return None

    def reveal(self, message_id: str) -> bool:
        """Scroll to a message and focus it (a search hit)."""
        view = self.find(message_id)
        if view is None:
            return False
        self.release_anchor()
        view.add_class("-hit")
        self.call_after_refresh(lambda: (self.scroll_to_widget(view, animate=False, top=True), view.focus()))
        return True

    @property
    def oldest_id(self) -> str | None:
        views = self.message_views
        return views[0].data.id if views else None

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        # Called right after a layout pass that already repainted whatever moved: taking
        # the new virtual size quietly saves a second layout and a full repaint on every
        # growth of a streaming answer.
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    # --- the window of mounted messages ------------------------------------------------

    @property
    def at_end(self) -> bool:
        """The newest message of the conversation is mounted."""
        return not self._newer

    def show_end(self) -> None:
        """Mount the newest messages again if the reader had walked back past them: the
        newest page, with the rest loaded again as older pages."""
        if not self._newer:
            return
        views = self.message_views
        items = [view.data for view in views] + self._newer
        self.show_messages(items[-self.newer_page:], has_more=True)

    def _drop_newer(self) -> None:
        """Forget the unmounted newer messages (the view no longer leads to them)."""
        self._newer.clear()
        self._forward = None
        for marker in self.query(".newer-marker"):
            marker.remove()

    def _unmount_newest(self) -> None:
        """Past ``max_mounted``, unmount the newest messages below the screen (never a
        streaming one, the focused one or what follows them)."""
        views = self.message_views
        excess = len(views) - self.max_mounted
        if excess <= 0 or any(view.streaming for view in views) or self.query(ErrorNotice):
            return
        screen = self.scrollable_content_region.height
        bottom = self.scroll_offset.y + 2 * screen  # a screen's margin below what shows
        going = [view for view in views[-excess:] if view.virtual_region.y >= bottom]
        if not going or self.screen.focused in going:
            return
        going = views[views.index(going[0]):]  # from the first that goes to the end
        self._newer[:0] = [view.data for view in going]
        self.remove_children(going)
        if not self.query(".newer-marker"):
            self.mount(_marker("↓ newer messages: scroll down to load", "newer-marker"))

    def _mount_newer(self, then: Callable[[], None] | None = None) -> None:
        """Mount the next newer messages again under the others; then make room above
        (see ``_unmount_oldest``) and call ``then``."""
        chunk, self._newer = self._newer[:self.newer_page], self._newer[self.newer_page:]
        views = [MessageView(data) for data in chunk]
        markers = list(self.query(".newer-marker"))
        if views:
            if markers:
                self.mount_all(views, before=markers[0])
            else:
                self.mount_all(views)
        if not self._newer:
            for marker in markers:
                marker.remove()
        self.call_after_refresh(self._unmount_oldest, then)

    def _unmount_oldest(self, then: Callable[[], None] | None = None) -> None:
        """Past ``max_mounted``, unmount the oldest messages above the screen (they are
        loaded again from storage as older pages), keeping what is on screen in place;
        then call ``then``."""
        views = self.message_views
        excess = len(views) - self.max_mounted
        top = self.scroll_offset.y - self.scrollable_content_region.height  # a screen's margin
        going = [view for view in views[:max(excess, 0)] if view.virtual_region.bottom <= top]
        if not going or self.screen.focused in going:
            if then is not None:
                then()
            return
        going = views[:views.index(going[-1]) + 1]
        keep = views[len(going)]
        before, scrolled = keep.virtual_region.y, self.scroll_y
        self.remove_children(going)
        self.has_more = True
        if not self.query(".older-marker"):
            self.mount(self._older_marker(), before=0)

        def keep_place() -> None:
            shift = before - keep.virtual_region.y  # from where it was: the removal may have clamped it
            if shift:
                self.scroll_to(y=max(0, scrolled - shift), animate=False, immediate=True)
            if then is not None:
                then()

        self.call_after_refresh(keep_place)

    # --- keyboard navigation -----------------------------------------------------------

    def step_focus(self, origin: MessageView, step: int) -> bool:
        """Move the focus ``step`` messages from ``origin`` (the focused message) and
        scroll it into view. Past the oldest loaded message the older page is requested
        and the rest of the steps are taken when it is mounted. False when the step goes
        past the newest message (the caller decides where the focus goes then)."""
        if self._forward is not None and origin is self._forward[0]:
            self._forward = (origin, self._forward[1] + step)
            return True
        if self._steps_pending and origin is self._steps_from:
            self._steps_pending -= step
            if self._steps_pending > 0:
                return True
            step, self._steps_from, self._steps_pending = -self._steps_pending, None, 0
            if step == 0:
                return True
        views = self.message_views
        if origin not in views:
            return True
        index = views.index(origin) + step
        if index >= len(views) and self._newer:
            # Past the newest mounted message: mount the next ones, then take this step
            # and any that come meanwhile (the focus stays where it is until then).
            self._forward = (origin, step)
            self._mount_newer(self._take_forward)
            return True
        if index >= len(views):
            return False
        if index < 0 and self.has_more:
            self._steps_from, self._steps_pending = views[0], -index
            self._focus_view(views[0])
            self.request_older()
            return True
        self._focus_view(views[max(index, 0)])
        return True

    def _focus_view(self, view: MessageView) -> None:
        if self.screen.focused is not view:
            view.focus(scroll_visible=False)
        view.scroll_visible(animate=False)

    def _take_pending_steps(self) -> None:
        """The older page is mounted (or there was none): take the steps that waited."""
        origin, steps = self._steps_from, self._steps_pending
        self._forget_steps()
        if steps and origin is not None and self.screen.focused is origin:
            self.step_focus(origin, -steps)

    def _take_forward(self) -> None:
        """The newer messages are mounted: take the steps that waited for them."""
        if self._forward is None:
            return
        origin, steps = self._forward
        self._forward = None
        if steps and self.screen.focused is origin:
            self.step_focus(origin, steps)

    def _forget_steps(self) -> None:
        self._steps_from, self._steps_pending = None, 0

    # --- paging ------------------------------------------------------------------------

    def request_older(self) -> None:
        """Ask for the page before the oldest loaded message (once at a time)."""
        if not self.has_more or self.loading_older:
            return
        oldest = self.oldest_id
        if oldest is not None:
            self.loading_older = True
            self.post_message(self.OlderRequested(oldest))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 1 and old_value > new_value:
            self.request_older()
        elif self._newer and new_value > old_value and new_value >= self.max_scroll_y - 1:
            self._mount_newer()


def _marker(text: str, classes: str) -> Static:
    """A muted line across the view that says more messages can be loaded."""
    return Static(Content.styled(text, "$foreground-muted"), classes=classes, markup=False)
