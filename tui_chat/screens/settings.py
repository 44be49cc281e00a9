"""Settings: this conversation's provider, model, system prompt and parameters, the
user's preferences (theme, default provider and model) and budget caps.

The screen collects and validates; it returns a :class:`SettingsResult` and the chat
screen saves it. The model list comes from the provider (in the background); any
model name can also be typed. Budget caps are saved as soon as they are added or
removed (:mod:`.settings_budgets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, TextArea

from .settings_budgets import BudgetEditor

TYPE_A_MODEL = "(type a model name below)"


@dataclass
class SettingsResult:
    conversation: dict[str, Any] = field(default_factory=dict)  # provider, model, system_prompt, settings
    preferences: dict[str, Any] = field(default_factory=dict)  # theme, default_provider, default_model


class SettingsScreen(ModalScreen["SettingsResult | None"]):
    CSS_PATH = "settings.tcss"
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="settings.cancel"),
        Binding("ctrl+s", "save", "Save", id="settings.save", priority=True),
    ]

    def __init__(self, conversation: Any = None, draft: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.conversation = conversation
        draft = draft or {}
        self.provider = (conversation.provider if conversation else draft.get("provider")) or ""
        self.model = (conversation.model if conversation else draft.get("model")) or ""
        self.system = (conversation.system_prompt if conversation else draft.get("system")) or ""
        settings = dict(conversation.settings if conversation else draft.get("settings") or {})
        self.temperature = settings.get("temperature")
        self.max_tokens = settings.get("max_tokens")
        self.extra_settings = {k: v for k, v in settings.items() if k not in ("temperature", "max_tokens")}

    def compose(self) -> ComposeResult:
        app: Any = self.app
        preferences = dict(getattr(app, "preferences", {}))
        scope = "This conversation" if self.conversation else "The next new conversation"
        themes = sorted(app.available_themes)
        with Vertical(id="settings"):
            yield Label("Settings", id="settings-title")
            with VerticalScroll(id="settings-body"):
                yield Label(scope, classes="settings-section")
                with Horizontal(classes="settings-row"):
                    yield Label("Provider", classes="settings-label")
                    yield Select([(self.provider, self.provider)] if self.provider else [],
                                 value=self.provider or Select.NULL, id="provider", allow_blank=True,
                                 prompt="Default provider", compact=True)
                with Horizontal(classes="settings-row"):
                    yield Label("Model", classes="settings-label")
                    yield Select([(self.model, self.model)] if self.model else [],
                                 value=self.model or Select.NULL, id="model", allow_blank=True,
                                 prompt="Loading models…", compact=True)
                with Horizontal(classes="settings-row"):
                    yield Label("…or type a model", classes="settings-label")
                    yield Input(self.model, placeholder="any model name", id="model-name", compact=True)
                with Horizontal(classes="settings-row -tall"):
                    yield Label("System prompt", classes="settings-label")
                    yield TextArea(self.system, id="system", soft_wrap=True, tab_behavior="focus", compact=True,
                                   placeholder="none")
                with Horizontal(classes="settings-row"):
                    yield Label("Temperature (0–2)", classes="settings-label")
                    yield Input("" if self.temperature is None else str(self.temperature),
                                placeholder="model default", id="temperature", type="number", compact=True)
                with Horizontal(classes="settings-row"):
                    yield Label("Max output tokens", classes="settings-label")
                    yield Input("" if self.max_tokens is None else str(self.max_tokens),
                                placeholder="model default", id="max-tokens", type="integer", compact=True)
                yield Label("Preferences", classes="settings-section")
                with Horizontal(classes="settings-row"):
                    yield Label("Theme", classes="settings-label")
                    yield Select([(name, name) for name in themes], value=app.theme, id="theme",
                                 allow_blank=False, compact=True)
                with Horizontal(classes="settings-row"):
                    yield Label("Default provider", classes="settings-label")
                    yield Input(preferences.get("default_provider") or "", placeholder="first with a key",
                                id="default-provider", compact=True)
                with Horizontal(classes="settings-row"):
                    yield Label("Default model", classes="settings-label")
                    yield Input(preferences.get("default_model") or "", placeholder="the provider's default",
                                id="default-model", compact=True)
                yield Label("Budgets (saved at once; a turn over a cap is not sent)", classes="settings-section")
                yield BudgetEditor(id="budgets")
                yield Label("", id="settings-error")
            with Horizontal(id="settings-buttons"):
                yield Button("Save (Ctrl+S)", variant="primary", id="save", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.app.run_worker(self._load_providers(), name="list the providers", group="settings",
                            exit_on_error=False)

    async def _load_providers(self) -> None:
        app: Any = self.app
        directory = await app.io(app.services.directory)
        names = await app.io(directory.names)
        provider = self.query_one("#provider", Select)
        provider.set_options([(name, name) for name in names])
        if self.provider in names:
            provider.value = self.provider
        await self._load_models(self.provider or await app.io(directory.default_name))

    async def _load_models(self, name: str) -> None:
        app: Any = self.app
        select = self.query_one("#model", Select)
        try:
            directory = await app.io(app.services.directory)
            provider = await app.io(directory.get, name)
            models = sorted(model.id for model in await provider.list_models())
        except Exception as exc:  # noqa: BLE001 - offline, no key: typing a name still works
            select.set_options([(TYPE_A_MODEL, TYPE_A_MODEL)])
            select.prompt = f"No model list ({type(exc).__name__}); type one below"
            return
        if self.model and self.model not in models:
            models.insert(0, self.model)
        select.set_options([(m, m) for m in models] or [(TYPE_A_MODEL, TYPE_A_MODEL)])
        select.prompt = "Choose a model"
        if self.model in models:
            select.value = self.model

    @on(Select.Changed, "#provider")
    def _provider_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.provider:
            self.provider = str(event.value)
            self.model = ""
            self.query_one("#model-name", Input).value = ""
            self.app.run_worker(self._load_models(self.provider), name="list the models", group="settings-models",
                                exclusive=True, exit_on_error=False)

    @on(Select.Changed, "#model")
    def _model_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != TYPE_A_MODEL:
            self.query_one("#model-name", Input).value = str(event.value)

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        try:
            result = self._collect()
        except ValueError as exc:
            self.query_one("#settings-error", Label).update(str(exc))
            return
        self.dismiss(result)

    def _collect(self) -> SettingsResult:
        value = lambda ident: self.query_one(ident, Input).value.strip()  # noqa: E731
        settings = dict(self.extra_settings)
        if value("#temperature"):
            temperature = float(value("#temperature"))
            if not 0 <= temperature <= 2:
                raise ValueError("Temperature must be between 0 and 2.")
            settings["temperature"] = temperature
        if value("#max-tokens"):
            max_tokens = int(value("#max-tokens"))
            if not 1 <= max_tokens <= 1_000_000:
                raise ValueError("Max output tokens must be between 1 and 1,000,000.")
            settings["max_tokens"] = max_tokens
        provider = self.query_one("#provider", Select).value
        conversation: dict[str, Any] = {
            "system_prompt": self.query_one("#system", TextArea).text.strip() or None,
            "settings": settings,
        }
        if provider is not Select.NULL:
            conversation["provider"] = str(provider)
        if value("#model-name"):
            conversation["model"] = value("#model-name")
        app: Any = self.app
        theme = self.query_one("#theme", Select).value
        preferences: dict[str, Any] = {}
        if theme is not Select.NULL and theme != app.preferences.get("theme"):
            preferences["theme"] = str(theme)
            app.theme = str(theme)
        for key, ident in (("default_provider", "#default-provider"), ("default_model", "#default-model")):
            wanted = value(ident) or None
            if wanted != app.preferences.get(key):
                preferences[key] = wanted
        return SettingsResult(conversation, preferences)
