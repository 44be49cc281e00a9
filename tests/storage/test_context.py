"""Context optimizations: recording, validation, listing, the latest summary, cascades."""

from __future__ import annotations

import pytest

from storage import NotFound, Storage, ValidationError
from storage.models import ContextOptimization, Conversation

from .factories import ago, fetch, make_conversation, make_message, set_fields


@pytest.fixture
def conv(store: Storage, user_id: str) -> str:
    return make_conversation(store.db, user_id)


def test_record_and_list(store: Storage, user_id: str, conv: str) -> None:
    m1, m2 = make_message(store.db, user_id, conv), make_message(store.db, user_id, conv)
    first = store.context.record(
        user_id, conv, trigger_reason="token_limit", optimization_type="truncation",
        tokens_before=120_000, tokens_after=80_000, affected_message_ids=[m1, m2, m1],
    )
    assert first.affected_message_ids == [m1, m2] and first.tokens_saved == 40_000 and first.summary is None
    second = store.context.record(
        user_id, conv, trigger_reason="user_request", optimization_type="summarization",
        tokens_before=90_000, tokens_after=3_000, summary="The user is planning a trip to Lisbon.",
    )
    set_fields(store.db, ContextOptimization, first.id, created_at=ago(minutes=5))
    assert [o.id for o in store.context.list(user_id, conv)] == [first.id, second.id]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"trigger_reason": "boredom"}, "trigger_reason"),
        ({"optimization_type": "deletion"}, "optimization_type"),
        ({"tokens_before": -1}, "tokens_before"),
        ({"tokens_after": 1.5}, "tokens_after"),
        ({"optimization_type": "summarization"}, "summary"),
        ({"optimization_type": "summarization", "summary": "   "}, "summary"),
        ({"affected_message_ids": "abc"}, "affected_message_ids"),
        ({"affected_message_ids": ["not-a-message"]}, "affected_message_ids"),
    ],
)
def test_record_validation(store: Storage, user_id: str, conv: str, kwargs: dict, field: str) -> None:
    values = {"trigger_reason": "auto", "optimization_type": "truncation", "tokens_before": 10, "tokens_after": 5}
    with pytest.raises(ValidationError) as info:
        store.context.record(user_id, conv, **{**values, **kwargs})
    assert info.value.field == field


def test_affected_ids_must_be_in_the_conversation(store: Storage, user_id: str, conv: str) -> None:
    elsewhere = make_message(store.db, user_id, make_conversation(store.db, user_id))
    with pytest.raises(ValidationError):
        store.context.record(user_id, conv, trigger_reason="auto", optimization_type="compression",
                             tokens_before=10, tokens_after=5, affected_message_ids=[elsewhere])
    assert store.context.list(user_id, conv) == []


def test_latest_summary(store: Storage, user_id: str, conv: str) -> None:
    assert store.context.latest_summary(user_id, conv) is None
    old = store.context.record(user_id, conv, trigger_reason="auto", optimization_type="summarization",
                               tokens_before=50, tokens_after=10, summary="old summary")
    new = store.context.record(user_id, conv, trigger_reason="auto", optimization_type="summarization",
                               tokens_before=60, tokens_after=12, summary="new summary")
    store.context.record(user_id, conv, trigger_reason="auto", optimization_type="truncation",
                         tokens_before=70, tokens_after=20)
    set_fields(store.db, ContextOptimization, old.id, created_at=ago(hours=1))
    latest = store.context.latest_summary(user_id, conv)
    assert latest is not None and latest.id == new.id and latest.summary == "new summary"


def test_other_users_conversation_is_not_found(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    store.context.record(user_id, conv, trigger_reason="auto", optimization_type="truncation",
                         tokens_before=10, tokens_after=5)
    with pytest.raises(NotFound):
        store.context.list(other_user_id, conv)
    with pytest.raises(NotFound):
        store.context.latest_summary(other_user_id, conv)
    with pytest.raises(NotFound):
        store.context.record(other_user_id, conv, trigger_reason="auto", optimization_type="truncation",
                             tokens_before=10, tokens_after=5)


def test_deleted_with_the_conversation(store: Storage, user_id: str, conv: str) -> None:
    row = store.context.record(user_id, conv, trigger_reason="auto", optimization_type="truncation",
                               tokens_before=10, tokens_after=5)
    with store.db.write() as session:
        session.delete(session.get(Conversation, conv))
    assert fetch(store.db, ContextOptimization, row.id) is None
