"""index of pinned messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_pinned', ['conversation_id'], unique=False,
                              postgresql_where=sa.text('is_pinned'), sqlite_where=sa.text('is_pinned = 1'))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_pinned', postgresql_where=sa.text('is_pinned'),
                            sqlite_where=sa.text('is_pinned = 1'))
