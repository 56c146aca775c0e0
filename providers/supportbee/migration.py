"""SupportBee as a migration source: read a desk through the API, load it through ``bridge.store`` in import mode.

Implements :class:`bridge.migration.source.Source` over the collections of ``specs/supportbee-api.txt`` that
:class:`providers.supportbee.client.SupportBeeClient` declares ("Fetching Users and Customer Groups", "Fetching
Members of a Customer Group", "Fetching Teams", "Fetching Labels", "Fetching Snippets", "Fetching Emails", "Fetch
Tickets", "Fetching Replies", "Fetching Comments", and the attachment files at ``url.original``), mapped by
``mappings.supportbee``.

Every loaded object gets an external reference (provider ``supportbee``, kinds of ``mappings.supportbee.RefKind``)
with a fingerprint of its canonical data, so a re-run updates in place what changed and leaves the rest
"unchanged". A ticket's own content is the message referenced ``ticket:<id>``; replies and comments are referenced
by their SupportBee ids. People a ticket names who are missing from the listings are created from what the
ticket shows (agents deactivated, as placeholders).

The ticket phase's reading and mapping (pages, threads, plans, fingerprints) live in
:mod:`providers.supportbee.reading`, which a reader process runs without loading any database code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import aiohttp
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import select

from bridge.errors import Unprocessable
from bridge.logs import get_logger
from bridge.migration.offload import start_child, stop_child, stream_in_child
from bridge.migration.source import Batch, BatchResult, LoadResult, Outcome, Record, RefLookup, RunOptions, SkipRecord
from bridge.models import (
    AccountUser,
    Attachment,
    AutomationRule,
    CannedResponse,
    Contact,
    Conversation,
    ExternalRef,
    Inbox,
    Label,
    Message,
    Team,
    User,
)
from bridge.outbound import (
    JSON,
    FatalSourceError,
    ReadAhead,
    RetriableSourceError,
    SkippableRecordError,
    gather_or_cancel,
)
from bridge.schemas import AgentData, AttachmentData, ConversationData, InboxData, MessageData
from bridge.settings import Reader, Settings
from bridge.store import ConversationImport, NewExternalRef, Writer
from mappings import supportbee as sb
from providers.supportbee import reading as reading_module
from providers.supportbee.client import SupportBeeClient, attachments_of
from providers.supportbee.reading import (
    PLANNED,
    PREFETCHED,
    Connection,
    Prefetched,
    TicketPlan,
    TicketReading,
    fingerprint,
    message_fingerprint,
    plan_ticket,
    planned_pages,
    read_tickets_with,
    record_error,
)

log = get_logger(__name__)

PROVIDER = "supportbee"
EVENT_ATTACHMENT_FAILED = "supportbee_migration_attachment_failed"
EVENT_PLACEHOLDER = "supportbee_migration_placeholder"
EVENT_ALIAS = "supportbee_migration_alias"

READ_TICKETS = f"{reading_module.__name__}:read_tickets"
"""What the reader process runs (``MIGRATION_READER=process``)."""
PHASES: tuple[str, ...] = (
    "agents",
    "teams",
    "labels",
    "canned_responses",
    "inboxes",
    "automation_rules",
    "tickets",
)
BATCH_SIZE = 250
"""Records per batch in the phases before the tickets (which go a listing page at a time). A batch is a transaction
with the job's progress and checkpoint: about 18 ms of its own on SQLite, a third of the people phase at 50 a batch
(1,000 customers set-based, 0.7 s against 0.4 s at 250)."""
DRY_RUN_VIEWER_ID = 0
"""Stands for the token owner's agent in a dry run, which commits nothing (see ``_viewer_agent``)."""
DEFAULT_INBOX_REF = "default"
# The people phase reads agents, then customer groups, then customers; its cursor names the step and offset.
_PEOPLE_STEPS: tuple[str, ...] = ("agent", "company", "contact")


LIVE_COUNTS = frozenset({"active_tickets_count", "members_count", "requested_tickets_count"})
"""Counts a desk derives from its tickets: they move with every assignment, never with the person."""


def _without_live_counts(kept: Mapping[str, Any]) -> dict[str, Any]:
    """Kept fields (``{"set": {...}, ...}`` as ``mappings.supportbee`` keeps them) less the live counts."""
    return {
        key: _without_live_counts(value) if isinstance(value, Mapping) else value
        for key, value in kept.items()
        if key not in LIVE_COUNTS
    }


def _lossy_texts(items: Sequence[sb.LossyField]) -> list[str]:
    return [f"{item.kind} {item.external_id or ''} {item.field}: {item.reason}".strip() for item in items]


@dataclass
class _Ref:
    internal_id: int
    fingerprint: str | None


