"""Render Markdown source to lines of terminal cells, in the app's theme.

Rich's Markdown renderer, adjusted for a chat: headings on the left, code blocks with
a header that names the language and offers a copy action, colours taken from the
Textual theme. Each call renders once; callers keep the result.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Heading, Markdown, MarkdownContext
from rich.segment import Segment
from rich.syntax import Syntax
from rich.text import Text

from .markdown_blocks import CONTINUED, OPEN
from .md_style import MarkdownStyle

if TYPE_CHECKING:
    from markdown_it.token import Token
    from textual.strip import Strip


class ChatHeading(Heading):
    LEVEL_ALIGN: ClassVar[dict[str, Any]] = {f"h{n}": "left" for n in range(1, 7)}


class ChatCodeBlock(CodeBlock):
    """A code block: a header line (language, copy), the code, a blank line under it.
    Parts of a code block split while streaming leave out the header or the foot."""

    @classmethod
    def create(cls, markdown: Markdown, token: "Token") -> "ChatCodeBlock":
        info = (token.info or "").split()
        block = cls(info[0] if info and info[0] not in (CONTINUED, OPEN) else "text", markdown.code_theme)
        block.continued = CONTINUED in info
        block.open = OPEN in info
        block.background = getattr(markdown, "code_background", None)
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip("\n")
        width = options.max_width
        if not self.continued:
            label = f" {self.lexer_name}" if self.lexer_name != "text" else " code"
            copy = "⧉ copy "
            gap = max(1, width - len(label) - len(copy))
            yield Text.assemble((label + " " * gap, "chat.code.header"), (copy, "chat.code.copy"))
        syntax = Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, padding=(0, 1),
                        background_color=self.background)
        yield syntax
        if not self.open:
            yield Text(" " * width, style="markdown.code_block")


class ChatMarkdown(Markdown):
    elements = {**Markdown.elements, "heading_open": ChatHeading, "fence": ChatCodeBlock,
                "code_block": ChatCodeBlock}

    def __init__(self, markup: str, style: MarkdownStyle) -> None:
        # Rich builds a new parser per document (over a millisecond); share one instead.
        self.markup = markup
        self.parsed = _parser().parse(markup)
        # A single newline is a line break, as in chat: poems and addresses keep their lines.
        for token in self.parsed:
            for child in token.children or ():
                if child.type == "softbreak":
                    child.type = "hardbreak"
        self.code_theme = style.code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = True
        self.inline_code_lexer = None
        self.inline_code_theme = style.code_theme
        self.code_background = style.code_background


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")


@lru_cache(maxsize=16)
def _console(width: int, style: MarkdownStyle) -> Console:
    return Console(
        file=io.StringIO(), width=width, color_system="truecolor", force_terminal=True,
        legacy_windows=False, theme=style.rich_theme(), emoji=False, highlight=False,
        markup=False, _environ={},
    )


def render_lines(source: str, width: int, style: MarkdownStyle) -> list[list[Segment]]:
    """``source`` as lines of segments, each exactly ``width`` cells wide."""
    width = max(width, 8)
    console = _console(width, style)
    options = console.options.update_width(width)
    renderable = ChatMarkdown(source, style)
    return console.render_lines(renderable, options, pad=True, new_lines=False)


def render_strips(source: str, width: int, style: MarkdownStyle) -> list["Strip"]:
    from textual.strip import Strip

    width = max(width, 8)
    return [Strip(line, width) for line in render_lines(source, width, style)]


def plain_text(lines: list["Strip"]) -> str:
    return "\n".join(strip.text.rstrip() for strip in lines)


# Keep MarkdownContext importable for subclasses that need it.
__all__ = ["ChatMarkdown", "MarkdownContext", "MarkdownStyle", "render_lines", "render_strips"]
