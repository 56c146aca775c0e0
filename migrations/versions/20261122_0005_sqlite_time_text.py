"""times written by bulk imports on SQLite get the ORM's text form

Bulk imports before this revision bound SQLite times through SQLAlchemy's generic type: sqlite3 stored a time
without fractional seconds as ``2024-05-01 09:30:00`` where the ORM stores ``2024-05-01 09:30:00.000000``. SQLite
compares times as text, so filters and ordering across imported and native rows could go wrong at equal instants.
Every time column's short values get ``.000000`` (the ORM never writes them; a re-run of an import does not rewrite
unchanged rows). PostgreSQL stores real timestamps: nothing to do there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 03:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHORT_TIME = "____-__-__ __:__:__"
"""A time with no fractional seconds: 19 characters (``LIKE`` patterns, ``_`` one character each)."""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    inspector = sa.inspect(bind)
    quote = bind.dialect.identifier_preparer.quote
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            if not isinstance(column["type"], sa.DateTime):
                continue
            name = quote(column["name"])
            op.execute(
                sa.text(
                    f"UPDATE {quote(table)} SET {name} = {name} || '.000000' "
                    f"WHERE typeof({name}) = 'text' AND {name} LIKE :short"
                ).bindparams(short=SHORT_TIME)
            )


def downgrade() -> None:
    # The long form is what the ORM writes and reads: nothing to undo.
    pass
