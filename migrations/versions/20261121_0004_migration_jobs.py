"""migration jobs and their failure records

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 17:34:34.745229
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "migration_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("totals", sa.JSON(), nullable=False),
        sa.Column("records_imported", sa.Integer(), nullable=False),
        sa.Column("total_records", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("records_per_second", sa.Double(), nullable=True),
        sa.Column("eta_seconds", sa.Integer(), nullable=True),
        sa.Column("checkpoint", sa.JSON(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_migration_jobs_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_jobs")),
    )
    with op.batch_alter_table("migration_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_migration_jobs_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_migration_jobs_status"), ["status"], unique=False)

    op.create_table(
        "migration_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["migration_jobs.id"],
            name=op.f("fk_migration_failures_job_id_migration_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_failures")),
    )
    with op.batch_alter_table("migration_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_migration_failures_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("migration_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_migration_failures_job_id"))

    op.drop_table("migration_failures")
    with op.batch_alter_table("migration_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_migration_jobs_status"))
        batch_op.drop_index(batch_op.f("ix_migration_jobs_account_id"))

    op.drop_table("migration_jobs")
