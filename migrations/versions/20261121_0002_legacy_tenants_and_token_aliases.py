"""legacy tenants and token aliases

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 16:20:55.541795
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legacy_tenants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_legacy_tenants_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legacy_tenants")),
        sa.UniqueConstraint("provider", "name", name=op.f("uq_legacy_tenants_provider_name")),
    )
    with op.batch_alter_table("legacy_tenants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legacy_tenants_account_id"), ["account_id"], unique=False)

    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("surface", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("access_tokens", schema=None) as batch_op:
        batch_op.drop_column("surface")

    with op.batch_alter_table("legacy_tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legacy_tenants_account_id"))

    op.drop_table("legacy_tenants")
