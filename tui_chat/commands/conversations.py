"""``tui-chat list``, ``show ID`` and ``search QUERY``."""

from __future__ import annotations

import dataclasses

import click

from . import app_context, print_json


def _when(value) -> str:  # type: ignore[no-untyped-def]
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


@click.command("list")
@click.option("--archived", is_flag=True, help="List archived conversations.")
@click.option("--deleted", is_flag=True, help="List deleted (restorable) conversations.")
@click.option("--tag", help="Only conversations with this tag.")
@click.option("-n", "--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def list_conversations(ctx: click.Context, archived: bool, deleted: bool, tag: str | None, limit: int, as_json: bool) -> None:
    """List conversations, pinned first, then the most recent."""
    status = "deleted" if deleted else "archived" if archived else "active"
    with app_context(ctx) as app:
        page = app.storage.conversations.list(app.user.id, status=status, limit=limit, tag=tag)
    if as_json:
        print_json([dataclasses.asdict(c) for c in page.items])
        return
    for conv in page.items:
        pin = "*" if conv.is_pinned else " "
        title = conv.title or "(untitled)"
        click.echo(f"{conv.id}  {pin} {_when(conv.last_message_at)}  {conv.message_count:>5} msgs  {title}")


@click.command()
@click.argument("conversation_id")
@click.option("--all-branches", is_flag=True, help="Every message of the tree, not just the current branch.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def show(ctx: click.Context, conversation_id: str, all_branches: bool, as_json: bool) -> None:
    """Print a conversation (its current branch)."""
    from ..transfer import readable

    with app_context(ctx) as app:
        found = readable(app.storage, app.user.id, conversation_id)  # own, or shared with this user
        conv, owner = found.conversation, found.owner_id
        if all_branches:
            messages = []
            before = None
            while True:
                page = app.storage.messages.page(owner, conversation_id, before=before, limit=500)
                messages[:0] = page.items
                if not page.has_more:
                    break
                before = page.items[0].id
        else:
            messages = app.storage.messages.branch(owner, conversation_id).items
    if as_json:
        print_json({"conversation": dataclasses.asdict(conv), "messages": [dataclasses.asdict(m) for m in messages]})
        return
    click.echo(click.style(conv.title or "(untitled)", bold=True) + f"  [{conv.provider or '-'}/{conv.model or '-'}]")
    for message in messages:
        status = "" if message.status == "done" else f" ({message.status})"
        click.echo(click.style(f"\n{message.role}{status}:", bold=True))
        click.echo(message.content)


@click.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--conversation", "conversation_id", help="Only this conversation.")
@click.option("--role", type=click.Choice(["user", "assistant", "system", "tool"]))
@click.option("--model", help="Only messages written by this model.")
@click.option("-n", "--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def search(ctx: click.Context, query: tuple[str, ...], conversation_id: str | None, role: str | None,
           model: str | None, limit: int, as_json: bool) -> None:
    """Full-text search across all conversations."""
    from storage.services.search import HIGHLIGHT_END, HIGHLIGHT_START

    with app_context(ctx) as app:
        results = app.storage.search.search(app.user.id, " ".join(query), conversation_id=conversation_id,
                                            role=role, model=model, limit=limit)
    if as_json:
        print_json(dataclasses.asdict(results))
        return
    for title in results.titles:
        click.echo(f"{title.conversation_id}  title: {title.title}")
    for hit in results.messages:
        snippet = hit.snippet.replace("\n", " ")
        snippet = snippet.replace(HIGHLIGHT_START, "\x1b[1m" if click.get_text_stream("stdout").isatty() else "")
        snippet = snippet.replace(HIGHLIGHT_END, "\x1b[0m" if click.get_text_stream("stdout").isatty() else "")
        click.echo(f"{hit.conversation_id}  {hit.message_id}  {hit.role:<9} {snippet}")
    if not results.titles and not results.messages:
        click.echo("no matches", err=True)
