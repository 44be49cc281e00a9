"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provider_models',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('provider_kind', sa.String(length=40), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('context_window', sa.Integer(), nullable=True),
    sa.Column('max_output_tokens', sa.Integer(), nullable=True),
    sa.Column('input_price', storage.types.Money(), nullable=True),
    sa.Column('output_price', storage.types.Money(), nullable=True),
    sa.Column('cached_input_price', storage.types.Money(), nullable=True),
    sa.Column('supports_tools', sa.Boolean(), nullable=False),
    sa.Column('supports_vision', sa.Boolean(), nullable=False),
    sa.Column('supports_reasoning', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(input_price IS NULL OR input_price >= 0) AND (output_price IS NULL OR output_price >= 0) AND (cached_input_price IS NULL OR cached_input_price >= 0)', name=op.f('ck_provider_models_prices_nonnegative')),
    sa.CheckConstraint('context_window IS NULL OR context_window > 0', name=op.f('ck_provider_models_context_window_positive')),
    sa.CheckConstraint('max_output_tokens IS NULL OR max_output_tokens > 0', name=op.f('ck_provider_models_max_output_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_models')),
    sa.UniqueConstraint('provider_kind', 'model', name=op.f('uq_provider_models_provider_kind_model'))
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identity', sa.String(length=320), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('avatar', sa.String(length=2048), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_active_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('preferences', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('identity', name=op.f('uq_users_identity'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_is_active_created_at'), ['is_active', 'created_at'], unique=False)

    op.create_table('auto_approval_settings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('read_only_operations', sa.Boolean(), nullable=False),
    sa.Column('low_risk_operations', sa.Boolean(), nullable=False),
    sa.Column('specific_tools', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('max_cost_per_tool', storage.types.Money(), nullable=False),
    sa.Column('max_cost_per_hour', storage.types.Money(), nullable=False),
    sa.Column('require_approval_for_new_tools', sa.Boolean(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('max_cost_per_hour >= 0', name=op.f('ck_auto_approval_settings_max_cost_per_hour_nonnegative')),
    sa.CheckConstraint('max_cost_per_tool >= 0', name=op.f('ck_auto_approval_settings_max_cost_per_tool_nonnegative')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auto_approval_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auto_approval_settings')),
    sa.UniqueConstraint('user_id', name=op.f('uq_auto_approval_settings_user_id'))
    )
    op.create_table('budgets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=True),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('max_cost', storage.types.Money(), nullable=True),
    sa.Column('max_tokens', sa.BigInteger(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period IN ('day', 'month')", name=op.f('ck_budgets_period_valid')),
    sa.CheckConstraint('(max_cost IS NULL OR max_cost >= 0) AND (max_tokens IS NULL OR max_tokens >= 0)', name=op.f('ck_budgets_caps_nonnegative')),
    sa.CheckConstraint('max_cost IS NOT NULL OR max_tokens IS NOT NULL', name=op.f('ck_budgets_has_cap')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_budgets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budgets'))
    )
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budgets_user_id_is_active'), ['user_id', 'is_active'], unique=False)

    op.create_table('chat_analytics',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('conversations', sa.Integer(), nullable=False),
    sa.Column('new_conversations', sa.Integer(), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('user_messages', sa.Integer(), nullable=False),
    sa.Column('assistant_messages', sa.Integer(), nullable=False),
    sa.Column('input_tokens', sa.BigInteger(), nullable=False),
    sa.Column('output_tokens', sa.BigInteger(), nullable=False),
    sa.Column('cost', storage.types.Money(), nullable=False),
    sa.Column('cost_by_model', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('tokens_by_model', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('ratings_up', sa.Integer(), nullable=False),
    sa.Column('ratings_down', sa.Integer(), nullable=False),
    sa.Column('avg_response_ms', sa.Float(), nullable=True),
    sa.Column('p50_first_token_ms', sa.Float(), nullable=True),
    sa.Column('p95_first_token_ms', sa.Float(), nullable=True),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('tool_calls', sa.Integer(), nullable=False),
    sa.Column('computed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_analytics_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_analytics')),
    sa.UniqueConstraint('user_id', 'day', name=op.f('uq_chat_analytics_user_id_day'))
    )
    op.create_table('integrations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('credentials_ref', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('connected_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_synced_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('mcp-stdio', 'mcp-http', 'other')", name=op.f('ck_integrations_kind_valid')),
    sa.CheckConstraint("status IN ('active', 'expired', 'revoked', 'error', 'disabled')", name=op.f('ck_integrations_status_valid')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_integrations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrations')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_integrations_user_id_name'))
    )
    op.create_table('prompt_templates',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('system_prompt', sa.Text(), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_prompt_templates_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prompt_templates')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_prompt_templates_user_id_name'))
    )
    op.create_table('provider_configs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('base_url', sa.String(length=2048), nullable=True),
    sa.Column('default_model', sa.String(length=200), nullable=True),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('key_ref', sa.String(length=300), nullable=True),
    sa.Column('key_fingerprint', sa.String(length=40), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('openai', 'anthropic', 'openai-compatible')", name=op.f('ck_provider_configs_kind_valid')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_provider_configs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_configs')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_provider_configs_user_id_name'))
    )
    op.create_table('sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('client_session_id', sa.String(length=64), nullable=False),
    sa.Column('window_id', sa.String(length=200), nullable=True),
    sa.Column('user_agent', sa.String(length=500), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('device_info', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('location', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_active_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('client_session_id', name=op.f('uq_sessions_client_session_id'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_last_active_at'), ['last_active_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sessions_user_id_is_active_last_active_at'), ['user_id', 'is_active', 'last_active_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sessions_user_id_window_id'), ['user_id', 'window_id'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=True),
    sa.Column('window_id', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('title_is_custom', sa.Boolean(), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('system_prompt', sa.Text(), nullable=True),
    sa.Column('context_window', sa.Integer(), nullable=True),
    sa.Column('context_strategy', sa.String(length=20), nullable=False),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('approval_overrides', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('is_pinned', sa.Boolean(), nullable=False),
    sa.Column('message_count', sa.Integer(), nullable=False),
    sa.Column('token_count', sa.BigInteger(), nullable=False),
    sa.Column('total_cost', storage.types.Money(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('context', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('current_message_id', sa.String(length=36), nullable=True),
    sa.Column('last_message_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("context_strategy IN ('truncate', 'summarize', 'manual')", name=op.f('ck_conversations_context_strategy_valid')),
    sa.CheckConstraint("status IN ('active', 'archived', 'deleted')", name=op.f('ck_conversations_status_valid')),
    sa.CheckConstraint('context_window IS NULL OR context_window > 0', name=op.f('ck_conversations_context_window_positive')),
    sa.CheckConstraint('message_count >= 0', name=op.f('ck_conversations_message_count_nonnegative')),
    sa.CheckConstraint('token_count >= 0', name=op.f('ck_conversations_token_count_nonnegative')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_conversations_session_id_sessions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conversations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversations_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_user_id_window_id'), ['user_id', 'window_id'], unique=False)
        batch_op.create_index('ix_conversations_user_recent', ['user_id', 'status', 'is_pinned', 'last_message_at', 'id'], unique=False)

    op.create_table('approval_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('action', sa.String(length=8), nullable=False),
    sa.Column('tool_pattern', sa.String(length=200), nullable=False),
    sa.Column('argument_pattern', sa.Text(), nullable=True),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('project_path', sa.String(length=4096), nullable=True),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(scope = 'conversation' AND conversation_id IS NOT NULL) OR (scope = 'project' AND project_path IS NOT NULL) OR (scope = 'global')", name=op.f('ck_approval_rules_scope_target')),
    sa.CheckConstraint("action IN ('allow', 'ask', 'deny')", name=op.f('ck_approval_rules_action_valid')),
    sa.CheckConstraint("scope IN ('conversation', 'project', 'global')", name=op.f('ck_approval_rules_scope_valid')),
    sa.CheckConstraint("source IN ('user', 'prompt', 'cli', 'config', 'import', 'audit')", name=op.f('ck_approval_rules_source_valid')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_approval_rules_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_approval_rules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_rules'))
    )
    with op.batch_alter_table('approval_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_approval_rules_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approval_rules_user_id_is_active_action'), ['user_id', 'is_active', 'action'], unique=False)

    op.create_table('chat_shares',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('owner_id', sa.String(length=36), nullable=False),
    sa.Column('shared_with_user_id', sa.String(length=36), nullable=True),
    sa.Column('share_token', sa.String(length=64), nullable=False),
    sa.Column('permission', sa.String(length=8), nullable=False),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('access_count', sa.Integer(), nullable=False),
    sa.Column('max_access_count', sa.Integer(), nullable=True),
    sa.Column('last_accessed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("permission IN ('read', 'write', 'share')", name=op.f('ck_chat_shares_permission_valid')),
    sa.CheckConstraint('access_count >= 0', name=op.f('ck_chat_shares_access_count_nonnegative')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_chat_shares_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_chat_shares_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shared_with_user_id'], ['users.id'], name=op.f('fk_chat_shares_shared_with_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_shares')),
    sa.UniqueConstraint('share_token', name=op.f('uq_chat_shares_share_token'))
    )
    with op.batch_alter_table('chat_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_shares_conversation_id_is_active'), ['conversation_id', 'is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_shares_expires_at_is_active'), ['expires_at', 'is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_shares_owner_id_is_active'), ['owner_id', 'is_active'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_shares_shared_with_user_id_is_active'), ['shared_with_user_id', 'is_active'], unique=False)

    op.create_table('context_optimizations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('trigger_reason', sa.String(length=20), nullable=False),
    sa.Column('optimization_type', sa.String(length=20), nullable=False),
    sa.Column('tokens_before', sa.Integer(), nullable=False),
    sa.Column('tokens_after', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('affected_message_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("optimization_type IN ('truncation', 'summarization', 'compression')", name=op.f('ck_context_optimizations_optimization_type_valid')),
    sa.CheckConstraint("trigger_reason IN ('token_limit', 'user_request', 'auto')", name=op.f('ck_context_optimizations_trigger_reason_valid')),
    sa.CheckConstraint('tokens_before >= 0 AND tokens_after >= 0', name=op.f('ck_context_optimizations_tokens_nonnegative')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_context_optimizations_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_context_optimizations'))
    )
    with op.batch_alter_table('context_optimizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_context_optimizations_conversation_id_created_at'), ['conversation_id', 'created_at'], unique=False)

    op.create_table('conversation_tags',
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_tags_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'tag', name=op.f('pk_conversation_tags'))
    )
    with op.batch_alter_table('conversation_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_tags_tag'), ['tag'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('parent_id', sa.String(length=36), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('parts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('token_count', sa.Integer(), nullable=True),
    sa.Column('provider', sa.String(length=100), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('finish_reason', sa.String(length=40), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_pinned', sa.Boolean(), nullable=False),
    sa.Column('is_edited', sa.Boolean(), nullable=False),
    sa.Column('edited_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("content_type IN ('text', 'markdown', 'code', 'image', 'file', 'tool_call', 'tool_result', 'mixed')", name=op.f('ck_messages_content_type_valid')),
    sa.CheckConstraint("role IN ('system', 'user', 'assistant', 'tool')", name=op.f('ck_messages_role_valid')),
    sa.CheckConstraint("status IN ('pending', 'streaming', 'done', 'error', 'cancelled', 'interrupted')", name=op.f('ck_messages_status_valid')),
    sa.CheckConstraint('token_count IS NULL OR token_count >= 0', name=op.f('ck_messages_token_count_nonnegative')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['messages.id'], name=op.f('fk_messages_parent_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_messages_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_messages_conversation_id_created_at_id'), ['conversation_id', 'created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_messages_unfinished', ['status'], unique=False, postgresql_where=sa.text("status IN ('pending', 'streaming')"), sqlite_where=sa.text("status IN ('pending', 'streaming')"))
        batch_op.create_index(batch_op.f('ix_messages_user_id_created_at'), ['user_id', 'created_at'], unique=False)

    # conversations.current_message_id points into messages, created after it.
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f('fk_conversations_current_message_id_messages'),
            'messages', ['current_message_id'], ['id'], ondelete='SET NULL',
        )

    op.create_table('attachments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('message_id', sa.String(length=36), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('mime_type', sa.String(length=200), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('storage_path', sa.String(length=1024), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('uploading', 'processing', 'ready', 'error')", name=op.f('ck_attachments_status_valid')),
    sa.CheckConstraint('size >= 0 AND size <= 104857600', name=op.f('ck_attachments_size_range')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_attachments_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_attachments_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attachments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_conversation_id_created_at'), ['conversation_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_user_id_created_at'), ['user_id', 'created_at'], unique=False)

    op.create_table('memories',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('source_message_id', sa.String(length=36), nullable=True),
    sa.Column('source_conversation_id', sa.String(length=36), nullable=True),
    sa.Column('tags', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('importance', sa.Integer(), nullable=False),
    sa.Column('use_count', sa.Integer(), nullable=False),
    sa.Column('last_used_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_conversation_id'], ['conversations.id'], name=op.f('fk_memories_source_conversation_id_conversations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_message_id'], ['messages.id'], name=op.f('fk_memories_source_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memories_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memories'))
    )
    with op.batch_alter_table('memories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memories_user_id_is_active_created_at'), ['user_id', 'is_active', 'created_at'], unique=False)

    op.create_table('message_edits',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('source_message_id', sa.String(length=36), nullable=True),
    sa.Column('previous_content', sa.Text(), nullable=False),
    sa.Column('previous_parts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('edited_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_message_id'], ['messages.id'], name=op.f('fk_message_edits_source_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_edits_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_edits'))
    )
    with op.batch_alter_table('message_edits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_edits_message_id_edited_at'), ['message_id', 'edited_at'], unique=False)

    op.create_table('message_feedback',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rating IN (-1, 1)', name=op.f('ck_message_feedback_rating_valid')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_feedback_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_feedback_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_feedback')),
    sa.UniqueConstraint('message_id', 'user_id', name=op.f('uq_message_feedback_message_id_user_id'))
    )
    with op.batch_alter_table('message_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_feedback_user_id_created_at'), ['user_id', 'created_at'], unique=False)

    op.create_table('message_references',
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('referenced_message_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('message_id <> referenced_message_id', name=op.f('ck_message_references_not_self')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_references_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['referenced_message_id'], ['messages.id'], name=op.f('fk_message_references_referenced_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'referenced_message_id', name=op.f('pk_message_references'))
    )
    with op.batch_alter_table('message_references', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_references_referenced_message_id'), ['referenced_message_id'], unique=False)

    op.create_table('tool_executions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=True),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('tool_call_id', sa.String(length=200), nullable=False),
    sa.Column('tool_name', sa.String(length=200), nullable=False),
    sa.Column('tool_source', sa.String(length=200), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('approved_parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('risk_level', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=40), nullable=True),
    sa.Column('decision_rule_id', sa.String(length=36), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('denial_note', sa.Text(), nullable=True),
    sa.Column('approval_requested_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('executed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('execution_time_ms', sa.Integer(), nullable=True),
    sa.Column('cost', storage.types.Money(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decided_by IS NULL OR decided_by IN ('user', 'rule', 'auto', 'policy', 'flag', 'bypass')", name=op.f('ck_tool_executions_decided_by_valid')),
    sa.CheckConstraint("risk_level IN ('read_only', 'low', 'medium', 'high')", name=op.f('ck_tool_executions_risk_level_valid')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'denied', 'executing', 'completed', 'failed', 'cancelled')", name=op.f('ck_tool_executions_status_valid')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_tool_executions_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decision_rule_id'], ['approval_rules.id'], name=op.f('fk_tool_executions_decision_rule_id_approval_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_tool_executions_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tool_executions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tool_executions'))
    )
    with op.batch_alter_table('tool_executions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tool_executions_conversation_id_created_at'), ['conversation_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tool_executions_message_id'), ['message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tool_executions_status_created_at'), ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tool_executions_tool_name_created_at'), ['tool_name', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tool_executions_user_id_created_at'), ['user_id', 'created_at'], unique=False)

    op.create_table('usage_logs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.String(length=36), nullable=False),
    sa.Column('conversation_id', sa.String(length=36), nullable=True),
    sa.Column('message_id', sa.String(length=36), nullable=True),
    sa.Column('provider', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('operation', sa.String(length=20), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('cached_input_tokens', sa.Integer(), nullable=False),
    sa.Column('reasoning_tokens', sa.Integer(), nullable=False),
    sa.Column('cost', storage.types.Money(), nullable=True),
    sa.Column('prices', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('response_ms', sa.Integer(), nullable=True),
    sa.Column('first_token_ms', sa.Integer(), nullable=True),
    sa.Column('streaming_ms', sa.Integer(), nullable=True),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('error_kind', sa.String(length=40), nullable=True),
    sa.Column('billing_period', sa.String(length=7), nullable=False),
    sa.Column('quota_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("operation IN ('chat', 'title', 'summary', 'tool')", name=op.f('ck_usage_logs_operation_valid')),
    sa.CheckConstraint('input_tokens >= 0 AND output_tokens >= 0 AND cached_input_tokens >= 0 AND reasoning_tokens >= 0', name=op.f('ck_usage_logs_tokens_nonnegative')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_usage_logs_conversation_id_conversations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_usage_logs_message_id_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quota_id'], ['budgets.id'], name=op.f('fk_usage_logs_quota_id_budgets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_usage_logs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_logs'))
    )
    with op.batch_alter_table('usage_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_logs_conversation_id_created_at'), ['conversation_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_logs_provider_model_created_at'), ['provider', 'model', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_logs_user_id_billing_period'), ['user_id', 'billing_period'], unique=False)
        batch_op.create_index(batch_op.f('ix_usage_logs_user_id_created_at'), ['user_id', 'created_at'], unique=False)


    create_search(op.get_bind().dialect.name)

def downgrade() -> None:
    drop_search(op.get_bind().dialect.name)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conversations_current_message_id_messages'), type_='foreignkey')
    with op.batch_alter_table('usage_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_logs_user_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_usage_logs_user_id_billing_period'))
        batch_op.drop_index(batch_op.f('ix_usage_logs_provider_model_created_at'))
        batch_op.drop_index(batch_op.f('ix_usage_logs_conversation_id_created_at'))

    op.drop_table('usage_logs')
    with op.batch_alter_table('tool_executions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tool_executions_user_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_tool_executions_tool_name_created_at'))
        batch_op.drop_index(batch_op.f('ix_tool_executions_status_created_at'))
        batch_op.drop_index(batch_op.f('ix_tool_executions_message_id'))
        batch_op.drop_index(batch_op.f('ix_tool_executions_conversation_id_created_at'))

    op.drop_table('tool_executions')
    with op.batch_alter_table('message_references', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_references_referenced_message_id'))

    op.drop_table('message_references')
    with op.batch_alter_table('message_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_feedback_user_id_created_at'))

    op.drop_table('message_feedback')
    with op.batch_alter_table('message_edits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_edits_message_id_edited_at'))

    op.drop_table('message_edits')
    with op.batch_alter_table('memories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memories_user_id_is_active_created_at'))

    op.drop_table('memories')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_user_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_attachments_message_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_conversation_id_created_at'))
        batch_op.drop_index(batch_op.f('ix_attachments_content_hash'))

    op.drop_table('attachments')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_user_id_created_at'))
        batch_op.drop_index('ix_messages_unfinished', postgresql_where=sa.text("status IN ('pending', 'streaming')"), sqlite_where=sa.text("status IN ('pending', 'streaming')"))
        batch_op.drop_index(batch_op.f('ix_messages_parent_id'))
        batch_op.drop_index(batch_op.f('ix_messages_conversation_id_created_at_id'))

    op.drop_table('messages')
    with op.batch_alter_table('conversation_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_tags_tag'))

    op.drop_table('conversation_tags')
    with op.batch_alter_table('context_optimizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_context_optimizations_conversation_id_created_at'))

    op.drop_table('context_optimizations')
    with op.batch_alter_table('chat_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_shares_shared_with_user_id_is_active'))
        batch_op.drop_index(batch_op.f('ix_chat_shares_owner_id_is_active'))
        batch_op.drop_index(batch_op.f('ix_chat_shares_expires_at_is_active'))
        batch_op.drop_index(batch_op.f('ix_chat_shares_conversation_id_is_active'))

    op.drop_table('chat_shares')
    with op.batch_alter_table('approval_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approval_rules_user_id_is_active_action'))
        batch_op.drop_index(batch_op.f('ix_approval_rules_conversation_id'))

    op.drop_table('approval_rules')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_user_recent')
        batch_op.drop_index(batch_op.f('ix_conversations_user_id_window_id'))
        batch_op.drop_index(batch_op.f('ix_conversations_session_id'))

    op.drop_table('conversations')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_user_id_window_id'))
        batch_op.drop_index(batch_op.f('ix_sessions_user_id_is_active_last_active_at'))
        batch_op.drop_index(batch_op.f('ix_sessions_last_active_at'))

    op.drop_table('sessions')
    op.drop_table('provider_configs')
    op.drop_table('prompt_templates')
    op.drop_table('integrations')
    op.drop_table('chat_analytics')
    with op.batch_alter_table('budgets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budgets_user_id_is_active'))

    op.drop_table('budgets')
    op.drop_table('auto_approval_settings')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_is_active_created_at'))
        batch_op.drop_index(batch_op.f('ix_users_email'))

    op.drop_table('users')
    op.drop_table('provider_models')


# --- full-text search ------------------------------------------------------------------
# SQLite: FTS5 tables over messages.content and conversations.title (external content,
# keyed by rowid), kept in step by triggers. A message is indexed once it stops
# streaming, so appending streamed text costs no index work.
# PostgreSQL: GIN indexes over tsvector expressions (the first 200,000 characters).

SEARCHABLE = "('done', 'error', 'cancelled', 'interrupted')"

SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='rowid',"
    " tokenize='porter unicode61 remove_diacritics 2')",
    f"""CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages WHEN new.status IN {SEARCHABLE} BEGIN
        INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
    END""",
    f"""CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages WHEN old.status IN {SEARCHABLE} BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    END""",
    f"""CREATE TRIGGER messages_fts_au AFTER UPDATE OF content, status ON messages
    WHEN old.status IN {SEARCHABLE} OR new.status IN {SEARCHABLE} BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content)
            SELECT 'delete', old.rowid, old.content WHERE old.status IN {SEARCHABLE};
        INSERT INTO messages_fts(rowid, content)
            SELECT new.rowid, new.content WHERE new.status IN {SEARCHABLE};
    END""",
    "CREATE VIRTUAL TABLE conversations_fts USING fts5(title, content='conversations', content_rowid='rowid',"
    " tokenize='porter unicode61 remove_diacritics 2')",
    """CREATE TRIGGER conversations_fts_ai AFTER INSERT ON conversations BEGIN
        INSERT INTO conversations_fts(rowid, title) VALUES (new.rowid, coalesce(new.title, ''));
    END""",
    """CREATE TRIGGER conversations_fts_ad AFTER DELETE ON conversations BEGIN
        INSERT INTO conversations_fts(conversations_fts, rowid, title)
            VALUES ('delete', old.rowid, coalesce(old.title, ''));
    END""",
    """CREATE TRIGGER conversations_fts_au AFTER UPDATE OF title ON conversations BEGIN
        INSERT INTO conversations_fts(conversations_fts, rowid, title)
            VALUES ('delete', old.rowid, coalesce(old.title, ''));
        INSERT INTO conversations_fts(rowid, title) VALUES (new.rowid, coalesce(new.title, ''));
    END""",
]

POSTGRES_SEARCH = [
    "CREATE INDEX ix_fts_messages_content ON messages"
    " USING gin (to_tsvector('english', left(content, 200000)))"
    f" WHERE status IN {SEARCHABLE}",
    "CREATE INDEX ix_fts_conversations_title ON conversations"
    " USING gin (to_tsvector('english', coalesce(title, '')))",
]


def create_search(dialect: str) -> None:
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


def drop_search(dialect: str) -> None:
    if dialect == "sqlite":
        for name in ("messages_fts_ai", "messages_fts_ad", "messages_fts_au",
                     "conversations_fts_ai", "conversations_fts_ad", "conversations_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
        op.execute("DROP TABLE IF EXISTS conversations_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_fts_messages_content")
        op.execute("DROP INDEX IF EXISTS ix_fts_conversations_title")
