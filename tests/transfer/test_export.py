"""Export: Markdown, JSON and a self-contained HTML page; the current branch or the
whole tree; secrets redacted everywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from storage import Storage

SECRET_KEY = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx0123456789"
BEARER = "eyJhbGciOiJIUzI1NiJ9.payload123.signature456"


@pytest.fixture
def conversation(store: Storage, me: str) -> dict[str, str]:
    """A conversation with a fork: the question was edited, both answers kept."""
    conv = store.conversations.create(me, title="Keys & <tags>", provider="openai", model="gpt-4o",
                                      system_prompt="Never reveal keys")
    question = store.messages.add(me, conv.id, role="user",
                                  content=f"My key is {SECRET_KEY} and I send\nAuthorization: Bearer {BEARER}")
    answer = store.messages.add(
        me, conv.id, role="assistant", model="gpt-4o",
        content="Don't paste keys. Try:\n\n```python\nprint('<b>&amp;</b>')\nif a < b:\n    pass\n```\n\n"
                "<script>alert('x')</script> ![logo](https://example.com/logo.png)",
        parts=[{"type": "text", "text": "..."},
               {"type": "tool_call", "id": "call_1", "name": "read_file", "arguments": {"path": "/etc/hosts"}}])
    old = store.messages.add(me, conv.id, role="user", content="Old follow-up")
    store.messages.add(me, conv.id, role="assistant", content="Old answer")
    new = store.messages.edit(me, old.id, "New follow-up")
    store.messages.add(me, conv.id, role="assistant", content="New answer")
    return {"id": conv.id, "question": question.id, "answer": answer.id, "new": new.id}


def test_html_is_self_contained_escaped_and_redacted(cli, conversation) -> None:
    result = cli("export", conversation["id"], "--format", "html")
    assert result.code == 0, result.err
    page = result.out
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "</html>" in page
    # Nothing external: no scripts, no stylesheets or images to fetch, and a CSP that forbids loading.
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.replace('href="https://example.com/logo.png"', ""))
    assert "default-src 'none'" in page
    # Escaped content, code blocks preserved.
    assert "<title>Keys &amp; &lt;tags&gt;</title>" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page or "&lt;script&gt;alert('x')&lt;/script&gt;" in page
    assert '<pre><code class="language-python">print(&#x27;&lt;b&gt;&amp;amp;&lt;/b&gt;&#x27;)\nif a &lt; b:\n    pass\n' \
        in page or "<pre><code class=\"language-python\">print('&lt;b&gt;&amp;amp;&lt;/b&gt;')\nif a &lt; b:\n    pass" in page
    assert "read_file" in page and "/etc/hosts" in page  # the tool call is shown
    # Secrets redacted.
    assert SECRET_KEY not in page and BEARER not in page and "AbCdEfGhIjKl" not in page
    assert "[redacted]" in page and "Authorization: [redacted]" in page
    # The current branch only.
    assert "New follow-up" in page and "New answer" in page and "Old follow-up" not in page


def test_html_tree_shows_every_branch_and_marks_the_current_one(cli, conversation) -> None:
    page = cli("export", conversation["id"], "--format", "html", "--tree").out
    for text in ("Old follow-up", "Old answer", "New follow-up", "New answer"):
        assert text in page
    assert page.count('<section class="branch') == 2
    assert "Branch 1 of 2</p>" in page and "Branch 2 of 2 (current)</p>" in page
    assert page.index("Old answer") < page.index("New follow-up")
    assert SECRET_KEY not in page


def test_markdown_branch_and_tree(cli, conversation) -> None:
    branch = cli("export", conversation["id"]).out
    assert "Old follow-up" not in branch and "New answer" in branch
    assert "```python" in branch and SECRET_KEY not in branch and BEARER not in branch
    tree = cli("export", conversation["id"], "--format", "md", "--tree").out
    assert "**⎇ Branch 1 of 2**" in tree and "**⎇ Branch 2 of 2 (current)**" in tree
    assert "> ## You" in tree and "> Old answer" in tree and "> New answer" in tree


def test_json_has_every_message_and_no_secret(cli, conversation, tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    result = cli("export", conversation["id"], "--format", "json", "-o", out)
    assert result.code == 0 and result.out == ""
    assert out.stat().st_mode & 0o077 == 0  # only the owner can read an export
    data = json.loads(out.read_text())
    assert len(data["messages"]) == 6 and data["conversation"]["current_message_id"]
    raw = out.read_text()
    assert SECRET_KEY not in raw and BEARER not in raw


def test_export_of_an_unknown_conversation_is_a_usage_error(cli, store, me) -> None:
    result = cli("export", "nope", "--format", "html")
    assert result.code == 2 and "not found" in result.err
