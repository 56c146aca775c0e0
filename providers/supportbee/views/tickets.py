"""SupportBee compat views: tickets (spec: "Fetch Tickets", "Search Tickets", "Create Ticket", "Get Ticket",
"Delete Trashed Ticket", "Actions On Tickets", "Adding Label to a Ticket" and "Removing Label from a Ticket").

A ticket is a Supportly conversation seen through ``mappings.supportbee``: archived is status resolved, spam the
spam flag; trash, per-agent stars, the subject and the answered override live in
``additional_attributes["supportbee"]``. Every filter of "Fetch Tickets" runs in SQL (on SQLite and PostgreSQL)
so ``total`` and paging are exact. Decisions where the spec is silent:

* ``spam=true`` / ``trash=true`` *include* spam / trashed tickets ("retrieved tickets contain tickets marked as
  spam"); without them those tickets are left out. ``label=unanswered`` is the unanswered state (the spec's own
  example), any other label a label of the desk (its SupportBee name or its Supportly title).
* ``since``/``until`` compare the last activity (as the spec says), whatever ``sort_by`` orders by.
* ``max_replies`` is an upper bound on the replies a ticket has.
* Search matches every word of ``query`` in the subject, a message of the ticket, or the requester's name or
  email; it spans archived tickets and honours ``spam``/``trash`` like the list.
* An assignment's ``id`` is the id of the activity message that records it in the conversation.
* A created ticket lands in the desk's first email inbox (one named "SupportBee" is made when there is none), or
  the email inbox ``forwarding_address_id`` names. ``notify_requester`` is accepted; the bridge sends no mail.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, field_validator
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import ColumnElement, DateTime, and_, case, cast, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bridge import appkeys
from bridge.errors import BadRequest, Conflict, NotFound, RateLimited
from bridge.models import (
    AccountUser,
    Contact,
    Conversation,
    ConversationLabel,
    Inbox,
    Label,
    Message,
    Team,
    TeamMember,
    User,
    utcnow,
)
from bridge.ratelimit import SlidingWindowLimiter
from bridge.routing import Router, json_response, no_content, parse_query, validate
from bridge.schemas import ConversationData, InboxData, MessageData
from bridge.store import Writer
from mappings import supportbee as sb
from providers.supportbee import auth, reads, wire
from providers.supportbee.auth import Desk

router = Router("supportbee", "SupportBee")

# Supportly row ids are 32-bit database integers; a larger id names nothing (and must not reach the database).
_MAX_ID = wire.MAX_ID
_TICKET = r"{ticket_id:[0-9]+}"
# A label name may hold dots, but not end in ".json": that suffix is the ``.json`` variant of the route.
_LABEL = r"{label_name:[^/]+(?<!\.json)}"
_PUBLIC_TYPES = ("incoming", "outgoing")
_EMAIL = TypeAdapter(EmailStr)
_BLOCK = sb.PROVIDER


# -- query parameters ------------------------------------------------------------------------------
class _Paging(BaseModel):
    model_config = ConfigDict(extra="ignore")

    per_page: int = Field(default=15, ge=1, lt=100, description="Tickets per page; must be less than 100.")
    page: int = Field(default=1, ge=1, le=_MAX_ID)
    spam: bool = Field(default=False, description="Include tickets marked as spam.")
    trash: bool = Field(default=False, description="Include trashed tickets.")


_Q = TypeVar("_Q", bound=_Paging)


class TicketListQuery(_Paging):
    """The parameters of "Fetch Tickets"."""

    archived: Literal["true", "false", "any"] = "false"
    replies: bool | None = None
    max_replies: int | None = Field(default=None, ge=0, le=_MAX_ID)
    assigned_user: str | None = Field(default=None, pattern=r"^(me|any|none|[0-9]{1,18})$")
    assigned_team: str | None = Field(default=None, pattern=r"^(mine|any|none|[0-9]{1,18})$")
    starred: bool | None = None
    label: str | None = None
    since: str | None = None
    until: str | None = None
    sort_by: Literal["last_activity", "creation_time"] = "last_activity"
    requester_emails: str | None = Field(default=None, description="Comma-separated requester emails.")
    total_only: str | None = Field(default=None, description="Any truthy value answers only {total}.")

    @field_validator("archived", "sort_by", "assigned_user", "assigned_team", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class TicketSearchQuery(_Paging):
    """The parameters of "Search Tickets"."""

    query: str | None = Field(default=None, description="Keywords; required.")


# -- reading ---------------------------------------------------------------------------------------
def _reader(request: web.Request) -> AbstractAsyncContextManager[AsyncSession]:
    return request.config_dict[appkeys.STORE].reader()


def _writer(request: web.Request, desk: Desk) -> AbstractAsyncContextManager[Writer]:
    return request.config_dict[appkeys.STORE].writer(desk.account_id, actor_user_id=desk.user_id)


async def _dialect(session: AsyncSession) -> str:
    return (await session.connection()).dialect.name


async def _rendered(session: AsyncSession, request: web.Request, desk: Desk, row: Conversation) -> dict[str, Any]:
    tickets = await reads.render_tickets(session, request, desk, [row])
    return sb.SBTicketEnvelope.model_validate({"ticket": tickets[0]}).to_wire()


def _kept(*path: str) -> Any:
    """A value of the conversation's SupportBee block, as a JSON path expression."""
    return Conversation.additional_attributes[(_BLOCK, *path)]


