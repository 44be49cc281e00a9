"""The ``tui-chat`` command: the TUI, one-shot prompts, and management subcommands.

Kept thin and fast: subcommands live in ``tui_chat.commands`` and are imported only
when invoked, so ``tui-chat --version`` loads neither the database nor any SDK.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from . import __version__
from .errors import AppError, ExitCode

#: subcommand -> "module:attribute" under tui_chat.commands
SUBCOMMANDS: dict[str, str] = {
    "db": "db:db",
    "list": "conversations:list_conversations",
    "show": "conversations:show",
    "search": "conversations:search",
    "export": "transfer:export",
    "import": "transfer:import_",
    "models": "models:models",
    "keys": "keys:keys",
    "providers": "providers:providers",
    "memory": "memory:memory",
    "compact": "compact:compact",
    "stats": "stats:stats",
    "budget": "budget:budget",
    "share": "share:share",
    "tools": "tools:tools",
    "policy": "policy:policy",
    "mcp": "mcp:mcp",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        module = importlib.import_module(f"tui_chat.commands.{module_name}")
        return getattr(module, attribute)


OUTPUT_FORMATS = ("text", "json", "stream-json")
PERMISSION_MODES = ("default", "read-only", "accept-edits", "bypass")


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-p", "--prompt", help='Run one turn without the TUI. "-" or piped stdin adds to the prompt.')
@click.option("--provider", help="Provider name (openai, anthropic, ollama, or one you added).")
@click.option("--model", help="Model name.")
@click.option("--system", help="System prompt for a new conversation.")
@click.option("--temperature", type=float, help="Sampling temperature, 0 to 2.")
@click.option("--max-tokens", type=int, help="Maximum output tokens.")
@click.option("-c", "--continue", "continue_", is_flag=True, help="Continue the latest conversation.")
@click.option("-r", "--resume", metavar="ID", help="Continue the conversation with this id.")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="text", show_default=True)
@click.option("--allow-tool", multiple=True, metavar="PATTERN", help="Allow tool calls matching PATTERN.")
@click.option("--deny-tool", multiple=True, metavar="PATTERN", help="Deny tool calls matching PATTERN.")
@click.option("--permission-mode", type=click.Choice(PERMISSION_MODES), default="default", show_default=True,
              help="default: rules decide and anything that would ask is denied; bypass is DANGEROUS: "
                   "every tool call runs without a check.")
@click.option("--max-turns", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Stop after this many model calls in one run.")
@click.option("--max-cost", type=float, metavar="USD", help="Stop when this run has cost more than USD.")
@click.option("--attach", multiple=True, type=click.Path(dir_okay=False), metavar="FILE", help="Attach a file.")
@click.option("--db", metavar="URL", help="Database URL or SQLite file (default: TUI_CHAT_DB or the user data dir).")
@click.version_option(__version__, "-V", "--version", prog_name="tui-chat")
@click.pass_context
def cli(ctx: click.Context, **options: Any) -> None:
    """A terminal chat for large language models.

    \b
    Exit codes: 0 success, 1 unexpected error, 2 usage error,
    3 authentication or configuration error, 4 provider or network error,
    5 stopped by policy, turn or budget limit, 130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = options["db"]
    if ctx.invoked_subcommand is not None:
        return
    stdin_piped = not sys.stdin.isatty() if sys.stdin else False
    if options["prompt"] is not None or stdin_piped:
        from .scripted import run_scripted

        ctx.exit(run_scripted(options, stdin=sys.stdin if stdin_piped or options["prompt"] == "-" else None))
    from .commands.tui import run_tui

    ctx.exit(run_tui(options))


def main(argv: list[str] | None = None) -> None:
    """Entry point: turns AppError into one line on stderr and its exit code.

    Run as the ``tui-chat`` command (no ``argv``), the process ends with ``os._exit``
    once output is flushed and the database closed: tearing down the interpreter's
    modules took a third of a second of every scripted run and does nothing useful.
    """
    if argv is None:
        try:
            _run(None)
        except SystemExit as exc:
            _fast_exit(exc.code)
        _fast_exit(0)
    _run(argv)


def _fast_exit(code: object) -> None:
    import logging
    import os

    status = code if isinstance(code, int) else (0 if code is None else 1)
    if not isinstance(code, int) and code is not None:
        print(code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more to say
            pass
    logging.shutdown()
    os._exit(status)


def _run(argv: list[str] | None) -> None:
    try:
        # With standalone_mode off, click returns ctx.exit()'s code instead of raising.
        code = cli.main(args=argv, prog_name="tui-chat", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else ExitCode.OK)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("tui-chat: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        # One line, like every other error; --help has the details.
        hint = " (see tui-chat --help)" if isinstance(exc, click.UsageError) else ""
        click.echo(f"tui-chat: {' '.join(exc.format_message().split())}{hint}", err=True)
        sys.exit(ExitCode.USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except AppError as exc:
        click.echo(f"tui-chat: {exc.message}", err=True)
        sys.exit(exc.code)
    except KeyboardInterrupt:
        click.echo("tui-chat: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.exit(ExitCode.OK)
    except Exception as exc:  # a bug: one line for the user, the traceback in the log
        from .logs import log_exception, redact

        where = log_exception(exc)
        message = " ".join(redact(str(exc)).split())
        click.echo(f"tui-chat: unexpected error: {type(exc).__name__}: {message} (details in {where})", err=True)
        sys.exit(ExitCode.ERROR)


if __name__ == "__main__":
    main()
