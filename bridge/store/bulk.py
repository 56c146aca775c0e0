"""Bulk writes for imports: many conversations with their messages, labels and external references at once.

An import writes tens of thousands of conversations; the per-object writes of :mod:`bridge.store.conversations`
(ORM rows, one flush and checks per object) would make it crawl. These writes take already-resolved canonical
objects (ids the caller looked up in the same account), compute what ``create_conversation`` and
``create_message`` would (display ids, last activity, first reply, waiting since) and insert each table with one
executemany (Core; RETURNING in parameter order where ids are needed). Import mode only: nothing is emitted.
Attachment files are stored as ``add_attachment`` stores them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import JSON, Table, func, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from bridge.errors import Unprocessable
from bridge.models import (
    Account,
    Attachment,
    Base,
    Contact,
    Conversation,
    ConversationLabel,
    ExternalRef,
    Label,
    Message,
    UTCDateTime,
    utcnow,
)
from bridge.schemas import ContactData, ConversationData, MessageData
from bridge.store.conversations import ConversationWrites

# Bound parameters per IN list (SQLite allows 32,766 per statement; PostgreSQL 32,767).
_CHUNK = 500
_CONVERSATION_EXCLUDE = frozenset({"labels", "display_id"})
_UNSEEN = object()
Processor = Callable[[Any], Any]


@dataclass(frozen=True, kw_only=True)
class ConversationImport:
    """A conversation whose inbox, contact, assignee and team ids are resolved, and its messages in order."""

    conversation: ConversationData
    messages: Sequence[MessageData]
    sender_ids: Sequence[int | None] | None = None
    """Each message's author (aligned with ``messages``), in place of its ``sender_id``: an importer that has the
    messages as mapped need not copy each one to name its author."""


@dataclass(frozen=True, kw_only=True)
class ImportedConversation:
    id: int
    display_id: int
    message_ids: list[int]
    attachment_ids: list[list[int]]
    """Per message (aligned with ``message_ids``), the ids of its attachments in order."""


@dataclass(frozen=True, kw_only=True)
class NewExternalRef:
    kind: str
    external_id: str
    internal_id: int
    fingerprint: str | None = None
    source_updated_at: dt.datetime | None = None
    kept: dict[str, Any] | None = None


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _uniform(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give every row the same keys, every column with a default among them (the driver fills nothing in)."""
    keys: set[str] = {column.key for column in table.c if column.default is not None}
    for row in rows:
        keys.update(row)
    defaults: dict[str, Any] = {}
    for key in keys:
        default = table.c[key].default
        arg = getattr(default, "arg", None)
        defaults[key] = arg
    for row in rows:
        for key in keys - row.keys():
            value = defaults[key]
            row[key] = value(None) if callable(value) else value
    return rows


def _sqlite_time_text(value: dt.datetime | None) -> str | None:
    """A time as SQLite stores it for :class:`~bridge.models.UTCDateTime`: naive UTC text with microseconds."""
    if value is None:
        return None
    if value.tzinfo is dt.UTC:  # the usual case: the text without its "+00:00"
        return value.isoformat(" ", "microseconds")[:-6]
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


