"""Services: one method is one unit of work; results are plain dataclasses.

``Storage`` bundles them over one :class:`~storage.db.Database`. Each service module is
imported the first time it is used, so opening the app costs only what it touches.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..db import Database

#: attribute -> "module:Class"
SERVICES: dict[str, str] = {
    "users": "users:UserService",
    "sessions": "sessions:SessionService",
    "conversations": "conversations:ConversationService",
    "messages": "messages:MessageService",
    "search": "search:SearchService",
    "tools": "tools:ToolExecutionService",
    "approvals": "approvals:ApprovalService",
    "context": "context:ContextOptimizationService",
    "providers": "providers:ProviderConfigService",
    "catalog": "catalog:ModelCatalogService",
    "usage": "usage:UsageService",
    "budgets": "budgets:BudgetService",
    "shares": "shares:ShareService",
    "analytics": "analytics:AnalyticsService",
    "integrations": "integrations:IntegrationService",
    "memories": "memories:MemoryService",
    "templates": "templates:PromptTemplateService",
    "attachments": "attachments:AttachmentService",
}


class Storage:
    """Every service over one database: ``storage.conversations.list(user_id)``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @classmethod
    def open(cls, url: str, **kwargs: Any) -> "Storage":
        return cls(Database.open(url, **kwargs))

    def __getattr__(self, name: str) -> Any:
        target = SERVICES.get(name)
        if target is None:
            raise AttributeError(name)
        module_name, class_name = target.split(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        service = getattr(module, class_name)(self.db)
        setattr(self, name, service)
        return service

    def close(self) -> None:
        self.db.close()
