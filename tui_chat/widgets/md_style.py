"""The colours Markdown is rendered in, taken from the Textual theme (cheap to import)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.theme import Theme


@dataclass(frozen=True)
class MarkdownStyle:
    """What the renderer needs from the Textual theme (hashable, so consoles are cached)."""

    name: str = "default"
    dark: bool = True
    foreground: str = "#e0e0e0"
    primary: str = "#0178d4"
    secondary: str = "#004578"
    accent: str = "#fea62b"
    muted: str = "#808080"
    code_background: str = "#1e1e1e"
    code_theme: str = "monokai"

    @classmethod
    def from_variables(cls, name: str, dark: bool, variables: dict[str, str]) -> "MarkdownStyle":
        def pick(key: str, fallback: str) -> str:
            value = variables.get(key, "")
            return value[:7] if value.startswith("#") else fallback

        foreground = pick("foreground", cls.foreground if dark else "#202020")
        return cls(
            name=name,
            dark=dark,
            foreground=foreground,
            primary=pick("primary", cls.primary),
            secondary=pick("secondary", cls.secondary),
            accent=pick("accent", cls.accent),
            muted=pick("foreground-darken-3" if dark else "foreground-lighten-3", "#808080"),
            code_background=pick("surface-lighten-1" if dark else "surface-darken-1", cls.code_background),
            code_theme="monokai" if dark else "friendly",
        )

    def rich_theme(self) -> Theme:
        return Theme({
            "markdown.h1": Style(color=self.primary, bold=True, underline=True),
            "markdown.h2": Style(color=self.primary, bold=True),
            "markdown.h3": Style(color=self.accent, bold=True),
            "markdown.h4": Style(color=self.accent, italic=True),
            "markdown.h5": Style(italic=True),
            "markdown.h6": Style(dim=True),
            "markdown.code": Style(color=self.accent, bgcolor=self.code_background),
            "markdown.code_block": Style(bgcolor=self.code_background),
            "markdown.block_quote": Style(color=self.muted, italic=True),
            "markdown.list": Style(color=self.primary),
            "markdown.item.bullet": Style(color=self.accent, bold=True),
            "markdown.item.number": Style(color=self.accent),
            "markdown.hr": Style(color=self.muted),
            "markdown.link": Style(color=self.primary, underline=True),
            "markdown.link_url": Style(color=self.primary, underline=True),
            "markdown.table.border": Style(color=self.muted),
            "markdown.table.header": Style(color=self.primary, bold=True),
            "chat.code.header": Style(color=self.muted, bgcolor=self.code_background),
            "chat.code.copy": Style(color=self.accent, bgcolor=self.code_background, bold=True),
        }, inherit=True)
