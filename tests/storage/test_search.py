"""Full-text search: ranking, snippets, filters, query safety, scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import Storage, ValidationError
from storage.services.search import HIGHLIGHT_END, HIGHLIGHT_START
from storage.types import utcnow


@pytest.fixture
def corpus(store: Storage, user_id: str) -> dict[str, str]:
    py = store.conversations.create(user_id, title="Python packaging woes")
    rs = store.conversations.create(user_id, title="Rust async runtime")
    ids = {"py": py.id, "rs": rs.id}
    store.messages.add(user_id, py.id, role="user", content="How do I publish a wheel to the package index?")
    ids["py_answer"] = store.messages.add(
        user_id, py.id, role="assistant", model="gpt-4o",
        content="Build the wheel with `python -m build`, then upload the wheel with twine. Wheels are binary.",
    ).id
    store.messages.add(user_id, rs.id, role="user", content="Which async runtime should I pick?")
    store.messages.add(user_id, rs.id, role="assistant", model="claude-sonnet-4-5",
                       content="Tokio is the common async runtime; smol is smaller.")
    return ids


def test_ranked_hits_with_snippets(store: Storage, user_id: str, corpus: dict[str, str]) -> None:
    results = store.search.search(user_id, "wheel")
    assert [h.message_id for h in results.messages][0] == corpus["py_answer"]  # three mentions rank first
    assert len(results.messages) == 2
    top = results.messages[0]
    assert f"{HIGHLIGHT_START}" in top.snippet and HIGHLIGHT_END in top.snippet
    assert top.conversation_title == "Python packaging woes"
    assert all(a.score >= b.score for a, b in zip(results.messages, results.messages[1:]))


def test_stemming_prefix_and_titles(store: Storage, user_id: str, corpus: dict[str, str]) -> None:
    assert len(store.search.search(user_id, "wheels").messages) == 2  # stemmed to "wheel"
    assert len(store.search.search(user_id, "tok*").messages) == 1
    titles = store.search.search(user_id, "packaging").titles
    assert [t.conversation_id for t in titles] == [corpus["py"]]


def test_all_words_must_match(store: Storage, user_id: str, corpus: dict[str, str]) -> None:
    assert [h.conversation_id for h in store.search.search(user_id, "async tokio").messages] == [corpus["rs"]]
    assert store.search.search(user_id, "tokio wheel").messages == []


def test_filters(store: Storage, user_id: str, corpus: dict[str, str]) -> None:
    search = store.search.search
    assert {h.role for h in search(user_id, "async", role="user").messages} == {"user"}
    assert [h.model for h in search(user_id, "async", model="claude-sonnet-4-5").messages] == ["claude-sonnet-4-5"]
    assert {h.conversation_id for h in search(user_id, "wheel", conversation_id=corpus["py"]).messages} == {corpus["py"]}
    assert search(user_id, "wheel", since=utcnow() + timedelta(hours=1)).messages == []
    assert len(search(user_id, "wheel", since=utcnow() - timedelta(hours=1), until=utcnow() + timedelta(hours=1)).messages) == 2


@pytest.mark.parametrize("query", ['"unbalanced', "NEAR(", "a OR", "col:val", "-x", "wheel)", "***", "'; DROP TABLE messages; --"])
def test_hostile_queries_never_break(store: Storage, user_id: str, corpus: dict[str, str], query: str) -> None:
    try:
        store.search.search(user_id, query)
    except ValidationError:
        pass  # nothing searchable in it: a clear error, not a crash
    assert len(store.search.search(user_id, "wheel").messages) == 2


def test_empty_query_is_a_clear_error(store: Storage, user_id: str) -> None:
    with pytest.raises(ValidationError, match="at least one word"):
        store.search.search(user_id, "  !! ")


def test_edits_update_the_index(store: Storage, user_id: str, corpus: dict[str, str]) -> None:
    store.messages.edit(user_id, corpus["py_answer"], "Use poetry instead.", branch=False)
    assert [h.message_id for h in store.search.search(user_id, "poetry").messages] == [corpus["py_answer"]]
    assert len(store.search.search(user_id, "twine").messages) == 0
    store.messages.delete(user_id, corpus["py_answer"])
    assert store.search.search(user_id, "poetry").messages == []
    store.conversations.rename(user_id, corpus["rs"], "Tokio notes")
    assert [t.title for t in store.search.search(user_id, "tokio").titles] == ["Tokio notes"]
    store.search.rebuild()
    assert [t.title for t in store.search.search(user_id, "tokio").titles] == ["Tokio notes"]
