"""The reading side of a SupportBee import's ticket phase: ticket pages, threads, and each ticket mapped to a plan.

:mod:`providers.supportbee.migration` writes the plans; this module reads and maps them, in the importing process or
in a reader process of its own (:mod:`bridge.migration.offload`, ``MIGRATION_READER``). It imports no database
code (SQLAlchemy, the store, the models), so a reader process starts in half the time and holds less memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import aiohttp
import orjson
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from bridge.migration.source import Batch, Record, RunOptions, SkipRecord
from bridge.outbound import SkippableRecordError, gather_or_cancel, read_ahead
from bridge.schemas import MessageData
from mappings import supportbee as sb
from providers.supportbee.client import SupportBeeClient

JSON = dict[str, Any]
HTTP_TIMEOUT_SECONDS = 60
_MESSAGE_JSON = MessageData.__pydantic_serializer__
"""What ``MessageData.model_dump_json`` uses, called for bytes (the fingerprint hashes them; no str round trip)."""


def fingerprint(value: Any) -> str:
    """Hash canonical data (pydantic models dumped as JSON, keys sorted) into a 64-hex fingerprint."""

    def default(item: Any) -> Any:
        if isinstance(item, BaseModel):
            return item.model_dump(mode="json", exclude_unset=True)
        if isinstance(item, datetime):
            return item.isoformat()
        raise TypeError(type(item).__name__)

    raw = orjson.dumps(value, default=default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.sha256(raw).hexdigest()


def skip_record(err: Exception) -> SkipRecord:
    """A mapping's refusal as the engine counts it: a skipped record, with the reason."""
    return SkipRecord(str(err))


@dataclass
class Prefetched:
    """A ticket's attachment files downloaded before its batch's transaction: bytes, or why not, by file id."""

    files: dict[str, bytes] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


PLANNED = "_planned"
"""The key under which the ticket stream leaves a ticket's :class:`TicketPlan` (or why it cannot be imported) as its
record's payload: tickets are mapped as they are read (in the reader process, when there is one), before the engine
opens the batch's transaction."""
PREFETCHED = "_prefetched"
"""The key under which ``SupportBeeSource.prepare`` (:mod:`providers.supportbee.migration`) leaves a
:class:`Prefetched` in a ticket's payload."""


@dataclass
class TicketPlan:
    """A ticket mapped, ready to be written (its fingerprints are computed when first asked for)."""

    imported: sb.TicketImport
    assignee: sb.SBUser | None
    """The agent the ticket is assigned to, as the ticket shows them (a placeholder is made if unlisted)."""
    last_activity_at: datetime | None
    messages: list[tuple[str, sb.MessageImport]]
    authors: dict[str, sb.SBUser]
    """The agents who wrote its replies and comments, by SupportBee id."""
    prefetched: Prefetched | None = None

    @property
    def external_id(self) -> str:
        return self.imported.external_id

    # The fingerprints are computed where they are first needed: in the importing process, when a reader process
    # mapped the ticket (the reader is the busier of the two; they are a tenth of its work).
    @functools.cached_property
    def message_prints(self) -> list[str]:
        """Each message's fingerprint, aligned with ``messages``."""
        return [message_fingerprint(m) for _, m in self.messages]

    @functools.cached_property
    def fingerprint(self) -> str:
        imported = self.imported
        return fingerprint(
            {
                "conversation": imported.conversation,
                "requester": imported.requester.external_id,
                "assignee": imported.assignee_external_id,
                "team": imported.team_external_id,
                "source": imported.source_email,
                "messages": [(key, mp) for (key, _), mp in zip(self.messages, self.message_prints, strict=True)],
            }
        )

    def bulk_ready(self) -> bool:
        """Whether the set-based path can write it: no message the store would refuse as blank."""
        return all(m.data.attachments or (m.data.content or "").strip() for _, m in self.messages)


async def planned_pages(
    client: SupportBeeClient, cursor: Mapping[str, Any] | None, options: RunOptions, viewer_id: int | None
) -> AsyncGenerator[Batch, None]:
    """The ticket phase's batches, each ticket mapped (see :data:`PLANNED`)."""
    # The next page and its threads are read while this one is mapped and written; mapping yields to the loop
    # after each ticket, so those reads go on meanwhile (a page's mapping is tens of milliseconds of CPU).
    async with contextlib.aclosing(read_ahead(ticket_pages(client, cursor, options), depth=1)) as pages:
        async for batch in pages:
            records = []
            users = SharedUsers()
            for record in batch.records:
                plan = plan_or_refusal(record, viewer_id)
                if isinstance(plan, TicketPlan):
                    users.adopt(plan)
                records.append(replace(record, payload={PLANNED: plan}))
                await asyncio.sleep(0)
            yield replace(batch, records=records)