@dataclass
class _Context:
    """What one ``load`` call collects: lossy notes and warnings for its result."""

    lossy: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class SupportBeeSource:
    """A SupportBee desk read through its API (see the module docstring)."""

    name = PROVIDER
    phases: Sequence[str] = PHASES

    def __init__(
        self,
        client: SupportBeeClient,
        *,
        auth_token: str,
        batch_size: int = BATCH_SIZE,
        connection: Connection | None = None,
        reader: Reader = "inline",
        log_level: str = "info",
    ) -> None:
        self.client = client
        self._auth_token = auth_token
        self.batch_size = batch_size
        self.connection = connection
        self.reader: Reader = reader if connection is not None else "inline"
        self.log_level = log_level
        self._viewer: sb.SBUser | None = None
        self._viewer_checked = False
        self._viewer_agent_id: int | None = None
        self._reader_ahead: asyncio.subprocess.Process | None = None
        """The reader process, started with the job (estimate or people phases; it takes most of a second to start)."""
        self._tickets_ahead: ReadAhead[Batch] | None = None
        """The tickets phase's stream, begun during the earlier phases of a run that will start it afresh."""

    # -- checks ---------------------------------------------------------------------------------------------

    async def verify(self) -> None:
        await self.client.verify_credentials()

    async def viewer(self) -> sb.SBUser | None:
        """Return the user whose token this is (their stars and their token's alias depend on it).

        The spec has no "who am I": ``GET /users/me`` is tried (some desks answer it), then the spec's own way, the
        first ticket ``assigned_user=me`` returns names its assignee. A token owner with no assigned ticket stays
        unknown: their stars are reported as lossy and no alias is registered.
        """
        if self._viewer_checked:
            return self._viewer
        self._viewer_checked = True
        try:
            body = await self.client.api.get_json("/users/me")
            self._viewer = sb.SBUser.model_validate(body.get("user", body))
        except (FatalSourceError, SkippableRecordError, PydanticValidationError):
            self._viewer = await self._assignee_of_mine()
        log.info(EVENT_ALIAS, outcome="token_owner_found" if self._viewer else "token_owner_unknown")
        return self._viewer

    async def _assignee_of_mine(self) -> sb.SBUser | None:
        params: dict[str, str | int | bool] = {"assigned_user": "me", "archived": "any", "per_page": 1}
        try:
            body = await self.client.api.get_json("/tickets", params)
        except (FatalSourceError, SkippableRecordError):
            return None
        tickets = body.get("tickets")
        first = tickets[0] if isinstance(tickets, list) and tickets and isinstance(tickets[0], dict) else {}
        assignee = first.get("current_user_assignee")
        user = assignee.get("user") if isinstance(assignee, dict) else None
        try:
            return sb.SBUser.model_validate(user) if isinstance(user, dict) else None
        except PydanticValidationError:
            return None

    async def estimate(self, options: RunOptions) -> Mapping[str, int]:
        """How many records each phase will see; the lists are asked for together (they are independent)."""
        await self._start_reader_ahead()

        async def count(listing: AsyncIterator[Any]) -> int:
            return sum([1 async for _ in listing])  # nothing kept but the count

        client, since = self.client, options.since
        listings = [client.users(), client.teams(), client.labels(), client.snippets(), client.emails()]
        listings += [client.filters()]
        if options.sample is None:
            listings += [client.customer_groups(), client.customers()]
        sizes = await gather_or_cancel(
            client.count_tickets(since=since),
            client.count_tickets(since=since, spam=True),
            client.count_tickets(since=since, trash=True),
            *(count(listing) for listing in listings),
        )
        base, with_spam, with_trash, users, teams, labels, snippets, emails, filters, *customers_and_groups = sizes
        tickets = max(base, with_spam + with_trash - base)
        return {
            "agents": users + sum(customers_and_groups),
            "teams": teams,
            "labels": labels,
            "canned_responses": snippets,
            "inboxes": emails,
            "automation_rules": filters,
            "tickets": tickets if options.sample is None else min(tickets, options.sample),
        }

    async def _start_reader_ahead(self) -> None:
        """Start the reader process now, so it is ready when the tickets phase comes (it takes most of a second)."""
        if self.reader == "process" and self._reader_ahead is None:
            self._reader_ahead = await start_child(READ_TICKETS)

    # -- reading --------------------------------------------------------------------------------------------

    def batches(
        self, phase: str, *, cursor: Mapping[str, Any] | None, options: RunOptions, lookup: RefLookup
    ) -> AsyncIterator[Batch]:
        if phase == "tickets":
            return self._ticket_batches(cursor, options, lookup)
        if phase == "agents":
            return self._people_batches(cursor, options, lookup)
        streams = {
            "teams": ("team", self.client.teams),
            "labels": ("label", self.client.labels),
            "canned_responses": ("canned_response", self.client.snippets),
            "inboxes": ("inbox", self.client.emails),
            "automation_rules": ("automation_rule", self.client.filters),
        }
        if phase not in streams:
            raise ValueError(f"unknown SupportBee phase {phase!r}")
        kind, read = streams[phase]
        return self._chunked(phase, [(kind, read)], cursor)

    async def _people_batches(
        self, cursor: Mapping[str, Any] | None, options: RunOptions, lookup: RefLookup
    ) -> AsyncIterator[Batch]:
        await self._start_reader_ahead()
        await self.viewer()  # asked here, outside any write transaction, and only once
        steps: list[tuple[str, Any]] = [("agent", self.client.users)]
        if options.sample is None:
            # Without a sample every customer is read; with one, only those the sampled tickets name.
            steps += [("company", self._groups_with_members), ("contact", self._customers_with_groups)]
        async for batch in self._chunked("agents", steps, cursor):
            if batch.cursor["step"] > 0:  # every agent batch is committed: the engine asked for the next batch
                await self._begin_tickets_ahead(options, lookup)
            yield batch
        await self._begin_tickets_ahead(options, lookup)

    async def _begin_tickets_ahead(self, options: RunOptions, lookup: RefLookup) -> None:
        """Begin reading and mapping the tickets now, while customers and settings are written.

        The people phase runs before the tickets phase in the same run only when that phase will start from its
        beginning, so its stream is the one the tickets phase will ask for (:meth:`_ticket_batches` takes it over).
        Mapping needs the token owner's agent, committed with the agent step. The tickets' first page is then ready
        when their phase begins, rather than half a second after (a listing page and two requests per ticket)."""
        if self._tickets_ahead is None:
            viewer_agent_id = await self._viewer_agent(await self.viewer(), lookup, options)
            self._tickets_ahead = ReadAhead(self._ticket_stream(None, options, viewer_agent_id), depth=1)

    async def _groups_with_members(self) -> AsyncIterator[JSON]:
        async for group in self.client.customer_groups():
            group_id = group.get("id")
            members = await self.client.customer_group_members(group_id) if isinstance(group_id, int) else []
            yield {**group, "_member_ids": [m.get("id") for m in members]}

    async def _customers_with_groups(self) -> AsyncIterator[JSON]:
        # Groups are few; their member lists give each customer its company.
        group_of: dict[Any, Any] = {}
        async for group in self._groups_with_members():
            for member in group["_member_ids"]:
                group_of.setdefault(member, group.get("id"))
        async for customer in self.client.customers():
            yield {**customer, "_group_id": group_of.get(customer.get("id"))}

    async def _chunked(
        self, phase: str, steps: Sequence[tuple[str, Any]], cursor: Mapping[str, Any] | None
    ) -> AsyncIterator[Batch]:
        start_step = int((cursor or {}).get("step", 0))
        start_offset = int((cursor or {}).get("offset", 0))
        for index, (kind, read) in enumerate(steps):
            if index < start_step:
                continue
            offset = 0
            chunk: list[Record] = []
            async for item in read():
                offset += 1
                if index == start_step and offset <= start_offset:
                    continue
                chunk.append(self._record(kind, item))
                if len(chunk) >= self.batch_size:
                    yield Batch(phase=phase, records=chunk, cursor={"step": index, "offset": offset})
                    chunk = []
            if chunk:
                yield Batch(phase=phase, records=chunk, cursor={"step": index, "offset": offset})
            # A step read to its end resumes at the next one.
            if index == start_step:
                start_offset = 0

    @staticmethod
    def _record(kind: str, item: JSON) -> Record:
        key = "name" if kind == "label" else "id"
        return Record(kind=kind, external_id=str(item.get(key)), payload=item)

    async def _ticket_batches(
        self, cursor: Mapping[str, Any] | None, options: RunOptions, lookup: RefLookup
    ) -> AsyncIterator[Batch]:
        """The ticket pages, each ticket mapped (see :data:`PLANNED`); in a reader process when configured. The stream
        :meth:`_begin_tickets_ahead` began is the one a phase starting afresh asks for."""
        ahead, self._tickets_ahead = self._tickets_ahead, None
        stream: AsyncIterator[Batch]
        if ahead is not None and cursor is None:
            stream = ahead
        else:
            if ahead is not None:
                await ahead.aclose()
            viewer_agent_id = await self._viewer_agent(await self.viewer(), lookup, options)
            stream = self._ticket_stream(cursor, options, viewer_agent_id)
        async with contextlib.aclosing(stream) as batches:
            async for batch in batches:
                yield batch

    def _ticket_stream(
        self, cursor: Mapping[str, Any] | None, options: RunOptions, viewer_agent_id: int | None
    ) -> AsyncGenerator[Batch, None]:
        self._viewer_agent_id = viewer_agent_id
        if self.connection is None:
            return planned_pages(self.client, cursor, options, viewer_agent_id)
        reading = TicketReading(
            connection=self.connection,
            cursor=dict(cursor) if cursor else None,
            options=options,
            viewer_id=viewer_agent_id,
        )
        if self.reader == "process":
            started, self._reader_ahead = self._reader_ahead, None
            return stream_in_child(READ_TICKETS, reading, log_level=self.log_level, started=started)
        return read_tickets_with(reading, self.client.api.http)

    async def aclose(self) -> None:
        """Stop what was started ahead that the run did not get to use (it failed, or was cancelled): the tickets'
        stream begun during the earlier phases, a reader process."""
        ahead, self._tickets_ahead = self._tickets_ahead, None
        if ahead is not None:
            await ahead.aclose()
        started, self._reader_ahead = self._reader_ahead, None
        if started is not None:
            await stop_child(started)

    async def _viewer_agent(self, viewer: sb.SBUser | None, lookup: RefLookup, options: RunOptions) -> int | None:
        """The Supportly agent of the token's owner (their stars are kept on the tickets), from committed data."""
        if viewer is None:
            return None
        found = await lookup(PROVIDER, "agent", [str(viewer.id)])
        if str(viewer.id) in found:
            return found[str(viewer.id)][0]
        # A dry run commits nothing, so the agent it made for the owner cannot be looked up; nothing is written
        # either, so a stand-in counts their stars as the real run would keep them.
        return DRY_RUN_VIEWER_ID if options.dry_run else None

    # -- loading --------------------------------------------------------------------------------------------

    async def load(self, writer: Writer, record: Record, *, options: RunOptions) -> LoadResult:
        loader = _Loader(self, writer, options)
        try:
            outcome = await loader.load(record)
        except (sb.UnmappableRecord, PydanticValidationError) as err:
            raise record_error(record, err) from err
        return LoadResult(outcome=outcome, lossy=loader.context.lossy, warnings=loader.context.warnings)

    async def load_batch(
        self, writer: Writer, records: Sequence[Record], *, options: RunOptions
    ) -> Sequence[BatchResult] | None:
        """Load a page of tickets set-based (see :class:`_BulkTickets`); other phases go record by record."""
        kinds = {record.kind for record in records}
        if kinds == {"conversation"}:
            return await _BulkTickets(self, writer, options).load(records)
        if kinds == {"contact"}:
            return await _BulkContacts(self, writer, options).load(records)
        return None

    async def prepare(self, batch: Batch, *, lookup: RefLookup, options: RunOptions) -> Batch:
        """Download the files of a page's messages not imported yet, before the engine opens the batch's
        transaction (bounded concurrency, the size cap); a file that fails is recorded on its message later."""
        if batch.phase != "tickets" or options.dry_run or not options.include_attachments:
            return batch
        with_files = [
            (record.payload, key, message)
            for record in batch.records
            if isinstance(plan := record.payload.get(PLANNED), TicketPlan)
            for key, message in plan.messages
            if message.attachment_external_ids
        ]
        if not with_files:
            return batch
        known = await lookup(PROVIDER, "message", [key for _, key, _ in with_files])
        limit = asyncio.Semaphore(max(1, options.concurrency))
        cap = options.max_attachment_bytes

        async def fetch(box: Prefetched, external_id: str, url: str | None) -> None:
            async with limit:
                outcome = await download(self.client, external_id, url, cap)
            if isinstance(outcome, bytes):
                box.files[external_id] = outcome
            else:
                box.failed[external_id] = outcome

        wanted = []
        for payload, key, message in with_files:
            if key in known:
                continue
            box = payload.setdefault(PREFETCHED, Prefetched())
            for external_id, data in zip(message.attachment_external_ids, message.data.attachments, strict=False):
                wanted.append(fetch(box, external_id, data.external_url))
        await gather_or_cancel(*wanted)
        return batch