_TIME_SAMPLES = (
    dt.datetime(2015, 6, 1, 9, 30, tzinfo=dt.UTC),
    dt.datetime(1999, 12, 31, 23, 59, 59, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    dt.datetime(2024, 2, 29, 0, 0, 1, 7, tzinfo=dt.timezone(dt.timedelta(hours=13))),
)


def _processor(kind: TypeEngine[Any], dialect: Dialect) -> Processor | None:
    """How SQLAlchemy binds a value of ``kind`` on ``dialect``, or an equal shortcut: on SQLite a time goes through
    two Python-level steps (UTC, then text) that one C-level ``isoformat`` does, if it gives the same text (checked
    on sample times each time, so a SQLAlchemy that stores times otherwise gets its own processor back)."""
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if (
        dialect.name == "sqlite"
        and isinstance(kind, UTCDateTime)
        and process is not None
        and all(_sqlite_time_text(sample) == process(sample) for sample in _TIME_SAMPLES)
    ):
        return _sqlite_time_text
    return process


def _memoized(kind: TypeEngine[Any], process: Processor | None) -> Processor | None:
    """``process`` for one bulk insert, remembering what it made of each time and of an empty JSON object.

    A batch repeats its times (every reference row's ``created_at`` and ``updated_at`` is the same instant, a
    message's ``updated_at`` is its ``created_at``) and its empty objects: each distinct one is converted once."""
    if process is None:
        return None
    if isinstance(kind, UTCDateTime):
        seen: dict[Any, Any] = {}

        def memo(value: Any) -> Any:
            found = seen.get(value, _UNSEEN)
            if found is _UNSEEN:
                found = seen[value] = process(value)
            return found

        return memo
    if isinstance(kind, JSON):
        empty = process({})

        def json(value: Any) -> Any:
            return empty if type(value) is dict and not value else process(value)

        return json
    return process


class BulkImportWrites(ConversationWrites):
    async def allocate_display_ids(self, wanted: Sequence[int | None]) -> list[int]:
        """Display ids for new conversations: each wanted id when free (import mode), else the next free ones."""
        asked = [w for w in wanted if w is not None] if self.import_mode else []
        taken = await self._taken_display_ids(asked)
        chosen: list[int | None] = []
        used: set[int] = set()
        for want in wanted:
            if self.import_mode and want is not None and want not in taken and want not in used:
                used.add(want)
                chosen.append(want)
            else:
                chosen.append(None)
        missing = sum(1 for item in chosen if item is None)
        fresh: list[int] = []
        while len(fresh) < missing:
            need = missing - len(fresh)
            top = (
                await self.session.execute(
                    update(Account)
                    .where(Account.id == self.account_id)
                    .values(conversation_seq=Account.conversation_seq + need)
                    .returning(Account.conversation_seq)
                )
            ).scalar_one()
            candidates = [n for n in range(int(top) - need + 1, int(top) + 1) if n not in used]
            busy = await self._taken_display_ids(candidates)
            free = [n for n in candidates if n not in busy]
            fresh.extend(free)
            used.update(free)
            if len(free) < len(candidates):
                await self._skip_seq_past_taken(int(top))
        allotted = iter(fresh)
        return [item if item is not None else next(allotted) for item in chosen]

    async def _taken_display_ids(self, display_ids: Sequence[int]) -> set[int]:
        taken: set[int] = set()
        for part in _chunks(sorted(set(display_ids))):
            rows = await self.session.execute(
                select(Conversation.display_id).where(
                    Conversation.account_id == self.account_id, Conversation.display_id.in_(part)
                )
            )
            taken.update(int(n) for n in rows.scalars())
        return taken

    async def _skip_seq_past_taken(self, seq: int) -> None:
        """Move the account's sequence to the end of the run of taken ids above ``seq`` (imports leave long
        runs; stepping through them a batch at a time would cost a query each)."""
        free = await self.next_free_display_id(seq)
        await self.session.execute(
            update(Account)
            .where(Account.id == self.account_id, Account.conversation_seq < free - 1)
            .values(conversation_seq=free - 1)
        )

    async def reserve_ids(self, model: type[Base], count: int) -> list[int]:
        """Primary keys for ``count`` new rows, known before the insert.

        ``INSERT … RETURNING`` in parameter order costs a statement per row on SQLite (it cannot promise the
        order of a multi-row RETURNING), so bulk inserts name their ids: PostgreSQL hands out ``count`` values of
        the table's sequence; SQLite takes the next ones after the largest id, which is safe because the
        transaction holds SQLite's write lock first (no other writer can insert until it commits).
        """
        if count <= 0:
            return []
        table = _table(model)
        if self.session.get_bind().dialect.name == "postgresql":
            found = await self.session.execute(
                select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
                    func.generate_series(1, count)
                )
            )
            return sorted(int(n) for n in found.scalars())
        # Any write takes the lock; this one changes nothing.
        await self.session.execute(
            update(Account).where(Account.id == self.account_id).values(conversation_seq=Account.conversation_seq)
        )
        top = (await self.session.execute(select(func.coalesce(func.max(table.c.id), 0)))).scalar_one()
        return list(range(int(top) + 1, int(top) + 1 + count))

    async def insert_with_ids(self, model: type[Base], rows: list[dict[str, Any]]) -> list[int]:
        """Insert ``rows`` with one executemany and return their ids, in order."""
        ids = await self.reserve_ids(model, len(rows))
        for row, row_id in zip(rows, ids, strict=True):
            row["id"] = row_id
        if rows:
            await self.raw_insert(_table(model), _uniform(_table(model), rows))
        return ids

    async def raw_insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows (same keys) through the driver, in this transaction: ``COPY`` on PostgreSQL, one
        ``executemany`` on SQLite. Values go through the columns' own bind processing, as SQLAlchemy would send
        them; only the per-row statement machinery is skipped, which is most of the cost of a bulk insert."""
        if not rows:
            return
        connection = await self.session.connection()
        dialect = connection.dialect
        columns = list(rows[0])
        # The dialect's own type, as SQLAlchemy binds it: a time on SQLite becomes its text form there (the generic
        # type's processor would hand sqlite3 a datetime, stored in another format than the ORM's).
        types = [table.c[name].type for name in columns]
        processors = [_memoized(kind, _processor(kind, dialect)) for kind in types]
        pairs = list(zip(columns, processors, strict=True))
        records = [tuple(row[name] if fn is None else fn(row[name]) for name, fn in pairs) for row in rows]
        driver = (await connection.get_raw_connection()).driver_connection
        if driver is None:
            raise RuntimeError("the database connection is closed")
        if dialect.name == "postgresql":
            await driver.copy_records_to_table(table.name, records=records, columns=columns)
            return
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        marks = ", ".join("?" for _ in columns)
        await driver.executemany(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", records)

    async def import_conversations(self, items: Sequence[ConversationImport]) -> list[ImportedConversation]:
        """Insert conversations with their labels and messages (import mode; no attachments)."""
        if not self.import_mode:
            raise RuntimeError("bulk conversation writes are for imports only")
        if not items:
            return []
        display_ids = await self.allocate_display_ids([item.conversation.display_id for item in items])
        rows = [self._conversation_row(item, display_id) for item, display_id in zip(items, display_ids, strict=True)]
        conversation_ids = await self.insert_with_ids(Conversation, rows)
        await self._import_labels(items, conversation_ids)
        message_rows: list[dict[str, Any]] = []
        owners: list[int] = []
        for index, (item, row) in enumerate(zip(items, rows, strict=True)):
            senders = item.sender_ids if item.sender_ids is not None else [m.sender_id for m in item.messages]
            for message, sender_id in zip(item.messages, senders, strict=True):
                message_rows.append(self._message_row(message, sender_id, conversation_ids[index], row["inbox_id"]))
                owners.append(index)
        message_ids: list[list[int]] = [[] for _ in items]
        attachment_ids: list[list[list[int]]] = [[] for _ in items]
        if message_rows:
            for owner, message_id in zip(owners, await self.insert_with_ids(Message, message_rows), strict=True):
                message_ids[owner].append(message_id)
            await self._import_attachments(items, message_rows, message_ids, attachment_ids)
        return [
            ImportedConversation(id=conversation_id, display_id=display_id, message_ids=ids, attachment_ids=files)
            for conversation_id, display_id, ids, files in zip(
                conversation_ids, display_ids, message_ids, attachment_ids, strict=True
            )
        ]

    async def _import_attachments(
        self,
        items: Sequence[ConversationImport],
        message_rows: Sequence[dict[str, Any]],
        message_ids: Sequence[Sequence[int]],
        attachment_ids: list[list[list[int]]],
    ) -> None:
        rows: list[dict[str, Any]] = []
        owners: list[tuple[int, int]] = []
        position = 0
        for index, item in enumerate(items):
            for number, message in enumerate(item.messages):
                attachment_ids[index].append([])
                created = message_rows[position]["created_at"]
                position += 1
                for data in message.attachments:
                    stamp = self.stamp(data.created_at) if data.created_at else created
                    rows.append(self.attachment_values(data, message_id=message_ids[index][number], created=stamp))
                    owners.append((index, number))
        if not rows:
            return
        for (index, number), attachment_id in zip(owners, await self.insert_with_ids(Attachment, rows), strict=True):
            attachment_ids[index][number].append(attachment_id)

    def _conversation_row(self, item: ConversationImport, display_id: int) -> dict[str, Any]:
        data = item.conversation
        if data.inbox_id is None or data.contact_id is None:
            raise Unprocessable("can't be blank", field="inbox_id" if data.inbox_id is None else "contact_id")
        values = self.creation_values(data, exclude=_CONVERSATION_EXCLUDE)
        values["display_id"] = display_id
        values["uuid"] = str(uuid.uuid4())
        values.setdefault("last_activity_at", values["created_at"])
        # What create_message does to its conversation, message by message.
        first_reply = values.get("first_reply_created_at")
        for message in item.messages:
            message_type = message.message_type or "outgoing"
            if message_type not in {"incoming", "outgoing"} or message.private:
                continue
            created = self.stamp(message.created_at)
            values["last_activity_at"] = max(values["last_activity_at"], created)
            if message_type == "outgoing" and message.sender_type == "agent" and first_reply is None:
                first_reply = created
            values["waiting_since"] = created if message_type == "incoming" else None
        if first_reply is not None:
            values["first_reply_created_at"] = first_reply
        return values

    def _message_row(
        self, data: MessageData, sender_id: int | None, conversation_id: int, inbox_id: int
    ) -> dict[str, Any]:
        if not (data.content or "").strip() and not data.attachments:
            raise Unprocessable("can't be blank", field="content", code="blank")
        created = self.stamp(data.created_at)
        return {
            "account_id": self.account_id,
            "conversation_id": conversation_id,
            "inbox_id": inbox_id,
            "content": data.content,
            "message_type": data.message_type or "outgoing",
            "private": bool(data.private),
            "content_type": data.content_type or "text",
            "content_attributes": data.content_attributes or {},
            "additional_attributes": data.additional_attributes or {},
            "sender_type": data.sender_type,
            "sender_id": sender_id,
            "source_id": data.source_id,
            "status": data.status or "sent",
            "created_at": created,
            "updated_at": self.stamp(data.updated_at) if data.updated_at else created,
        }

    async def _import_labels(self, items: Sequence[ConversationImport], conversation_ids: Sequence[int]) -> None:
        links: list[dict[str, Any]] = []
        for item, conversation_id in zip(items, conversation_ids, strict=True):
            titles = sorted({t.strip().lower() for t in item.conversation.labels or [] if t and t.strip()})
            for title in titles:
                if any(ch.isspace() for ch in title):
                    raise Unprocessable(f"label {title!r} must not contain spaces", field="labels", code="invalid")
                links.append({"conversation_id": conversation_id, "title": title, "account_id": self.account_id})
        if not links:
            return
        wanted = sorted({link["title"] for link in links})
        known = set(
            (
                await self.session.execute(
                    select(Label.title).where(Label.account_id == self.account_id, Label.title.in_(wanted))
                )
            )
            .scalars()
            .all()
        )
        now = self.stamp(None)
        missing = [
            {"account_id": self.account_id, "title": title, "created_at": now, "updated_at": now}
            for title in wanted
            if title not in known
        ]
        if missing:
            labels = _table(Label)
            await self.session.execute(insert(labels), _uniform(labels, missing))
        await self.session.execute(insert(_table(ConversationLabel)), links)

    async def import_contacts(self, items: Sequence[ContactData]) -> list[int]:
        """Insert contacts (import mode) in one statement; an email or identifier already taken refuses them all."""
        if not self.import_mode:
            raise RuntimeError("bulk contact writes are for imports only")
        if not items:
            return []
        rows = []
        for data in items:
            values = self.creation_values(data)
            values.setdefault("last_activity_at", values["created_at"])
            rows.append(values)
        return await self.insert_with_ids(Contact, rows)

    async def contact_emails_taken(self, emails: Iterable[str]) -> set[str]:
        """Which of these emails a contact of the account already has."""
        taken: set[str] = set()
        for part in _chunks(sorted(set(emails))):
            rows = await self.session.execute(
                select(Contact.email).where(Contact.account_id == self.account_id, Contact.email.in_(part))
            )
            taken.update(str(email) for email in rows.scalars() if email)
        return taken

    async def record_new_external_refs(self, provider: str, refs: Sequence[NewExternalRef]) -> None:
        """Insert mappings for objects created in this transaction (both directions must be new)."""
        if not refs:
            return
        now = utcnow()
        table = _table(ExternalRef)
        await self.raw_insert(
            table,
            _uniform(
                table,
                [
                    {
                        "account_id": self.account_id,
                        "provider": provider,
                        "kind": ref.kind,
                        "external_id": ref.external_id,
                        "internal_id": ref.internal_id,
                        "source_updated_at": ref.source_updated_at,
                        "fingerprint": ref.fingerprint,
                        "kept": dict(ref.kept or {}),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for ref in refs
                ],
            ),
        )

    async def external_refs_for(
        self, provider: str, kind: str, external_ids: Iterable[str]
    ) -> dict[str, tuple[int, str | None]]:
        """Map legacy ids of one kind to ``(internal id, fingerprint)`` for those already imported."""
        found: dict[str, tuple[int, str | None]] = {}
        for part in _chunks(sorted(set(external_ids))):
            rows = await self.session.execute(
                select(ExternalRef.external_id, ExternalRef.internal_id, ExternalRef.fingerprint).where(
                    ExternalRef.account_id == self.account_id,
                    ExternalRef.provider == provider,
                    ExternalRef.kind == kind,
                    ExternalRef.external_id.in_(part),
                )
            )
            for external_id, internal_id, print_ in rows:
                found[str(external_id)] = (int(internal_id), print_)
        return found


__all__ = ["BulkImportWrites", "ConversationImport", "ImportedConversation", "NewExternalRef"]
