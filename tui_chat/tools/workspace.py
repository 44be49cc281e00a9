"""Paths relative to the workspace, and whether they stay inside it.

Every path a tool touches is resolved to its real location first (symlinks followed,
``..`` collapsed), then compared with the workspace's real location: a symlink inside
the workspace that points outside it is outside, and so is ``src/../../etc``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .base import ToolError


class OutsideWorkspace(ToolError):
    pass


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    path: Path  # the real, absolute path (its final part may not exist yet)
    inside: bool
    relative: str  # relative to the workspace when inside, else the absolute path

    @property
    def display(self) -> str:
        return self.relative


def workspace_root(workspace: str | os.PathLike[str] | None) -> Path:
    return Path(workspace or os.getcwd()).expanduser().resolve()


def resolve(root: Path, raw: str) -> ResolvedPath:
    """Where ``raw`` (relative to ``root``, absolute, or ``~``) really points."""
    if not isinstance(raw, str) or not raw.strip():
        raise ToolError("the path is empty")
    if "\x00" in raw:
        raise ToolError("the path contains a NUL character")
    candidate = Path(raw).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    real = Path(os.path.realpath(candidate))  # follows every symlink that exists, collapses ..
    inside = real == root or root in real.parents
    relative = real.relative_to(root).as_posix() if inside else real.as_posix()
    return ResolvedPath(real, inside, relative or ".")


def confined(root: Path, raw: str) -> ResolvedPath:
    """Like :func:`resolve`, refusing anything that ends up outside the workspace."""
    resolved = resolve(root, raw)
    if not resolved.inside:
        via = " (through a symbolic link)" if _through_link(root, raw) else ""
        raise OutsideWorkspace(f"{raw!r} is outside the workspace {root}{via}; only files in the "
                               "workspace can be used")
    return resolved


def _through_link(root: Path, raw: str) -> bool:
    lexical = Path(os.path.normpath(root / Path(raw).expanduser()))
    return lexical == root or root in lexical.parents


def is_inside(root: Path, raw: str) -> bool:
    try:
        return resolve(root, raw).inside
    except ToolError:
        return False
