"""What every service shares: the database handle, validation and row-to-record helpers.

A service method is one unit of work: it opens one session (``db.write()`` or
``db.read()``), does its job and returns plain frozen dataclasses, never ORM objects.
Every method that touches user data takes the ``user_id`` it acts for and scopes every
query to it; another user's record is reported as not found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

from ..db import Database
from ..errors import ValidationError

T = TypeVar("T")


class Service:
    def __init__(self, db: Database) -> None:
        self.db = db


def to_record(record_type: type[T], row: Any, **overrides: Any) -> T:
    """Copy the fields ``record_type`` declares from an ORM row (or mapping)."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(record_type):  # type: ignore[arg-type]
        if field.name in overrides:
            values[field.name] = overrides[field.name]
        elif isinstance(row, dict):
            values[field.name] = row.get(field.name)
        else:
            values[field.name] = getattr(row, field.name)
    return record_type(**values)


def check_length(field: str, value: str | None, maximum: int, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ValidationError(field, "is required")
        return None
    if required and not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > maximum:
        raise ValidationError(field, f"is {len(value):,} characters; the limit is {maximum:,}")
    return value


def check_range(field: str, value: float | int | None, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(field, f"must be a number, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low:g} and {high:g}, got {value:g}")


def check_choice(field: str, value: str, choices: Iterable[str]) -> str:
    options = tuple(choices)
    if value not in options:
        raise ValidationError(field, f"must be one of {', '.join(options)}; got {value!r}")
    return value