class _PageLoad:
    """What the set-based loads of a page share: the writer, and one record's load in a savepoint of its own."""

    def __init__(self, source: SupportBeeSource, writer: Writer, options: RunOptions) -> None:
        self.source = source
        self.w = writer
        self.options = options

    async def one_by_one(self, record: Record, loader: _Loader, write: Callable[[], Awaitable[Outcome]]) -> BatchResult:
        try:
            async with self.w.session.begin_nested():
                outcome = await write()
        except (FatalSourceError, RetriableSourceError):
            raise
        except Exception as err:  # noqa: BLE001 - one bad record is counted and never costs the page
            return record_error(record, err)
        return LoadResult(outcome=outcome, lossy=loader.context.lossy, warnings=loader.context.warnings)


class _BulkContacts(_PageLoad):
    """A page of customers: new ones with an unused email are inserted in one statement, the rest one by one."""

    async def load(self, records: Sequence[Record]) -> list[BatchResult]:
        results: list[BatchResult | None] = [None] * len(records)
        groups = {str(r.payload.get("_group_id")) for r in records if r.payload.get("_group_id") is not None}
        companies = await self.w.external_refs_for(PROVIDER, "company", groups)
        planned: list[tuple[int, _Loader, sb.ContactImport, str]] = []
        for index, record in enumerate(records):
            loader = _Loader(self.source, self.w, self.options)
            payload = record.payload
            try:
                customer = sb.SBUser.model_validate({k: v for k, v in payload.items() if not k.startswith("_")})
                group = companies.get(str(payload.get("_group_id")))
                imported = sb.customer_to_contact(customer=customer, company_id=group[0] if group else None)
            except (sb.UnmappableRecord, PydanticValidationError) as err:
                results[index] = record_error(record, err)
                continue
            loader.note(imported.lossy)
            planned.append((index, loader, imported, fingerprint({"data": imported.data})))
        known = await self.w.external_refs_for(
            PROVIDER, "contact", [imported.external_id for _, _, imported, _ in planned]
        )
        taken = await self.w.contact_emails_taken(str(i.data.email) for _, _, i, _ in planned if i.data.email)
        fresh: list[tuple[int, _Loader, sb.ContactImport, str]] = []
        for item in planned:
            index, loader, imported, print_ = item
            found = known.get(imported.external_id)
            email = imported.data.email
            if found is not None and found[1] == print_:
                results[index] = LoadResult(outcome="unchanged", lossy=loader.context.lossy)
            elif found is None and email and email not in taken and not imported.data.identifier:
                taken.add(email)
                fresh.append(item)
            else:
                record = records[index]
                results[index] = await self.one_by_one(record, loader, partial(loader.contact, record.payload))
        ids = await self.w.import_contacts([imported.data for _, _, imported, _ in fresh])
        await self.w.record_new_external_refs(
            PROVIDER,
            [
                NewExternalRef(kind="contact", external_id=imported.external_id, internal_id=contact_id, fingerprint=p)
                for (_, _, imported, p), contact_id in zip(fresh, ids, strict=True)
            ],
        )
        for index, loader, _, _ in fresh:
            results[index] = LoadResult(outcome="created", lossy=loader.context.lossy)
        return [result if result is not None else RuntimeError("not loaded") for result in results]


