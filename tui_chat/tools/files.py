"""Built-in file tools: read_file, list_directory, search_files (read-only, confined to
the workspace) and write_file, edit_file (high risk; a unified diff is the preview)."""

from __future__ import annotations

import asyncio
import difflib
import fnmatch
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from ..engine.tooling import ToolOutput
from .base import Tool, ToolEnv, ToolError, output
from .workspace import confined, resolve

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", ".mypy_cache", ".tox"})
MAX_LISTING = 1000
MAX_SEARCH_FILE = 2_000_000
MAX_DIFF_CHARS = 200_000
MAX_WRITE_CHARS = 5_000_000

_PATH = {"type": "string", "minLength": 1, "maxLength": 4096}


def _is_binary(chunk: bytes) -> bool:
    return b"\x00" in chunk[:8192]


# --- read_file -------------------------------------------------------------------

async def read_file(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    return await asyncio.to_thread(_read_file, args, env)


def _read_file(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    target = confined(env.workspace, args["path"])
    if not target.path.exists():
        raise ToolError(f"{target.relative} does not exist")
    if target.path.is_dir():
        raise ToolError(f"{target.relative} is a directory; use list_directory")
    offset, limit = args.get("offset", 1), args.get("limit", 2000)
    lines: list[str] = []
    size = 0
    total = 0
    more = False
    with open(target.path, "rb") as handle:
        if _is_binary(handle.read(8192)):
            raise ToolError(f"{target.relative} is a binary file")
        handle.seek(0)
        for number, raw in enumerate(handle, start=1):
            total = number
            if number < offset:
                continue
            if len(lines) >= limit or size + len(raw) > env.read_size_limit:
                if not lines:  # one line longer than the whole limit: show its start
                    lines.append(raw[: env.read_size_limit].decode("utf-8", errors="replace") + "\n")
                more = True
                break
            lines.append(raw.decode("utf-8", errors="replace"))
            size += len(raw)
    content = "".join(lines)
    first, last = offset, offset + len(lines) - 1
    header = ""
    if more or offset > 1:
        header = (f"[{target.relative}: lines {first}-{last}"
                  f"{'; more follows, read on with offset=' + str(last + 1) if more else ''}]\n")
    if not lines and offset > 1:
        raise ToolError(f"{target.relative} has only {total} line(s); offset {offset} is past the end")
    data = {"path": target.relative, "offset": first, "lines": len(lines), "more": more, "content": content}
    return output(header + content, data=data, what="file")


# --- list_directory --------------------------------------------------------------

async def list_directory(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    return await asyncio.to_thread(_list_directory, args, env)


def _list_directory(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    target = confined(env.workspace, args.get("path") or ".")
    if not target.path.is_dir():
        raise ToolError(f"{target.relative} is not a directory")
    entries = []
    with os.scandir(target.path) as scan:
        for entry in scan:
            if not args.get("show_hidden", True) and entry.name.startswith("."):
                continue
            entries.append(entry)
    entries.sort(key=lambda e: (not e.is_dir(follow_symlinks=False), e.name))
    rows, data = [], []
    for entry in entries[:MAX_LISTING]:
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            kind, shown = "link", f"{entry.name} -> {os.readlink(entry.path)}"
        elif stat.S_ISDIR(info.st_mode):
            kind, shown = "dir", entry.name + "/"
        else:
            kind, shown = "file", f"{entry.name}  ({info.st_size:,} bytes)"
        rows.append(shown)
        data.append({"name": entry.name, "type": kind, "size": info.st_size})
    text = "\n".join(rows) or "(empty directory)"
    if len(entries) > MAX_LISTING:
        text += f"\n[... {len(entries) - MAX_LISTING:,} more entries not shown]"
    return output(f"{target.relative}:\n{text}", data={"path": target.relative, "entries": data,
                                                      "total": len(entries)}, what="listing")


# --- search_files ----------------------------------------------------------------

SEARCH_TIMEOUT = 30.0


async def search_files(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    try:
        return await asyncio.wait_for(asyncio.to_thread(_search_files, args, env), SEARCH_TIMEOUT)
    except asyncio.TimeoutError:
        raise ToolError(f"the search took longer than {SEARCH_TIMEOUT:g} s; use a simpler pattern or a "
                        "narrower path") from None


def _search_files(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    base = confined(env.workspace, args.get("path") or ".")
    flags = re.IGNORECASE if args.get("case_insensitive") else 0
    try:
        pattern = re.compile(args["pattern"] if args.get("regex", True) else re.escape(args["pattern"]), flags)
    except re.error as exc:
        raise ToolError(f"the pattern is not a valid regular expression: {exc}") from None
    name_glob = args.get("glob")
    limit = args.get("max_results", 200)
    matches: list[dict[str, Any]] = []
    files = 0
    root = env.workspace
    for path in _walk(base.path):
        if name_glob and not fnmatch.fnmatch(path.name, name_glob):
            continue
        real = Path(os.path.realpath(path))
        if not (real == root or root in real.parents):  # a link leading out of the workspace
            continue
        try:
            if real.stat().st_size > MAX_SEARCH_FILE:
                continue
            raw = real.read_bytes()
        except OSError:
            continue
        if _is_binary(raw):
            continue
        files += 1
        for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
            if pattern.search(line):
                matches.append({"path": path.relative_to(root).as_posix(), "line": number, "text": line[:500]})
                if len(matches) >= limit:
                    break
        if len(matches) >= limit:
            break
    rows = [f"{m['path']}:{m['line']}: {m['text']}" for m in matches]
    text = "\n".join(rows) or f"no matches in {files} file(s)"
    if len(matches) >= limit:
        text += f"\n[stopped at {limit} matches; narrow the search or raise max_results]"
    return output(text, data={"matches": matches, "files_searched": files}, what="search results")


def _walk(base: Path):
    if base.is_file():
        yield base
        return
    for directory, dirs, names in os.walk(base, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(names):
            yield Path(directory) / name


# --- write_file and edit_file ----------------------------------------------------

def _current(path: Path) -> str | None:
    if not path.exists():
        return None
    if path.is_dir():
        raise ToolError(f"{path} is a directory")
    raw = path.read_bytes()
    if _is_binary(raw):
        raise ToolError(f"{path} is a binary file; it cannot be edited as text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{path} is not UTF-8 text; it cannot be edited safely") from None


def unified_diff(name: str, before: str | None, after: str) -> str:
    old, new = (name, name) if name.startswith("/") else (f"a/{name}", f"b/{name}")
    diff = "".join(difflib.unified_diff(
        (before or "").splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile="/dev/null" if before is None else old, tofile=new, n=3,
    ))
    if diff and not diff.endswith("\n"):
        diff += "\n"
    if len(diff) > MAX_DIFF_CHARS:
        diff = diff[:MAX_DIFF_CHARS] + f"\n[... the diff is {len(diff):,} characters; the rest is not shown]\n"
    return diff or "(no change)\n"


def _apply_edit(content: str, old: str, new: str, name: str) -> str:
    if not old:
        raise ToolError("old_text is empty; give the exact text to replace")
    count = content.count(old)
    if count == 0:
        raise ToolError(f"old_text was not found in {name}; it must match the file exactly "
                        "(including whitespace and indentation)")
    if count > 1:
        raise ToolError(f"old_text occurs {count} times in {name}; include more surrounding text so it "
                        "matches exactly one place")
    return content.replace(old, new, 1)


def preview_write(args: dict[str, Any], env: ToolEnv) -> str:
    target = resolve(env.workspace, args["path"])
    before = _current(target.path)
    where = "" if target.inside else "  [OUTSIDE THE WORKSPACE]"
    return f"write {target.path}{where}\n" + unified_diff(target.relative, before, args["content"])


def preview_edit(args: dict[str, Any], env: ToolEnv) -> str:
    target = resolve(env.workspace, args["path"])
    before = _current(target.path)
    if before is None:
        raise ToolError(f"{target.relative} does not exist; use write_file to create it")
    after = _apply_edit(before, args["old_text"], args["new_text"], target.relative)
    where = "" if target.inside else "  [OUTSIDE THE WORKSPACE]"
    return f"edit {target.path}{where}\n" + unified_diff(target.relative, before, after)


async def write_file(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    return await asyncio.to_thread(_write_file, args, env)


def _write_file(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    target = resolve(env.workspace, args["path"])
    before = _current(target.path)
    _atomic_write(target.path, args["content"])
    diff = unified_diff(target.relative, before, args["content"])
    verb = "created" if before is None else "wrote"
    return output(f"{verb} {target.relative} ({len(args['content']):,} characters)",
                  data={"path": str(target.path), "created": before is None, "diff": diff})


async def edit_file(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    return await asyncio.to_thread(_edit_file, args, env)


def _edit_file(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    target = resolve(env.workspace, args["path"])
    before = _current(target.path)
    if before is None:
        raise ToolError(f"{target.relative} does not exist; use write_file to create it")
    after = _apply_edit(before, args["old_text"], args["new_text"], target.relative)
    _atomic_write(target.path, after)
    diff = unified_diff(target.relative, before, after)
    return output(f"edited {target.relative}:\n{diff}", data={"path": str(target.path), "diff": diff}, what="diff")


def _atomic_write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


# --- the tools -------------------------------------------------------------------

def file_tools() -> list[Tool]:
    return [
        Tool("read_file", "Read a text file in the workspace. Large files are read in parts: pass offset "
             "(first line, from 1) and limit (number of lines).",
             {"type": "object", "additionalProperties": False, "required": ["path"], "properties": {
                 "path": {**_PATH, "description": "Path relative to the workspace."},
                 "offset": {"type": "integer", "minimum": 1, "default": 1},
                 "limit": {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 2000}}},
             risk="read_only", kind="read", subject="path", run=read_file,
             preview=lambda a, env: f"read {a['path']} (lines {a['offset']}-{a['offset'] + a['limit'] - 1})"),
        Tool("list_directory", "List the entries of a directory in the workspace.",
             {"type": "object", "additionalProperties": False, "properties": {
                 "path": {**_PATH, "default": ".", "description": "Directory relative to the workspace."},
                 "show_hidden": {"type": "boolean", "default": True}}},
             risk="read_only", kind="read", subject="path", run=list_directory,
             preview=lambda a, env: f"list {a['path']}"),
        Tool("search_files", "Search the text files of the workspace for a regular expression; returns "
             "path:line: text for each matching line.",
             {"type": "object", "additionalProperties": False, "required": ["pattern"], "properties": {
                 "pattern": {"type": "string", "minLength": 1, "maxLength": 1000},
                 "path": {**_PATH, "default": ".", "description": "Directory or file to search."},
                 "glob": {"type": "string", "maxLength": 200, "description": "Only file names matching, e.g. *.py"},
                 "regex": {"type": "boolean", "default": True, "description": "false: pattern is plain text"},
                 "case_insensitive": {"type": "boolean", "default": False},
                 "max_results": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 200}}},
             risk="read_only", kind="read", subject="path", run=search_files,
             preview=lambda a, env: f"search {a['path']} for {a['pattern']!r}"
                                    + (f" in files named {a['glob']}" if a.get("glob") else "")),
        Tool("write_file", "Create or overwrite a text file with the given content.",
             {"type": "object", "additionalProperties": False, "required": ["path", "content"], "properties": {
                 "path": {**_PATH, "description": "Path relative to the workspace."},
                 "content": {"type": "string", "maxLength": MAX_WRITE_CHARS}}},
             risk="high", kind="write", subject="path", run=write_file, preview=preview_write),
        Tool("edit_file", "Replace one exact occurrence of old_text with new_text in a file. old_text must "
             "match the file exactly, once; include surrounding lines to make it unique.",
             {"type": "object", "additionalProperties": False, "required": ["path", "old_text", "new_text"],
              "properties": {
                  "path": {**_PATH, "description": "Path relative to the workspace."},
                  "old_text": {"type": "string", "minLength": 1, "maxLength": MAX_WRITE_CHARS},
                  "new_text": {"type": "string", "maxLength": MAX_WRITE_CHARS}}},
             risk="high", kind="write", subject="path", run=edit_file, preview=preview_edit),
    ]
