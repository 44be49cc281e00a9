"""Rule patterns: tool globs and argument patterns for paths, commands, URLs and JSON."""

from __future__ import annotations

import pytest

from tui_chat.tools.patterns import PatternError, RulePattern, escape, glob_match, match_arguments, match_path, \
    match_tool, parse_rule


@pytest.mark.parametrize(("text", "expected"), [
    ("run_shell", RulePattern("run_shell")),
    ("run_shell(git status*)", RulePattern("run_shell", "git status*")),
    ("write_file(src/**)", RulePattern("write_file", "src/**")),
    ("github.*", RulePattern("github.*")),
    ("run_shell(echo (a))", RulePattern("run_shell", "echo (a)")),
    ("  fetch_url(https://x.org/*)  ", RulePattern("fetch_url", "https://x.org/*")),
])
def test_parse(text: str, expected: RulePattern) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize("text", ["", "run_shell(", "run_shell()", "run shell", "x(y)z", "a;b"])
def test_bad_patterns_are_refused(text: str) -> None:
    with pytest.raises(PatternError):
        parse_rule(text)


def test_tool_globs() -> None:
    assert match_tool("github.*", "github.create_issue")
    assert not match_tool("github.*", "gitlab.create_issue")
    assert match_tool("*", "anything.at_all")
    assert match_tool("read_*", "read_file") and not match_tool("read_*", "list_directory")


def test_command_globs_and_prefix_form() -> None:
    assert glob_match("git status*", "git status --short")
    assert not glob_match("git status*", "git push")
    assert glob_match("git status:*", "git status") and glob_match("git status:*", "git status -s")
    assert not glob_match("git status:*", "git statusx")
    assert glob_match(escape("echo a*b?"), "echo a*b?") and not glob_match(escape("echo a*b?"), "echo aXXb!")


def test_path_globs() -> None:
    assert match_path("src/**", "src/app.py", "/w/src/app.py")
    assert match_path("src/**", "src/deep/er/x.py", "/w/src/deep/er/x.py")
    assert match_path("src/", "src/x.py", "/w/src/x.py")
    assert match_path("src/*.py", "src/app.py", "/w/src/app.py")
    assert not match_path("src/*.py", "src/deep/app.py", "/w/src/deep/app.py")
    assert match_path("**/*.md", "docs/a/b.md", "/w/docs/a/b.md") and match_path("**/*.md", "b.md", "/w/b.md")
    # relative patterns never match outside the workspace; absolute ones match the real path
    assert not match_path("**", None, "/etc/passwd")
    assert match_path("/tmp/**", None, "/tmp/x/y.txt")


def test_argument_patterns_for_other_tools() -> None:
    args = {"repo": "me/project", "title": "Bug"}
    assert match_arguments("repo=me/*", args)
    assert not match_arguments("repo=other/*", args)
    assert not match_arguments("owner=me", args)
    assert match_arguments('*"title":"Bug"*', args)
