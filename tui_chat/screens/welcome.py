"""First run with no key and no endpoint: how to get going, not an error."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

STEPS = """\
tui-chat talks to a model through a provider. None is set up yet — here is how.

[b]1. Use a hosted model[/b] (the key goes into your system keyring, never into a file):

    [b $text-accent]tui-chat keys set openai[/]        then paste the key when asked
    [b $text-accent]tui-chat keys set anthropic[/]

   or, for this shell only:  [b]export OPENAI_API_KEY=sk-…[/b]  (or ANTHROPIC_API_KEY)

[b]2. Or point at an endpoint[/b] that speaks the OpenAI API (vLLM, LM Studio, llama.cpp, a proxy):

    [b $text-accent]tui-chat providers add NAME --kind openai-compatible --base-url URL[/]

[b]3. Or run a local model with Ollama[/b] — found automatically at http://localhost:11434:

    [b $text-accent]ollama serve[/]   and   [b $text-accent]ollama pull llama3.2[/]

Then press [b]r[/b] here to check again, or [b]Enter[/b] to continue anyway.
"""


class WelcomeScreen(Screen[None]):
    CSS_PATH = "welcome.tcss"

    BINDINGS = [
        Binding("enter,escape", "dismiss", "Continue", id="welcome.continue"),
        Binding("r", "check", "Check again", id="welcome.check"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="welcome-scroll"):
            with Vertical(id="welcome"):
                yield Label("Welcome to tui-chat", id="welcome-title")
                yield Static(Content.from_markup(STEPS), id="welcome-steps")
                yield Label("", id="welcome-status")
        yield Footer()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.app.pop_screen()

    def action_check(self) -> None:
        self.query_one("#welcome-status", Label).update("Checking…")
        self.app.run_worker(self._check, thread=True, name="check the providers", group="welcome",
                            exit_on_error=False)

    def _check(self) -> None:
        status = self.app.services.check_setup()  # type: ignore[attr-defined]
        self.app.call_from_thread(self._checked, status.ready, status.reason)

    def _checked(self, ready: bool, reason: str) -> None:
        if ready:
            self.app.notify(f"Ready: {reason}.")
            self.app.pop_screen()
        else:
            self.query_one("#welcome-status", Label).update(
                Content.styled(f"Still nothing: {reason}.", "$text-warning"))
