"""The context view: what the next turn would send, before it is sent.

It asks the engine for a preview (nothing is sent or recorded) of the open conversation
with the prompt being typed, and lists the system prompt, the remembered facts injected
for that prompt, each message of the branch with its tokens and its fate (sent, pinned,
summarised, dropped) and the total against the model's window. Memory can be switched
off (and on) for the conversation here; the engine reads that switch on every turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Label, Static

from ..widgets.status import compact_number

if TYPE_CHECKING:
    from ..engine.preview import ContextPreview

FATE_STYLES = {
    "sent": "$text-success",
    "pinned": "$text-accent",
    "summarised": "$text-warning",
    "dropped": "$text-error",
    "draft": "$text-primary",
}
ROLE_WIDTH = 10
TOKEN_WIDTH = 7
FATE_WIDTH = 11


def _bar(ratio: float, width: int = 30) -> str:
    filled = max(0, min(width, round(ratio * width)))
    return "█" * filled + "░" * (width - filled)


def message_lines(preview: "ContextPreview") -> Content:
    """One line per message: role, tokens, fate and the start of the text."""
    header = Content.styled(f"{'role':<{ROLE_WIDTH}}{'tokens':>{TOKEN_WIDTH}}  {'fate':<{FATE_WIDTH}}message",
                            "bold $text-muted")
    lines = [header]
    if preview.older:
        counts = ", ".join(f"{n:,} {fate}" for fate, n in sorted(preview.older.items()))
        lines.append(Content.styled(f"… {sum(preview.older.values()):,} older messages ({counts})",
                                    "$foreground-muted"))
    for message in preview.messages:
        style = FATE_STYLES.get(message.fate, "$foreground-muted")
        text_style = "$foreground-muted" if message.fate in ("dropped", "summarised") else ""
        label = "draft" if message.fate == "draft" else message.fate
        lines.append(Content.assemble(
            (f"{message.role:<{ROLE_WIDTH}}", "$text-secondary"),
            (f"{message.tokens:>{TOKEN_WIDTH},}  ", ""),
            (f"{label:<{FATE_WIDTH}}", style),
            (message.text, text_style),
        ))
    if len(lines) == 1:
        lines.append(Content.styled("No messages yet: only the system prompt and the draft are sent.",
                                    "$foreground-muted"))
    return Content("\n").join(lines)


class ContextScreen(ModalScreen[Any]):
    """The plan for the next turn of ``conversation_id`` (None: a new conversation).
    Dismissed with the conversation's record when memory was switched, else None."""

    CSS_PATH = "context.tcss"
    AUTO_FOCUS = "#context-messages"
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="context.close"),
        Binding("m", "toggle_memory", "Memory on/off", id="context.memory"),
        Binding("r", "refresh", "Refresh", id="context.refresh"),
    ]

    def __init__(self, conversation_id: str | None, draft: str = "", overrides: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.draft = draft
        self.overrides = dict(overrides or {})
        self.preview: "ContextPreview | None" = None
        self.changed: Any = None  # the conversation, once memory was switched
        self._syncing = False

    def compose(self) -> ComposeResult:
        with Vertical(id="context"):
            yield Label("Context for the next turn", id="context-title")
            yield Static(Content.styled("Working out what would be sent…", "$foreground-muted"), id="context-summary")
            yield Static("", id="context-problem")
            yield Static("", id="context-system")
            with Horizontal(id="context-memory-row"):
                yield Checkbox("Use remembered facts in this conversation (m)", True, id="context-memory",
                               compact=True, disabled=self.conversation_id is None)
            yield Static("", id="context-memories")
            yield Static("", id="context-counts")
            with VerticalScroll(id="context-messages"):
                yield Static("", id="context-table")
            yield Label("Esc close · m memory on/off · r refresh · /compact in the prompt summarises older turns",
                        id="context-help")

    def on_mount(self) -> None:
        self.action_refresh()

    # --- loading -------------------------------------------------------------------------

    def action_refresh(self) -> None:
        app: Any = self.app
        app.spawn(self._load(), name="work out the context", group="context-view", exclusive=True)

    async def _load(self) -> None:
        app: Any = self.app
        services = app.services
        await app.io(services.open)
        engine = await app.io(services.engine, app.approve_tool)
        try:
            preview = await app.io(engine.preview_context, self.conversation_id, self.draft,
                                   provider=self.overrides.get("provider"), model=self.overrides.get("model"),
                                   system=self.overrides.get("system"), settings=self.overrides.get("settings"))
        except Exception as exc:  # noqa: BLE001 - an unknown provider, a missing model: say so here
            self.query_one("#context-summary", Static).update(
                Content.styled(f"Could not work out the context: {exc}", "$text-error"))
            return
        self.show(preview)

    def show(self, preview: "ContextPreview") -> None:
        self.preview = preview
        budget = preview.budget
        ratio = preview.total_tokens / budget if budget else 1.0
        style = "$text-error" if ratio > 1 else "$text-warning" if ratio > 0.7 else "$text-success"
        counted = "exact" if preview.exact else "estimated"
        self.query_one("#context-summary", Static).update(Content.assemble(
            (f"{preview.provider} · {preview.model}", "$text-primary"),
            (f"   window {preview.window:,} · reply reserve {preview.reserve:,} · strategy {preview.strategy}\n",
             "$foreground-muted"),
            (_bar(ratio), style),
            (f" {preview.total_tokens:,} of {budget:,} tokens ({ratio:.0%}), {counted}", style),
            (f" · {compact_number(preview.total_tokens)}/{compact_number(preview.window)} of the window",
             "$foreground-muted"),
        ))
        problem = self.query_one("#context-problem", Static)
        if preview.problem:
            problem.update(Content.styled(f"✖ The turn would stop: {preview.problem}", "$text-error"))
        elif preview.note:
            problem.update(Content.styled(f"⚠ {preview.note[0].upper()}{preview.note[1:]}.", "$text-warning"))
        else:
            problem.update("")
        problem.display = bool(preview.problem or preview.note)
        system = [("System  ", "bold"), (f"prompt {preview.system_prompt_tokens:,}", "")]
        if preview.summary_tokens:
            system.append((f" · summary of older turns {preview.summary_tokens:,}", "$text-warning"))
        system.append((f" · memories {preview.memory_tokens:,}", ""))
        if preview.tool_tokens:
            system.append((f" · tool schemas {preview.tool_tokens:,}", ""))
        system.append((f" · draft {preview.draft_tokens:,}" if preview.draft_tokens else " · no draft typed",
                       "" if preview.draft_tokens else "$foreground-muted"))
        self.query_one("#context-system", Static).update(Content.assemble(*system))
        self._syncing = True
        self.query_one("#context-memory", Checkbox).value = preview.memory_enabled
        self._syncing = False
        self.query_one("#context-memories", Static).update(self._memory_lines(preview))
        counts = [f"{preview.count(fate):,} {fate}" for fate in ("sent", "pinned", "summarised", "dropped")]
        self.query_one("#context-counts", Static).update(Content.assemble(
            ("Messages  ", "bold"), (" · ".join(counts), "")))
        self.query_one("#context-table", Static).update(message_lines(preview))
        self.call_after_refresh(self._scroll_to_the_cut)

    def _scroll_to_the_cut(self) -> None:
        """Show where the messages that are sent begin, below the last one left out."""
        scroll = self.query_one("#context-messages", VerticalScroll)
        preview = self.preview
        fates = [m.fate for m in preview.messages] if preview is not None else []
        first_sent = next((n for n, fate in enumerate(fates) if fate in ("sent", "draft")), 0)
        if preview is None or not any(f in ("dropped", "summarised") for f in fates[:first_sent]):
            scroll.scroll_end(animate=False, immediate=True)
            return
        line = 1 + (1 if preview.older else 0) + first_sent  # below the header (and the "older" line)
        scroll.scroll_to(y=max(line - scroll.size.height // 3, 0), animate=False, immediate=True)

    def _memory_lines(self, preview: "ContextPreview") -> Content:
        if preview.memories:
            lines = [Content.assemble(("  + ", "$text-success"), (memory.content, ""),
                                      (f"  {memory.tokens:,} tok", "$foreground-muted"))
                     for memory in preview.memories]
            return Content("\n").join(lines)
        if not preview.memory_enabled:
            text = "  Memory is off for this conversation: no remembered facts are injected."
            if preview.candidates:
                text += f" With it on, {len(preview.candidates)} would be: " + \
                        "; ".join(m.content for m in preview.candidates)
            return Content.styled(text, "$foreground-muted")
        if not self.draft.strip():
            return Content.styled("  Facts are chosen by the prompt: type one to see which would be injected.",
                                  "$foreground-muted")
        return Content.styled("  No remembered fact matches this prompt.", "$foreground-muted")

    # --- memory ----------------------------------------------------------------------------

    @on(Checkbox.Changed, "#context-memory")
    def _memory_changed(self, event: Checkbox.Changed) -> None:
        if self._syncing or self.preview is None or event.value == self.preview.memory_enabled:
            return
        self._set_memory(event.value)

    def action_toggle_memory(self) -> None:
        if self.conversation_id is None:
            self.notify("Memory can be switched off once the conversation has started.", severity="warning")
            return
        enabled = self.preview.memory_enabled if self.preview is not None else True
        self._set_memory(not enabled)

    def _set_memory(self, enabled: bool) -> None:
        app: Any = self.app
        app.spawn(self._save_memory(enabled), name="switch memory", group="context-memory", exclusive=True)

    async def _save_memory(self, enabled: bool) -> None:
        app: Any = self.app
        services = app.services
        storage, uid, conversation_id = services.storage, services.user_id, self.conversation_id
        if conversation_id is None:
            return

        def save() -> Any:
            current = storage.conversations.get(uid, conversation_id)
            return storage.conversations.update(uid, conversation_id, context={**current.context, "memory": enabled})

        self.changed = await app.io(save)
        self.notify(f"Memory {'on' if enabled else 'off'} for this conversation.")
        await self._load()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(self.changed)
