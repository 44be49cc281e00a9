"""Rule patterns: ``TOOL`` or ``TOOL(ARGUMENT)``.

The tool part is a glob on the tool's name (``run_shell``, ``github.*``, ``*``). The
argument part is matched against the tool's main argument:

- a path (``read_file``, ``write_file``, ...): ``*`` stays within one directory, ``**``
  crosses directories (``write_file(src/**)``); relative patterns match paths inside the
  workspace, absolute (or ``~/``) patterns match where the file really is;
- a command (``run_shell``): ``*`` matches anything, judged for each part of a pipe or
  chain (``run_shell(git status*)``); ``git status:*`` means ``git status`` with or without
  more arguments;
- a URL (``fetch_url(https://docs.python.org/*)``): ``*`` matches anything;
- any other tool: ``key=glob`` on one argument (``github.create_issue(repo=me/*)``), or a
  glob on the arguments as compact JSON with sorted keys.

``\\*`` and ``\\?`` match a literal star or question mark.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_NAME_RE = re.compile(r"^[A-Za-z0-9_.*?-]{1,200}$")
_KEY_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*)=(.*)$", re.DOTALL)


class PatternError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RulePattern:
    tool: str
    argument: str | None = None

    def __str__(self) -> str:
        return self.tool if self.argument is None else f"{self.tool}({self.argument})"


def parse_rule(text: str) -> RulePattern:
    """``"run_shell(git status*)"`` -> ``RulePattern("run_shell", "git status*")``."""
    text = (text or "").strip()
    if not text:
        raise PatternError("the pattern is empty")
    argument = None
    if "(" in text:
        if not text.endswith(")"):
            raise PatternError(f"{text!r}: an argument pattern is written TOOL(PATTERN), with a closing ')'")
        text, argument = text[: text.index("(")], text[text.index("(") + 1:-1]
        if not argument.strip():
            raise PatternError("the argument pattern in ( ) is empty")
    if not _NAME_RE.match(text):
        raise PatternError(f"{text!r} is not a tool pattern (letters, digits, '_', '-', '.', '*', '?')")
    return RulePattern(text, argument)


def escape(text: str) -> str:
    """A pattern matching exactly ``text``."""
    return re.sub(r"([\\*?])", r"\\\1", text)


@lru_cache(maxsize=2048)
def _compile(pattern: str, mode: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    if mode == "text" and pattern.endswith(":*") and not pattern.endswith("\\:*"):
        return re.compile(_compile(pattern[:-2], "text").pattern[:-2] + r"(?: .*)?\Z", re.DOTALL)
    if mode == "path" and pattern.endswith("/"):
        pattern += "**"
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        if c == "*":
            if mode == "path" and pattern.startswith("**", i):
                if pattern.startswith("**/", i):
                    out.append(r"(?:.*/)?")
                    i += 3
                else:
                    out.append(r".*")
                    i += 2
                continue
            out.append(r"[^/]*" if mode == "path" else r".*")
        elif c == "?":
            out.append(r"[^/]" if mode == "path" else r".")
        elif mode == "path" and c == "/" and pattern[i:] == "/**":
            out.append(r"(?:/.*)?")
            i += 3
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def glob_match(pattern: str, text: str, *, mode: str = "text") -> bool:
    """``mode``: ``text`` (``*`` matches anything) or ``path`` (``*`` within a directory)."""
    return _compile(pattern, mode).match(text) is not None


def match_tool(pattern: str, name: str) -> bool:
    return glob_match(pattern, name)


def _expand_home(pattern: str) -> str:
    if pattern.startswith("~/") or pattern == "~":
        from pathlib import Path

        return str(Path(pattern).expanduser())
    return pattern


def match_path(pattern: str, relative: str | None, absolute: str) -> bool:
    """A path pattern against a path: ``relative`` (to the workspace) is None outside it."""
    pattern = _expand_home(pattern)
    if pattern.startswith("/"):
        return glob_match(pattern, absolute, mode="path")
    return relative is not None and glob_match(pattern, relative, mode="path")


def match_arguments(pattern: str, arguments: dict[str, Any]) -> bool:
    """``key=glob`` on one argument, else a glob on the compact JSON of all of them."""
    keyed = _KEY_RE.match(pattern)
    if keyed and keyed.group(1) in arguments:
        value = arguments[keyed.group(1)]
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
        return glob_match(keyed.group(2), text)
    if keyed:
        return False
    return glob_match(pattern, json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
