"""Split a streaming Markdown reply into finished blocks and a live tail.

No Textual here: this is the pure part of streaming. A block is *finished* once the
next top-level block has started on a complete line — later text can no longer change
how it renders. Finished text is rendered once and never parsed again; only the tail
(usually one paragraph, list or code block) is parsed on every update.

A long fenced code block would make the tail grow without end, so its complete lines
are split off too: the tail then restarts as a *continued* fence (``CONTINUED`` in its
info string), which the renderer draws without a second header. A split never falls
inside a docstring or block comment when it can wait for its end: each part is
highlighted on its own, and the part after would be highlighted as code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

#: Marker in a fence's info string: this fence continues one split off before it.
CONTINUED = "tui-chat-continued"
#: Marker: this fence is not closed yet (its last part is still to come).
OPEN = "tui-chat-open"
#: Split a code block once its unfinished part has this many lines (highlighting the
#: growing part again on every frame costs about 0.3 ms a line).
FENCE_SPLIT_LINES = 6
#: ... unless the split would fall inside a docstring or block comment: the part after it
#: would be highlighted as code. Up to this many times as many lines are kept together.
FENCE_SPLIT_PATIENCE = 4


@lru_cache(maxsize=1)
def block_parser() -> "MarkdownIt":
    """The block-level parser, configured like the renderer's (CommonMark + tables +
    strikethrough), with inline parsing switched off: only block boundaries matter."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["strikethrough", "table"]).disable("inline")


@dataclass(frozen=True, slots=True)
class Piece:
    """A finished run of source, rendered once. ``joined`` pieces continue the previous
    piece (the next part of a code block) and get no blank line before them."""

    source: str
    joined: bool = False


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    find = text.find
    start = 0
    while True:
        index = find("\n", start)
        if index < 0:
            return offsets
        start = index + 1
        offsets.append(start)


def _fence_header(line: str) -> tuple[str, str] | None:
    """(marker, info) when ``line`` opens a fenced code block."""
    stripped = line.lstrip(" ")
    if len(line) - len(stripped) > 3:
        return None
    for char in "`~":
        if stripped.startswith(char * 3):
            marker_len = len(stripped) - len(stripped.lstrip(char))
            return stripped[:marker_len], stripped[marker_len:].strip()
    return None


#: Open multi-line constructs of code: triple-quoted strings (both quotes), template or
#: raw strings in backticks (their parity), block comments (their depth).
CodeState = tuple[int, int, int, int]
BALANCED: CodeState = (0, 0, 0, 0)


def code_state(code: str, state: CodeState = BALANCED) -> CodeState:
    """What is left open after ``code``, from ``state`` (a heuristic, for any language)."""
    double, single, backtick, comments = state
    return ((double + code.count('"""')) % 2, (single + code.count("'''")) % 2,
            (backtick + code.count("`")) % 2, max(0, comments + code.count("/*") - code.count("*/")))


class BlockSplitter:
    """Holds the unfinished tail of a reply; ``feed`` returns the pieces it finished."""

    def __init__(self) -> None:
        self.tail = ""
        self._code = BALANCED  # what the split-off parts of the current code block left open

    def feed(self, text: str) -> list[Piece]:
        self.tail += text
        return self._split()

    def finish(self) -> list[Piece]:
        """The reply is over: everything left is finished."""
        tail, self.tail = self.tail, ""
        if not tail.strip():
            return []
        joined = tail.startswith("```") and CONTINUED in tail.split("\n", 1)[0]
        return [Piece(tail, joined=joined)]

    @property
    def tail_is_continuation(self) -> bool:
        return self.tail.startswith("```") and CONTINUED in self.tail.split("\n", 1)[0]

    def _split(self) -> list[Piece]:
        tail = self.tail
        end = tail.rfind("\n") + 1
        if end == 0:
            return []
        complete = tail[:end]
        tokens = block_parser().parse(complete)
        starts = [t.map[0] for t in tokens if t.level == 0 and t.map is not None and t.nesting >= 0]
        pieces: list[Piece] = []
        if len(starts) >= 2:
            offsets = _line_offsets(complete)
            joined = self.tail_is_continuation
            for begin, end in zip(starts, starts[1:]):
                piece = tail[offsets[begin]:offsets[end]]
                if piece.strip():
                    pieces.append(Piece(piece, joined=joined))
                joined = False
            self.tail = tail = tail[offsets[starts[-1]]:]
            tokens = block_parser().parse(tail[: tail.rfind("\n") + 1])
        last = next((t for t in reversed(tokens) if t.level == 0 and t.map is not None and t.nesting >= 0), None)
        if last is not None and last.type == "fence":
            pieces.extend(self._split_fence(last.map[0]))
        elif last is not None and last.type == "heading_open" and last.markup.startswith("#"):
            pieces.extend(self._split_heading())
        return pieces

    def _split_heading(self) -> list[Piece]:
        """A "#" heading is finished with its line: once the next block has begun (its
        first line still arriving), the heading goes, instead of being rendered again
        with every frame of the paragraph under it."""
        tail = self.tail
        line_end = tail.find("\n") + 1
        after = tail[line_end:]
        start = len(after) - len(after.lstrip(" \t\n"))
        if not after[start:]:
            return []
        cut = line_end + after.rfind("\n", 0, start) + 1  # the start of the next block's line
        self.tail = tail[cut:]
        return [Piece(tail[:cut])]

    def _split_fence(self, start_line: int) -> list[Piece]:
        """Split the complete lines of a long code block (the tail's only block) off."""
        lines = self.tail.split("\n")
        if start_line != 0 or len(lines) - 2 < FENCE_SPLIT_LINES:
            return []
        header = _fence_header(lines[0])
        if header is None:
            return []
        marker, info = header
        # Lines 1..n-2 are complete code lines; the last element is the partial line.
        body = lines[1:-1]
        closing = next((i for i, line in enumerate(body) if line.strip().startswith(marker)
                        and not line.strip().strip(marker[0])), None)
        if closing is not None:
            return []  # closed: it will finish as a whole when the next block starts
        keep = 1  # keep the newest complete line in the tail
        done, rest = body[:-keep], body[-keep:]
        continued = CONTINUED in info
        state = code_state("\n".join(done), self._code if continued else BALANCED)
        if state != BALANCED and len(done) < FENCE_SPLIT_LINES * FENCE_SPLIT_PATIENCE:
            return []  # wait for the docstring or comment to end
        self._code = state
        language = info.replace(CONTINUED, "").replace(OPEN, "").strip()
        first_info = f"{language} {CONTINUED if continued else ''} {OPEN}".strip()
        piece = Piece(f"{marker}{first_info}\n" + "\n".join(done) + f"\n{marker}\n", joined=continued)
        self.tail = f"{marker}{language} {CONTINUED}\n" + "\n".join(rest) + "\n" + lines[-1]
        return [piece]


def split_all(text: str) -> list[Piece]:
    """A whole (stored) reply as finished pieces, as streaming would have produced them."""
    splitter = BlockSplitter()
    pieces = splitter.feed(text)
    pieces.extend(splitter.finish())
    return pieces
