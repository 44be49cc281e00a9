"""The file tools: confined reads, exact-match edits with a diff, atomic writes, and
results clipped for the model but stored whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_chat.tools.base import MODEL_TEXT_LIMIT, ToolEnv
from tui_chat.tools.runtime import Runtime


@pytest.fixture
def rt(store, user_id) -> Runtime:
    return Runtime(store, user_id)


async def run(rt: Runtime, context, name: str, args: dict):
    return await rt.execute(name, args, context())


async def test_read_file(rt, context) -> None:
    result = await run(rt, context, "read_file", {"path": "src/app.py"})
    assert not result.is_error and result.text == "def main():\n    print('hello')\n"
    assert result.data["content"] == result.text


async def test_read_file_in_parts(rt, context, workspace: Path) -> None:
    (workspace / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 101)))
    result = await run(rt, context, "read_file", {"path": "long.txt", "offset": 10, "limit": 5})
    assert result.text.startswith("[long.txt: lines 10-14; more follows, read on with offset=15]\n")
    assert result.text.endswith("line 10\nline 11\nline 12\nline 13\nline 14\n")


async def test_big_results_are_clipped_for_the_model_and_stored_whole(rt, context, workspace: Path) -> None:
    content = "".join(f"{i:06d} some text on this line\n" for i in range(5000))
    (workspace / "big.txt").write_text(content)
    result = await run(rt, context, "read_file", {"path": "big.txt", "limit": 100_000})
    assert len(result.text) < MODEL_TEXT_LIMIT + 500 and "characters of the file omitted" in result.text
    assert result.text.startswith("000000") and result.text.rstrip().endswith("004999 some text on this line")
    assert result.data["content"] == content


@pytest.mark.parametrize("path", ["../outside.txt", "link.txt", "linkdir/outside.txt", "src/../../outside.txt",
                                  "ABSOLUTE"])
async def test_reads_cannot_escape_the_workspace(rt, context, workspace: Path, tmp_path: Path, path: str) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("secret")
    (workspace / "link.txt").symlink_to(secret)
    (workspace / "linkdir").symlink_to(tmp_path)
    path = str(secret) if path == "ABSOLUTE" else path
    for name, args in (("read_file", {"path": path}), ("search_files", {"pattern": "secret", "path": path})):
        result = await run(rt, context, name, args)
        assert result.is_error and "outside the workspace" in result.text, (name, path)
        assert "secret\n" not in result.text


@pytest.mark.parametrize("path", ["..", "linkdir", "/", "~"])
async def test_listings_cannot_escape_the_workspace(rt, context, workspace: Path, tmp_path: Path, path: str) -> None:
    (workspace / "linkdir").symlink_to(tmp_path)
    result = await run(rt, context, "list_directory", {"path": path})
    assert result.is_error and "outside the workspace" in result.text


async def test_search_skips_links_out_of_the_workspace(rt, context, workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("needle outside")
    (workspace / "link.txt").symlink_to(tmp_path / "outside.txt")
    (workspace / "notes.txt").write_text("a needle inside\n")
    result = await run(rt, context, "search_files", {"pattern": "needle"})
    assert result.text == "notes.txt:1: a needle inside"


async def test_list_directory(rt, context, workspace: Path) -> None:
    result = await run(rt, context, "list_directory", {})
    assert result.text.splitlines() == [".:", "src/", "README.md  (23 bytes)"]


async def test_search_files(rt, context) -> None:
    result = await run(rt, context, "search_files", {"pattern": "PRINT", "case_insensitive": True, "glob": "*.py"})
    assert result.text == "src/app.py:2:     print('hello')"
    bad = await run(rt, context, "search_files", {"pattern": "("})
    assert bad.is_error and "not a valid regular expression" in bad.text


async def test_edit_file_replaces_one_exact_match_and_shows_the_diff(rt, context, workspace: Path) -> None:
    result = await run(rt, context, "edit_file", {"path": "src/app.py", "old_text": "print('hello')",
                                                  "new_text": "print('bye')"})
    assert not result.is_error
    assert "-    print('hello')\n+    print('bye')\n" in result.data["diff"]
    assert (workspace / "src" / "app.py").read_text() == "def main():\n    print('bye')\n"


async def test_edit_file_refuses_ambiguous_or_missing_text(rt, context, workspace: Path) -> None:
    (workspace / "twice.txt").write_text("x = 1\nx = 1\n")
    twice = await run(rt, context, "edit_file", {"path": "twice.txt", "old_text": "x = 1", "new_text": "x = 2"})
    assert twice.is_error and "occurs 2 times" in twice.text
    missing = await run(rt, context, "edit_file", {"path": "twice.txt", "old_text": "y", "new_text": "z"})
    assert missing.is_error and "not found" in missing.text
    assert (workspace / "twice.txt").read_text() == "x = 1\nx = 1\n"
    outcome = await rt.evaluate("edit_file", {"path": "twice.txt", "old_text": "x = 1", "new_text": "x"}, context())
    assert outcome.action == "deny" and "occurs 2 times" in outcome.reason  # never offered for approval


async def test_write_file_creates_and_keeps_the_mode(rt, context, workspace: Path) -> None:
    script = workspace / "run.sh"
    script.write_text("old\n")
    script.chmod(0o755)
    result = await run(rt, context, "write_file", {"path": "run.sh", "content": "new\n"})
    assert not result.is_error and script.read_text() == "new\n" and script.stat().st_mode & 0o777 == 0o755
    created = await run(rt, context, "write_file", {"path": "deep/new/file.txt", "content": "x"})
    assert created.text.startswith("created deep/new/file.txt") and (workspace / "deep/new/file.txt").exists()
    assert [p.name for p in (workspace / "deep/new").iterdir()] == ["file.txt"]  # no temporary files left


async def test_write_preview_is_a_diff(rt, context) -> None:
    outcome = await rt.evaluate("write_file", {"path": "README.md", "content": "# Project\n\nOther words.\n"},
                                context())
    assert "-Some words.\n+Other words.\n" in outcome.preview


def test_tool_env_defaults_are_sane(tmp_path: Path) -> None:
    env = ToolEnv(tmp_path)
    assert env.shell_timeout == 120 and env.fetch_size_limit == 2_000_000


async def test_a_line_longer_than_the_limit_is_shown_in_part(store, user_id, context, workspace: Path) -> None:
    (workspace / "min.js").write_text("x" * 5000 + "\nsecond\n")
    rt = Runtime(store, user_id, env={"read_size_limit": 1000})
    result = await rt.execute("read_file", {"path": "min.js"}, context())
    assert result.data["more"] and result.data["content"] == "x" * 1000 + "\n"
