"""The full schema: every entity of the seed documents, as typed SQLAlchemy 2.x models.

Conventions
- Primary keys are time-sortable UUIDv7 strings (:func:`storage.ids.new_id`).
- Times are UTC-aware (:class:`storage.types.UTCDateTime`); money is exact
  (:class:`storage.types.Money`); JSON becomes JSONB on PostgreSQL.
- Enumerations are strings guarded by CHECK constraints (portable, easy to migrate).
- Constraint names follow ``NAMING_CONVENTION`` so Alembic can address them.
- The Python attribute for a ``metadata`` column is ``meta`` (``metadata`` is reserved
  by SQLAlchemy's declarative base).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from . import enums
from .ids import new_id
from .types import JSONType, Money, UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
        list[str]: JSONType,
    }


def one_of(column: str, values: tuple[str, ...], name: str | None = None) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_valid")


def _id() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow, nullable=False)


def _updated() -> Mapped[datetime]:
    return mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


def _user_fk(nullable: bool = False) -> Mapped[Any]:
    return mapped_column(
        String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable
    )


def _conversation_fk(nullable: bool = False, ondelete: str = "CASCADE") -> Mapped[Any]:
    return mapped_column(String(36), ForeignKey("conversations.id", ondelete=ondelete), nullable=nullable)


def _json_obj() -> Mapped[dict[str, Any]]:
    return mapped_column(JSONType, default=dict, nullable=False)


def _json_list() -> Mapped[list[Any]]:
    return mapped_column(JSONType, default=list, nullable=False)


# --- people and runs ----------------------------------------------------------------


class User(Base):
    """A person: the local OS user, or an email on a shared database."""

    __tablename__ = "users"

    id: Mapped[str] = _id()
    identity: Mapped[str] = mapped_column(String(320), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    avatar: Mapped[str | None] = mapped_column(String(2048))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_active_at: Mapped[datetime | None]
    preferences: Mapped[dict[str, Any]] = _json_obj()
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        Index(None, "is_active", "created_at"),
        Index(None, "email"),
    )


class Session(Base):
    """One run of the app, in one terminal window."""

    __tablename__ = "sessions"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    client_session_id: Mapped[str] = mapped_column(String(64), default=new_id)
    window_id: Mapped[str | None] = mapped_column(String(200))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    ip: Mapped[str | None] = mapped_column(String(64))
    device_info: Mapped[dict[str, Any]] = _json_obj()
    location: Mapped[dict[str, Any]] = _json_obj()
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = _created()
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("client_session_id"),
        Index(None, "user_id", "is_active", "last_active_at"),
        Index(None, "user_id", "window_id"),
        Index(None, "last_active_at"),
    )


# --- conversations and messages -----------------------------------------------------


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    session_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("sessions.id", ondelete="SET NULL"))
    window_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(enums.MAX_TITLE_LENGTH))
    title_is_custom: Mapped[bool] = mapped_column(default=False)
    provider: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    system_prompt: Mapped[str | None] = mapped_column(Text)
    context_window: Mapped[int | None]
    context_strategy: Mapped[str] = mapped_column(String(20), default="truncate")
    settings: Mapped[dict[str, Any]] = _json_obj()
    approval_overrides: Mapped[dict[str, Any]] = _json_obj()
    status: Mapped[str] = mapped_column(String(20), default="active")
    is_pinned: Mapped[bool] = mapped_column(default=False)
    message_count: Mapped[int] = mapped_column(default=0)
    token_count: Mapped[int] = mapped_column(BigInteger, default=0)
    total_cost: Mapped[Decimal] = mapped_column(default=Decimal(0))
    summary: Mapped[str | None] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = _json_obj()
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    current_message_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("messages.id", ondelete="SET NULL", use_alter=True)
    )
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        one_of("status", enums.CONVERSATION_STATUSES),
        one_of("context_strategy", enums.CONTEXT_STRATEGIES),
        CheckConstraint("message_count >= 0", name="message_count_nonnegative"),
        CheckConstraint("token_count >= 0", name="token_count_nonnegative"),
        CheckConstraint("context_window IS NULL OR context_window > 0", name="context_window_positive"),
        # The sidebar: a user's conversations, pinned first, then by recency.
        Index("ix_conversations_user_recent", "user_id", "status", "is_pinned", "last_message_at", "id"),
        Index(None, "session_id"),
        Index(None, "user_id", "window_id"),
    )


class ConversationTag(Base):
    __tablename__ = "conversation_tags"

    conversation_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(enums.MAX_TAG_LENGTH), primary_key=True)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (Index(None, "tag"),)


class Message(Base):
    """One message. Edits and regenerations are siblings under one parent: a tree."""

    __tablename__ = "messages"

    id: Mapped[str] = _id()
    conversation_id: Mapped[str] = _conversation_fk()
    user_id: Mapped[str] = _user_fk()
    parent_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("messages.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(20), default="text")
    parts: Mapped[list[Any]] = _json_list()
    status: Mapped[str] = mapped_column(String(16), default="done")
    token_count: Mapped[int | None]
    provider: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    finish_reason: Mapped[str | None] = mapped_column(String(40))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    is_pinned: Mapped[bool] = mapped_column(default=False)
    is_edited: Mapped[bool] = mapped_column(default=False)
    edited_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        one_of("role", enums.ROLES),
        one_of("status", enums.MESSAGE_STATUSES),
        one_of("content_type", enums.CONTENT_TYPES),
        CheckConstraint("token_count IS NULL OR token_count >= 0", name="token_count_nonnegative"),
        # A conversation's messages in order (paging), and the branch tree.
        Index(None, "conversation_id", "created_at", "id"),
        Index(None, "parent_id"),
        Index(None, "user_id", "created_at"),
        # Rows left streaming by a crashed process are found at startup.
        Index("ix_messages_unfinished", "status", postgresql_where=text("status IN ('pending', 'streaming')"),
              sqlite_where=text("status IN ('pending', 'streaming')")),
        # Pinned messages, which every turn's context includes: few rows, found without
        # reading the conversation.
        Index("ix_messages_pinned", "conversation_id", postgresql_where=text("is_pinned"),
              sqlite_where=text("is_pinned = 1")),
    )


class MessageEdit(Base):
    __tablename__ = "message_edits"

    id: Mapped[str] = _id()
    message_id: Mapped[str] = mapped_column(String(36), ForeignKey("messages.id", ondelete="CASCADE"))
    # When an edit made a new sibling branch: the message it was edited from.
    source_message_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("messages.id", ondelete="SET NULL")
    )
    previous_content: Mapped[str] = mapped_column(Text)
    previous_parts: Mapped[list[Any]] = _json_list()
    edited_at: Mapped[datetime] = _created()

    __table_args__ = (Index(None, "message_id", "edited_at"),)


class MessageReference(Base):
    __tablename__ = "message_references"

    message_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    referenced_message_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("message_id <> referenced_message_id", name="not_self"),
        Index(None, "referenced_message_id"),
    )


class MessageFeedback(Base):
    __tablename__ = "message_feedback"

    id: Mapped[str] = _id()
    message_id: Mapped[str] = mapped_column(String(36), ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[str] = _user_fk()
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        UniqueConstraint("message_id", "user_id"),
        CheckConstraint("rating IN (-1, 1)", name="rating_valid"),
        Index(None, "user_id", "created_at"),
    )


class Attachment(Base):
    """A file attached to a message. Content is stored once per sha256."""

    __tablename__ = "attachments"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    conversation_id: Mapped[str | None] = _conversation_fk(nullable=True)
    message_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("messages.id", ondelete="SET NULL"))
    file_name: Mapped[str] = mapped_column(String(enums.MAX_FILE_NAME_LENGTH))
    original_name: Mapped[str] = mapped_column(String(enums.MAX_FILE_NAME_LENGTH))
    mime_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    storage_path: Mapped[str] = mapped_column(String(1024))
    content_hash: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="ready")
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        one_of("status", enums.ATTACHMENT_STATUSES),
        CheckConstraint(f"size >= 0 AND size <= {enums.MAX_ATTACHMENT_BYTES}", name="size_range"),
        Index(None, "conversation_id", "created_at"),
        Index(None, "message_id"),
        Index(None, "content_hash"),
        Index(None, "user_id", "created_at"),
    )


# --- tools and approvals -------------------------------------------------------------


class ToolExecution(Base):
    """One tool call through its whole lifecycle, including who decided and why."""

    __tablename__ = "tool_executions"

    id: Mapped[str] = _id()
    conversation_id: Mapped[str] = _conversation_fk()
    message_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[str] = _user_fk()
    tool_call_id: Mapped[str] = mapped_column(String(200))
    tool_name: Mapped[str] = mapped_column(String(200))
    tool_source: Mapped[str] = mapped_column(String(200), default="builtin")
    parameters: Mapped[dict[str, Any]] = _json_obj()
    approved_parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    result: Mapped[Any | None] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    risk_level: Mapped[str] = mapped_column(String(16), default="high")
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decision_rule_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("approval_rules.id", ondelete="SET NULL")
    )
    decision_reason: Mapped[str | None] = mapped_column(Text)
    denial_note: Mapped[str | None] = mapped_column(Text)
    approval_requested_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    executed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    execution_time_ms: Mapped[int | None]
    cost: Mapped[Decimal | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        one_of("status", enums.TOOL_STATUSES),
        one_of("risk_level", enums.RISK_LEVELS),
        CheckConstraint(
            "decided_by IS NULL OR decided_by IN ('user', 'rule', 'auto', 'policy', 'flag', 'bypass')",
            name="decided_by_valid",
        ),
        Index(None, "status", "created_at"),
        Index(None, "conversation_id", "created_at"),
        Index(None, "tool_name", "created_at"),
        Index(None, "user_id", "created_at"),
        Index(None, "message_id"),
    )


class ApprovalRule(Base):
    """allow / ask / deny for a tool pattern and an optional argument pattern."""

    __tablename__ = "approval_rules"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    action: Mapped[str] = mapped_column(String(8))
    tool_pattern: Mapped[str] = mapped_column(String(200))
    argument_pattern: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(16), default="global")
    conversation_id: Mapped[str | None] = _conversation_fk(nullable=True)
    project_path: Mapped[str | None] = mapped_column(String(4096))
    expires_at: Mapped[datetime | None]
    source: Mapped[str] = mapped_column(String(20), default="user")
    note: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        one_of("action", enums.RULE_ACTIONS),
        one_of("scope", enums.RULE_SCOPES),
        one_of("source", enums.RULE_SOURCES),
        CheckConstraint(
            "(scope = 'conversation' AND conversation_id IS NOT NULL)"
            " OR (scope = 'project' AND project_path IS NOT NULL)"
            " OR (scope = 'global')",
            name="scope_target",
        ),
        Index(None, "user_id", "is_active", "action"),
        Index(None, "conversation_id"),
    )


class AutoApprovalSettings(Base):
    __tablename__ = "auto_approval_settings"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    read_only_operations: Mapped[bool] = mapped_column(default=True)
    low_risk_operations: Mapped[bool] = mapped_column(default=False)
    specific_tools: Mapped[dict[str, Any]] = _json_obj()
    max_cost_per_tool: Mapped[Decimal] = mapped_column(default=Decimal("1.00"))
    max_cost_per_hour: Mapped[Decimal] = mapped_column(default=Decimal("10.00"))
    require_approval_for_new_tools: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        CheckConstraint("max_cost_per_tool >= 0", name="max_cost_per_tool_nonnegative"),
        CheckConstraint("max_cost_per_hour >= 0", name="max_cost_per_hour_nonnegative"),
    )


class ContextOptimization(Base):
    __tablename__ = "context_optimizations"

    id: Mapped[str] = _id()
    conversation_id: Mapped[str] = _conversation_fk()
    trigger_reason: Mapped[str] = mapped_column(String(20))
    optimization_type: Mapped[str] = mapped_column(String(20))
    tokens_before: Mapped[int]
    tokens_after: Mapped[int]
    summary: Mapped[str | None] = mapped_column(Text)
    affected_message_ids: Mapped[list[str]] = _json_list()
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        one_of("trigger_reason", enums.OPTIMIZATION_TRIGGERS),
        one_of("optimization_type", enums.OPTIMIZATION_TYPES),
        CheckConstraint("tokens_before >= 0 AND tokens_after >= 0", name="tokens_nonnegative"),
        Index(None, "conversation_id", "created_at"),
    )


# --- providers, usage and money -----------------------------------------------------


class ProviderConfig(Base):
    """A named provider endpoint. Holds a keyring reference and fingerprint, never a key."""

    __tablename__ = "provider_configs"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    base_url: Mapped[str | None] = mapped_column(String(2048))
    default_model: Mapped[str | None] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = _json_obj()
    key_ref: Mapped[str | None] = mapped_column(String(300))
    key_fingerprint: Mapped[str | None] = mapped_column(String(40))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        UniqueConstraint("user_id", "name"),
        one_of("kind", enums.PROVIDER_KINDS),
    )


class ProviderModel(Base):
    """The model catalog: windows, limits, prices per million tokens, capabilities."""

    __tablename__ = "provider_models"

    id: Mapped[str] = _id()
    provider_kind: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    context_window: Mapped[int | None]
    max_output_tokens: Mapped[int | None]
    input_price: Mapped[Decimal | None]
    output_price: Mapped[Decimal | None]
    cached_input_price: Mapped[Decimal | None]
    supports_tools: Mapped[bool] = mapped_column(default=False)
    supports_vision: Mapped[bool] = mapped_column(default=False)
    supports_reasoning: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(String(20), default="builtin")
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        UniqueConstraint("provider_kind", "model"),
        CheckConstraint("context_window IS NULL OR context_window > 0", name="context_window_positive"),
        CheckConstraint("max_output_tokens IS NULL OR max_output_tokens > 0", name="max_output_positive"),
        CheckConstraint(
            "(input_price IS NULL OR input_price >= 0) AND (output_price IS NULL OR output_price >= 0)"
            " AND (cached_input_price IS NULL OR cached_input_price >= 0)",
            name="prices_nonnegative",
        ),
    )


class UsageLog(Base):
    """One provider call: tokens, cost at the price of the day, and timings."""

    __tablename__ = "usage_logs"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    conversation_id: Mapped[str | None] = _conversation_fk(nullable=True, ondelete="SET NULL")
    message_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("messages.id", ondelete="SET NULL"))
    provider: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    operation: Mapped[str] = mapped_column(String(20), default="chat")
    input_tokens: Mapped[int] = mapped_column(default=0)
    output_tokens: Mapped[int] = mapped_column(default=0)
    cached_input_tokens: Mapped[int] = mapped_column(default=0)
    reasoning_tokens: Mapped[int] = mapped_column(default=0)
    cost: Mapped[Decimal | None]
    prices: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    response_ms: Mapped[int | None]
    first_token_ms: Mapped[int | None]
    streaming_ms: Mapped[int | None]
    success: Mapped[bool] = mapped_column(default=True)
    error_kind: Mapped[str | None] = mapped_column(String(40))
    billing_period: Mapped[str] = mapped_column(String(7))
    quota_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("budgets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        one_of("operation", enums.USAGE_OPERATIONS),
        CheckConstraint(
            "input_tokens >= 0 AND output_tokens >= 0 AND cached_input_tokens >= 0 AND reasoning_tokens >= 0",
            name="tokens_nonnegative",
        ),
        Index(None, "user_id", "created_at"),
        Index(None, "conversation_id", "created_at"),
        Index(None, "user_id", "billing_period"),
        Index(None, "provider", "model", "created_at"),
    )


class Budget(Base):
    """A spend or token cap per day or month, for a user or one provider."""

    __tablename__ = "budgets"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    provider: Mapped[str | None] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(8))
    max_cost: Mapped[Decimal | None]
    max_tokens: Mapped[int | None] = mapped_column(BigInteger)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        one_of("period", enums.BUDGET_PERIODS),
        CheckConstraint("max_cost IS NOT NULL OR max_tokens IS NOT NULL", name="has_cap"),
        CheckConstraint("(max_cost IS NULL OR max_cost >= 0) AND (max_tokens IS NULL OR max_tokens >= 0)",
                        name="caps_nonnegative"),
        Index(None, "user_id", "is_active"),
    )


# --- sharing, analytics, integrations ------------------------------------------------


class ChatShare(Base):
    __tablename__ = "chat_shares"

    id: Mapped[str] = _id()
    conversation_id: Mapped[str] = _conversation_fk()
    owner_id: Mapped[str] = _user_fk()
    shared_with_user_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"))
    share_token: Mapped[str] = mapped_column(String(64), unique=True)
    permission: Mapped[str] = mapped_column(String(8), default="read")
    is_public: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    access_count: Mapped[int] = mapped_column(default=0)
    max_access_count: Mapped[int | None]
    last_accessed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        one_of("permission", enums.SHARE_PERMISSIONS),
        CheckConstraint("access_count >= 0", name="access_count_nonnegative"),
        Index(None, "conversation_id", "is_active"),
        Index(None, "owner_id", "is_active"),
        Index(None, "shared_with_user_id", "is_active"),
        Index(None, "expires_at", "is_active"),
    )


class ChatAnalytics(Base):
    """Daily aggregates, recomputed idempotently from the source rows."""

    __tablename__ = "chat_analytics"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    day: Mapped[str] = mapped_column(String(10))
    conversations: Mapped[int] = mapped_column(default=0)
    new_conversations: Mapped[int] = mapped_column(default=0)
    messages: Mapped[int] = mapped_column(default=0)
    user_messages: Mapped[int] = mapped_column(default=0)
    assistant_messages: Mapped[int] = mapped_column(default=0)
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[Decimal] = mapped_column(default=Decimal(0))
    cost_by_model: Mapped[dict[str, Any]] = _json_obj()
    tokens_by_model: Mapped[dict[str, Any]] = _json_obj()
    ratings_up: Mapped[int] = mapped_column(default=0)
    ratings_down: Mapped[int] = mapped_column(default=0)
    avg_response_ms: Mapped[float | None] = mapped_column(Float)
    p50_first_token_ms: Mapped[float | None] = mapped_column(Float)
    p95_first_token_ms: Mapped[float | None] = mapped_column(Float)
    errors: Mapped[int] = mapped_column(default=0)
    tool_calls: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = _created()

    __table_args__ = (UniqueConstraint("user_id", "day"),)


class Integration(Base):
    """An external connection, first of all an MCP server. Credentials live in the keyring."""

    __tablename__ = "integrations"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = _json_obj()
    credentials_ref: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="active")
    error: Mapped[str | None] = mapped_column(Text)
    connected_at: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        UniqueConstraint("user_id", "name"),
        one_of("kind", enums.INTEGRATION_KINDS),
        one_of("status", enums.INTEGRATION_STATUSES),
    )


class Memory(Base):
    """A fact remembered across conversations."""

    __tablename__ = "memories"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    content: Mapped[str] = mapped_column(Text)
    source_message_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("messages.id", ondelete="SET NULL")
    )
    source_conversation_id: Mapped[str | None] = _conversation_fk(nullable=True, ondelete="SET NULL")
    tags: Mapped[list[str]] = _json_list()
    importance: Mapped[int] = mapped_column(default=0)
    use_count: Mapped[int] = mapped_column(default=0)
    last_used_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (Index(None, "user_id", "is_active", "created_at"),)


class PromptTemplate(Base):
    """A saved system prompt / role with its default model and settings."""

    __tablename__ = "prompt_templates"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = _user_fk()
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    system_prompt: Mapped[str] = mapped_column(Text)
    provider: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = _json_obj()
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (UniqueConstraint("user_id", "name"),)


ALL_TABLES = tuple(sorted(Base.metadata.tables))
