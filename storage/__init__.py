"""Persistence for tui-chat: SQLAlchemy models, Alembic migrations and services.

No Textual and no ``tui_chat`` imports here: the storage layer stands on its own.
"""

from .db import Database
from .errors import Conflict, DatabaseError, MigrationError, NotFound, PermissionDenied, StorageError, ValidationError
from .services import Storage

__all__ = [
    "Conflict",
    "Database",
    "DatabaseError",
    "MigrationError",
    "NotFound",
    "PermissionDenied",
    "Storage",
    "StorageError",
    "ValidationError",
]
