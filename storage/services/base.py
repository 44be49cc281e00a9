"""What every service shares: the database handle, validation and row-to-record helpers.

A service method is one unit of work: it opens one session (``db.write()`` or
``db.read()``), does its job and returns plain frozen dataclasses, never ORM objects.
Every method that touches user data takes the ``user_id`` it acts for and scopes every
query to it; another user's record is reported as not found.
"""

from __future__ import annotations

import dataclasses
import json
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


def check_json(field: str, value: Any, max_bytes: int) -> Any:
    """``value``, if it is JSON data of at most ``max_bytes`` once encoded."""
    try:
        size = len(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ValidationError(field, f"must be JSON data ({error})") from None
    if size > max_bytes:
        raise ValidationError(field, f"is {size:,} bytes of JSON; the limit is {max_bytes:,}")
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


#: Generation settings a conversation or template may carry, with their validators.
GENERATION_SETTINGS = ("temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty",
                       "stop", "reasoning_effort", "seed")


def check_generation_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate generation parameters (seed 001's rules, with today's output limits)."""
    from .. import enums

    unknown = set(settings) - set(GENERATION_SETTINGS)
    if unknown:
        raise ValidationError("settings", f"unknown setting(s): {', '.join(sorted(unknown))}")
    check_range("temperature", settings.get("temperature"), *enums.TEMPERATURE_RANGE)
    check_range("top_p", settings.get("top_p"), *enums.TOP_P_RANGE)
    check_range("frequency_penalty", settings.get("frequency_penalty"), *enums.PENALTY_RANGE)
    check_range("presence_penalty", settings.get("presence_penalty"), *enums.PENALTY_RANGE)
    max_tokens = settings.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)):
        raise ValidationError("max_tokens", "must be a whole number")
    check_range("max_tokens", max_tokens, 1, enums.MAX_OUTPUT_TOKENS)
    stop = settings.get("stop")
    if stop is not None and (not isinstance(stop, list) or not all(isinstance(s, str) for s in stop) or len(stop) > 16):
        raise ValidationError("stop", "must be a list of at most 16 strings")
    effort = settings.get("reasoning_effort")
    if effort is not None:
        check_choice("reasoning_effort", effort, ("minimal", "low", "medium", "high"))
    return {k: v for k, v in settings.items() if v is not None}