def _public_messages() -> ColumnElement[bool]:
    """The public messages (the ticket's content and its replies) of the conversation being filtered."""
    return and_(
        Message.conversation_id == Conversation.id,
        Message.message_type.in_(_PUBLIC_TYPES),
        Message.private.is_(False),
    )


def _replies_count() -> ColumnElement[int]:
    """``replies_count`` as ``mappings.supportbee.ticket_parts`` counts it: public messages but the content."""
    public = select(func.count(Message.id)).where(_public_messages()).scalar_subquery()
    part = func.coalesce(Message.additional_attributes[(_BLOCK, "part")].as_string(), "")
    has_content = select(Message.id).where(_public_messages(), part != "reply").exists()
    return public - case((has_content, 1), else_=0)


def _trashed() -> ColumnElement[bool]:
    return func.coalesce(_kept("trash").as_boolean(), false())


def _starred_by(dialect: str, user_id: int) -> ColumnElement[bool]:
    """The agent's star: their id is in the block's ``starred_by`` list."""
    if dialect == "postgresql":
        items = func.json_array_elements_text(_kept("starred_by")).table_valued("value")
        return select(items.c.value).where(items.c.value == str(user_id)).exists()
    items = func.json_each(Conversation.additional_attributes, f"$.{_BLOCK}.starred_by").table_valued("value")
    return select(items.c.value).where(items.c.value == user_id).exists()


def _unanswered(dialect: str) -> ColumnElement[bool]:
    """``mappings.supportbee.derive_unanswered`` in SQL: a stored override holds until a newer public message,
    otherwise the ticket is unanswered unless its last public message is an agent's."""
    last_type = (
        select(Message.message_type)
        .where(_public_messages())
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    natural = func.coalesce(last_type, "incoming") == "incoming"
    latest = select(func.max(Message.created_at)).where(_public_messages()).scalar_subquery()
    marked_at = _kept("unanswered", "at").as_string()
    if dialect == "postgresql":
        newer = latest > cast(marked_at, DateTime(timezone=True))
    else:
        newer = func.julianday(latest) > func.julianday(marked_at)
    holds = and_(marked_at.is_not(None), or_(latest.is_(None), not_(func.coalesce(newer, true()))))
    return case((holds, func.coalesce(_kept("unanswered", "value").as_boolean(), false())), else_=natural)


def _refuse_nul(value: Any, field: str) -> None:
    """PostgreSQL stores no NUL character: a value holding one is refused as invalid input, never a 500."""
    if isinstance(value, str):
        if "\x00" in value:
            raise BadRequest("must not contain NUL characters", field=field)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_nul(str(key), field)
            _refuse_nul(item, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item, field)


def _query(request: web.Request, model: type[_Q]) -> _Q:
    for name, value in request.query.items():
        _refuse_nul(value, name)
    return parse_query(request, model)


def _date(value: str, field: str) -> dt.datetime:
    parsed = wire.parse_date(value, field=field)
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError) as err:
        raise BadRequest(f"is out of range: {value!r}", field=field) from err