class _BulkTickets(_PageLoad):
    """A page of tickets in a few statements: new tickets are inserted set-based, the rest record by record.

    Every ticket is mapped and fingerprinted first; one query finds which are imported already (unchanged ones
    stop there). New tickets without files have their people, labels, inbox and team resolved once for the page
    (people missing from the listings are created as by the record path) and are written with
    :meth:`bridge.store.Writer.import_conversations` and one insert of their references. Updated tickets and
    tickets with files go through :meth:`_Loader.write_ticket` in a savepoint each.
    """

    async def load(self, records: Sequence[Record]) -> list[BatchResult]:
        results: list[BatchResult | None] = [None] * len(records)
        planned: list[tuple[int, _Loader, TicketPlan]] = []
        for index, record in enumerate(records):
            loader = _Loader(self.source, self.w, self.options)
            try:
                planned.append((index, loader, await loader.plan_ticket(record.payload)))
            except (SkipRecord, sb.UnmappableRecord, PydanticValidationError) as err:
                results[index] = record_error(record, err)
        known = await self.w.external_refs_for(PROVIDER, "conversation", [plan.external_id for _, _, plan in planned])
        fresh: list[tuple[int, _Loader, TicketPlan]] = []
        one_by_one: list[tuple[int, _Loader, TicketPlan]] = []
        seen: set[str] = set()
        for index, loader, plan in planned:
            found = known.get(plan.external_id)
            if found is not None and found[1] == plan.fingerprint:
                results[index] = LoadResult(outcome="unchanged")
            elif found is None and plan.bulk_ready() and plan.external_id not in seen:
                fresh.append((index, loader, plan))
            else:
                one_by_one.append((index, loader, plan))
            seen.add(plan.external_id)
        await self._create(fresh)
        for index, loader, _plan in fresh:
            results[index] = LoadResult(outcome="created", lossy=loader.context.lossy, warnings=loader.context.warnings)
        for index, loader, plan in one_by_one:
            results[index] = await self._one(records[index], loader, plan)
        return [result if result is not None else RuntimeError("not loaded") for result in results]

    async def _one(self, record: Record, loader: _Loader, plan: TicketPlan) -> BatchResult:
        existing = await loader.ref("conversation", plan.external_id)
        if existing is not None and existing.fingerprint == plan.fingerprint:
            return LoadResult(outcome="unchanged")
        return await self.one_by_one(record, loader, partial(loader.write_ticket, plan, existing))

    async def _create(self, fresh: Sequence[tuple[int, _Loader, TicketPlan]]) -> None:
        if not fresh:
            return
        for _, loader, plan in fresh:
            loader.note_ticket(plan)
        contacts = await self._contacts(fresh)
        agents = await self._agents(fresh)
        await self._labels(fresh)
        inboxes: dict[str | None, int] = {}
        teams = await self.w.external_refs_for(
            PROVIDER, "team", [p.imported.team_external_id for _, _, p in fresh if p.imported.team_external_id]
        )
        items: list[ConversationImport] = []
        file_ids_of: list[list[list[str]]] = []
        for _, loader, plan in fresh:
            imported = plan.imported
            email = imported.source_email
            if email not in inboxes:
                inboxes[email] = await loader._inbox_for(email)
            contact_id = contacts[imported.requester.external_id]
            fields: dict[str, Any] = {
                "contact_id": contact_id,
                "inbox_id": inboxes[email],
                "assignee_id": None,
                "team_id": None,
            }
            assignee = _assignee(plan)
            if assignee is not None:
                fields["assignee_id"] = agents[str(assignee.id)]
            if imported.team_external_id is not None:
                team = teams.get(imported.team_external_id)
                if team is None:
                    loader.context.warnings.append(f"team {imported.team_external_id} is not listed: left unassigned")
                else:
                    fields["team_id"] = team[0]
            messages: list[MessageData] = []
            senders: list[int | None] = []
            files: list[list[str]] = []
            loader.prefetched = plan.prefetched
            for _key, message in plan.messages:
                sender_id: int | None
                if message.sender_kind == "contact":
                    sender_id = contact_id if message.sender is None else contacts[message.sender.external_id]
                else:
                    sender_id = agents.get(message.sender_external_id or "")
                # The author goes beside the message: only one with files is copied, to carry them.
                data, file_ids = message.data, list[str]()
                if data.attachments:
                    data, file_ids = await loader.message_to_write(message, sender_id)
                messages.append(data)
                senders.append(sender_id)
                files.append(file_ids)
            conversation = imported.conversation.model_copy(update=fields)
            items.append(ConversationImport(conversation=conversation, messages=messages, sender_ids=senders))
            file_ids_of.append(files)
        written = await self.w.import_conversations(items)
        refs: list[NewExternalRef] = []
        every_file = [external_id for files in file_ids_of for ids in files for external_id in ids]
        claimed = set(await self.w.external_refs_for(PROVIDER, "attachment", every_file)) if every_file else set()
        for (_, _, plan), row, files in zip(fresh, written, file_ids_of, strict=True):
            refs += _file_refs(files, row.attachment_ids, claimed)
            refs.append(
                NewExternalRef(
                    kind="conversation",
                    external_id=plan.external_id,
                    internal_id=row.id,
                    fingerprint=plan.fingerprint,
                    source_updated_at=plan.last_activity_at,
                )
            )
            for (key, _), message_id, print_ in zip(plan.messages, row.message_ids, plan.message_prints, strict=True):
                refs.append(NewExternalRef(kind="message", external_id=key, internal_id=message_id, fingerprint=print_))
        await self.w.record_new_external_refs(PROVIDER, refs)

    async def _contacts(self, fresh: Sequence[tuple[int, _Loader, TicketPlan]]) -> dict[str, int]:
        """Every customer the page's tickets name, mapped or created from what the ticket shows."""
        named: dict[str, tuple[_Loader, sb.ContactImport]] = {}
        for _, loader, plan in fresh:
            imported = plan.imported
            people = [imported.requester, *imported.cc, *imported.bcc]
            people += [m.sender for _, m in plan.messages if m.sender_kind == "contact" and m.sender is not None]
            for person in people:
                named.setdefault(person.external_id, (loader, person))
        mapped = await self.w.external_refs_for(PROVIDER, "contact", named)
        found = {external_id: ref[0] for external_id, ref in mapped.items()}
        for external_id, (loader, person) in named.items():
            if external_id not in found:
                found[external_id] = await loader.contact_for(person)
        return found

    async def _agents(self, fresh: Sequence[tuple[int, _Loader, TicketPlan]]) -> dict[str, int]:
        """Every agent the page's tickets name (placeholders for those the desk did not list)."""
        shown: dict[str, tuple[_Loader, sb.SBUser]] = {}
        named: set[str] = set()
        for _, loader, plan in fresh:
            # Customers write replies too: only the authors of agents' messages are agents.
            writers = {
                m.sender_external_id for _, m in plan.messages if m.sender_kind == "agent" and m.sender_external_id
            }
            assignee = _assignee(plan)
            users = [user for key, user in plan.authors.items() if key in writers]
            users += [assignee] if assignee is not None else []
            for user in users:
                shown.setdefault(str(user.id), (loader, user))
            named.update(writers)
        mapped = await self.w.external_refs_for(PROVIDER, "agent", {*shown, *named})
        found = {external_id: ref[0] for external_id, ref in mapped.items()}
        for external_id, (loader, user) in shown.items():
            if external_id not in found:
                found[external_id] = await loader.agent_for(user)
        return found

    async def _labels(self, fresh: Sequence[tuple[int, _Loader, TicketPlan]]) -> None:
        named: dict[str, tuple[_Loader, sb.LabelImport]] = {}
        for _, loader, plan in fresh:
            for label in plan.imported.labels:
                named.setdefault(label.external_id, (loader, label))
        mapped = await self.w.external_refs_for(PROVIDER, "label", named)
        for external_id, (loader, label) in named.items():
            if external_id not in mapped:
                await loader._label(label)


