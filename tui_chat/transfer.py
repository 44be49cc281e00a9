"""Export a conversation (Markdown, JSON or a self-contained HTML page) and import our
JSON export back.

The JSON export is the full record: the conversation, every message of the tree with
its parts and parent, and the tool executions. Markdown and HTML show the current branch,
or with ``tree=True`` every branch (each fork labelled, the current branch marked).
Anything shaped like a secret (API keys, Authorization headers) is redacted on the way
out. Importing keeps titles, times, models and branches; importing the same export twice
does not duplicate it.

Conversations shared with the user through a share row (a shared PostgreSQL database)
can be read too: :func:`readable` finds them through ``shares.can_access``.
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .importers.base import ImportFormatError
from .logs import redact

if TYPE_CHECKING:
    from storage import Storage
    from storage.services.conversations import ConversationRecord

FORMAT = "tui-chat.conversation"
FORMAT_VERSION = 1
ROLE_NAMES = {"user": "You", "assistant": "Assistant", "tool": "Tool", "system": "System"}

__all__ = ["FORMAT", "FORMAT_VERSION", "ImportFormatError", "Readable", "export_html", "export_json",
           "export_markdown", "import_json", "readable"]


# --- which conversations a user may read -------------------------------------------

@dataclass(frozen=True)
class Readable:
    conversation: "ConversationRecord"
    #: Whose conversation it is: read its messages as this user.
    owner_id: str
    #: owner, or the permission a share grants: read | write | share.
    permission: str


def readable(storage: "Storage", user_id: str, conversation_id: str) -> Readable:
    """The user's own conversation, or one shared with them (raises NotFound otherwise,
    including the moment a share is revoked or expires)."""
    from storage import NotFound

    try:
        return Readable(storage.conversations.get(user_id, conversation_id), user_id, "owner")
    except NotFound:
        permission = storage.shares.can_access(user_id, conversation_id)
        if permission in (None, "owner"):
            raise
    owners = [s.owner_id for s in storage.shares.shared_with_me(user_id) if s.conversation_id == conversation_id]
    if not owners:  # revoked between the two reads
        raise NotFound("conversation", conversation_id)
    return Readable(storage.conversations.get(owners[0], conversation_id), owners[0], permission)


def find_user(storage: "Storage", identity: str) -> str | None:
    """The id of the user with this identity, without creating one."""
    from sqlalchemy import select

    from storage.models import User

    with storage.db.read() as session:
        return session.scalar(select(User.id).where(User.identity == identity))


def user_identity(storage: "Storage", user_id: str) -> str:
    return storage.users.get(user_id).identity


def share_known_here(storage: "Storage", share_id: str, conversation_id: str | None) -> bool:
    """Whether a share (or the conversation it shared) was made in this database."""
    from sqlalchemy import select

    from storage.models import ChatShare, Conversation

    with storage.db.read() as session:
        if session.scalar(select(ChatShare.id).where(ChatShare.id == share_id)) is not None:
            return True
        return bool(conversation_id) and session.scalar(
            select(Conversation.id).where(Conversation.id == conversation_id)) is not None


# --- reading ------------------------------------------------------------------------

def _all_messages(storage: "Storage", user_id: str, conversation_id: str) -> list[Any]:
    messages: list[Any] = []
    before = None
    while True:
        page = storage.messages.page(user_id, conversation_id, before=before, limit=500)
        messages[:0] = page.items
        if not page.has_more:
            return messages
        before = page.items[0].id


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def export_json(storage: "Storage", user_id: str, conversation_id: str) -> dict[str, Any]:
    found = readable(storage, user_id, conversation_id)
    owner = found.owner_id
    messages = _all_messages(storage, owner, conversation_id)
    tools: list[Any] = []
    while True:
        page = storage.tools.list(owner, conversation_id=conversation_id, limit=1000,
                                  before_id=tools[-1].id if tools else None)
        tools += page
        if len(page) < 1000:
            break
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "conversation": dataclasses.asdict(found.conversation),
        "messages": [dataclasses.asdict(m) for m in messages],
        "tool_executions": [dataclasses.asdict(t) for t in tools],
    }
    return _clean(json.loads(json.dumps(payload, default=str)))


def _thread(storage: "Storage", user_id: str, conversation_id: str,
            tree: bool) -> tuple["ConversationRecord", list[tuple[Any, ...]]]:
    """The conversation and what to show: ("message", depth, record) events, and for a
    tree ("branch", depth, index, count, current) / ("end", depth) around each branch."""
    found = readable(storage, user_id, conversation_id)
    branch = storage.messages.branch(found.owner_id, conversation_id).items
    if not tree:
        return found.conversation, [("message", 0, m) for m in branch]
    return found.conversation, list(_tree_events(_all_messages(storage, found.owner_id, conversation_id),
                                                  {m.id for m in branch}))


def _tree_events(messages: list[Any], current: set[str]) -> Iterator[tuple[Any, ...]]:
    by_id = {m.id: m for m in messages}
    children: dict[str | None, list[Any]] = {}
    for message in messages:  # time order, so siblings are oldest first
        children.setdefault(message.parent_id if message.parent_id in by_id else None, []).append(message)

    def walk(message: Any, depth: int) -> Iterator[tuple[Any, ...]]:
        while True:  # a chain without forks stays flat, however long
            yield ("message", depth, message)
            kids = children.get(message.id, [])
            if len(kids) != 1:
                yield from fork(kids, depth)
                return
            message = kids[0]

    def fork(kids: list[Any], depth: int) -> Iterator[tuple[Any, ...]]:
        if len(kids) == 1:
            yield from walk(kids[0], depth)
            return
        for index, kid in enumerate(kids, start=1):
            yield ("branch", depth, index, len(kids), kid.id in current)
            yield from walk(kid, depth + 1)
            yield ("end", depth)

    yield from fork(children.get(None, []), 0)


# --- Markdown -----------------------------------------------------------------------

def export_markdown(storage: "Storage", user_id: str, conversation_id: str, *, tree: bool = False) -> str:
    conversation, events = _thread(storage, user_id, conversation_id, tree)
    lines = [f"# {conversation.title or 'Untitled conversation'}", ""]
    lines.append(f"*{conversation.provider or '-'} / {conversation.model or '-'} · "
                 f"{conversation.created_at:%Y-%m-%d %H:%M} UTC*")
    if conversation.system_prompt:
        lines += ["", "> **System:** " + conversation.system_prompt.replace("\n", "\n> ")]
    for event in events:
        quote = "> " * event[1]
        if event[0] == "branch":
            _, _, index, count, current = event
            block = ["", f"**⎇ Branch {index} of {count}{' (current)' if current else ''}**"]
        elif event[0] == "message":
            message = event[2]
            status = "" if message.status == "done" else f" *({message.status})*"
            block = ["", f"## {ROLE_NAMES[message.role]}{status}", ""]
            for part in message.parts or []:
                if part.get("type") == "tool_call":
                    block += [f"**Tool call** `{part.get('name')}`", "```json", str(part.get("arguments")), "```", ""]
            block += message.content.split("\n")
        else:
            continue
        lines += [(quote + line).rstrip() if quote else line for line in block]
    return redact("\n".join(lines).rstrip() + "\n")


# --- HTML ---------------------------------------------------------------------------

CSS = """
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #656d76; --line: #d0d7de;
        --user: #f6f8fa; --code: #f6f8fa; --accent: #0969da; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --line: #30363d; --user: #161b22; --code: #161b22;
          --accent: #4493f8; } }