async def _label_of(session: AsyncSession, desk: Desk, name: str) -> Label | None:
    """The desk's label a client names: by the SupportBee name an import kept, else by its title."""
    mapped = await reads.internal_id(session, desk.account_id, "label", name)
    condition = Label.id == mapped if mapped is not None else Label.title == sb.label_title(name)
    return (
        await session.execute(select(Label).where(Label.account_id == desk.account_id, condition))
    ).scalar_one_or_none()


def _base_conditions(desk: Desk, *, spam: bool, trash: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Conversation.account_id == desk.account_id]
    if not spam:
        conditions.append(Conversation.spam.is_(False))
    if not trash:
        conditions.append(not_(_trashed()))
    return conditions


async def _list_conditions(
    session: AsyncSession, desk: Desk, query: TicketListQuery, dialect: str
) -> list[ColumnElement[bool]]:
    """Translate the filters of "Fetch Tickets" to SQL conditions on conversations."""
    user_id = desk.require_user()
    conditions = _base_conditions(desk, spam=query.spam, trash=query.trash)
    if query.archived != "any":
        archived = Conversation.status == "resolved"
        conditions.append(archived if query.archived == "true" else not_(archived))
    if query.replies is not None:
        conditions.append(_replies_count() > 0 if query.replies else _replies_count() == 0)
    if query.max_replies is not None:
        conditions.append(_replies_count() <= query.max_replies)
    if query.assigned_user is not None:
        conditions.append(await _assigned_user(session, desk, query.assigned_user))
    if query.assigned_team is not None:
        conditions.append(await _assigned_team(session, desk, query.assigned_team))
    if query.starred is not None:
        mine = _starred_by(dialect, user_id)
        conditions.append(mine if query.starred else and_(not_(mine), Conversation.assignee_id == user_id))
    if query.label is not None and query.label.strip():
        conditions.append(await _labelled(session, desk, query.label.strip(), dialect))
    if query.since:
        conditions.append(Conversation.last_activity_at > _date(query.since, "since"))
    if query.until:
        conditions.append(Conversation.last_activity_at < _date(query.until, "until"))
    emails = {part.strip().lower() for part in (query.requester_emails or "").split(",") if part.strip()}
    if emails:
        requesters = select(Contact.id).where(
            Contact.account_id == desk.account_id, func.lower(Contact.email).in_(emails)
        )
        conditions.append(Conversation.contact_id.in_(requesters))
    return conditions


async def _assigned_user(session: AsyncSession, desk: Desk, value: str) -> ColumnElement[bool]:
    if value == "me":
        return Conversation.assignee_id == desk.require_user()
    if value == "any":
        return Conversation.assignee_id.is_not(None)
    if value == "none":
        return Conversation.assignee_id.is_(None)
    user_id = await reads.shown_to_internal(session, desk, "agent", value)
    return false() if user_id is None else Conversation.assignee_id == user_id


async def _assigned_team(session: AsyncSession, desk: Desk, value: str) -> ColumnElement[bool]:
    if value == "mine":
        teams = select(TeamMember.team_id).where(
            TeamMember.account_id == desk.account_id, TeamMember.user_id == desk.require_user()
        )
        return Conversation.team_id.in_(teams)
    if value == "any":
        return Conversation.team_id.is_not(None)
    if value == "none":
        return Conversation.team_id.is_(None)
    team_id = await reads.shown_to_internal(session, desk, "team", value)
    return false() if team_id is None else Conversation.team_id == team_id


