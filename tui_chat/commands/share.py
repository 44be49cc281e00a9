"""``tui-chat share ID``, ``share list`` and ``share revoke SHARE_ID``.

Sharing creates a chat_shares row with an unguessable token and writes a share bundle:
the conversation's JSON export (secrets redacted) plus the token, permission and expiry.
Whoever imports the bundle (``tui-chat import BUNDLE``) gets a read-only (or writable)
shared copy. On a shared database, ``--with IDENTITY`` also lets that user read the
conversation in place (``tui-chat export ID``) for as long as the share is usable;
revoking stops that at once.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import click

from . import app_context, print_json

DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_expiry(value: str) -> timedelta | None:
    """``30m``, ``12h``, ``7d``, ``2w``, or ``never``."""
    if value.strip().lower() == "never":
        return None
    match = DURATION.match(value)
    if not match or int(match.group(1)) == 0:
        raise click.BadParameter("use a length of time like 30m, 12h, 7d or 2w, or 'never'", param_hint="--expires")
    return timedelta(**{UNITS[match.group(2).lower()]: int(match.group(1))})


class ShareGroup(click.Group):
    """``share ID`` creates a share; ``share list`` and ``share revoke`` manage them."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "ID [OPTIONS] | list | revoke SHARE_ID")


@click.group(cls=ShareGroup)
def share() -> None:
    """Share a conversation with a token, or manage your shares.

    \b
    tui-chat share ID [--expires 7d] [--permission read|write] [--with USER] [-o FILE]
    tui-chat share list [--with-me]
    tui-chat share revoke SHARE_ID

    The bundle (the conversation's export plus the token) is imported with
    tui-chat import BUNDLE. Run tui-chat share create --help for every option.
    """


@share.command("create")
@click.argument("conversation_id")
@click.option("--expires", default="7d", show_default=True, help="How long the share works: 30m, 12h, 7d, 2w or never.")
@click.option("--permission", type=click.Choice(["read", "write", "share"]), default="read", show_default=True)
@click.option("--with", "with_identity", metavar="USER", help="Share with one user (their identity or email), "
              "not with anyone holding the bundle.")
@click.option("--max-uses", type=click.IntRange(1, 1_000_000), help="How many times the token may be used.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the bundle to this file (default: stdout).")
@click.option("--json", "as_json", is_flag=True, help="With -o: print the share as JSON.")
@click.pass_context
def create(ctx: click.Context, conversation_id: str, expires: str, permission: str, with_identity: str | None,
           max_uses: int | None, output: str | None, as_json: bool) -> None:
    """Share a conversation and write its share bundle."""
    from ..transfer import export_json, find_user
    from .transfer import write_private

    expires_in = parse_expiry(expires)
    with app_context(ctx) as app:
        export = export_json(app.storage, app.user.id, conversation_id)  # checks it is there to share
        recipient = None
        if with_identity:
            recipient = find_user(app.storage, with_identity)
            if recipient is None:
                email = with_identity if "@" in with_identity else None
                recipient = app.storage.users.ensure(with_identity, email=email).id
                click.echo(f"added user {with_identity} to this database", err=True)
        record = app.storage.shares.create(
            app.user.id, conversation_id, permission=permission, expires_in=expires_in,
            shared_with_user_id=recipient, is_public=recipient is None, max_access_count=max_uses,
        )
        owner = app.user.identity
    bundle = {
        "format": "tui-chat.share",
        "version": 1,
        "share": {
            "id": record.id, "token": record.share_token, "permission": record.permission,
            "expires_at": record.expires_at.isoformat() if record.expires_at else None,
            "max_uses": record.max_access_count, "shared_with": with_identity, "public": record.is_public,
            "owner": owner, "created_at": record.created_at.isoformat(),
        },
        "conversation": export,
    }
    text = json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"
    summary = _describe(record)
    if output is None:
        click.echo(text, nl=False)
        click.echo(f"shared: {summary}", err=True)
        return
    write_private(output, text)
    if as_json:
        print_json({"share_id": record.id, "token": record.share_token, "bundle": output,
                    "permission": record.permission, "expires_at": record.expires_at})
    else:
        click.echo(record.id)
        click.echo(f"shared: {summary}; bundle written to {output}", err=True)


def _describe(record: Any) -> str:
    who = "anyone with the bundle" if record.is_public else "one user"
    until = f"until {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else "with no expiry"
    uses = f", {record.access_count}/{record.max_access_count} uses" if record.max_access_count else ""
    return f"{record.permission} access for {who}, {until}{uses}"


@share.command("list")
@click.option("--conversation", "conversation_id", help="Only shares of this conversation.")
@click.option("--with-me", is_flag=True, help="Conversations other users shared with you.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_shares(ctx: click.Context, conversation_id: str | None, with_me: bool, as_json: bool) -> None:
    """Your shares (newest first) and their state: active, revoked, expired or used_up."""
    import dataclasses

    with app_context(ctx) as app:
        if with_me:
            records = app.storage.shares.shared_with_me(app.user.id)
        else:
            records = app.storage.shares.list(app.user.id, conversation_id)
    if as_json:
        rows = [dataclasses.asdict(r) for r in records]
        for row in rows:
            row.pop("share_token", None)  # the token lives in the bundle, not on screens
        print_json(rows)
        return
    if not records:
        click.echo("no conversations shared with you" if with_me else "no shares", err=True)
        return
    for r in records:
        expires = f"{r.expires_at:%Y-%m-%d %H:%M}" if r.expires_at else "never"
        uses = f"{r.access_count}/{r.max_access_count}" if r.max_access_count else str(r.access_count)
        target = "public" if r.is_public else "user"
        click.echo(f"{r.id}  {r.state:<8} {r.permission:<5} {target:<6} expires {expires:<16} uses {uses:<7} "
                   f"{r.conversation_id}  {r.conversation_title or '(untitled)'}")


@share.command("revoke")
@click.argument("share_id")
@click.pass_context
def revoke(ctx: click.Context, share_id: str) -> None:
    """Stop a share at once."""
    with app_context(ctx) as app:
        record = app.storage.shares.revoke(app.user.id, share_id)
    click.echo(f"revoked share {record.id} of {record.conversation_title or record.conversation_id}", err=True)