def _file_refs(
    files: Sequence[Sequence[str]], stored: Sequence[Sequence[int]], claimed: set[str]
) -> list[NewExternalRef]:
    """References for the files new messages carry; a file on several messages is referenced by its first."""
    refs = []
    for external_ids, attachment_ids in zip(files, stored, strict=True):
        for external_id, attachment_id in zip(external_ids, attachment_ids, strict=True):
            if external_id not in claimed:
                claimed.add(external_id)
                refs.append(NewExternalRef(kind="attachment", external_id=external_id, internal_id=attachment_id))
    return refs


def _assignee(plan: TicketPlan) -> sb.SBUser | None:
    return None if plan.imported.assignee_external_id is None else plan.assignee


class _Loader:
    """One record's load: resolves references through the external-reference table of the writer's account."""

    def __init__(self, source: SupportBeeSource, writer: Writer, options: RunOptions) -> None:
        self.source = source
        self.w = writer
        self.options = options
        self.context = _Context()
        self.prefetched: Prefetched | None = None

    # -- refs -----------------------------------------------------------------------------------------------

    async def ref(self, kind: str, external_id: str) -> _Ref | None:
        row = (
            await self.w.session.execute(
                select(ExternalRef.internal_id, ExternalRef.fingerprint).where(
                    ExternalRef.account_id == self.w.account_id,
                    ExternalRef.provider == PROVIDER,
                    ExternalRef.kind == kind,
                    ExternalRef.external_id == external_id,
                )
            )
        ).first()
        return None if row is None else _Ref(int(row[0]), row[1])

    async def remember(
        self,
        kind: str,
        external_id: str,
        internal_id: int,
        *,
        print_: str | None,
        kept: dict[str, Any] | None = None,
        updated_at: datetime | None = None,
    ) -> None:
        await self.w.record_external_ref(
            PROVIDER, kind, external_id, internal_id, source_updated_at=updated_at, fingerprint=print_, kept=kept
        )

    def note(self, items: Sequence[sb.LossyField]) -> None:
        self.context.lossy.extend(_lossy_texts(items))

    async def load(self, record: Record) -> Any:
        handler = {
            "agent": self.agent,
            "company": self.company,
            "contact": self.contact,
            "team": self.team,
            "label": self.label,
            "canned_response": self.canned_response,
            "inbox": self.inbox,
            "automation_rule": self.automation_rule,
            "conversation": self.ticket,
        }.get(record.kind)
        if handler is None:
            raise SkipRecord(f"unknown SupportBee record kind {record.kind!r}")
        return await handler(record.payload)

    # -- people ---------------------------------------------------------------------------------------------

    async def agent(self, payload: JSON) -> str:
        imported = sb.user_to_agent(user=sb.SBUser.model_validate(payload))
        self.note(imported.lossy)
        data = imported.data
        if not data.email:
            raise SkipRecord(f"SupportBee user {imported.external_id} has no usable email address")
        print_ = fingerprint({"data": data, "kept": _without_live_counts(imported.kept)})
        existing = await self.ref("agent", imported.external_id)
        outcome = "unchanged"
        if existing is None:
            user_id = await self._adopt_agent(data.email)
            if user_id is None:
                user, _ = await self.w.create_agent(data)
                user_id = user.id
            else:
                await self.w.update_agent(user_id, data.model_copy(update={"role": None}))
            outcome = "created"
        elif existing.fingerprint != print_:
            user_id = existing.internal_id
            await self.w.update_agent(user_id, data.model_copy(update={"active": True}))
            outcome = "updated"
        else:
            user_id = existing.internal_id
        if outcome != "unchanged":
            await self.remember("agent", imported.external_id, user_id, print_=print_, kept=imported.kept)
        await self._maybe_alias(imported.external_id, user_id)
        return outcome

    async def _adopt_agent(self, email: str) -> int | None:
        """An agent already in the account with this email (e.g. the admin running the import) is reused."""
        found = (
            await self.w.session.execute(
                select(User.id)
                .join(AccountUser, AccountUser.user_id == User.id)
                .where(AccountUser.account_id == self.w.account_id, User.email == email)
            )
        ).scalar_one_or_none()
        return None if found is None else int(found)

    async def _maybe_alias(self, external_id: str, user_id: int) -> None:
        viewer = await self.source.viewer()
        if viewer is None or str(viewer.id) != external_id:
            return
        try:
            async with self.w.session.begin_nested():
                await self.w.register_alias(self.source._auth_token, user_id=user_id, surface=PROVIDER)
        except Unprocessable as err:
            self.context.warnings.append(f"the SupportBee token could not be registered as an alias: {err}")

    async def company(self, payload: JSON) -> str:
        group = sb.SBUser.model_validate({k: v for k, v in payload.items() if not k.startswith("_")})
        imported = sb.customer_group_to_company(group=group)
        self.note(imported.lossy)
        print_ = fingerprint({"data": imported.data})
        existing = await self.ref("company", imported.external_id)
        if existing is None:
            row = await self.w.create_company(imported.data)
            await self.remember("company", imported.external_id, row.id, print_=print_)
            return "created"
        if existing.fingerprint == print_:
            return "unchanged"
        await self.w.update_company(existing.internal_id, imported.data)
        await self.remember("company", imported.external_id, existing.internal_id, print_=print_)
        return "updated"

    async def contact(self, payload: JSON) -> Outcome:
        customer = sb.SBUser.model_validate({k: v for k, v in payload.items() if not k.startswith("_")})
        group_id = payload.get("_group_id")
        company_id = None
        if group_id is not None:
            company = await self.ref("company", str(group_id))
            company_id = company.internal_id if company else None
        imported = sb.customer_to_contact(customer=customer, company_id=company_id)
        self.note(imported.lossy)
        print_ = fingerprint({"data": imported.data})
        existing = await self.ref("contact", imported.external_id)
        if existing is None:
            contact_id = await self._create_contact(imported)
            await self.remember("contact", imported.external_id, contact_id, print_=print_)
            return "created"
        if existing.fingerprint == print_:
            return "unchanged"
        await self.w.update_contact(existing.internal_id, imported.data)
        await self.remember("contact", imported.external_id, existing.internal_id, print_=print_)
        return "updated"

    async def _create_contact(self, imported: sb.ContactImport) -> int:
        email = imported.data.email
        if email:
            found = (
                await self.w.session.execute(
                    select(Contact.id).where(Contact.account_id == self.w.account_id, Contact.email == email)
                )
            ).scalar_one_or_none()
            if found is not None:
                # Two SupportBee ids with one address: the second one shares the contact (no ref of its own).
                return int(found)
        row = await self.w.create_contact(imported.data)
        return row.id

    async def contact_for(self, imported: sb.ContactImport) -> int:
        """The contact of a customer a ticket names: mapped, else created from what the ticket shows."""
        existing = await self.ref("contact", imported.external_id)
        if existing is not None:
            return existing.internal_id
        self.note(imported.lossy)
        contact_id = await self._create_contact(imported)
        if await self._free("contact", contact_id):
            await self.remember("contact", imported.external_id, contact_id, print_=None)
        return contact_id

    async def _free(self, kind: str, internal_id: int) -> bool:
        taken = await self.w.session.execute(
            select(ExternalRef.id).where(
                ExternalRef.account_id == self.w.account_id,
                ExternalRef.provider == PROVIDER,
                ExternalRef.kind == kind,
                ExternalRef.internal_id == internal_id,
            )
        )
        return taken.first() is None

    async def agent_for(self, user: sb.SBUser) -> int:
        """The agent a ticket names: mapped, else a deactivated placeholder made from what the ticket shows."""
        external_id = str(user.id)
        existing = await self.ref("agent", external_id)
        if existing is not None:
            return existing.internal_id
        try:
            imported = sb.user_to_agent(user=user, shape="embedded")
            data = imported.data
            kept = imported.kept
        except sb.UnmappableRecord:
            data, kept = AgentData(name=user.name or f"SupportBee user {user.id}"), {}
        if not data.email:
            data = data.model_copy(update={"email": f"supportbee-user-{user.id}@account-{self.w.account_id}.example"})
        user_id = await self._adopt_agent(str(data.email))
        if user_id is None:
            created, _ = await self.w.create_agent(data.model_copy(update={"active": False}))
            user_id = created.id
        log.info(EVENT_PLACEHOLDER, kind="agent", external_id=external_id, user_id=user_id)
        self.context.warnings.append(f"agent {external_id} is not listed by the desk: a deactivated placeholder")
        if await self._free("agent", user_id):
            await self.remember("agent", external_id, user_id, print_=None, kept=kept)
        return user_id

    # -- settings -------------------------------------------------------------------------------------------

    async def team(self, payload: JSON) -> str:
        imported = sb.team_to_canonical(team=sb.SBTeam.model_validate(payload))
        member_ids: list[int] = []
        for member in payload.get("users") or []:
            user = sb.SBUser.model_validate(member)
            member_ids.append(await self.agent_for(user))
        print_ = fingerprint({"data": imported.data, "kept": imported.kept, "members": sorted(member_ids)})
        existing = await self.ref("team", imported.external_id)
        if existing is not None and existing.fingerprint == print_:
            return "unchanged"
        if existing is None:
            found = (
                await self.w.session.execute(
                    select(Team.id).where(Team.account_id == self.w.account_id, Team.name == imported.data.name)
                )
            ).scalar_one_or_none()
            team_id = int(found) if found is not None else (await self.w.create_team(imported.data)).id
            outcome = "created"
        else:
            team_id = existing.internal_id
            await self.w.update_team(team_id, imported.data)
            outcome = "updated"
        await self.w.set_team_members(team_id, member_ids, mode="replace")
        await self.remember("team", imported.external_id, team_id, print_=print_, kept=imported.kept)
        return outcome

    async def label(self, payload: JSON) -> str:
        imported = sb.label_to_canonical(label=sb.SBLabel.model_validate(payload))
        self.note(imported.lossy)
        return await self._label(imported)

    async def _label(self, imported: sb.LabelImport) -> str:
        print_ = fingerprint({"data": imported.data, "kept": imported.kept})
        existing = await self.ref("label", imported.external_id)
        if existing is not None and existing.fingerprint == print_:
            return "unchanged"
        if existing is None:
            found = (
                await self.w.session.execute(
                    select(Label.id).where(Label.account_id == self.w.account_id, Label.title == imported.data.title)
                )
            ).scalar_one_or_none()
            if found is None:
                label_id = (await self.w.create_label(imported.data)).id
            else:
                label_id = int(found)
                await self.w.update_label(label_id, imported.data)
            if not await self._free("label", label_id):
                return "unchanged"  # another SupportBee name with the same title already holds it
            outcome = "created"
        else:
            label_id = existing.internal_id
            await self.w.update_label(label_id, imported.data)
            outcome = "updated"
        await self.remember("label", imported.external_id, label_id, print_=print_, kept=imported.kept)
        return outcome

    async def canned_response(self, payload: JSON) -> str:
        imported = sb.snippet_to_canned_response(snippet=sb.SBSnippet.model_validate(payload))
        self.note(imported.lossy)
        print_ = fingerprint({"data": imported.data, "kept": imported.kept})
        existing = await self.ref("canned_response", imported.external_id)
        if existing is not None and existing.fingerprint == print_:
            return "unchanged"
        if existing is None:
            found = (
                await self.w.session.execute(
                    select(CannedResponse.id).where(
                        CannedResponse.account_id == self.w.account_id,
                        CannedResponse.short_code == imported.data.short_code,
                    )
                )
            ).scalar_one_or_none()
            if found is not None:
                raise SkipRecord(f"a canned response with short code {imported.data.short_code!r} already exists")
            row_id = (await self.w.create_canned_response(imported.data)).id
            outcome = "created"
        else:
            row_id = existing.internal_id
            await self.w.update_canned_response(row_id, imported.data)
            outcome = "updated"
        await self.remember("canned_response", imported.external_id, row_id, print_=print_, kept=imported.kept)
        return outcome

    async def inbox(self, payload: JSON) -> str:
        imported = sb.email_to_inbox(email=sb.SBEmail.model_validate(payload))
        self.note(imported.lossy)
        if imported.external_id is None:
            raise SkipRecord("a SupportBee forwarding address has no id")
        print_ = fingerprint({"data": imported.data})
        existing = await self.ref("inbox", imported.external_id)
        if existing is not None and existing.fingerprint == print_:
            return "unchanged"
        if existing is None:
            row_id = (await self.w.create_inbox(imported.data)).id
            outcome = "created"
        else:
            row_id = existing.internal_id
            await self.w.update_inbox(row_id, imported.data)
            outcome = "updated"
        await self.remember("inbox", imported.external_id, row_id, print_=print_)
        return outcome

    async def automation_rule(self, payload: JSON) -> str:
        rule = sb.SBRule.model_validate(payload.get("rule") or {})
        consequence = sb.SBConsequence.model_validate(payload.get("consequence") or {})
        wire_filter = sb.SBFilter.model_validate({k: v for k, v in payload.items() if k not in ("rule", "consequence")})
        agent_id = team_id = None
        if consequence.assign_user not in (None, ""):
            found = await self.ref("agent", str(consequence.assign_user))
            agent_id = found.internal_id if found else None
        if consequence.assign_team not in (None, ""):
            found = await self.ref("team", str(consequence.assign_team))
            team_id = found.internal_id if found else None
        imported = sb.rule_to_automation(
            rule=rule, consequence=consequence, filter=wire_filter, agent_id=agent_id, team_id=team_id
        )
        self.note(imported.lossy)
        if imported.data is None:
            raise SkipRecord(f"SupportBee filter {imported.external_id} has no action Supportly can run")
        print_ = fingerprint({"data": imported.data, "kept": imported.kept})
        existing = await self.ref("automation_rule", imported.external_id)
        if existing is not None and existing.fingerprint == print_:
            return "unchanged"
        if existing is None:
            row_id = (await self.w.create_automation_rule(imported.data)).id
            outcome = "created"
        else:
            row_id = existing.internal_id
            await self.w.get_row(AutomationRule, row_id)
            await self.w.update_automation_rule(row_id, imported.data)
            outcome = "updated"
        await self.remember("automation_rule", imported.external_id, row_id, print_=print_, kept=imported.kept)
        return outcome

    # -- tickets --------------------------------------------------------------------------------------------

    async def plan_ticket(self, payload: JSON) -> TicketPlan:
        """The ticket's plan: the one the ticket stream made (see :data:`PLANNED`), else mapped now."""
        planned = payload.get(PLANNED)
        if planned is None:
            planned = plan_ticket(payload, viewer_id=await self._viewer_id())
        if isinstance(planned, Exception):
            raise planned
        files = payload.get(PREFETCHED)
        planned.prefetched = files if isinstance(files, Prefetched) else None
        return planned

    async def _viewer_id(self) -> int | None:
        viewer = await self.source.viewer()
        if viewer is None:
            return None
        if self.source._viewer_agent_id is not None:
            return self.source._viewer_agent_id
        mapped = await self.ref("agent", str(viewer.id))
        return mapped.internal_id if mapped else None

    async def ticket(self, payload: JSON) -> str:
        plan = await self.plan_ticket(payload)
        existing = await self.ref("conversation", plan.imported.external_id)
        if existing is not None and existing.fingerprint == plan.fingerprint:
            return "unchanged"
        return await self.write_ticket(plan, existing)

    def note_ticket(self, plan: TicketPlan) -> None:
        self.note(plan.imported.lossy)
        for _key, message in plan.messages:
            self.note(message.lossy)

    async def write_ticket(self, plan: TicketPlan, existing: _Ref | None) -> Outcome:
        """Create or update one ticket's conversation and messages, record by record."""
        imported = plan.imported
        self.prefetched = plan.prefetched
        self.note_ticket(plan)
        for label in imported.labels:
            await self._label_from_ticket(label)
        data = imported.conversation
        fields = await self.conversation_fields(plan)
        for contact in [*imported.cc, *imported.bcc]:
            await self.contact_for(contact)
        if existing is None:
            row = await self.w.create_conversation(data.model_copy(update=fields))
            outcome: Outcome = "created"
        else:
            row = await self.w.get_row(Conversation, existing.internal_id)
            changes = {key: value for key, value in data.changes().items() if key != "display_id"}
            changes.update(assignee_id=fields["assignee_id"], team_id=fields["team_id"])
            await self.w.update_conversation(row, ConversationData(**changes))
            outcome = "updated"
        await self.remember(
            "conversation",
            imported.external_id,
            row.id,
            print_=plan.fingerprint,
            updated_at=plan.last_activity_at,
        )
        for key, message in plan.messages:
            await self._message(row, key, message, plan.authors)
        return outcome

    async def conversation_fields(self, plan: TicketPlan) -> dict[str, Any]:
        """The conversation's contact, inbox, assignee and team ids (created from what the ticket shows if new)."""
        imported = plan.imported
        fields: dict[str, Any] = {
            "contact_id": await self.contact_for(imported.requester),
            "inbox_id": await self._inbox_for(imported.source_email),
            "assignee_id": None,
            "team_id": None,
        }
        assignee = _assignee(plan)
        if assignee is not None:
            fields["assignee_id"] = await self.agent_for(assignee)
        if imported.team_external_id is not None:
            team = await self.ref("team", imported.team_external_id)
            if team is None:
                self.context.warnings.append(f"team {imported.team_external_id} is not listed: left unassigned")
            else:
                fields["team_id"] = team.internal_id
        return fields

    async def sender_id(
        self, contact_id: int, message: sb.MessageImport, authors: Mapping[str, sb.SBUser]
    ) -> int | None:
        """Who wrote a message: the requester or the customer named, else the agent (a placeholder if unlisted)."""
        if message.sender_kind == "contact":
            return contact_id if message.sender is None else await self.contact_for(message.sender)
        if message.sender_external_id is None:
            return None
        author = authors.get(message.sender_external_id)
        if author is not None:
            return await self.agent_for(author)
        mapped = await self.ref("agent", message.sender_external_id)
        return mapped.internal_id if mapped else None

    async def _label_from_ticket(self, imported: sb.LabelImport) -> None:
        if await self.ref("label", imported.external_id) is None:
            await self._label(imported)

    async def _inbox_for(self, email: str | None) -> int:
        canonical = (email or "").strip().lower()
        if canonical:
            found = (
                await self.w.session.execute(
                    select(Inbox.id)
                    .where(Inbox.account_id == self.w.account_id, Inbox.email == canonical)
                    .order_by(Inbox.id)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if found is not None:
                return int(found)
        existing = await self.ref("inbox", DEFAULT_INBOX_REF)
        if existing is not None:
            return existing.internal_id
        row = await self.w.create_inbox(InboxData(name="SupportBee", channel_type="email"))
        await self.remember("inbox", DEFAULT_INBOX_REF, row.id, print_=None)
        return row.id

    async def _message(
        self, conversation: Conversation, key: str, message: sb.MessageImport, authors: Mapping[str, sb.SBUser]
    ) -> None:
        print_ = message_fingerprint(message)
        existing = await self.ref("message", key)
        if existing is not None and existing.fingerprint == print_:
            return
        data = message.data
        sender_id = await self.sender_id(conversation.contact_id, message, authors)
        if existing is not None:
            row = await self.w.get_row(Message, existing.internal_id)
            update = MessageData(content=data.content, additional_attributes=data.additional_attributes)
            await self.w.update_message(conversation, row, update)
            await self.remember("message", key, row.id, print_=print_)
            return
        create, file_ids = await self.message_to_write(message, sender_id)
        row = await self.w.create_message(conversation, create)
        await self.remember("message", key, row.id, print_=print_)
        if file_ids:
            stored = (
                (
                    await self.w.session.execute(
                        select(Attachment.id).where(Attachment.message_id == row.id).order_by(Attachment.id)
                    )
                )
                .scalars()
                .all()
            )
            await self.remember_files(file_ids, [int(n) for n in stored])

    async def message_to_write(self, message: sb.MessageImport, sender_id: int | None) -> tuple[MessageData, list[str]]:
        """A new message as the store takes it: its author, its files (failed ones listed on the message), and the
        SupportBee ids of the files it carries."""
        data = message.data
        if not data.attachments:
            return data.model_copy(update={"sender_id": sender_id}), []
        files, failed = await self._files(message)
        attributes = dict(data.additional_attributes or {})
        if failed:
            block = dict(attributes.get(PROVIDER) or {})
            block["failed_attachments"] = failed
            attributes[PROVIDER] = block
        content = data.content
        if not (content or "").strip() and not [f for f in files if f is not None]:
            content = "(attachments not imported)" if failed else content
        kept_files = [item for item in files if item is not None]
        create = data.model_copy(
            update={
                "sender_id": sender_id,
                "attachments": [item for _, item in kept_files],
                "additional_attributes": attributes,
                "content": content,
            }
        )
        return create, [external_id for external_id, _ in kept_files]

    async def remember_files(self, external_ids: Sequence[str], attachment_ids: Sequence[int]) -> None:
        for external_id, attachment_id in zip(external_ids, attachment_ids, strict=False):
            if await self.ref("attachment", external_id) is None:
                await self.remember("attachment", external_id, attachment_id, print_=None)

    async def _files(
        self, message: sb.MessageImport
    ) -> tuple[list[tuple[str, AttachmentData] | None], list[dict[str, Any]]]:
        """Download a message's files (bounded concurrency, size cap); failures are listed, not fatal."""
        items = list(zip(message.attachment_external_ids, message.data.attachments, strict=False))
        if not items:
            return [], []
        if not self.options.include_attachments or self.options.dry_run:
            return [(external_id, data) for external_id, data in items], []
        cap = min(self.options.max_attachment_bytes, self.w.max_attachment_bytes)
        limit = asyncio.Semaphore(max(1, self.options.concurrency))
        failed: list[dict[str, Any]] = []

        prefetched = self.prefetched

        async def fetch(external_id: str, data: AttachmentData) -> tuple[str, AttachmentData] | None:
            if prefetched is not None and external_id in prefetched.files:
                return external_id, data.model_copy(update={"data": prefetched.files[external_id]})
            if prefetched is not None and external_id in prefetched.failed:
                reason = prefetched.failed[external_id]
            else:
                async with limit:
                    outcome = await download(self.source.client, external_id, data.external_url, cap)
                if isinstance(outcome, bytes):
                    return external_id, data.model_copy(update={"data": outcome})
                reason = outcome
            failed.append({"id": external_id, "file_name": data.file_name, "reason": reason})
            log.warning(EVENT_ATTACHMENT_FAILED, provider=PROVIDER, external_id=external_id, reason=reason)
            self.context.warnings.append(f"attachment {external_id} ({data.file_name}) not imported: {reason}")
            return None

        results = await gather_or_cancel(*(fetch(external_id, data) for external_id, data in items))
        return list(results), sorted(failed, key=lambda item: str(item["id"]))


async def download(client: SupportBeeClient, external_id: str, url: str | None, cap: int) -> bytes | str:
    """One attachment's bytes, or why they could not be had (never raises for one file)."""
    try:
        got = await client.download_attachment({"id": external_id, "url": {"original": url}}, max_bytes=cap)
    except (SkippableRecordError, FatalSourceError) as err:
        return err.message
    except Exception as err:  # noqa: BLE001 - any failure of one file is recorded on its message
        return f"{type(err).__name__}: {err}"
    return got.data or b""


def make_source(http: aiohttp.ClientSession, credentials: Mapping[str, Any], settings: Settings) -> SupportBeeSource:
    """Build the SupportBee source from ``{company or base_url, auth_token}`` (a bad one is a FatalSourceError)."""
    token = credentials.get("auth_token")
    if not isinstance(token, str) or not token.strip():
        raise FatalSourceError("a SupportBee auth_token is required")
    base_url = credentials.get("base_url")
    company = credentials.get("company")
    connection = Connection(
        base_url=base_url if isinstance(base_url, str) and base_url else None,
        company=company if isinstance(company, str) and company else None,
        auth_token=token.strip(),
        allow_private_urls=settings.allow_private_urls,
    )
    return SupportBeeSource(
        connection.client(http),
        auth_token=connection.auth_token,
        connection=connection,
        reader=settings.migration_reader_mode(),
        log_level=settings.log_level,
    )


__all__ = ["PHASES", "SupportBeeSource", "attachments_of", "fingerprint", "make_source"]
