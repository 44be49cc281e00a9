"""Memories: adding with dedupe, listing, removal, relevance search and use counts."""

from __future__ import annotations

import pytest

from storage import NotFound, Storage, ValidationError
from storage.models import Conversation, Memory

from .factories import ago, fetch, make_conversation, make_message, set_fields


def test_add_with_sources_and_tags(store: Storage, user_id: str) -> None:
    conv = make_conversation(store.db, user_id)
    message = make_message(store.db, user_id, conv)
    memory = store.memories.add(user_id, "  Prefers Python type hints  ", source_message_id=message,
                                tags=["Coding", "python", "coding"], importance=3)
    assert memory.content == "Prefers Python type hints" and memory.tags == ["coding", "python"]
    assert memory.source_message_id == message and memory.source_conversation_id == conv
    assert memory.importance == 3 and memory.use_count == 0 and memory.is_active


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"content": "   "}, "content"),
        ({"content": "x" * 4001}, "content"),
        ({"tags": "python"}, "tags"),
        ({"tags": ["ok", ""]}, "tags"),
        ({"tags": ["t" * 51]}, "tag"),
        ({"importance": 11}, "importance"),
        ({"importance": 2.5}, "importance"),
    ],
)
def test_add_validation(store: Storage, user_id: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        store.memories.add(user_id, **{"content": "a fact", **kwargs})
    assert info.value.field == field


def test_sources_must_be_the_users(store: Storage, user_id: str, other_user_id: str) -> None:
    conv = make_conversation(store.db, user_id)
    message = make_message(store.db, user_id, conv)
    with pytest.raises(NotFound):
        store.memories.add(other_user_id, "fact", source_message_id=message)
    with pytest.raises(NotFound):
        store.memories.add(other_user_id, "fact", source_conversation_id=conv)
    with pytest.raises(ValidationError):
        store.memories.add(user_id, "fact", source_message_id=message,
                           source_conversation_id=make_conversation(store.db, user_id))


def test_identical_content_is_stored_once(store: Storage, user_id: str, other_user_id: str) -> None:
    first = store.memories.add(user_id, "Lives in Lisbon", tags=["home"])
    store.memories.deactivate(user_id, first.id)
    again = store.memories.add(user_id, "lives   in LISBON ", tags=["city"], importance=5)
    assert again.id == first.id and again.is_active and again.tags == ["home", "city"] and again.importance == 5
    assert again.content == "Lives in Lisbon"
    assert len(store.memories.list(user_id)) == 1
    assert store.memories.add(other_user_id, "Lives in Lisbon").id != first.id


def test_list_remove_and_deactivate(store: Storage, user_id: str) -> None:
    a = store.memories.add(user_id, "fact a")
    b = store.memories.add(user_id, "fact b")
    set_fields(store.db, Memory, a.id, created_at=ago(days=1))
    assert [m.id for m in store.memories.list(user_id)] == [b.id, a.id]
    store.memories.deactivate(user_id, a.id)
    assert [m.id for m in store.memories.list(user_id)] == [b.id]
    assert [m.id for m in store.memories.list(user_id, active_only=False)] == [b.id, a.id]
    store.memories.remove(user_id, b.id)
    assert fetch(store.db, Memory, b.id) is None
    with pytest.raises(NotFound):
        store.memories.remove(user_id, b.id)


def test_relevance_ranks_by_matches_then_importance_then_recency(store: Storage, user_id: str) -> None:
    deploy = store.memories.add(user_id, "Deploys with Docker Compose on a Hetzner server")
    docker_old = store.memories.add(user_id, "Uses Docker for local databases")
    docker_new = store.memories.add(user_id, "Docker Desktop is not allowed at work")
    important = store.memories.add(user_id, "Never run docker system prune", importance=9)
    store.memories.add(user_id, "Favourite editor is Helix")
    set_fields(store.db, Memory, docker_old.id, created_at=ago(days=30))

    hits = store.memories.search(user_id, "How do I deploy my Docker app to the server?")
    assert [h.memory.id for h in hits] == [deploy.id, important.id, docker_new.id, docker_old.id]
    assert hits[0].matched == 3 and set(hits[0].terms) == {"deploy", "docker", "server"}
    assert hits[1].matched == 1
    assert [h.memory.id for h in store.memories.search(user_id, "docker", limit=2)] == [important.id, docker_new.id]


def test_relevance_is_case_insensitive_unicode_and_uses_tags(store: Storage, user_id: str) -> None:
    cafe = store.memories.add(user_id, "Mag KAFFEE ohne Zucker, im Büro")
    tagged = store.memories.add(user_id, "Works nine to five", tags=["schedule"])
    assert [h.memory.id for h in store.memories.search(user_id, "kaffee büro")] == [cafe.id]
    assert [h.memory.id for h in store.memories.search(user_id, "BÜRO")] == [cafe.id]
    assert [h.memory.id for h in store.memories.search(user_id, "what is my schedule")] == [tagged.id]
    assert store.memories.search(user_id, "the and of") == []
    assert store.memories.search(user_id, "") == []
    assert store.memories.search(user_id, "tea") == []


def test_relevance_skips_inactive_and_other_users(store: Storage, user_id: str, other_user_id: str) -> None:
    gone = store.memories.add(user_id, "Allergic to peanuts")
    store.memories.deactivate(user_id, gone.id)
    store.memories.add(other_user_id, "Peanuts are fine")
    assert store.memories.search(user_id, "peanuts") == []
    with pytest.raises(ValidationError):
        store.memories.search(user_id, "x", limit=0)


def test_mark_used(store: Storage, user_id: str, other_user_id: str) -> None:
    a = store.memories.add(user_id, "fact a")
    b = store.memories.add(user_id, "fact b")
    theirs = store.memories.add(other_user_id, "their fact")
    assert store.memories.mark_used(user_id, [a.id, b.id, a.id]) == 2
    store.memories.mark_used(user_id, [a.id])
    got = store.memories.get(user_id, a.id)
    assert got.use_count == 2 and got.last_used_at is not None
    with pytest.raises(NotFound):
        store.memories.mark_used(user_id, [b.id, theirs.id])
    assert store.memories.get(user_id, b.id).use_count == 1  # nothing changed
    assert store.memories.get(other_user_id, theirs.id).use_count == 0
    assert store.memories.mark_used(user_id, []) == 0


def test_memories_outlive_their_conversation(store: Storage, user_id: str) -> None:
    conv = make_conversation(store.db, user_id)
    memory = store.memories.add(user_id, "fact", source_conversation_id=conv)
    with store.db.write() as session:
        session.delete(session.get(Conversation, conv))
    kept = store.memories.get(user_id, memory.id)
    assert kept.source_conversation_id is None and kept.content == "fact"