class SharedUsers:
    """One object for each agent across a batch's plans.

    Every reply names its author, so a page of tickets holds hundreds of copies of its few agents (with their
    pictures): a third of the models a batch sends from the reader process. A plan's copy is swapped for the first
    one seen only when they are the same in every respect pickling keeps (values, keys given, unknown keys)."""

    def __init__(self) -> None:
        self._by_id: dict[int, sb.SBUser] = {}

    def adopt(self, plan: TicketPlan) -> None:
        plan.authors = {key: self._shared(user) for key, user in plan.authors.items()}
        if plan.assignee is not None:
            plan.assignee = self._shared(plan.assignee)

    def _shared(self, user: sb.SBUser) -> sb.SBUser:
        first = self._by_id.setdefault(user.id, user)
        return first if first is user or _same_model(first, user) else user


def _same_model(a: BaseModel, b: BaseModel) -> bool:
    if type(a) is not type(b) or a.model_fields_set != b.model_fields_set or a.model_extra != b.model_extra:
        return False
    if a.__dict__.keys() != b.__dict__.keys():
        return False
    for key, value in a.__dict__.items():
        other = b.__dict__[key]
        same = _same_model(value, other) if isinstance(value, BaseModel) else type(value) is type(other)
        if not same or value != other:
            return False
    return True


