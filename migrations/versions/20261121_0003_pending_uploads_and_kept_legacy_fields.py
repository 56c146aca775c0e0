"""pending uploads and kept legacy fields

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 16:50:22.702138
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.alter_column('message_id',
               existing_type=sa.INTEGER(),
               nullable=True)

    with op.batch_alter_table('external_refs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kept', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    with op.batch_alter_table('external_refs', schema=None) as batch_op:
        batch_op.drop_column('kept')

    # Uploads never linked to a message cannot survive a NOT NULL message_id.
    op.execute("DELETE FROM attachments WHERE message_id IS NULL")
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.alter_column('message_id',
               existing_type=sa.INTEGER(),
               nullable=False)
