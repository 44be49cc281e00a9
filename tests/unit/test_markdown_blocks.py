"""``BlockSplitter``: a streaming reply cut into finished pieces and a small live tail."""

from __future__ import annotations

from tui_chat.widgets.markdown_blocks import (
    CONTINUED,
    FENCE_SPLIT_LINES,
    FENCE_SPLIT_PATIENCE,
    BlockSplitter,
    Piece,
    code_state,
)


def stream(text: str, step: int = 7) -> tuple[list[Piece], BlockSplitter, int]:
    """Feed ``text`` a few characters at a time: the pieces, the splitter and the most
    lines its tail ever had."""
    splitter = BlockSplitter()
    pieces: list[Piece] = []
    longest = 0
    for start in range(0, len(text), step):
        pieces.extend(splitter.feed(text[start:start + step]))
        longest = max(longest, splitter.tail.count("\n"))
    return pieces, splitter, longest


def code_of(pieces: list[Piece]) -> list[str]:
    """The code lines of each piece (without the fence lines)."""
    return [[line for line in piece.source.split("\n")[1:] if not line.startswith("```")] for piece in pieces]


def test_a_long_code_block_streams_with_a_small_tail_and_loses_no_line() -> None:
    code = [f"value_{i} = compute({i})" for i in range(60)]
    pieces, splitter, longest = stream("```python\n" + "\n".join(code) + "\n")
    assert longest <= FENCE_SPLIT_LINES + 2
    assert len(pieces) >= 60 // FENCE_SPLIT_LINES - 1
    assert pieces[0].source.startswith("```python") and not pieces[0].joined
    assert all(piece.joined and CONTINUED in piece.source.split("\n", 1)[0] for piece in pieces[1:])
    pieces.extend(splitter.finish())
    assert [line for lines in code_of(pieces) for line in lines if line] == code


def test_a_code_block_is_not_split_inside_a_docstring() -> None:
    """Each part of a code block is highlighted on its own: a part that began inside a
    docstring would show the rest of the docstring as code, and the code after it as a
    string."""
    docstring = ['    """Compute things.', *[f"    Line {i} of the explanation." for i in range(10)], '    """']
    code = ["def first():", "    return 1", "", "def second():", *docstring, "    return 2",
            *[f"x_{i} = {i}" for i in range(20)]]
    pieces, splitter, _ = stream("```python\n" + "\n".join(code) + "\n```\n\nAfter.\n")
    pieces.extend(splitter.finish())
    code_pieces = [lines for lines in code_of(pieces) if any(lines)]
    assert len(code_pieces) > 1  # it was split, just not inside the docstring
    for lines in code_pieces:
        assert code_state("\n".join(lines)) == (0, 0, 0, 0), lines


def test_an_endless_docstring_is_split_anyway() -> None:
    """An open docstring that never ends (a model that forgot to close it) holds the
    split back only so long: the tail stays bounded."""
    code = ['"""An endless docstring', *[f"line {i}" for i in range(100)]]
    _, _, longest = stream("```python\n" + "\n".join(code) + "\n")
    assert longest <= FENCE_SPLIT_LINES * FENCE_SPLIT_PATIENCE + 2


def test_code_state_follows_docstrings_comments_and_template_strings() -> None:
    assert code_state('x = """open') == (1, 0, 0, 0)
    assert code_state('still open"""', code_state('x = """open')) == (0, 0, 0, 0)
    assert code_state("/* a /* nested") == (0, 0, 0, 2)
    assert code_state("const s = `line") == (0, 0, 1, 0)
    assert code_state("ls src/*/x.py") == (0, 0, 0, 0)  # a glob never goes below zero



def test_a_heading_is_finished_once_the_block_under_it_begins() -> None:
    """The paragraph under a heading arrives as one long line: the heading does not wait
    for it in the tail."""
    splitter = BlockSplitter()
    assert splitter.feed("Intro.\n\n## Sec") == []
    assert splitter.feed("tion 9\n\n") == [Piece("Intro.\n\n")]  # nothing under the heading yet
    assert splitter.feed("  \nThe paragraph st") == [Piece("## Section 9\n\n  \n")]
    assert splitter.tail == "The paragraph st"
    splitter = BlockSplitter()  # an underlined heading can still change: it waits
    assert splitter.feed("Title\n---\nText") == []


def test_streamed_pieces_render_like_the_whole_reply() -> None:
    text = "# Top\n\nFirst paragraph.\n\n## Second\nRight under it.\n\n### Third\n\n- a\n- b\n\nEnd.\n"
    pieces, splitter, _ = stream(text, step=3)
    pieces.extend(splitter.finish())
    assert "".join(p.source for p in pieces) == text
    assert [p.source.split("\n")[0] for p in pieces][:5] == ["# Top", "First paragraph.", "## Second",
                                                             "Right under it.", "### Third"]
