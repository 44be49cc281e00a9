"""Subcommands of ``tui-chat``, each imported only when used."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from ..context import AppContext
from ..errors import AppError, ExitCode


@contextmanager
def app_context(ctx: click.Context) -> Iterator[AppContext]:
    """Open the app context for a subcommand; storage errors become one-line errors."""
    from storage import NotFound, StorageError, ValidationError

    root = ctx.find_root()
    app = AppContext.open((root.obj or {}).get("db"))
    try:
        yield app
    except NotFound as exc:
        raise AppError(str(exc), ExitCode.USAGE) from exc
    except ValidationError as exc:
        raise AppError(str(exc), ExitCode.USAGE) from exc
    except StorageError as exc:
        raise AppError(str(exc), ExitCode.ERROR) from exc
    finally:
        app.close()


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, default=str, indent=2))