async def _labelled(session: AsyncSession, desk: Desk, name: str, dialect: str) -> ColumnElement[bool]:
    if name.lower() == "unanswered":
        return _unanswered(dialect)
    label = await _label_of(session, desk, name)
    title = label.title if label is not None else sb.label_title(name)
    return (
        select(ConversationLabel.conversation_id)
        .where(ConversationLabel.conversation_id == Conversation.id, ConversationLabel.title == title)
        .exists()
    )


def _search_conditions(desk: Desk, query: TicketSearchQuery) -> list[ColumnElement[bool]]:
    words = (query.query or "").split()
    if not words:
        raise BadRequest("query is missing", field="query")
    conditions = _base_conditions(desk, spam=query.spam, trash=query.trash)
    for word in words:
        in_messages = (
            select(Message.id)
            .where(
                Message.conversation_id == Conversation.id,
                Message.message_type.in_(_PUBLIC_TYPES),
                Message.content.icontains(word, autoescape=True),
            )
            .exists()
        )
        by_requester = (
            select(Contact.id)
            .where(
                Contact.id == Conversation.contact_id,
                or_(Contact.name.icontains(word, autoescape=True), Contact.email.icontains(word, autoescape=True)),
            )
            .exists()
        )
        conditions.append(or_(_kept("subject").as_string().icontains(word, autoescape=True), in_messages, by_requester))
    return conditions


