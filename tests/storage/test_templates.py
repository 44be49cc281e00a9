"""Prompt templates: unique names, validated settings, one default."""

from __future__ import annotations

import pytest

from storage import Conflict, NotFound, Storage, ValidationError
from storage import enums


def test_add_and_get(store: Storage, user_id: str) -> None:
    t = store.templates.add(user_id, "  Code   reviewer ", "You review diffs. Be terse.", description="for PRs",
                            provider="anthropic", model="claude-sonnet-4-5",
                            settings={"temperature": 0.2, "max_tokens": 64_000, "top_p": None})
    assert t.name == "Code reviewer" and t.settings == {"temperature": 0.2, "max_tokens": 64_000}
    assert store.templates.get(user_id, t.id) == t
    assert store.templates.get_by_name(user_id, "code REVIEWER").id == t.id
    with pytest.raises(NotFound):
        store.templates.get_by_name(user_id, "poet")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"system_prompt": ""}, "system_prompt"),
        ({"system_prompt": "p" * (enums.MAX_SYSTEM_PROMPT_LENGTH + 1)}, "system_prompt"),
        ({"settings": {"temperature": 2.1}}, "temperature"),
        ({"settings": {"top_p": 1.5}}, "top_p"),
        ({"settings": {"frequency_penalty": -2.5}}, "frequency_penalty"),
        ({"settings": {"presence_penalty": "high"}}, "presence_penalty"),
        ({"settings": {"max_tokens": 0}}, "max_tokens"),
        ({"settings": {"max_tokens": enums.MAX_OUTPUT_TOKENS + 1}}, "max_tokens"),
        ({"settings": {"max_tokens": 10.0}}, "max_tokens"),
        ({"settings": {"colour": "red"}}, "settings"),
        ({"settings": {"reasoning_effort": "extreme"}}, "reasoning_effort"),
        ({"settings": ["temperature"]}, "settings"),
        ({"description": "d" * 2001}, "description"),
    ],
)
def test_add_validation(store: Storage, user_id: str, kwargs: dict, field: str) -> None:
    values = {"name": "Role", "system_prompt": "Be helpful.", **kwargs}
    with pytest.raises(ValidationError) as info:
        store.templates.add(user_id, **values)
    assert info.value.field == field


def test_settings_fit_todays_models(store: Storage, user_id: str) -> None:
    t = store.templates.add(user_id, "Long", "Write at length.",
                            settings={"max_tokens": 128_000, "reasoning_effort": "high", "stop": ["END"]})
    assert t.settings == {"max_tokens": 128_000, "reasoning_effort": "high", "stop": ["END"]}


def test_names_are_unique_per_user_ignoring_case(store: Storage, user_id: str, other_user_id: str) -> None:
    store.templates.add(user_id, "Éditeur", "Corrige le texte.")
    with pytest.raises(Conflict):
        store.templates.add(user_id, "éditeur", "x")
    with pytest.raises(Conflict):
        store.templates.add(user_id, "Éditeur", "x")
    assert store.templates.add(other_user_id, "Éditeur", "x").name == "Éditeur"


def test_one_default(store: Storage, user_id: str) -> None:
    a = store.templates.add(user_id, "Alpha", "a", is_default=True)
    b = store.templates.add(user_id, "beta", "b")
    c = store.templates.add(user_id, "Gamma", "c", is_default=True)
    assert store.templates.default(user_id).id == c.id
    assert [(t.name, t.is_default) for t in store.templates.list(user_id)] == [
        ("Gamma", True), ("Alpha", False), ("beta", False)]
    store.templates.update(user_id, b.id, is_default=True)
    assert [t.id for t in store.templates.list(user_id) if t.is_default] == [b.id]
    store.templates.update(user_id, b.id, is_default=False)
    assert store.templates.default(user_id) is None
    assert a.id != b.id


def test_update(store: Storage, user_id: str) -> None:
    t = store.templates.add(user_id, "Poet", "Write poems.", model="gpt-4o", settings={"temperature": 1.2})
    other = store.templates.add(user_id, "Critic", "Criticise.")
    updated = store.templates.update(user_id, t.id, name="poet", model=None, settings={"temperature": 1.5},
                                     system_prompt="Write haiku.")
    assert updated.name == "poet" and updated.model is None and updated.settings == {"temperature": 1.5}
    assert updated.system_prompt == "Write haiku." and updated.updated_at >= t.updated_at
    with pytest.raises(Conflict):
        store.templates.update(user_id, t.id, name="CRITIC")
    with pytest.raises(ValidationError):
        store.templates.update(user_id, t.id, settings={"temperature": 9})
    assert store.templates.get(user_id, t.id).settings == {"temperature": 1.5}
    assert other.name == "Critic"


def test_remove(store: Storage, user_id: str, other_user_id: str) -> None:
    t = store.templates.add(user_id, "Poet", "Write poems.")
    with pytest.raises(NotFound):
        store.templates.remove(other_user_id, t.id)
    store.templates.remove(user_id, t.id)
    assert store.templates.list(user_id) == []
