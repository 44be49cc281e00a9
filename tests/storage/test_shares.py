"""Shares: creation, token resolution with every refusal reason, revocation, access checks."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from storage import Conflict, Database, NotFound, PermissionDenied, Storage, ValidationError
from storage.models import ChatShare, Conversation

from .factories import ago, fetch, make_conversation, set_fields


@pytest.fixture
def conv(store: Storage, user_id: str) -> str:
    return make_conversation(store.db, user_id, title="Shared plans")


@pytest.fixture
def third_user_id(store: Storage) -> str:
    return store.users.ensure("carol@example.com", email="carol@example.com").id


def test_create_public_share(store: Storage, user_id: str, conv: str) -> None:
    share = store.shares.create(user_id, conv, permission="read", expires_in=timedelta(days=7), is_public=True,
                                max_access_count=10)
    assert len(share.share_token) >= 40 and share.is_public and share.state == "active"
    assert share.conversation_title == "Shared plans" and share.owner_id == user_id
    assert timedelta(days=7) - timedelta(minutes=1) < share.expires_at - share.created_at <= timedelta(days=7)
    other = store.shares.create(user_id, conv, is_public=True)
    assert other.share_token != share.share_token and other.expires_at is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"permission": "admin", "is_public": True}, "permission"),
        ({"expires_in": timedelta(0), "is_public": True}, "expires_in"),
        ({"expires_in": 3600, "is_public": True}, "expires_in"),
        ({"max_access_count": 0, "is_public": True}, "max_access_count"),
        ({}, "shared_with_user_id"),
    ],
)
def test_create_validation(store: Storage, user_id: str, conv: str, kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        store.shares.create(user_id, conv, **kwargs)
    assert info.value.field == field


def test_create_checks_people_and_conversation(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    with pytest.raises(ValidationError):
        store.shares.create(user_id, conv, shared_with_user_id=other_user_id, is_public=True)
    with pytest.raises(ValidationError):
        store.shares.create(user_id, conv, shared_with_user_id=user_id)
    with pytest.raises(NotFound):
        store.shares.create(user_id, conv, shared_with_user_id="nobody")
    with pytest.raises(NotFound):
        store.shares.create(other_user_id, conv, is_public=True)
    set_fields(store.db, Conversation, conv, status="deleted")
    with pytest.raises(Conflict):
        store.shares.create(user_id, conv, is_public=True)


def test_resolve_counts_each_access(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    share = store.shares.create(user_id, conv, permission="write", is_public=True)
    grant = store.shares.resolve(share.share_token)
    assert (grant.conversation_id, grant.owner_id, grant.permission) == (conv, user_id, "write")
    store.shares.resolve(share.share_token, accessing_user_id=other_user_id)
    after = store.shares.get(user_id, share.id)
    assert after.access_count == 2 and after.last_accessed_at is not None
    own = store.shares.resolve(share.share_token, accessing_user_id=user_id)
    assert own.permission == "owner" and store.shares.get(user_id, share.id).access_count == 2


def test_resolve_refusals(store: Storage, user_id: str, other_user_id: str, third_user_id: str, conv: str) -> None:
    def refused(token: str, match: str, **kw) -> None:
        with pytest.raises(PermissionDenied, match=match):
            store.shares.resolve(token, **kw)

    refused("x" * 43, "not valid")
    refused("short", "not valid")
    expired = store.shares.create(user_id, conv, is_public=True, expires_in=timedelta(hours=1))
    set_fields(store.db, ChatShare, expired.id, expires_at=ago(seconds=1))
    refused(expired.share_token, "expired")
    limited = store.shares.create(user_id, conv, is_public=True, max_access_count=2)
    store.shares.resolve(limited.share_token)
    store.shares.resolve(limited.share_token)
    refused(limited.share_token, "limit of 2 uses")
    assert store.shares.get(user_id, limited.id).access_count == 2
    personal = store.shares.create(user_id, conv, shared_with_user_id=other_user_id)
    refused(personal.share_token, "sign in", accessing_user_id=None)
    refused(personal.share_token, "another user", accessing_user_id=third_user_id)
    assert store.shares.resolve(personal.share_token, accessing_user_id=other_user_id).permission == "read"
    revoked = store.shares.create(user_id, conv, is_public=True)
    store.shares.revoke(user_id, revoked.id)
    refused(revoked.share_token, "revoked")
    public = store.shares.create(user_id, conv, is_public=True)
    set_fields(store.db, Conversation, conv, status="deleted")
    refused(public.share_token, "deleted")


def test_access_limit_holds_under_concurrent_use(db_url: str, store: Storage, user_id: str, conv: str) -> None:
    share = store.shares.create(user_id, conv, is_public=True, max_access_count=3)
    results: list[str] = []
    databases = [Database(db_url) for _ in range(6)]

    def use(database: Database) -> None:
        try:
            Storage(database).shares.resolve(share.share_token)
            results.append("ok")
        except PermissionDenied:
            results.append("denied")

    threads = [threading.Thread(target=use, args=(database,)) for database in databases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for database in databases:
        database.close()
    assert sorted(results) == ["denied"] * 3 + ["ok"] * 3
    assert store.shares.get(user_id, share.id).access_count == 3


def test_revoke_is_owner_only_and_immediate(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    share = store.shares.create(user_id, conv, shared_with_user_id=other_user_id, permission="share")
    assert store.shares.can_access(other_user_id, conv) == "share"
    with pytest.raises(NotFound):
        store.shares.revoke(other_user_id, share.id)
    revoked = store.shares.revoke(user_id, share.id)
    assert not revoked.is_active and revoked.revoked_at is not None and revoked.state == "revoked"
    assert store.shares.can_access(other_user_id, conv) is None
    assert store.shares.revoke(user_id, share.id).revoked_at == revoked.revoked_at


def test_list_and_shared_with_me(store: Storage, user_id: str, other_user_id: str, conv: str) -> None:
    conv2 = make_conversation(store.db, user_id, title="Second")
    a = store.shares.create(user_id, conv, shared_with_user_id=other_user_id)
    b = store.shares.create(user_id, conv2, is_public=True)
    c = store.shares.create(user_id, conv2, shared_with_user_id=other_user_id, expires_in=timedelta(hours=1))
    set_fields(store.db, ChatShare, a.id, created_at=ago(minutes=3))
    set_fields(store.db, ChatShare, b.id, created_at=ago(minutes=2))
    set_fields(store.db, ChatShare, c.id, expires_at=ago(seconds=1))
    assert [s.id for s in store.shares.list(user_id)] == [c.id, b.id, a.id]
    assert [s.state for s in store.shares.list(user_id)] == ["expired", "active", "active"]
    assert [s.id for s in store.shares.list(user_id, conv2)] == [c.id, b.id]
    assert [s.id for s in store.shares.list(user_id, active_only=True)] == [b.id, a.id]
    mine = store.shares.shared_with_me(other_user_id)
    assert [(s.id, s.conversation_title) for s in mine] == [(a.id, "Shared plans")]
    assert store.shares.shared_with_me(user_id) == [] and store.shares.list(other_user_id) == []


def test_can_access(store: Storage, user_id: str, other_user_id: str, third_user_id: str, conv: str) -> None:
    assert store.shares.can_access(user_id, conv) == "owner"
    assert store.shares.can_access(other_user_id, conv) is None
    store.shares.create(user_id, conv, is_public=True, permission="share")  # needs the token
    assert store.shares.can_access(other_user_id, conv) is None
    store.shares.create(user_id, conv, shared_with_user_id=other_user_id, permission="read")
    store.shares.create(user_id, conv, shared_with_user_id=other_user_id, permission="write")
    assert store.shares.can_access(other_user_id, conv) == "write"
    assert store.shares.can_access(third_user_id, conv) is None
    assert store.shares.can_access(other_user_id, "no-such-conversation") is None


def test_shares_go_with_their_conversation(store: Storage, user_id: str, conv: str) -> None:
    share = store.shares.create(user_id, conv, is_public=True)
    with store.db.write() as session:
        session.delete(session.get(Conversation, conv))
    assert fetch(store.db, ChatShare, share.id) is None
    with pytest.raises(PermissionDenied):
        store.shares.resolve(share.share_token)
