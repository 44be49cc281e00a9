"""Typed errors raised by the storage layer. Messages are written for the user."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for every storage failure."""


class DatabaseError(StorageError):
    """The database cannot be opened, upgraded or reached."""


class MigrationError(DatabaseError):
    """The schema could not be brought to the current revision."""


class NotFound(StorageError):
    """The record does not exist, or is not visible to this user."""

    def __init__(self, kind: str, identifier: str) -> None:
        super().__init__(f"{kind} {identifier!r} not found")
        self.kind = kind
        self.identifier = identifier


class ValidationError(StorageError, ValueError):
    """A value is out of range or malformed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Conflict(StorageError):
    """The change conflicts with existing data (a duplicate name, a wrong state)."""


class PermissionDenied(StorageError):
    """The user may not do this (a read-only share, an expired or revoked share)."""
