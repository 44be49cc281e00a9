"""Tools in scripted mode (``tui-chat -p``): fail closed.

The run gets the real tools under the same policy as the TUI, with the flags as extra
rules for this run only (never stored): ``--deny-tool PATTERN``, ``--allow-tool PATTERN``
and ``--permission-mode``. Nobody can answer an approval prompt, so anything the policy
would ask about is denied, reported to the model and counted; after
:data:`~.runtime.DEFAULT_MAX_DENIALS` denials, or when the model asks again for a call
that was denied, the runtime's ``stop_reason`` is set (a policy stop).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

from ..engine.tooling import ApproveFn, ToolRuntime, deny_all
from ..errors import AppError, ExitCode

if TYPE_CHECKING:
    from storage import Storage

BYPASS_WARNING = ("tui-chat: WARNING: --permission-mode bypass is DANGEROUS: every tool call the model makes "
                  "runs without a check (only deny rules still apply)")


def check_patterns(patterns: tuple[str, ...], flag: str) -> None:
    from .patterns import PatternError, parse_rule

    for pattern in patterns:
        try:
            parse_rule(pattern)
        except PatternError as exc:
            raise AppError(f"{flag} {pattern!r}: {exc}", ExitCode.USAGE) from None


def scripted_tools(storage: "Storage", user_id: str, options: dict[str, Any]) -> tuple[ToolRuntime | None, ApproveFn]:
    from .runtime import build_runtime

    allow = tuple(options.get("allow_tool") or ())
    deny = tuple(options.get("deny_tool") or ())
    mode = options.get("permission_mode") or "default"
    check_patterns(allow, "--allow-tool")
    check_patterns(deny, "--deny-tool")
    if mode == "bypass":
        print(BYPASS_WARNING, file=sys.stderr, flush=True)
    runtime = build_runtime(storage, user_id, mode=mode, allow=allow, deny=deny, interactive=False)
    if runtime.mcp is not None and runtime.mcp.unlisted():
        async def list_new_servers() -> dict[str, str]:
            try:
                return await runtime.prepare()
            finally:
                await runtime.aclose()

        for name, problem in asyncio.run(list_new_servers()).items():
            print(f"tui-chat: MCP server {name} is unavailable: {problem}", file=sys.stderr, flush=True)
    return runtime, deny_all
