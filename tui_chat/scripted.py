"""Scripted mode: ``tui-chat -p PROMPT`` runs one turn through the engine and prints it.

Output goes to stdout (text as it streams, one JSON object, or one JSON event per
line); errors go to stderr in one line; the exit code says what happened (see
:class:`tui_chat.errors.ExitCode`). Tool calls that no rule allows are denied, never run.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from .errors import AppError, ExitCode

MAX_STDIN_BYTES = 20 * 1024 * 1024
EXIT_FOR_ERROR = {
    "auth": ExitCode.CONFIG,
    "config": ExitCode.CONFIG,
    "budget": ExitCode.STOPPED,
    "policy": ExitCode.STOPPED,
    "context": ExitCode.STOPPED,
    "internal": ExitCode.ERROR,
}


def read_prompt(prompt: str | None, stdin: IO[str] | None) -> str:
    parts = []
    if prompt and prompt != "-":
        parts.append(prompt)
    if stdin is not None:
        try:
            data = stdin.read(MAX_STDIN_BYTES + 1)
        except UnicodeDecodeError as exc:
            raise AppError(f"standard input is not valid UTF-8 text ({exc.reason} at byte {exc.start})",
                           ExitCode.USAGE) from exc
        if len(data) > MAX_STDIN_BYTES:
            raise AppError(f"standard input is larger than {MAX_STDIN_BYTES // (1024 * 1024)} MB", ExitCode.USAGE)
        if data.strip():
            parts.append(data.rstrip("\n"))
    text = "\n\n".join(parts)
    if "\x00" in text:
        raise AppError("the prompt contains a NUL byte; is that a binary file?", ExitCode.USAGE)
    if not text.strip():
        raise AppError("the prompt is empty: pass -p TEXT or pipe text on stdin", ExitCode.USAGE)
    return text


def _check_options(options: dict[str, Any]) -> None:
    temperature = options.get("temperature")
    if temperature is not None and not 0 <= temperature <= 2:
        raise AppError(f"--temperature must be between 0 and 2, got {temperature:g}", ExitCode.USAGE)
    max_tokens = options.get("max_tokens")
    if max_tokens is not None and not 1 <= max_tokens <= 1_000_000:
        raise AppError(f"--max-tokens must be between 1 and 1,000,000, got {max_tokens}", ExitCode.USAGE)
    if options.get("continue_") and options.get("resume"):
        raise AppError("use either --continue or --resume, not both", ExitCode.USAGE)
    max_cost = options.get("max_cost")
    if max_cost is not None and max_cost < 0:
        raise AppError("--max-cost must not be negative", ExitCode.USAGE)


def run_scripted(options: dict[str, Any], stdin: IO[str] | None) -> int:
    _check_options(options)
    prompt = read_prompt(options.get("prompt"), stdin)
    from .context import AppContext

    app = AppContext.open(options.get("db"))
    try:
        return _run(app, options, prompt)
    finally:
        app.close()


def _run(app: Any, options: dict[str, Any], prompt: str) -> int:
    from datetime import timedelta

    from storage import NotFound

    from .attachments import load_attachments
    from .engine.directory import ProviderDirectory
    from .engine.turn import ChatEngine, TurnRequest
    from .tools.scripted import scripted_tools

    storage, user_id = app.storage, app.user.id
    storage.messages.recover_interrupted(stale_after=timedelta(seconds=10))
    conversation_id = None
    if options.get("resume"):
        try:
            conversation_id = storage.conversations.get(user_id, options["resume"]).id
        except NotFound as exc:
            raise AppError(f"no conversation with id {options['resume']!r} (see `tui-chat list`)", ExitCode.USAGE) from exc
    elif options.get("continue_"):
        latest = storage.conversations.latest(user_id)
        if latest is None:
            raise AppError("there is no conversation to continue yet", ExitCode.USAGE)
        conversation_id = latest.id
    parts, prompt = load_attachments(storage, user_id, list(options.get("attach") or ()), prompt, app.paths)
    from .commands.tui import session_info

    run_session = storage.sessions.start(user_id, **session_info())
    settings = {k: options[k] for k in ("temperature", "max_tokens") if options.get(k) is not None}
    request = TurnRequest(
        prompt=prompt, conversation_id=conversation_id, provider=options.get("provider"), model=options.get("model"),
        system=options.get("system"), settings=settings, parts=parts, max_turns=options.get("max_turns") or 10,
        max_cost=Decimal(str(options["max_cost"])) if options.get("max_cost") is not None else None,
        source="cli", workspace=str(Path.cwd()), session_id=run_session.id, window_id=run_session.window_id,
    )
    directory = ProviderDirectory(storage, user_id)
    tools, approve = scripted_tools(storage, user_id, options)
    engine = ChatEngine(storage, user_id, directory, tools=tools, approve=approve, interactive=False)
    printer = Printer(options.get("output_format") or "text")
    try:
        return asyncio.run(_drive(engine, directory, request, printer))
    finally:
        storage.sessions.end(user_id, run_session.id)


async def _drive(engine: Any, directory: Any, request: Any, printer: "Printer") -> int:
    from .engine import events as ev

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    if task is not None:
        try:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        except (NotImplementedError, RuntimeError):  # not on the main thread / platform
            pass
    code = ExitCode.OK
    stream = engine.run(request)
    try:
        async for event in stream:
            printer.event(event)
            if isinstance(event, ev.TurnError):
                code = EXIT_FOR_ERROR.get(event.kind, ExitCode.PROVIDER)
            elif isinstance(event, ev.ToolDecided) and not event.approved:
                printer.note(f"tool call {event.name} denied: {event.reason}")
            elif isinstance(event, ev.TurnFinished):
                if event.stop_reason and code == ExitCode.OK:
                    code = ExitCode.STOPPED
                    printer.note(f"stopped: {_STOP_WORDS.get(event.stop_reason, event.stop_reason)}")
    except asyncio.CancelledError:
        printer.note("interrupted; the partial answer is saved")
        return ExitCode.INTERRUPTED
    finally:
        await stream.aclose()
        await directory.aclose()
        printer.close()
    return code


_STOP_WORDS = {
    "max_turns": "the turn limit (--max-turns) was reached",
    "max_cost": "the cost limit (--max-cost) was reached",
    "budget": "a budget cap was reached",
    "policy": "a policy stopped the run",
}


class Printer:
    """Writes engine events in the chosen output format."""

    def __init__(self, fmt: str, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self.format = fmt
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._ended_line = True
        self.summary: dict[str, Any] | None = None
        self._started: Any = None

    def event(self, event: Any) -> None:
        from .engine import events as ev

        if self.format == "stream-json":
            self.out.write(json.dumps(event.to_json(), ensure_ascii=False, default=str) + "\n")
            self.out.flush()
        if isinstance(event, ev.TurnStarted):
            self._started = event
        elif isinstance(event, ev.TextDelta) and self.format == "text":
            self.out.write(event.text)
            self.out.flush()
            self._ended_line = event.text.endswith("\n")
        elif isinstance(event, ev.TurnError):
            self.note(f"error: {event.message}")
        elif isinstance(event, ev.Retrying):
            self.note(f"retrying in {event.delay:.1f}s (attempt {event.attempt}): {event.reason}")
        elif isinstance(event, ev.TurnFinished) and self.format == "json":
            started = self._started
            self.summary = {
                "conversation_id": event.conversation_id, "message_id": event.message_id, "text": event.text,
                "provider": started.provider if started else None, "model": started.model if started else None,
                "usage": {"input_tokens": event.input_tokens, "output_tokens": event.output_tokens,
                          "cached_input_tokens": event.cached_input_tokens},
                "cost_usd": float(event.cost_usd) if event.cost_usd is not None else None,
                "tool_calls": event.tool_calls, "finish_reason": event.finish_reason, "status": event.status,
                "steps": event.steps, "stop_reason": event.stop_reason, "context": event.context,
            }

    def note(self, text: str) -> None:
        if self.format == "text" and not self._ended_line:
            self.out.write("\n")
            self.out.flush()
            self._ended_line = True
        self.err.write(f"tui-chat: {text}\n")
        self.err.flush()

    def close(self) -> None:
        if self.format == "json" and self.summary is not None:
            self.out.write(json.dumps(self.summary, ensure_ascii=False) + "\n")
        elif self.format == "text" and not self._ended_line:
            self.out.write("\n")
        self.out.flush()
