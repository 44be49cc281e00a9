"""The model catalog: context windows, output limits, prices and capabilities.

Prices are US dollars per million tokens. :meth:`ModelCatalogService.cost` follows one
convention for token counts, OpenAI's: ``input_tokens`` *includes* the cached input
tokens. Cached tokens are billed at the cached price and the rest of the input at the
input price; reasoning tokens are part of ``output_tokens``. (Anthropic reports cache
reads and writes apart from ``input_tokens``: add them in before asking for a cost.)

A model the catalog does not know has an unknown cost (``None``), never a guess. Dated
snapshot names fall back to their base model only when what follows the base name is a
date (``gpt-4o-2024-08-06`` -> ``gpt-4o``, ``claude-sonnet-4-5-20250929`` ->
``claude-sonnet-4-5``), so ``gpt-4.1-nano`` never borrows ``gpt-4.1``'s prices.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .. import enums
from ..catalog_data import BUILTIN_MODELS
from ..errors import ValidationError
from ..models import ProviderModel
from ..types import NANOS, utcnow
from .base import Service, check_choice, check_length, to_record

PER_TOKENS = Decimal(1_000_000)
MAX_PRICE = Decimal(100_000)
MAX_CATALOG_FILE = 5 * 1024 * 1024
#: A dated snapshot suffix: -2024-08-06, -20250929, or the older -0613 form.
SNAPSHOT_SUFFIX = re.compile(r"^-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$")
SOURCES = ("builtin", "file", "user")
_INT_FIELDS = ("context_window", "max_output_tokens")
_PRICE_FIELDS = ("input_price", "output_price", "cached_input_price")
_BOOL_FIELDS = ("supports_tools", "supports_vision", "supports_reasoning", "is_active")
ENTRY_FIELDS = ("provider_kind", "model", "display_name", *_INT_FIELDS, *_PRICE_FIELDS, *_BOOL_FIELDS)


@dataclass(frozen=True, slots=True)
class ModelRecord:
    provider_kind: str
    model: str
    display_name: str | None
    context_window: int | None
    max_output_tokens: int | None
    input_price: Decimal | None
    output_price: Decimal | None
    cached_input_price: Decimal | None
    supports_tools: bool
    supports_vision: bool
    supports_reasoning: bool
    is_active: bool
    source: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CostQuote:
    """A cost in dollars (``None``: the price is unknown) and the prices behind it."""

    cost: Decimal | None
    model: str | None
    input_price: Decimal | None
    cached_input_price: Decimal | None
    output_price: Decimal | None

    @property
    def prices(self) -> dict[str, str] | None:
        """The prices as JSON-ready strings, for ``usage_logs.prices``."""
        if self.model is None:
            return None
        values = {"model": self.model, "unit": "USD per 1M tokens"}
        for name in ("input_price", "cached_input_price", "output_price"):
            price = getattr(self, name)
            if price is not None:
                values[name.removesuffix("_price")] = str(price)
        return values


def _price(field: str, value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValidationError(field, "must be a price in dollars per million tokens")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(field, f"{value!r} is not a price") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_PRICE:
        raise ValidationError(field, f"must be between 0 and {MAX_PRICE:,} dollars per million tokens")
    return amount


def _positive_int(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= enums.MAX_CONTEXT_WINDOW:
        raise ValidationError(field, f"must be a whole number from 1 to {enums.MAX_CONTEXT_WINDOW:,}")
    return value


def validate_entry(entry: Any, where: str = "entry") -> dict[str, Any]:
    """A catalog entry checked and converted (prices to Decimal)."""
    if not isinstance(entry, dict):
        raise ValidationError(where, "must be an object")
    unknown = sorted(set(entry) - set(ENTRY_FIELDS))
    if unknown:
        raise ValidationError(where, f"unknown field(s): {', '.join(unknown)}")
    clean: dict[str, Any] = {}
    clean["provider_kind"] = check_choice(f"{where}.provider_kind", entry.get("provider_kind"), enums.PROVIDER_KINDS)
    model = entry.get("model")
    if not isinstance(model, str):
        raise ValidationError(f"{where}.model", "is required")
    clean["model"] = check_length(f"{where}.model", model.strip(), 200, required=True)
    name = entry.get("display_name")
    if name is not None and not isinstance(name, str):
        raise ValidationError(f"{where}.display_name", "must be text")
    clean["display_name"] = check_length(f"{where}.display_name", name, 200)
    for field in _INT_FIELDS:
        clean[field] = _positive_int(f"{where}.{field}", entry.get(field))
    for field in _PRICE_FIELDS:
        clean[field] = _price(f"{where}.{field}", entry.get(field))
    for field in _BOOL_FIELDS:
        value = entry.get(field, field == "is_active")
        if not isinstance(value, bool):
            raise ValidationError(f"{where}.{field}", "must be true or false")
        clean[field] = value
    return clean


def _equal(row: ProviderModel, entry: dict[str, Any]) -> bool:
    return all(getattr(row, field) == value for field, value in entry.items())


def _best_match(rows: list[ProviderModel], model: str) -> ProviderModel | None:
    """The exact model, else the longest name of which ``model`` is a dated snapshot."""
    best: ProviderModel | None = None
    for row in rows:
        if row.model == model:
            return row
        if model.startswith(row.model) and SNAPSHOT_SUFFIX.match(model[len(row.model):]):
            if best is None or len(row.model) > len(best.model):
                best = row
    return best


def quote(row: ModelRecord | None, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> CostQuote:
    """The cost of one call at ``row``'s prices (see the module docstring)."""
    for field, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens),
                         ("cached_input_tokens", cached_input_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(field, "must be a whole number of tokens, 0 or more")
    if cached_input_tokens > input_tokens:
        raise ValidationError("cached_input_tokens", "cannot exceed input_tokens, which includes them")
    if row is None:
        return CostQuote(None, None, None, None, None)
    quote_ = CostQuote(None, row.model, row.input_price, row.cached_input_price, row.output_price)
    if row.input_price is None or row.output_price is None:
        return quote_
    # A model without a separate cached price gives no cache discount.
    cached_price = row.cached_input_price if row.cached_input_price is not None else row.input_price
    dollars = (
        (input_tokens - cached_input_tokens) * row.input_price
        + cached_input_tokens * cached_price
        + output_tokens * row.output_price
    ) / PER_TOKENS
    # Money is stored in nano-dollars: quote exactly what will be stored.
    dollars = (dollars * NANOS).to_integral_value() / NANOS
    return CostQuote(dollars, row.model, row.input_price, row.cached_input_price, row.output_price)


class ModelCatalogService(Service):
    def seed_builtin(self) -> int:
        """Insert or refresh the built-in models; returns how many rows changed (0 when
        the catalog is already current). Entries from a file or the user are left alone.
        """
        entries = [validate_entry(entry, f"builtin[{index}]") for index, entry in enumerate(BUILTIN_MODELS)]
        with self.db.read() as session:  # the common case: nothing to change, no write lock
            current = {(row.provider_kind, row.model): row for row in session.scalars(select(ProviderModel))}
            if all(self._same(current.get((e["provider_kind"], e["model"])), e) for e in entries):
                return 0
        with self.db.write() as session:
            return sum(self._upsert(session, entry, "builtin", replace_user=False) for entry in entries)

    def upsert(self, provider_kind: str, model: str, *, source: str = "user", **fields: Any) -> ModelRecord:
        """Add or replace one model's entry."""
        check_choice("source", source, SOURCES)
        entry = validate_entry({"provider_kind": provider_kind, "model": model, **fields})
        with self.db.write() as session:
            self._upsert(session, entry, source, replace_user=True)
            return to_record(ModelRecord, self._exact(session, entry["provider_kind"], entry["model"]))

    def load_file(self, path: str | Path) -> int:
        """Load a JSON list of entries (all or nothing); returns how many rows changed."""
        path = Path(path)
        try:
            if path.stat().st_size > MAX_CATALOG_FILE:
                raise ValidationError("path", f"{path} is larger than {MAX_CATALOG_FILE // 1024 // 1024} MB")
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ValidationError("path", f"cannot read {path}: {error.strerror or error}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValidationError("path", f"{path} is not valid JSON: {error}") from None
        if not isinstance(data, list):
            raise ValidationError("path", f"{path} must hold a JSON list of model entries")
        entries = [validate_entry(entry, f"entries[{index}]") for index, entry in enumerate(data)]
        with self.db.write() as session:
            return sum(self._upsert(session, entry, "file", replace_user=True) for entry in entries)

    def get(self, provider_kind: str, model: str) -> ModelRecord | None:
        """The catalog entry for ``model`` (or the base model of a dated snapshot)."""
        with self.db.read() as session:
            rows = session.scalars(select(ProviderModel).where(ProviderModel.provider_kind == provider_kind)).all()
            row = _best_match(list(rows), model)
            return to_record(ModelRecord, row) if row is not None else None

    def list(self, provider_kind: str | None = None, *, active_only: bool = True) -> list[ModelRecord]:
        query = select(ProviderModel)
        if provider_kind is not None:
            query = query.where(ProviderModel.provider_kind == provider_kind)
        if active_only:
            query = query.where(ProviderModel.is_active.is_(True))
        with self.db.read() as session:
            rows = session.scalars(query.order_by(ProviderModel.provider_kind, ProviderModel.model)).all()
            return [to_record(ModelRecord, row) for row in rows]

    def cost(
        self, provider_kind: str, model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
    ) -> CostQuote:
        """What a call cost, or ``cost=None`` if the model's prices are unknown."""
        return quote(self.get(provider_kind, model), input_tokens, output_tokens, cached_input_tokens)

    # --- internals ------------------------------------------------------------------

    @staticmethod
    def _exact(session: Any, kind: str, model: str) -> ProviderModel | None:
        return session.scalars(
            select(ProviderModel).where(ProviderModel.provider_kind == kind, ProviderModel.model == model)
        ).one_or_none()

    @staticmethod
    def _same(row: ProviderModel | None, entry: dict[str, Any]) -> bool:
        """Whether ``row`` already holds ``entry`` (a user's or file's row counts as
        current for the built-in seed, which never overwrites it)."""
        if row is None:
            return False
        return row.source != "builtin" or _equal(row, entry)

    def _upsert(self, session: Any, entry: dict[str, Any], source: str, *, replace_user: bool) -> int:
        row = self._exact(session, entry["provider_kind"], entry["model"])
        if row is None:
            session.add(ProviderModel(**entry, source=source, updated_at=utcnow()))
            session.flush()
            return 1
        if not replace_user and row.source != "builtin":
            return 0
        changed = not _equal(row, entry) or row.source != source
        if changed:
            for field, value in entry.items():
                setattr(row, field, value)
            row.source = source
            row.updated_at = utcnow()
            session.flush()
        return int(changed)
