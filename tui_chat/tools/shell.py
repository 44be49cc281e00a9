"""run_shell: one command line in the workspace, with a timeout, an output cap and no
standard input. It runs in its own process group, which is killed as a whole when the
time is up, the output grows past the cap, or the turn is cancelled.

The command gets the user's environment minus anything that looks like a secret
(API keys, tokens, passwords), so a command such as ``env`` cannot hand them to the
model; pagers and credential prompts are switched off.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import time
from typing import Any

from ..engine.tooling import ToolOutput
from .base import Tool, ToolEnv, output

MAX_TIMEOUT = 3600
_QUIET_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "TERM": "dumb",
              "SSH_ASKPASS": "", "DEBIAN_FRONTEND": "noninteractive"}


_URL_CREDENTIALS = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def shell_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The user's environment without anything that looks like a secret: by its name
    (``*_TOKEN``, ``*_API_KEY``, ``*PASSWORD*``), its value (``sk-...``, ``ghp_...``,
    ``Bearer ...``) or a URL with a password in it."""
    from storage.services.providers import find_secrets, looks_secret_name

    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items()
           if not looks_secret_name(k) and not k.endswith("_KEY") and not find_secrets({"v": v})
           and not _URL_CREDENTIALS.search(v)}
    env.update(_QUIET_ENV)
    return env


def _shell() -> list[str]:
    bash = shutil.which("bash")
    return [bash, "-c"] if bash else ["/bin/sh", "-c"]


def _kill_group(process: asyncio.subprocess.Process, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def _stop(process: asyncio.subprocess.Process) -> None:
    _kill_group(process, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 2.0)
    except asyncio.TimeoutError:
        _kill_group(process, signal.SIGKILL)
        await process.wait()
    else:
        _kill_group(process, signal.SIGKILL)  # anything left in the group


async def _drain(process: asyncio.subprocess.Process) -> None:
    """Read the pipe to its end so its transport closes (a child that escaped the group
    and still holds it only costs the wait)."""
    if process.stdout is None:
        return
    deadline = time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline and await asyncio.wait_for(process.stdout.read(65536), 1.0):
            pass
    except (asyncio.TimeoutError, OSError, ValueError):
        pass


async def run_shell(args: dict[str, Any], env: ToolEnv) -> ToolOutput:
    command: str = args["command"]
    timeout = float(args.get("timeout") or env.shell_timeout)
    cap = env.shell_output_limit
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *_shell(), command, cwd=env.workspace, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True, env=shell_environment(),
    )
    chunks: list[bytes] = []
    size = 0
    stopped: str | None = None

    async def pump() -> None:
        nonlocal size, stopped
        assert process.stdout is not None
        while True:
            chunk = await process.stdout.read(65536)
            if not chunk:
                return
            room = cap - size
            if room > 0:
                chunks.append(chunk[:room])
            size += len(chunk)
            if size > cap:
                stopped = "output"
                return

    try:
        try:
            await asyncio.wait_for(pump(), timeout)
        except asyncio.TimeoutError:
            stopped = "timeout"
        if stopped:
            await _stop(process)
        else:
            try:
                await asyncio.wait_for(process.wait(), max(0.1, timeout - (time.monotonic() - started)))
            except asyncio.TimeoutError:
                stopped = "timeout"
                await _stop(process)
            else:
                _kill_group(process, signal.SIGKILL)  # background children left holding nothing
    except BaseException:
        await asyncio.shield(_stop(process))
        raise
    finally:
        await _drain(process)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    elapsed = int((time.monotonic() - started) * 1000)
    code = process.returncode
    if stopped == "timeout":
        status = f"the command was stopped after {timeout:g} s (timeout)"
    elif stopped == "output":
        status = f"the command was stopped: its output passed {cap:,} bytes"
    else:
        status = f"exit code {code}"
    data = {"command": command, "exit_code": code, "output": text, "timed_out": stopped == "timeout",
            "output_capped": stopped == "output", "duration_ms": elapsed}
    body = text if text else "(no output)\n"
    return output(f"{status}\n{body}", data=data, is_error=stopped is not None)


def shell_tool() -> Tool:
    return Tool(
        "run_shell",
        "Run a shell command line (bash) in the workspace directory. No standard input; long-running "
        "commands are stopped at the timeout. Returns the exit code and the combined stdout/stderr.",
        {"type": "object", "additionalProperties": False, "required": ["command"], "properties": {
            "command": {"type": "string", "minLength": 1, "maxLength": 100_000},
            "timeout": {"type": "number", "minimum": 1, "maximum": MAX_TIMEOUT,
                        "description": "Seconds before the command is stopped (default 120)."}}},
        risk="high", kind="shell", subject="command", run=run_shell,
        preview=lambda args, env: f"$ {args['command']}\n(in {env.workspace})",
    )
