"""Tools in scripted mode: what the flags allow, and an approval function that never
asks anyone (anything that would need a person is denied: fail closed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine.tooling import ApproveFn, ToolRuntime, deny_all

if TYPE_CHECKING:
    from storage import Storage


def scripted_tools(storage: "Storage", user_id: str, options: dict[str, Any]) -> tuple[ToolRuntime | None, ApproveFn]:
    """No tools are offered to the model yet; every call the model makes is denied."""
    return None, deny_all