async def ticket_pages(
    client: SupportBeeClient, cursor: Mapping[str, Any] | None, options: RunOptions
) -> AsyncIterator[Batch]:
    """The ticket phase's batches of threads (a ticket with its replies and comments), after ``cursor``."""
    done_pages = int((cursor or {}).get("page", 0))
    taken = int((cursor or {}).get("taken", 0))
    # The spam and trash passes list the desk again for the few tickets only they show: their pages bring a
    # ticket or two each. A page of mostly tickets seen before waits to be joined by the next ones until they
    # make a quarter page, so those batches are not one or two tickets each (a transaction and a checkpoint).
    enough = max(1, client.page_size // 4)
    number = 0
    records: list[Record] = []
    async for listed in client.ticket_listing(since=options.since):
        number += 1
        if number <= done_pages:
            continue
        page = listed.tickets
        if options.sample is not None:
            page = page[: max(0, options.sample - taken)]
            if not page:
                break
        threads = await gather_or_cancel(*(ticket_thread(client, ticket) for ticket in page))
        taken += len(page)
        records += [
            Record(
                kind="conversation",
                external_id=str(thread["ticket"].get("id")),
                payload=thread,
                updated_at=sb._parse_time(thread["ticket"].get("last_activity_at")),
            )
            for thread in threads
        ]
        if len(records) >= enough or 2 * len(listed.tickets) > listed.listed:
            yield Batch(phase="tickets", records=records, cursor={"page": number, "taken": taken})
            records = []
    if records:
        yield Batch(phase="tickets", records=records, cursor={"page": number, "taken": taken})


async def ticket_thread(client: SupportBeeClient, ticket: JSON) -> JSON:
    """A ticket with its replies and comments (``gone``: why they could not be read)."""
    ticket_id = ticket.get("id")
    thread: JSON = {"ticket": ticket, "replies": [], "comments": []}
    if not isinstance(ticket_id, int):
        thread["gone"] = "the ticket has no integer id"
        return thread
    try:
        if ticket.get("replies_count", 1):
            thread["replies"] = await client.replies(ticket_id)
        if ticket.get("comments_count", 1):
            thread["comments"] = await client.comments(ticket_id)
    except SkippableRecordError as err:
        thread["gone"] = f"its replies or comments could not be read: {err.message}"
    return thread


def record_error(record: Record, err: Exception) -> Exception:
    """The error a record's load raised, as the engine should count it (mapping refusals are skips)."""
    if isinstance(err, sb.UnmappableRecord):
        return skip_record(err)
    if isinstance(err, PydanticValidationError):
        return SkipRecord(f"SupportBee {record.kind} {record.external_id} is malformed: {err.errors()[0]}")
    return err


def plan_ticket(payload: JSON, *, viewer_id: int | None) -> TicketPlan:
    """Map a ticket with its replies and comments (no I/O; the plan fingerprints itself when asked). ``viewer_id`` is
    the Supportly id of the agent whose token reads the desk (their stars are kept)."""
    gone = payload.get("gone")
    ticket_wire: JSON = payload["ticket"]
    if gone:
        raise SkipRecord(f"SupportBee ticket {ticket_wire.get('id')}: {gone}")
    ticket = sb.SBTicket.model_validate(ticket_wire)
    imported = sb.ticket_to_canonical(ticket=ticket, viewer_id=viewer_id)
    raw_replies = [sb.SBReply.model_validate(r) for r in payload.get("replies") or []]
    raw_comments = [sb.SBComment.model_validate(c) for c in payload.get("comments") or []]
    replies = [sb.reply_to_message(reply=reply) for reply in raw_replies]
    comments = [sb.comment_to_note(comment=comment) for comment in raw_comments]
    messages: list[tuple[str, sb.MessageImport]] = [(f"ticket:{imported.external_id}", imported.message)]
    messages += [(str(m.external_id), m) for m in replies]
    # Reply and comment ids are separate sequences at SupportBee: a comment's reference says it is one.
    messages += [(f"comment:{m.external_id}", m) for m in comments]
    # Replies and comments interleave by time; the ticket's own content comes first at equal times.
    messages.sort(key=lambda pair: (*_sort_time(pair[1]), 0 if pair[0].startswith("ticket:") else 1))
    authors: dict[str, sb.SBUser] = {}
    for user in [*(r.replier for r in raw_replies), *(c.commenter for c in raw_comments)]:
        if user is not None and user.agent:
            authors[str(user.id)] = user
    return TicketPlan(
        imported=imported,
        assignee=None if ticket.current_user_assignee is None else ticket.current_user_assignee.user,
        last_activity_at=ticket.last_activity_at,
        messages=messages,
        authors=authors,
    )


def plan_or_refusal(record: Record, viewer_id: int | None) -> TicketPlan | Exception:
    """A ticket's plan, or why it cannot be imported (an exception that pickles, for the reader process)."""
    try:
        return plan_ticket(record.payload, viewer_id=viewer_id)
    except (SkipRecord, sb.UnmappableRecord, PydanticValidationError) as err:
        return record_error(record, err)


@dataclass(frozen=True, kw_only=True)
class Connection:
    """How to reach the desk, for a reader process to open its own client."""

    base_url: str | None
    company: str | None
    auth_token: str = field(repr=False)
    allow_private_urls: bool

    def client(self, http: aiohttp.ClientSession, *, concurrency: int = 4) -> SupportBeeClient:
        return SupportBeeClient(
            http,
            base_url=self.base_url,
            company=self.company,
            auth_token=self.auth_token,
            allow_private_urls=self.allow_private_urls,
            concurrency=concurrency,
        )


@dataclass(frozen=True, kw_only=True)
class TicketReading:
    """Everything the reader process needs to stream the ticket phase (it has no database)."""

    connection: Connection
    cursor: dict[str, Any] | None
    options: RunOptions
    viewer_id: int | None
    """The Supportly agent of the token's owner (their stars are kept), as the importing process found it."""


async def read_tickets(reading: TicketReading) -> AsyncGenerator[Batch, None]:
    """The ticket phase's batches, mapped: run by a reader process (:mod:`bridge.migration.offload`)."""
    timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        contextlib.aclosing(read_tickets_with(reading, http)) as batches,
    ):
        async for batch in batches:
            yield batch


async def read_tickets_with(reading: TicketReading, http: aiohttp.ClientSession) -> AsyncGenerator[Batch, None]:
    """The ticket phase through a client of its own: up to ``options.concurrency`` requests in flight."""
    client = reading.connection.client(http, concurrency=reading.options.concurrency)
    async with contextlib.aclosing(planned_pages(client, reading.cursor, reading.options, reading.viewer_id)) as pages:
        async for batch in pages:
            yield batch


def message_fingerprint(message: sb.MessageImport) -> str:
    """Hash a message's canonical data and author (pydantic's own JSON: fields in declaration order)."""
    digest = hashlib.sha256(_MESSAGE_JSON.to_json(message.data, exclude_unset=True))
    digest.update(b"\x00" + (message.sender_external_id or "").encode())
    return digest.hexdigest()


def _sort_time(message: sb.MessageImport) -> tuple[int, datetime | int]:
    """A message's place in time: undated ones first, then by instant (a naive time is UTC)."""
    created = message.data.created_at
    return (0, 0) if created is None else (1, sb._utc(created))
