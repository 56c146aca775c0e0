"""``bridge.store``: the only code that writes the Supportly model.

Routes, migrations and the CLI open a :class:`Writer` for one account, hand it canonical objects
(``bridge.schemas``), and the store allocates ids, records external references, queues webhook events
in an outbox inside the same transaction, and, in import mode, keeps given timestamps and authors and
emits nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.logs import get_logger
from bridge.models import Account, PlatformApp, PlatformAppPermissible, utcnow
from bridge.schemas import AgentData
from bridge.store.bulk import BulkImportWrites, ConversationImport, ImportedConversation, NewExternalRef
from bridge.store.catalog import CatalogWrites
from bridge.store.conversations import ConversationWrites
from bridge.store.core import WriterBase
from bridge.store.legacy import LegacyWrites
from bridge.store.people import PeopleWrites

log = get_logger(__name__)

IMPORT_TABLES = ("external_refs", "conversations", "messages", "contacts", "attachments", "users", "account_users")


class Writer(BulkImportWrites, ConversationWrites, PeopleWrites, CatalogWrites, LegacyWrites, WriterBase):
    """All writes of one unit of work in one account."""


class Store:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        attachments_dir: Path | None = None,
        max_attachment_bytes: int = 40 * 1024 * 1024,
        on_events: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.attachments_dir = attachments_dir
        self.max_attachment_bytes = max_attachment_bytes
        self.on_events = on_events

    @asynccontextmanager
    async def writer(
        self, account_id: int, *, import_mode: bool = False, actor_user_id: int | None = None
    ) -> AsyncIterator[Writer]:
        """Open one transaction for ``account_id``; commit (with its outbox rows) or roll back as one."""
        async with self.sessions() as session, session.begin():
            writer = Writer(
                session,
                account_id,
                import_mode=import_mode,
                actor_user_id=actor_user_id,
                attachments_dir=self.attachments_dir,
                max_attachment_bytes=self.max_attachment_bytes,
            )
            yield writer
            queued = await writer.flush_events()
        for callback in writer.after_commit:
            callback()
        if queued and self.on_events is not None:
            self.on_events()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """Open a session for reads."""
        async with self.sessions() as session:
            yield session

    async def external_refs(
        self, account_id: int, provider: str, kind: str, external_ids: Iterable[str]
    ) -> dict[str, tuple[int, str | None]]:
        """Read which legacy ids of one kind an import already mapped: ``{external id: (internal id, fingerprint)}``."""
        async with self.sessions() as session:
            return await Writer(session, account_id).external_refs_for(provider, kind, external_ids)

    async def refresh_statistics(self) -> None:
        """Have the database re-read the size of the tables an import fills.

        Tables that grew from empty in one run keep the planner's empty-table guesses until autovacuum gets to
        them; on PostgreSQL a reference lookup then walks the wrong unique index (every reference of a kind for
        each page), and an import slows down as it grows. SQLite plans these lookups by their columns alone.
        """
        async with self.sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                await session.execute(text(f"ANALYZE {', '.join(IMPORT_TABLES)}"))

    async def create_account(self, name: str, *, locale: str = "en") -> Account:
        async with self.sessions() as session, session.begin():
            now = utcnow()
            account = Account(name=name, locale=locale, created_at=now, updated_at=now, custom_attributes={})
            session.add(account)
            await session.flush()
        log.info("account_created", account_id=account.id)
        return account

    async def create_admin(self, account_id: int, *, name: str, email: str) -> tuple[int, str]:
        """Create an administrator in ``account_id`` and return their user id and a fresh API token."""
        async with self.writer(account_id) as w:
            user, _ = await w.create_agent(AgentData(name=name, email=email, role="administrator"))
            token = await w.create_token(owner_type="user", owner_id=user.id, name="cli")
        return user.id, token

    async def create_platform_app(self, name: str, account_ids: list[int]) -> tuple[int, str]:
        """Create a platform app allowed to administer ``account_ids``; return its id and token."""
        async with self.sessions() as session, session.begin():
            now = utcnow()
            app = PlatformApp(name=name, created_at=now, updated_at=now)
            session.add(app)
            await session.flush()
            for account_id in account_ids:
                session.add(PlatformAppPermissible(platform_app_id=app.id, account_id=account_id))
            writer = Writer(session, account_ids[0] if account_ids else 0)
            token = await writer.create_token(owner_type="platform_app", owner_id=app.id, name=name)
        return app.id, token


__all__ = ["ConversationImport", "ImportedConversation", "NewExternalRef", "Store", "Writer"]
