"""Message service: the tree, streaming persistence, edits, branches, deletion, feedback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from storage import Conflict, NotFound, Storage, ValidationError
from storage.models import Message
from storage.types import utcnow


@pytest.fixture
def conv_id(store: Storage, user_id: str) -> str:
    return store.conversations.create(user_id, title="t").id


def _texts(store: Storage, user_id: str, conv_id: str) -> list[str]:
    return [m.content for m in store.messages.branch(user_id, conv_id).items]


def test_add_advances_tip_and_counters(store: Storage, user_id: str, conv_id: str) -> None:
    u = store.messages.add(user_id, conv_id, role="user", content="hi", token_count=3)
    a = store.messages.add(user_id, conv_id, role="assistant", content="hello", token_count=5)
    assert a.parent_id == u.id and u.parent_id is None
    conv = store.conversations.get(user_id, conv_id)
    assert conv.current_message_id == a.id
    assert (conv.message_count, conv.token_count) == (2, 8)


def test_streaming_lifecycle(store: Storage, user_id: str, conv_id: str) -> None:
    store.messages.add(user_id, conv_id, role="user", content="write a poem")
    msg = store.messages.add(user_id, conv_id, role="assistant", status="pending")
    for chunk in ["Roses ", "are ", "red, ", "naïve 🌹"]:
        store.messages.append(user_id, msg.id, chunk)
    mid = store.messages.get(user_id, msg.id)
    assert mid.status == "streaming" and mid.content == "Roses are red, naïve 🌹"
    # Not searchable while it streams (no index work per chunk) ...
    assert store.search.search(user_id, "roses").messages == []
    done = store.messages.finish(user_id, msg.id, token_count=9, finish_reason="stop",
                                 parts=[{"type": "text", "text": mid.content}], meta={"first_token_ms": 120})
    assert done.status == "done" and done.meta["first_token_ms"] == 120
    # ... and searchable once finished.
    assert [h.message_id for h in store.search.search(user_id, "roses").messages] == [msg.id]
    assert store.conversations.get(user_id, conv_id).token_count == 9
    with pytest.raises(Conflict, match="no longer"):
        store.messages.append(user_id, msg.id, "more")
    with pytest.raises(Conflict):
        store.messages.finish(user_id, msg.id, status="error")


def test_cancel_keeps_what_arrived(store: Storage, user_id: str, conv_id: str) -> None:
    msg = store.messages.add(user_id, conv_id, role="assistant", status="pending")
    store.messages.append(user_id, msg.id, "partial answer")
    cancelled = store.messages.finish(user_id, msg.id, status="cancelled", finish_reason="cancelled")
    assert cancelled.content == "partial answer" and cancelled.status == "cancelled"


def test_recover_interrupted_only_touches_stale_rows(store: Storage, user_id: str, conv_id: str, db) -> None:
    dead = store.messages.add(user_id, conv_id, role="assistant", status="pending")
    store.messages.append(user_id, dead.id, "half an ans")
    live = store.messages.add(user_id, conv_id, role="assistant", status="pending", advance=False)
    store.messages.append(user_id, live.id, "still going")
    with db.write() as session:
        session.execute(update(Message).where(Message.id == dead.id).values(updated_at=utcnow() - timedelta(minutes=5)))
    assert store.messages.recover_interrupted(stale_after=timedelta(seconds=30)) == [dead.id]
    recovered = store.messages.get(user_id, dead.id)
    assert recovered.status == "interrupted" and recovered.content == "half an ans"
    assert store.messages.get(user_id, live.id).status == "streaming"
    # The interrupted text is searchable: nothing that was saved is lost.
    assert store.search.search(user_id, "half").messages[0].message_id == dead.id


def test_edit_creates_sibling_branch_and_keeps_history(store: Storage, user_id: str, conv_id: str) -> None:
    q1 = store.messages.add(user_id, conv_id, role="user", content="What is 2+2?")
    store.messages.add(user_id, conv_id, role="assistant", content="4")
    edited = store.messages.edit(user_id, q1.id, "What is 3+3?")
    assert edited.parent_id == q1.parent_id and edited.is_edited
    store.messages.add(user_id, conv_id, role="assistant", content="6")
    assert _texts(store, user_id, conv_id) == ["What is 3+3?", "6"]
    siblings = store.messages.siblings(user_id, edited.id)
    assert siblings.ids == (q1.id, edited.id) and siblings.label == "2/2"
    [history] = store.messages.edits(user_id, edited.id)
    assert history.previous_content == "What is 2+2?" and history.source_message_id == q1.id
    # Switch back to the original branch: its answer comes back too.
    store.messages.switch_branch(user_id, q1.id)
    assert _texts(store, user_id, conv_id) == ["What is 2+2?", "4"]
    assert store.conversations.get(user_id, conv_id).message_count == 4


def test_in_place_edit(store: Storage, user_id: str, conv_id: str) -> None:
    m = store.messages.add(user_id, conv_id, role="user", content="teh typo")
    fixed = store.messages.edit(user_id, m.id, "the typo", branch=False)
    assert fixed.id == m.id and fixed.content == "the typo" and fixed.is_edited
    assert store.messages.edits(user_id, m.id)[0].previous_content == "teh typo"


def test_regenerate_is_a_sibling(store: Storage, user_id: str, conv_id: str) -> None:
    q = store.messages.add(user_id, conv_id, role="user", content="joke please")
    first = store.messages.add(user_id, conv_id, role="assistant", content="joke one")
    second = store.messages.add(user_id, conv_id, role="assistant", content="joke two", parent_id=q.id)
    assert store.messages.siblings(user_id, second.id).ids == (first.id, second.id)
    assert _texts(store, user_id, conv_id) == ["joke please", "joke two"]


def test_branch_paging_newest_first_pages(store: Storage, user_id: str, conv_id: str) -> None:
    ids = [store.messages.add(user_id, conv_id, role="user" if i % 2 == 0 else "assistant", content=f"m{i}").id
           for i in range(9)]
    page = store.messages.branch(user_id, conv_id, limit=4)
    assert [m.content for m in page.items] == ["m5", "m6", "m7", "m8"] and page.has_more
    older = store.messages.branch(user_id, conv_id, before=page.items[0].id, limit=4)
    assert [m.content for m in older.items] == ["m1", "m2", "m3", "m4"] and older.has_more
    oldest = store.messages.branch(user_id, conv_id, before=older.items[0].id, limit=4)
    assert [m.content for m in oldest.items] == ["m0"] and not oldest.has_more
    flat = store.messages.page(user_id, conv_id, limit=5)
    assert [m.id for m in flat.items] == ids[4:] and flat.has_more
    assert [m.id for m in store.messages.page(user_id, conv_id, before=flat.items[0].id, limit=5).items] == ids[:4]


def test_delete_reparents_children(store: Storage, user_id: str, conv_id: str) -> None:
    a = store.messages.add(user_id, conv_id, role="user", content="a", token_count=1)
    b = store.messages.add(user_id, conv_id, role="assistant", content="b", token_count=2)
    c = store.messages.add(user_id, conv_id, role="user", content="c", token_count=4)
    store.messages.delete(user_id, b.id)
    assert _texts(store, user_id, conv_id) == ["a", "c"]
    assert store.messages.get(user_id, c.id).parent_id == a.id
    conv = store.conversations.get(user_id, conv_id)
    assert (conv.message_count, conv.token_count) == (2, 5)


def test_truncate_from_removes_descendants(store: Storage, user_id: str, conv_id: str) -> None:
    a = store.messages.add(user_id, conv_id, role="user", content="a")
    b = store.messages.add(user_id, conv_id, role="assistant", content="b")
    store.messages.add(user_id, conv_id, role="user", content="c")
    store.messages.add(user_id, conv_id, role="assistant", content="alt", parent_id=b.id, advance=False)
    assert store.messages.truncate_from(user_id, b.id) == 3
    conv = store.conversations.get(user_id, conv_id)
    assert conv.current_message_id == a.id and conv.message_count == 1
    assert _texts(store, user_id, conv_id) == ["a"]


def test_purging_conversation_cascades(store: Storage, user_id: str, conv_id: str) -> None:
    m = store.messages.add(user_id, conv_id, role="user", content="x")
    r = store.messages.add(user_id, conv_id, role="assistant", content="y")
    store.messages.add_reference(user_id, r.id, m.id)
    store.messages.set_feedback(user_id, r.id, 1)
    store.messages.edit(user_id, m.id, "x2")
    store.conversations.purge(user_id, conv_id)
    for ident in (m.id, r.id):
        with pytest.raises(NotFound):
            store.messages.get(user_id, ident)


def test_references_and_feedback(store: Storage, user_id: str, conv_id: str) -> None:
    m = store.messages.add(user_id, conv_id, role="user", content="x")
    r = store.messages.add(user_id, conv_id, role="assistant", content="y")
    store.messages.add_reference(user_id, r.id, m.id)
    store.messages.add_reference(user_id, r.id, m.id)  # idempotent
    assert store.messages.references(user_id, r.id) == [m.id]
    assert store.messages.referenced_in(user_id, conv_id) == [m.id]
    with pytest.raises(ValidationError):
        store.messages.add_reference(user_id, r.id, r.id)
    assert store.messages.set_feedback(user_id, r.id, -1, "wrong").rating == -1
    assert store.messages.set_feedback(user_id, r.id, 1).comment is None
    assert store.messages.feedback(user_id, r.id).rating == 1
    with pytest.raises(ValidationError):
        store.messages.set_feedback(user_id, r.id, 5)
    store.messages.clear_feedback(user_id, r.id)
    assert store.messages.feedback(user_id, r.id) is None


def test_bad_input_is_refused_clearly(store: Storage, user_id: str, conv_id: str) -> None:
    with pytest.raises(ValidationError, match="role"):
        store.messages.add(user_id, conv_id, role="wizard", content="x")
    with pytest.raises(ValidationError, match="parts"):
        store.messages.add(user_id, conv_id, role="user", content="x", parts=[{"kind": "text"}])
    with pytest.raises(NotFound):
        store.messages.add(user_id, conv_id, role="user", content="x", parent_id="nope")
    assert store.conversations.get(user_id, conv_id).message_count == 0


def test_other_user_cannot_touch_messages(store: Storage, user_id: str, other_user_id: str, conv_id: str) -> None:
    m = store.messages.add(user_id, conv_id, role="assistant", status="pending")
    for call in (
        lambda: store.messages.append(other_user_id, m.id, "injected"),
        lambda: store.messages.get(other_user_id, m.id),
        lambda: store.messages.edit(other_user_id, m.id, "x"),
        lambda: store.messages.delete(other_user_id, m.id),
        lambda: store.messages.set_feedback(other_user_id, m.id, 1),
    ):
        with pytest.raises(NotFound):
            call()
    assert store.messages.get(user_id, m.id).content == ""


def test_context_pages_walk_the_branch_newest_first(store: Storage, user_id: str, other_user_id: str,
                                                    conv_id: str) -> None:
    ids = [store.messages.add(user_id, conv_id, role="user" if i % 2 == 0 else "assistant", content=f"m{i}").id
           for i in range(7)]
    # A sibling branch is not on the walk from the tip.
    store.messages.add(user_id, conv_id, role="assistant", content="other", parent_id=ids[2], advance=False)
    first = store.messages.context_page(user_id, conv_id, ids[-1], limit=3)
    assert [r.content for r in first] == ["m6", "m5", "m4"]
    assert first[-1].parent_id == ids[3] and first[0].status == "done" and first[0].parts == []
    rest = store.messages.context_page(user_id, conv_id, first[-1].parent_id, limit=10)
    assert [r.id for r in rest] == ids[3::-1] and rest[-1].parent_id is None
    with pytest.raises(NotFound):
        store.messages.context_page(other_user_id, conv_id, ids[-1])
    # Only a message of this conversation starts a walk.
    elsewhere = store.conversations.create(user_id, title="else").id
    assert store.messages.context_page(user_id, elsewhere, ids[-1]) == []


def test_pinned_and_referenced_rows_oldest_first(store: Storage, user_id: str, other_user_id: str,
                                                 conv_id: str) -> None:
    ids = [store.messages.add(user_id, conv_id, role="user" if i % 2 == 0 else "assistant", content=f"m{i}").id
           for i in range(6)]
    assert store.messages.pinned_and_referenced(user_id, conv_id) == []
    store.messages.pin(user_id, ids[3])
    store.messages.add_reference(user_id, ids[5], ids[1])
    store.messages.add_reference(user_id, ids[4], ids[3])  # pinned and referenced: listed once
    rows = store.messages.pinned_and_referenced(user_id, conv_id)
    assert [r.content for r in rows] == ["m1", "m3"]
    store.messages.pin(user_id, ids[3], False)
    assert [r.content for r in store.messages.pinned_and_referenced(user_id, conv_id)] == ["m1", "m3"]
    store.messages.pin(user_id, ids[0])
    assert [r.content for r in store.messages.pinned_and_referenced(user_id, conv_id)] == ["m0", "m1", "m3"]
    # Another user's conversation has none to offer.
    assert store.messages.pinned_and_referenced(other_user_id, conv_id) == []


def test_siblings_and_feedback_of_a_page_at_once(store: Storage, user_id: str, conv_id: str) -> None:
    root = store.messages.add(user_id, conv_id, role="user", content="first")
    other_root = store.messages.add(user_id, conv_id, role="user", content="first, edited", parent_id=None,
                                    advance=False)
    q = store.messages.add(user_id, conv_id, role="assistant", content="answer", parent_id=root.id)
    first = store.messages.add(user_id, conv_id, role="user", content="joke please", parent_id=q.id)
    second = store.messages.add(user_id, conv_id, role="assistant", content="joke", parent_id=first.id)
    again = store.messages.add(user_id, conv_id, role="assistant", content="joke two", parent_id=first.id)
    store.messages.set_feedback(user_id, again.id, 1, "funny")
    ids = [root.id, q.id, first.id, second.id, again.id]
    many = store.messages.siblings_many(user_id, ids)
    assert many == {i: store.messages.siblings(user_id, i) for i in ids}
    assert many[root.id].ids == (root.id, other_root.id) and many[again.id].label == "2/2"
    assert many[q.id].ids == (q.id,)
    feedback = store.messages.feedback_many(user_id, ids)
    assert list(feedback) == [again.id] and feedback[again.id].rating == 1
    assert store.messages.siblings_many("someone-else", ids) == {} and store.messages.feedback_many(user_id, []) == {}