body { margin: 0; background: var(--bg); color: var(--fg);
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 2rem 1rem 4rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
.meta, .who time, .who .model, .branch-label { color: var(--muted); font-size: .85rem; }
.system { border-left: 3px solid var(--line); padding: .25rem 1rem; color: var(--muted); white-space: pre-wrap; }
article { border-top: 1px solid var(--line); padding: .75rem 0; }
article.user .body { background: var(--user); border-radius: 8px; padding: .1rem 1rem; }
.who { font-weight: 600; margin-bottom: .25rem; }
.who .model, .who time { font-weight: normal; margin-left: .5rem; }
.status { color: #cf222e; font-weight: normal; margin-left: .5rem; font-size: .85rem; }
pre { background: var(--code); border: 1px solid var(--line); border-radius: 6px; padding: .75rem;
      overflow-x: auto; white-space: pre; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.tool-output { white-space: pre-wrap; }
table { border-collapse: collapse; } th, td { border: 1px solid var(--line); padding: .25rem .5rem; }
details { margin: .5rem 0; } summary { cursor: pointer; color: var(--muted); }
a { color: var(--accent); }
.branch { border-left: 3px solid var(--line); padding-left: 1rem; margin: .75rem 0; }
.branch.current { border-left-color: var(--accent); }
.branch-label { font-weight: 600; margin: .25rem 0; }
""".strip()


def _markdown() -> Any:
    from markdown_it import MarkdownIt

    # Raw HTML in a message is shown as text, and images are not fetched: the page loads nothing.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).disable("image")


def _html_message(message: Any, md: Any) -> str:
    esc = html.escape
    who = [f'<div class="who">{ROLE_NAMES[message.role]}']
    if message.role == "assistant" and message.model:
        who.append(f'<span class="model">{esc(redact(message.model))}</span>')
    who.append(f'<time datetime="{message.created_at.isoformat()}">{message.created_at:%Y-%m-%d %H:%M} UTC</time>')
    if message.status != "done":
        who.append(f'<span class="status">{esc(message.status)}</span>')
    out = [f'<article class="message {message.role}" id="m-{esc(message.id)}">', " ".join(who) + "</div>"]
    for part in message.parts or []:
        if part.get("type") == "reasoning" and part.get("text"):
            out.append(f'<details class="reasoning"><summary>Reasoning</summary>'
                       f'{md.render(redact(str(part["text"])))}</details>')
    if message.role == "tool":
        out.append(f'<pre class="tool-output"><code>{esc(redact(message.content))}</code></pre>')
    elif message.content:
        out.append(f'<div class="body">{md.render(redact(message.content))}</div>')
    for part in message.parts or []:
        if part.get("type") == "tool_call":
            arguments = part.get("arguments")
            if not isinstance(arguments, str):
                arguments = json.dumps(arguments, ensure_ascii=False, indent=2)
            out.append(f'<details class="tool-call"><summary>Tool call <code>{esc(str(part.get("name")))}</code>'
                       f'</summary><pre><code class="language-json">{esc(redact(arguments))}</code></pre></details>')
    out.append("</article>")
    return "\n".join(out)


def export_html(storage: "Storage", user_id: str, conversation_id: str, *, tree: bool = False) -> str:
    """One self-contained page: inline CSS, no scripts, nothing fetched from anywhere."""
    conversation, events = _thread(storage, user_id, conversation_id, tree)
    esc = html.escape
    md = _markdown()
    name = esc(redact(conversation.title or "Untitled conversation"))
    count = sum(1 for e in events if e[0] == "message")
    body = [
        f"<header><h1>{name}</h1>",
        f'<p class="meta">{esc(conversation.provider or "-")} / {esc(conversation.model or "-")} · '
        f"{conversation.created_at:%Y-%m-%d %H:%M} UTC · {count} message{'s' if count != 1 else ''}"
        f"{' · every branch' if tree else ''}</p></header>",
    ]
    if conversation.system_prompt:
        body.append(f'<section class="system"><strong>System:</strong> {esc(redact(conversation.system_prompt))}</section>')
    for event in events:
        if event[0] == "message":
            body.append(_html_message(event[2], md))
        elif event[0] == "branch":
            _, _, index, total, current = event
            body.append(f'<section class="branch{" current" if current else ""}">'
                        f'<p class="branch-label">⎇ Branch {index} of {total}{" (current)" if current else ""}</p>')
        else:
            body.append("</section>")
    page = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="generator" content="tui-chat">',
        f"<title>{name}</title>",
        f"<style>\n{CSS}\n</style>",
        "</head>",
        "<body><main>",
        *body,
        "</main></body>",
        "</html>",
    ])
    return redact(page) + "\n"


# --- import -------------------------------------------------------------------------

def import_json(storage: "Storage", user_id: str, data: Any) -> tuple[str, bool]:
    """Import a JSON export. Returns (conversation id, created?). Nothing is left behind
    when the export turns out to be malformed half-way."""
    from storage import ValidationError

    from .importers.bundle import import_export

    try:
        return import_export(storage, user_id, data)
    except ImportFormatError:
        raise
    except (KeyError, TypeError, ValidationError) as exc:
        raise ImportFormatError(f"the export is malformed: {exc}") from exc