async def _page(
    session: AsyncSession,
    request: web.Request,
    desk: Desk,
    conditions: Sequence[ColumnElement[bool]],
    *,
    per_page: int,
    page: int,
    by_creation: bool = False,
    total_only: bool = False,
) -> web.Response:
    """Answer one page of the matching tickets in the list envelope (or only ``{"total"}``)."""
    total = int((await session.execute(select(func.count(Conversation.id)).where(*conditions))).scalar_one())
    if total_only:
        return json_response({"total": total})
    order = Conversation.created_at if by_creation else Conversation.last_activity_at
    rows = (
        (
            await session.execute(
                select(Conversation)
                .where(*conditions)
                .order_by(order.desc(), Conversation.id.desc())
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
        .scalars()
        .all()
    )
    tickets = await reads.render_tickets(session, request, desk, rows)
    envelope = sb.SBTicketList.model_validate(
        {
            "total": total,
            "current_page": page,
            "per_page": per_page,
            "total_pages": -(-total // per_page),
            "tickets": tickets,
        }
    )
    return json_response(envelope.to_wire())


@router.get("/tickets", summary="List tickets (every filter of Fetch Tickets)", query=TicketListQuery)
async def list_tickets(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    query = _query(request, TicketListQuery)
    if query.max_replies is not None and query.replies is False:
        raise BadRequest("cannot be used with replies=false", field="max_replies")
    async with _reader(request) as session:
        conditions = await _list_conditions(session, desk, query, await _dialect(session))
        return await _page(
            session,
            request,
            desk,
            conditions,
            per_page=query.per_page,
            page=query.page,
            by_creation=query.sort_by == "creation_time",
            total_only=query.total_only is not None and wire.truthy(query.total_only),
        )


@router.get("/tickets/search", summary="Search tickets (query is required)", query=TicketSearchQuery)
async def search_tickets(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    query = _query(request, TicketSearchQuery)
    conditions = _search_conditions(desk, query)
    async with _reader(request) as session:
        return await _page(session, request, desk, conditions, per_page=query.per_page, page=query.page)


@router.get(r"/tickets/{id:[0-9]+}", summary="Show a ticket")
async def show_ticket(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    async with _reader(request) as session:
        row = await reads.find_ticket(session, desk, request.match_info["id"])
        return json_response(await _rendered(session, request, desk, row))


# -- creating --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _CreateLimits:
    """The spec's limits on "Create Ticket": per IP for anonymous callers, per token otherwise."""

    anonymous: SlidingWindowLimiter
    authenticated: SlidingWindowLimiter


# Keyed by the root application, which the Host-routed sub-application shares; the app is frozen once it
# serves, so the limiters cannot live on it and are made on first use.
_LIMITS: weakref.WeakKeyDictionary[web.Application, _CreateLimits] = weakref.WeakKeyDictionary()


def _create_limits(request: web.Request) -> _CreateLimits:
    root = request.match_info.apps[0]
    limits = _LIMITS.get(root)
    if limits is None:
        settings = request.config_dict[appkeys.SETTINGS]
        limits = _CreateLimits(
            anonymous=SlidingWindowLimiter(settings.supportbee_public_create_per_hour, 3600),
            authenticated=SlidingWindowLimiter(settings.supportbee_create_per_minute, 60),
        )
        _LIMITS[root] = limits
    return limits


def _count_create(request: web.Request, desk: Desk) -> None:
    """Count one create against the caller's limit; past it the answer is 429 with ``Retry-After``."""
    limits = _create_limits(request)
    if desk.token_hash is None:
        verdict = limits.anonymous.hit(f"ip:{request.remote or 'unknown'}")
    else:
        verdict = limits.authenticated.hit(f"token:{desk.token_hash}")
    if not verdict.allowed:
        raise RateLimited(
            f"Rate limit exceeded. Please retry after {verdict.retry_after} seconds.", headers=verdict.headers()
        )


@dataclass(frozen=True)
class _NewTicket:
    subject: str | None
    requester_name: str | None
    requester_email: str
    cc: list[tuple[str, str]]
    bcc: list[tuple[str, str]]
    content: sb.SBContent
    attachment_ids: list[int]
    forwarding_address_id: int | None


def _address(value: str, *, field: str) -> str:
    try:
        return str(_EMAIL.validate_python(value.strip())).lower()
    except PydanticValidationError as err:
        raise BadRequest(f"is not a valid email address: {value!r}", field=field) from err


def _addresses(value: Any, *, field: str) -> list[tuple[str, str]]:
    pairs = {_address(email, field=field): name for name, email in wire.parse_addresses(value, field=field)}
    return [(name, email) for email, name in pairs.items()]


def _new_ticket(body: Mapping[str, Any]) -> _NewTicket:
    """Read and validate "Create Ticket"'s body (JSON or Rails-style form) before anything is written."""
    raw = body.get("ticket")
    if not isinstance(raw, Mapping):
        raise BadRequest("ticket is required", field="ticket")
    _refuse_nul(raw, "")
    fields = {key: value for key, value in raw.items() if key not in ("content", "content_attributes")}
    fields.pop("attachment_ids", None)
    ticket = validate(sb.SBTicketWrite, fields, prefix="ticket")
    text, html, attachment_ids = wire.read_content(raw)
    content = sb.SBContent(text=text, html=html)
    if not (ticket.requester_email or "").strip():
        raise BadRequest("can't be blank", field="requester_email")
    name = (ticket.requester_name or "").strip() or None
    if name is not None and len(name) > 255:
        raise BadRequest("is too long (at most 255 characters)", field="requester_name")
    cc = _addresses(ticket.cc, field="cc") + _addresses(ticket.copied_emails, field="copied_emails")
    cc = list({email: (person, email) for person, email in cc}.values())
    if len(cc) > wire.MAX_ADDRESSES:
        raise BadRequest(f"allows at most {wire.MAX_ADDRESSES} addresses", field="cc")
    forwarding: int | None = None
    if ticket.forwarding_address_id not in (None, ""):
        text = str(ticket.forwarding_address_id).strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise BadRequest("is not a forwarding address of this desk", field="forwarding_address_id")
        forwarding = int(text)
    return _NewTicket(
        subject=ticket.subject if ticket.subject and ticket.subject.strip() else None,
        requester_name=name,
        requester_email=_address(ticket.requester_email or "", field="requester_email"),
        cc=cc,
        bcc=_addresses(ticket.bcc, field="bcc"),
        content=content,
        attachment_ids=attachment_ids,
        forwarding_address_id=forwarding,
    )


async def _inbox_for(w: Writer, desk: Desk, forwarding_address_id: int | None) -> Inbox:
    """The email inbox a new ticket lands in (the one named, else the desk's first, else a new one)."""
    if forwarding_address_id is not None:
        inbox_id = await reads.shown_to_internal(w.session, desk, "inbox", forwarding_address_id)
        row = None
        if inbox_id is not None:
            row = (
                await w.session.execute(
                    select(Inbox).where(
                        Inbox.account_id == desk.account_id, Inbox.id == inbox_id, Inbox.channel_type == "email"
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            raise BadRequest("is not a forwarding address of this desk", field="forwarding_address_id")
        return row
    row = (
        await w.session.execute(
            select(Inbox)
            .where(Inbox.account_id == desk.account_id, Inbox.channel_type == "email")
            .order_by(Inbox.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    return row if row is not None else await w.create_inbox(InboxData(name="SupportBee", channel_type="email"))


@router.post(
    "/tickets",
    summary="Create a ticket (anonymous callers allowed, rate limited per IP)",
    auth="public",
    body=sb.SBTicketWriteEnvelope,
    status=201,
)
async def create_ticket(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    _count_create(request, desk)
    new = _new_ticket(await wire.read_body(request))
    async with _writer(request, desk) as w:
        inbox = await _inbox_for(w, desk, new.forwarding_address_id)
        requester = await w.find_or_create_contact(email=new.requester_email, name=new.requester_name)
        data = sb.new_conversation(
            subject=new.subject,
            cc=await reads.addressees(w, desk, new.cc),
            bcc=await reads.addressees(w, desk, new.bcc),
            source_email=inbox.email,
        )
        data.inbox_id = inbox.id
        data.contact_id = requester.id
        conversation = await w.create_conversation(data)
        first = sb.new_message(part="ticket", content=new.content, sender_kind="contact", sender_id=requester.id)
        message = await w.create_message(conversation, first)
        uploads = await reads.pending_uploads(w, desk, new.attachment_ids)
        await w.link_attachments(message, uploads, field="attachment_ids")
        conversation_id = conversation.id
    async with _reader(request) as session:
        row = await session.get(Conversation, conversation_id)
        assert row is not None  # just committed
        return json_response(await _rendered(session, request, desk, row), status=201)


# -- deleting --------------------------------------------------------------------------------------
async def _locked_ticket(w: Writer, desk: Desk, ticket_id: str) -> Conversation:
    """Find the ticket and lock its row, so concurrent actions on its kept flags do not undo each other."""
    row = await reads.find_ticket(w.session, desk, ticket_id)
    await w.session.refresh(row, with_for_update=True)
    return row


@router.delete(r"/tickets/{id:[0-9]+}", summary="Delete a trashed ticket (admins only)", auth="admin", status=204)
async def delete_ticket(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    ticket_id = request.match_info["id"]
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, ticket_id)
        if not sb.is_trashed(attributes=row.additional_attributes):
            raise NotFound(f"Ticket {ticket_id} is not in the trash; only trashed tickets can be deleted")
        await w.delete_conversation(row)
    return no_content()


# -- actions ---------------------------------------------------------------------------------------
async def _set_status(request: web.Request, status: Literal["open", "resolved"]) -> web.Response:
    desk = auth.desk(request)
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        await w.update_conversation(row, ConversationData(status=status))
    return no_content()


async def _set_kept(request: web.Request, flag: Literal["unanswered", "starred", "trash"], value: bool) -> web.Response:
    desk = auth.desk(request)
    user_id = desk.require_user()
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        if flag == "unanswered":
            attributes = sb.set_unanswered(attributes=row.additional_attributes, unanswered=value, now=utcnow())
        elif flag == "starred":
            attributes = sb.set_starred(attributes=row.additional_attributes, agent_id=user_id, starred=value)
        else:
            attributes = sb.set_trashed(attributes=row.additional_attributes, trashed=value)
        await w.update_conversation(row, ConversationData(additional_attributes=attributes))
    return no_content()


async def _set_spam(request: web.Request, spam: bool) -> web.Response:
    desk = auth.desk(request)
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        await w.set_spam(row, spam)
    return no_content()


@router.post(f"/tickets/{_TICKET}/archive", summary="Archive a ticket", status=204)
async def archive_ticket(request: web.Request) -> web.Response:
    return await _set_status(request, "resolved")


@router.delete(f"/tickets/{_TICKET}/archive", summary="Unarchive a ticket", status=204)
async def unarchive_ticket(request: web.Request) -> web.Response:
    return await _set_status(request, "open")


@router.post(f"/tickets/{_TICKET}/answered", summary="Mark a ticket as answered", status=204)
async def mark_answered(request: web.Request) -> web.Response:
    return await _set_kept(request, "unanswered", False)


@router.delete(f"/tickets/{_TICKET}/answered", summary="Mark a ticket as unanswered", status=204)
async def mark_unanswered(request: web.Request) -> web.Response:
    return await _set_kept(request, "unanswered", True)


@router.post(f"/tickets/{_TICKET}/star", summary="Star a ticket (for the calling agent)", status=204)
async def star_ticket(request: web.Request) -> web.Response:
    return await _set_kept(request, "starred", True)


@router.delete(f"/tickets/{_TICKET}/star", summary="Unstar a ticket (for the calling agent)", status=204)
async def unstar_ticket(request: web.Request) -> web.Response:
    return await _set_kept(request, "starred", False)


@router.post(f"/tickets/{_TICKET}/spam", summary="Mark a ticket as spam", status=204)
async def spam_ticket(request: web.Request) -> web.Response:
    return await _set_spam(request, True)


@router.delete(f"/tickets/{_TICKET}/spam", summary="Unmark a ticket as spam", status=204)
async def unspam_ticket(request: web.Request) -> web.Response:
    return await _set_spam(request, False)


@router.post(f"/tickets/{_TICKET}/trash", summary="Trash a ticket", status=204)
async def trash_ticket(request: web.Request) -> web.Response:
    return await _set_kept(request, "trash", True)


@router.delete(f"/tickets/{_TICKET}/trash", summary="Untrash a ticket", status=204)
async def untrash_ticket(request: web.Request) -> web.Response:
    return await _set_kept(request, "trash", False)


# -- assignment ------------------------------------------------------------------------------------
async def _record(w: Writer, row: Conversation, text: str) -> Message:
    """Record an assignment as an activity message of the conversation (its id is the assignment's)."""
    return await w.create_message(row, MessageData(content=text, message_type="activity", private=False))


async def _desk_agent(session: AsyncSession, desk: Desk, shown: int) -> tuple[User, AccountUser]:
    user_id = await reads.shown_to_internal(session, desk, "agent", shown)
    found = None
    if user_id is not None:
        found = (
            await session.execute(
                select(User, AccountUser)
                .join(AccountUser, AccountUser.user_id == User.id)
                .where(AccountUser.account_id == desk.account_id, User.id == user_id, AccountUser.active.is_(True))
            )
        ).first()
    if found is None:
        raise BadRequest("is not an agent of this desk", field="user_id")
    return found[0], found[1]


async def _desk_team(session: AsyncSession, desk: Desk, shown: int) -> Team:
    team_id = await reads.shown_to_internal(session, desk, "team", shown)
    row = None
    if team_id is not None:
        row = (
            await session.execute(select(Team).where(Team.account_id == desk.account_id, Team.id == team_id))
        ).scalar_one_or_none()
    if row is None:
        raise BadRequest("is not a team of this desk", field="team_id")
    return row


@router.post(
    f"/tickets/{_TICKET}/user_assignment",
    summary="Assign a ticket to an agent (who must be in the ticket's team, else 409)",
    body=sb.SBUserAssignmentWriteEnvelope,
    status=201,
)
async def assign_user(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    wanted = validate(sb.SBUserAssignmentWriteEnvelope, await wire.read_body(request)).user_assignment
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        user, membership = await _desk_agent(w.session, desk, wanted.user_id)
        if row.team_id is not None:
            members = await reads.team_member_ids(w.session, {row.team_id})
            if user.id not in members.get(row.team_id, []):
                raise Conflict("The user is not a member of the team the ticket is assigned to", field="user_id")
        await w.assign(row, assignee_id=user.id)
        activity = await _record(w, row, f"Assigned to {user.name}")
        legacy = await reads.legacy_refs(w.session, desk.account_id, {"conversation": {row.id}, "agent": {user.id}})
        answer = sb.user_assignment_to_legacy(
            assignment_id=activity.id,
            created_at=activity.created_at,
            conversation=reads.conversation_record(row),
            agent=reads.agent_record(user, membership),
            legacy=legacy,
        )
    return json_response(sb.SBUserAssignmentEnvelope(user_assignment=answer).to_wire(), status=201)


@router.delete(f"/tickets/{_TICKET}/user_assignment", summary="Unassign a ticket's agent", status=204)
async def unassign_user(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        if row.assignee_id is not None:
            await w.assign(row, assignee_id=None)
            await _record(w, row, "Unassigned from the agent")
    return no_content()


@router.post(
    f"/tickets/{_TICKET}/team_assignment",
    summary="Assign a ticket to a team (moving to another team drops the agent)",
    body=sb.SBTeamAssignmentWriteEnvelope,
    status=201,
)
async def assign_team(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    wanted = validate(sb.SBTeamAssignmentWriteEnvelope, await wire.read_body(request)).team_assignment
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        team = await _desk_team(w.session, desk, wanted.team_id)
        if row.team_id != team.id and row.assignee_id is not None:
            await w.assign(row, team_id=team.id, assignee_id=None)
        else:
            await w.assign(row, team_id=team.id)
        activity = await _record(w, row, f"Assigned to the team {team.name}")
        members = await reads.team_member_ids(w.session, {team.id})
        legacy = await reads.legacy_refs(w.session, desk.account_id, {"conversation": {row.id}, "team": {team.id}})
        answer = sb.team_assignment_to_legacy(
            assignment_id=activity.id,
            created_at=activity.created_at,
            conversation=reads.conversation_record(row),
            team=reads.team_record(team, members.get(team.id, [])),
            legacy=legacy,
        )
    return json_response(sb.SBTeamAssignmentEnvelope(team_assignment=answer).to_wire(), status=201)


@router.delete(f"/tickets/{_TICKET}/team_assignment", summary="Unassign a ticket's team", status=204)
async def unassign_team(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        if row.team_id is not None:
            await w.assign(row, team_id=None)
            await _record(w, row, "Unassigned from the team")
    return no_content()


# -- labels on a ticket ----------------------------------------------------------------------------
async def _desk_label(session: AsyncSession, desk: Desk, name: str) -> Label:
    label = None if "\x00" in name else await _label_of(session, desk, name)
    if label is None:
        raise NotFound(f"Label {name!r} not found")
    return label


@router.post(f"/tickets/{_TICKET}/labels/{_LABEL}", summary="Add a label to a ticket", status=201)
async def add_ticket_label(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        label = await _desk_label(w.session, desk, request.match_info["label_name"])
        titles = await w.labels_of(row.id)
        if label.title not in titles:
            await w.set_labels(row, [*titles, label.title])
        legacy = await reads.legacy_refs(w.session, desk.account_id, {"conversation": {row.id}, "label": {label.id}})
        answer = sb.label_assignment_to_legacy(
            label=reads.label_record(label), conversation=reads.conversation_record(row), legacy=legacy
        )
    return json_response(sb.SBLabelAssignmentEnvelope(label=answer).to_wire(), status=201)


@router.delete(f"/tickets/{_TICKET}/labels/{_LABEL}", summary="Remove a label from a ticket", status=204)
async def remove_ticket_label(request: web.Request) -> web.Response:
    desk = auth.desk(request)
    async with _writer(request, desk) as w:
        row = await _locked_ticket(w, desk, request.match_info["ticket_id"])
        label = await _desk_label(w.session, desk, request.match_info["label_name"])
        titles = await w.labels_of(row.id)
        if label.title in titles:
            await w.set_labels(row, [title for title in titles if title != label.title])
    return no_content()
