"""SupportBee compat views: the desk around the tickets.

Spec sections (``specs/supportbee-api.txt``): "Fetching Users and Customer Groups", "Show User", "Create users",
"Update a User", "Fetching Members of a Customer Group", "Add a Member to a Customer Group", "Fetching Labels",
"Fetching Teams", "Fetching Snippets", "Create Snippet", "Update Snippet", "Delete Snippet", "Creating Filters",
"Fetching Emails", "Create Email" and "Reports" (with the "Date Format" section for ``since``/``until``).

User ids. SupportBee has one id space for agents, customers and customer groups; Supportly has three (users,
contacts, companies). A SupportBee id an import recorded (external refs ``agent``/``contact``/``company``) is shown
and resolved first; otherwise an agent is its user id, a customer ``1_000_000_000`` + its contact id and a customer
group ``2_000_000_000`` + its company id (``mappings.supportbee.USER_ID_OFFSETS``; the ticket views render
requesters with the same ids through ``reads.legacy_refs``), so ``GET /users/{id}`` resolves every id it lists.

What Supportly has no field for (a collaborator's role, a snippet's tags and html, a filter's rule and
consequence) is kept in the ``kept`` column of the object's external ref; an object made here, which has no
SupportBee id, gets a ref named ``bridge:<Supportly id>`` that holds only its kept fields.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, EmailStr, TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge import appkeys
from bridge.errors import Forbidden, NotFound, Unprocessable
from bridge.models import (
    AccountUser,
    CannedResponse,
    Company,
    Contact,
    Conversation,
    ConversationLabel,
    ExternalRef,
    Inbox,
    Label,
    Message,
    Team,
    TeamMember,
    User,
    utcnow,
)
from bridge.routing import Router, json_response, no_content, validate
from bridge.schemas import (
    AgentData,
    CannedResponseData,
    CannedResponseRecord,
    CompanyData,
    CompanyRecord,
    ContactData,
)
from bridge.store import Store, Writer
from mappings import supportbee as sb
from providers.supportbee import reads, wire
from providers.supportbee.auth import Desk, desk

router = Router("supportbee", "SupportBee")

PROVIDER: Final = "supportbee"
LOCAL_REF_PREFIX: Final = "bridge:"
"""External id of the ref that holds the kept fields of an object created through these routes."""
REPORT_WINDOW: Final = dt.timedelta(days=30)
DEFAULT_MAX_TICKETS: Final = 5
# Supportly ids are 32-bit database integers; a larger id names nothing (and must not reach the database).
_MAX_ID: Final = 2**31 - 1
_AGENT_ROLES: Final = frozenset({"admin", "agent", "collaborator"})
_ALL_ROLES: Final = frozenset({*_AGENT_ROLES, "customer"})
_DEFAULT_ROLES: Final = ("admin", "agent", "collaborator")
_LIVE_USER_KEYS: Final = ("teams", "active_tickets_count", "members_count", "requested_tickets_count")
_EMAIL: Final = TypeAdapter(EmailStr)
_HASH_ALPHABET: Final = string.ascii_lowercase
M = TypeVar("M", bound=BaseModel)
UserKind = Literal["agent", "contact", "company"]


# -- query models (documentation of what each list reads) -------------------------------------------
class UsersQuery(BaseModel):
    with_invited: str | None = None
    """``true`` also lists invited (unconfirmed) agents."""
    with_roles: str | None = None
    """Comma list of admin, agent, collaborator, customer (default admin,agent,collaborator)."""
    type: str | None = None
    """``user`` (default) or ``customer_group``."""


class UserQuery(BaseModel):
    max_tickets: str | None = None
    """How many of a customer's recent tickets to include (default 5; ``false`` for all)."""


class NoQuery(BaseModel):
    """No parameters."""


class TeamsQuery(BaseModel):
    with_users: str | None = None
    """``true`` lists only the teams that have members."""
    user: str | None = None
    """``me`` lists only the caller's teams; any other value is ignored."""


class ReportQuery(BaseModel):
    user: str | None = None
    team: str | None = None
    label: str | None = None
    since: str | None = None
    until: str | None = None


# -- small helpers ---------------------------------------------------------------------------------
def _store(request: web.Request) -> Store:
    return request.config_dict[appkeys.STORE]


def _local_ref(internal_id: int) -> str:
    return f"{LOCAL_REF_PREFIX}{internal_id}"


async def _envelope(request: web.Request, key: str, model: type[M]) -> M:
    """Read ``{"<key>": {…}}`` (JSON or a Rails-style form) and validate the inner object."""
    body = await wire.read_body(request)
    inner = body.get(key)
    if not isinstance(inner, dict):
        raise Unprocessable(f"is missing: send the fields inside {key!r}", field=key)
    return validate(model, inner, prefix=key)


def _is_number(text: str) -> bool:
    """ASCII digits only: ``int()`` would read other scripts' digits, and some "digits" (``²``) not at all."""
    return text.isascii() and text.isdigit()


def _numeric(raw: str | int | None, *, field: str, what: str) -> int:
    """Read an id a client sent in a body or query; a malformed one is a 400."""
    text = str(raw).strip() if raw is not None else ""
    if not _is_number(text) or len(text) > 18:
        raise Unprocessable(f"is not a {what} id: {raw!r}", field=field)
    return int(text)


def _valid_email(value: str | None, *, field: str) -> str:
    if value is None or not value.strip():
        raise Unprocessable("can't be blank", field=field)
    try:
        _EMAIL.validate_python(value.strip())
    except ValidationError as err:
        raise Unprocessable(f"is not an email address: {value!r}", field=field) from err
    return value.strip()


def _not_trashed() -> ColumnElement[bool]:
    """SupportBee's trash flag lives in the conversation's ``additional_attributes["supportbee"]``."""
    flag = Conversation.additional_attributes[PROVIDER]["trash"].as_boolean()
    return func.coalesce(flag, False).is_(False)


def _active_ticket() -> ColumnElement[bool]:
    """A ticket SupportBee counts as active: not archived, not spam, not trashed."""
    return and_(Conversation.status != "resolved", Conversation.spam.is_(False), _not_trashed())


def _counts(rows: Sequence[Any]) -> dict[int, int]:
    return {int(key): int(count) for key, count in rows if key is not None}


async def _refs(session: AsyncSession, desk_: Desk, wanted: dict[str, set[int]]) -> sb.LegacyRefs:
    return await reads.legacy_refs(session, desk_.account_id, wanted)


async def _legacy_target(session: AsyncSession, account_id: int, kind: str, external_id: str) -> int | None:
    return await reads.internal_id(session, account_id, kind, external_id)


async def _resolve(session: AsyncSession, account_id: int, kind: str, model: Any, raw: str, *, what: str) -> int:
    """Find the object an id names: a SupportBee id an import recorded first, then the Supportly id."""
    if not _is_number(raw) or len(raw) > 18:
        raise NotFound(f"{what} not found")
    number = int(raw)
    mapped = await _legacy_target(session, account_id, kind, str(number))
    candidates = [mapped] if mapped is not None else []
    if number <= _MAX_ID:
        candidates.append(number)
    for candidate in candidates:
        found = (
            await session.execute(select(model.id).where(model.id == candidate, model.account_id == account_id))
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
    raise NotFound(f"{what} not found")


async def _keep(w: Writer, kind: str, internal_id: int, kept: Mapping[str, Any]) -> None:
    """Store what Supportly has no field for in the object's external ref (making a local one when needed)."""
    existing = (await w.internal_refs(PROVIDER, kind, [internal_id])).get(internal_id)
    if existing is None and not kept:
        return
    await w.record_external_ref(PROVIDER, kind, existing or _local_ref(internal_id), internal_id, kept=dict(kept))


# -- users: resolution -----------------------------------------------------------------------------
_KIND_ORDER: Final[Mapping[str, int]] = {"agent": 0, "contact": 1, "company": 2}


def _user_kind(kind: str) -> UserKind:
    if kind == "contact":
        return "contact"
    if kind == "company":
        return "company"
    return "agent"


async def _user_exists(session: AsyncSession, account_id: int, kind: UserKind, internal_id: int) -> bool:
    if internal_id > _MAX_ID or internal_id < 1:
        return False
    query: Any
    if kind == "agent":
        query = select(AccountUser.id).where(AccountUser.account_id == account_id, AccountUser.user_id == internal_id)
    elif kind == "contact":
        query = select(Contact.id).where(Contact.account_id == account_id, Contact.id == internal_id)
    else:
        query = select(Company.id).where(Company.account_id == account_id, Company.id == internal_id)
    return (await session.execute(query)).first() is not None


async def resolve_user(session: AsyncSession, account_id: int, raw: str) -> tuple[UserKind, int]:
    """Find the agent, customer or customer group a SupportBee user id names (see the module docstring)."""
    if not _is_number(raw) or len(raw) > 18:
        raise NotFound("User not found")
    number = int(raw)
    recorded = (
        await session.execute(
            select(ExternalRef.kind, ExternalRef.internal_id).where(
                ExternalRef.account_id == account_id,
                ExternalRef.provider == PROVIDER,
                ExternalRef.kind.in_(tuple(_KIND_ORDER)),
                ExternalRef.external_id == str(number),
            )
        )
    ).all()
    candidates: list[tuple[UserKind, int]] = []
    for kind, internal in sorted(recorded, key=lambda row: _KIND_ORDER[row[0]]):
        candidates.append((_user_kind(kind), int(internal)))
    candidates.append(sb.user_id_owner(number))
    for kind, internal_id in candidates:
        if await _user_exists(session, account_id, kind, internal_id):
            return kind, internal_id
    raise NotFound("User not found")


async def _resolve_agent(session: AsyncSession, account_id: int, raw: Any, *, field: str) -> int:
    """Map an agent id a client sent (SupportBee id or user id) to the agent's user id; 400 when it is none."""
    number = _numeric(raw, field=field, what="user")
    try:
        kind, internal_id = await resolve_user(session, account_id, str(number))
    except NotFound as err:
        raise Unprocessable(f"no agent has the id {number}", field=field) from err
    if kind != "agent":
        raise Unprocessable(f"user {number} is not an agent", field=field)
    return internal_id


async def _resolve_team(session: AsyncSession, account_id: int, raw: Any, *, field: str) -> int:
    number = _numeric(raw, field=field, what="team")
    try:
        return await _resolve(session, account_id, "team", Team, str(number), what="Team")
    except NotFound as err:
        raise Unprocessable(f"no team has the id {number}", field=field) from err


# -- users: rendering ------------------------------------------------------------------------------
def _company_record(row: Company) -> CompanyRecord:
    return CompanyRecord.model_construct(
        id=row.id,
        name=row.name,
        domain=row.domain,
        description=row.description,
        industry=row.industry,
        employee_count=row.employee_count,
        annual_revenue=row.annual_revenue,
        phone=row.phone,
        address=row.address,
        social_links=row.social_links,
        avatar_url=row.avatar_url,
        custom_attributes=row.custom_attributes,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _agent_rows(
    session: AsyncSession, account_id: int, *, user_ids: Iterable[int] | None = None, with_invited: bool = True
) -> list[tuple[User, AccountUser]]:
    query = (
        select(User, AccountUser)
        .join(AccountUser, AccountUser.user_id == User.id)
        .where(AccountUser.account_id == account_id)
        .order_by(User.id)
    )
    if user_ids is not None:
        query = query.where(User.id.in_(list(user_ids)))
    else:
        query = query.where(AccountUser.active.is_(True))
    if not with_invited:
        query = query.where(User.confirmed.is_(True))
    return [(user, membership) for user, membership in (await session.execute(query)).all()]


async def _render_agents(
    session: AsyncSession, desk_: Desk, rows: Sequence[tuple[User, AccountUser]]
) -> list[sb.SBUser]:
    ids = [user.id for user, _ in rows]
    if not ids:
        return []
    teams: dict[int, list[Team]] = defaultdict(list)
    for user_id, team in await session.execute(
        select(TeamMember.user_id, Team)
        .join(Team, Team.id == TeamMember.team_id)
        .where(Team.account_id == desk_.account_id, TeamMember.user_id.in_(ids))
        .order_by(Team.id)
    ):
        teams[user_id].append(team)
    counts = _counts(
        (
            await session.execute(
                select(Conversation.assignee_id, func.count(Conversation.id))
                .where(Conversation.account_id == desk_.account_id, Conversation.assignee_id.in_(ids), _active_ticket())
                .group_by(Conversation.assignee_id)
            )
        ).all()
    )
    refs = await _refs(
        session, desk_, {"agent": set(ids), "team": {team.id for items in teams.values() for team in items}}
    )
    return [
        sb.agent_to_user(
            agent=reads.agent_record(user, membership),
            legacy=refs,
            shape="full",
            teams=[reads.team_record(team) for team in teams.get(user.id, [])],
            active_tickets_count=int(counts.get(user.id, 0)),
        )
        for user, membership in rows
    ]


async def _render_customers(session: AsyncSession, desk_: Desk, rows: Sequence[Contact]) -> list[sb.SBUser]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    counts = _counts(
        (
            await session.execute(
                select(Conversation.contact_id, func.count(Conversation.id))
                .where(Conversation.account_id == desk_.account_id, Conversation.contact_id.in_(ids), _active_ticket())
                .group_by(Conversation.contact_id)
            )
        ).all()
    )
    refs = await _refs(session, desk_, {"contact": set(ids)})
    return [
        sb.contact_to_customer(
            contact=reads.contact_record(row),
            legacy=refs,
            shape="full",
            active_tickets_count=int(counts.get(row.id, 0)),
        )
        for row in rows
    ]


async def _render_groups(session: AsyncSession, desk_: Desk, rows: Sequence[Company]) -> list[sb.SBUser]:
    ids = [row.id for row in rows]
    if not ids:
        return []
    members = _counts(
        (
            await session.execute(
                select(Contact.company_id, func.count(Contact.id))
                .where(Contact.account_id == desk_.account_id, Contact.company_id.in_(ids))
                .group_by(Contact.company_id)
            )
        ).all()
    )
    requested = _counts(
        (
            await session.execute(
                select(Contact.company_id, func.count(Conversation.id))
                .join(Conversation, Conversation.contact_id == Contact.id)
                .where(
                    Contact.account_id == desk_.account_id,
                    Contact.company_id.in_(ids),
                    Conversation.spam.is_(False),
                    _not_trashed(),
                )
                .group_by(Contact.company_id)
            )
        ).all()
    )
    refs = await _refs(session, desk_, {"company": set(ids)})
    return [
        sb.company_to_customer_group(
            company=_company_record(row),
            legacy=refs,
            members_count=int(members.get(row.id, 0)),
            requested_tickets_count=int(requested.get(row.id, 0)),
        )
        for row in rows
    ]


async def _render_user(session: AsyncSession, desk_: Desk, kind: UserKind, internal_id: int) -> sb.SBUser:
    if kind == "agent":
        return (
            await _render_agents(session, desk_, await _agent_rows(session, desk_.account_id, user_ids=[internal_id]))
        )[0]
    if kind == "contact":
        contact = await session.get(Contact, internal_id)
        assert contact is not None  # resolved in this account just before
        return (await _render_customers(session, desk_, [contact]))[0]
    company = await session.get(Company, internal_id)
    assert company is not None
    return (await _render_groups(session, desk_, [company]))[0]


# -- users: reading --------------------------------------------------------------------------------
def _user_type(value: str | None) -> Literal["user", "customer_group"]:
    text = (value or "user").strip().lower()
    if text == "user":
        return "user"
    if text in {"customer_group", "customergroup"}:
        return "customer_group"
    raise Unprocessable(f"must be user or customer_group, not {value!r}", field="type")


def _roles(request: web.Request) -> list[str]:
    raw = [*request.query.getall("with_roles", []), *request.query.getall("with_roles[]", [])]
    names = [part.strip().lower() for item in raw for part in item.split(",") if part.strip()]
    unknown = sorted(set(names) - _ALL_ROLES)
    if unknown:
        raise Unprocessable(f"unknown roles {unknown}: use admin, agent, collaborator, customer", field="with_roles")
    return list(dict.fromkeys(names)) or list(_DEFAULT_ROLES)


def _max_tickets(value: str | None) -> int | None:
    """``max_tickets``: default 5, ``false`` for every ticket."""
    if value is None or not value.strip():
        return DEFAULT_MAX_TICKETS
    text = value.strip().lower()
    if text == "false":
        return None
    if not _is_number(text) or len(text) > 9:
        raise Unprocessable(f"must be a number or false, not {value!r}", field="max_tickets")
    return int(text)


@router.get("/users", summary="List agents, customers or customer groups", auth="account", query=UsersQuery)
async def list_users(request: web.Request) -> web.Response:
    desk_ = desk(request)
    user_type = _user_type(request.query.get("type"))
    roles = _roles(request)
    with_invited = wire.truthy(request.query.get("with_invited", "false"))
    users: list[sb.SBUser] = []
    async with _store(request).reader() as session:
        if user_type == "customer_group":
            companies = (
                (
                    await session.execute(
                        select(Company).where(Company.account_id == desk_.account_id).order_by(Company.id)
                    )
                )
                .scalars()
                .all()
            )
            users = await _render_groups(session, desk_, companies)
        else:
            if _AGENT_ROLES & set(roles):
                rows = await _agent_rows(session, desk_.account_id, with_invited=with_invited)
                users += [user for user in await _render_agents(session, desk_, rows) if user.role in roles]
            if "customer" in roles:
                contacts = (
                    (
                        await session.execute(
                            select(Contact).where(Contact.account_id == desk_.account_id).order_by(Contact.id)
                        )
                    )
                    .scalars()
                    .all()
                )
                users += await _render_customers(session, desk_, contacts)
    return json_response(sb.SBUserList(users=users).to_wire())


@router.get(r"/users/{id:\d+}", summary="Show an agent, customer or customer group", auth="account", query=UserQuery)
async def show_user(request: web.Request) -> web.Response:
    """A customer's view also carries ``tickets``: their latest ``max_tickets`` tickets (spam and trash left out)."""
    desk_ = desk(request)
    limit = _max_tickets(request.query.get("max_tickets"))
    async with _store(request).reader() as session:
        kind, internal_id = await resolve_user(session, desk_.account_id, request.match_info["id"])
        view = (await _render_user(session, desk_, kind, internal_id)).to_wire()
        if kind == "contact":
            query = (
                select(Conversation)
                .where(
                    Conversation.account_id == desk_.account_id,
                    Conversation.contact_id == internal_id,
                    Conversation.spam.is_(False),
                    _not_trashed(),
                )
                .order_by(Conversation.created_at.desc(), Conversation.id.desc())
            )
            if limit is not None:
                query = query.limit(limit)
            rows = (await session.execute(query)).scalars().all()
            view["tickets"] = await reads.render_tickets(session, request, desk_, rows)
    return json_response({"user": view})


# -- users: writing --------------------------------------------------------------------------------
def _role_name(value: int | str | None, *, field: str = "user.role") -> sb.SBRoleName:
    try:
        return sb.role_from_code(value)
    except (ValueError, TypeError) as err:
        raise Unprocessable(f"must be 20 (admin), 10 (agent) or 9 (collaborator), not {value!r}", field=field) from err


def _write_type(body: sb.SBUserWrite) -> Literal["user", "customer_group"]:
    return body.type or "user"


# The spec's page ate underscores in its customer group example; clients copied from it still work.
_EATEN_UNDERSCORES: Final[Mapping[str, str]] = {"canmembersaccessgroup_tickets": "can_members_access_group_tickets"}


async def _user_body(request: web.Request) -> sb.SBUserWrite:
    body = await wire.read_body(request)
    inner = body.get("user")
    if isinstance(inner, dict):
        inner = {_EATEN_UNDERSCORES.get(key, key): value for key, value in inner.items()}
        if isinstance(inner.get("type"), str) and inner["type"].strip().lower() in {"customergroup", "customer_group"}:
            inner["type"] = "customer_group"
        body = {**body, "user": inner}
    if not isinstance(inner, dict):
        raise Unprocessable("is missing: send the fields inside 'user'", field="user")
    return validate(sb.SBUserWrite, inner, prefix="user")


def _group_only_fields(body: sb.SBUserWrite) -> None:
    """``email_domains`` and ``can_members_access_group_tickets`` are only valid for customer groups."""
    if body.email_domains:
        raise Unprocessable("is only valid for customer groups", field="user.email_domains")
    if body.can_members_access_group_tickets is not None:
        raise Unprocessable("is only valid for customer groups", field="user.can_members_access_group_tickets")


def _domains(values: Sequence[str]) -> list[str]:
    domains = []
    for value in values:
        text = value.strip()
        if not text or "@" in text or " " in text or "." not in text:
            raise Unprocessable(f"is not an email domain: {value!r}", field="user.email_domains")
        domains.append(text)
    return domains


def _full_name(current: Mapping[str, Any], body: sb.SBUserWrite) -> dict[str, Any]:
    """The name fields an update asks for: ``name``, or ``first_name``/``last_name`` joined by a space."""
    fields = body.model_fields_set
    if "first_name" not in fields and "last_name" not in fields:
        if "name" in fields:
            name = (body.name or "").strip()
            if not name:
                raise Unprocessable("can't be blank", field="user.name")
            first, _, last = name.partition(" ")
            return {"name": name, "first_name": first, "last_name": last or None}
        return {}
    given_first = body.first_name if "first_name" in fields else current.get("first_name")
    given_last = body.last_name if "last_name" in fields else current.get("last_name")
    full = " ".join(str(part).strip() for part in (given_first, given_last) if part and str(part).strip())
    if not full:
        raise Unprocessable("can't be blank", field="user.first_name")
    return {"name": full, "first_name": given_first, "last_name": given_last}


async def _join_by_domain(w: Writer, company: Company, domains: Sequence[str]) -> None:
    """Customers at the group's email domains join it (those already in another group stay there)."""
    if not domains:
        return
    patterns = [Contact.email.endswith(f"@{domain.lower()}", autoescape=True) for domain in domains]
    rows = (
        (
            await w.session.execute(
                select(Contact).where(Contact.account_id == w.account_id, Contact.company_id.is_(None), or_(*patterns))
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        await w.update_contact(row.id, ContactData(company_id=company.id))


async def _set_agent_teams(w: Writer, user_id: int, team_ids: Iterable[int], *, replace: bool) -> None:
    wanted = set(team_ids)
    current = set(
        (
            await w.session.execute(
                select(TeamMember.team_id).where(TeamMember.account_id == w.account_id, TeamMember.user_id == user_id)
            )
        )
        .scalars()
        .all()
    )
    for team_id in sorted(wanted - current):
        await w.set_team_members(team_id, [user_id], mode="add")
    if replace:
        for team_id in sorted(current - wanted):
            await w.set_team_members(team_id, [user_id], mode="remove")


async def _team_ids(w: Writer, body: sb.SBUserWrite) -> list[int]:
    return [await _resolve_team(w.session, w.account_id, raw, field="user.team_ids") for raw in body.team_ids or []]


async def _create_agent(w: Writer, body: sb.SBUserWrite, role: sb.SBRoleName, name: str) -> int:
    email = _valid_email(body.email, field="user.email")
    item = sb.user_to_agent(
        user=sb.SBUser(id=0, type="user", email=email, name=name, role=role, agent=True), shape="full"
    )
    team_ids = await _team_ids(w, body)
    user, _ = await w.create_agent(item.data)
    await _set_agent_teams(w, user.id, team_ids, replace=False)
    await _keep(w, "agent", user.id, item.kept)
    return user.id


async def _create_customer(w: Writer, body: sb.SBUserWrite, name: str) -> int:
    email = _valid_email(body.email, field="user.email")
    item = sb.customer_to_contact(
        customer=sb.SBUser(id=0, type="user", email=email, name=name, role="customer", agent=False), shape="full"
    )
    row = await w.create_contact(item.data)
    return row.id


async def _create_group(w: Writer, body: sb.SBUserWrite, name: str) -> int:
    if body.email:
        raise Unprocessable("is not allowed for customer groups", field="user.email")
    wire_group: dict[str, Any] = {"id": 0, "type": "customer_group", "name": name, "role": "customer", "agent": False}
    domains = _domains(body.email_domains or [])
    if domains:
        wire_group["email_domains"] = domains
    if body.can_members_access_group_tickets is not None:
        wire_group["can_members_access_group_tickets"] = body.can_members_access_group_tickets
    item = sb.customer_group_to_company(group=sb.SBUser.model_validate(wire_group))
    company = await w.create_company(item.data)
    await _join_by_domain(w, company, domains)
    return company.id


@router.post(
    "/users",
    summary="Create an agent, customer or customer group",
    auth="admin",
    body=sb.SBUserWriteEnvelope,
    status=201,
)
async def create_user(request: web.Request) -> web.Response:
    """Role 20 admin, 10 agent, 9 collaborator (an agent with the role kept), none a customer; type customer_group
    makes a company. No invitation is sent: an agent made here can use the desk at once."""
    desk_ = desk(request)
    body = await _user_body(request)
    user_type = _write_type(body)
    name = (body.name or "").strip()
    if not name:
        raise Unprocessable("can't be blank", field="user.name")
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        kind: UserKind
        if user_type == "customer_group":
            kind, internal_id = "company", await _create_group(w, body, name)
        else:
            _group_only_fields(body)
            role = _role_name(body.role)
            if role == "customer":
                kind, internal_id = "contact", await _create_customer(w, body, name)
            else:
                kind, internal_id = "agent", await _create_agent(w, body, role, name)
        view = await _render_user(w.session, desk_, kind, internal_id)
    return json_response(sb.SBUserEnvelope(user=view).to_wire(), status=201)


def _current_wire(user: sb.SBUser) -> dict[str, Any]:
    """A user's wire view without the live values (they are counted, not kept)."""
    return {key: value for key, value in user.to_wire().items() if key not in _LIVE_USER_KEYS}


async def _update_agent(w: Writer, desk_: Desk, user_id: int, body: sb.SBUserWrite) -> None:
    if _write_type(body) != "user":
        raise Unprocessable("an agent cannot become a customer group", field="user.type")
    _group_only_fields(body)
    fields = body.model_fields_set
    current = _current_wire(
        (await _render_agents(w.session, desk_, await _agent_rows(w.session, w.account_id, user_ids=[user_id])))[0]
    )
    current.update(_full_name(current, body))
    if "email" in fields:
        current["email"] = _valid_email(body.email, field="user.email")
    if "role" in fields:
        role = _role_name(body.role)
        if role == "customer":
            raise Unprocessable("an agent's role must be 20 (admin), 10 (agent) or 9 (collaborator)", field="user.role")
        current["role"] = role
    item = sb.user_to_agent(user=sb.SBUser.model_validate(current), shape="full")
    changes: dict[str, Any] = {"name": item.data.name, "role": item.data.role}
    if "email" in fields:
        changes["email"] = item.data.email
    team_ids = await _team_ids(w, body) if "team_ids" in fields else None
    await w.update_agent(user_id, AgentData(**changes))
    if team_ids is not None:
        await _set_agent_teams(w, user_id, team_ids, replace=True)
    await _keep(w, "agent", user_id, item.kept)


async def _update_customer(w: Writer, desk_: Desk, contact_id: int, body: sb.SBUserWrite) -> None:
    if _write_type(body) != "user":
        raise Unprocessable("a customer cannot become a customer group", field="user.type")
    _group_only_fields(body)
    if body.role is not None and _role_name(body.role) != "customer":
        raise Unprocessable("a customer cannot be given an agent's role", field="user.role")
    if body.team_ids:
        raise Unprocessable("customers are in no team", field="user.team_ids")
    row = await w.session.get(Contact, contact_id)
    assert row is not None  # resolved in this account just before
    current = _current_wire((await _render_customers(w.session, desk_, [row]))[0])
    current.update(_full_name(current, body))
    if "email" in body.model_fields_set:
        current["email"] = _valid_email(body.email, field="user.email")
    item = sb.customer_to_contact(customer=sb.SBUser.model_validate(current), shape="full")
    attributes = dict(row.additional_attributes or {})
    attributes.update(item.data.additional_attributes or {})
    changes: dict[str, Any] = {"name": item.data.name, "additional_attributes": attributes}
    if "email" in body.model_fields_set:
        changes["email"] = item.data.email
    await w.update_contact(contact_id, ContactData(**changes))


async def _update_group(w: Writer, desk_: Desk, company_id: int, body: sb.SBUserWrite) -> None:
    fields = body.model_fields_set
    if body.type is not None and _write_type(body) != "customer_group":
        raise Unprocessable("a customer group cannot become a user", field="user.type")
    if body.email:
        raise Unprocessable("is not allowed for customer groups", field="user.email")
    if body.role is not None and _role_name(body.role) != "customer":
        raise Unprocessable("a customer group cannot be given an agent's role", field="user.role")
    if body.team_ids:
        raise Unprocessable("customer groups are in no team", field="user.team_ids")
    row = await w.session.get(Company, company_id)
    assert row is not None  # resolved in this account just before
    current = _current_wire((await _render_groups(w.session, desk_, [row]))[0])
    current.update(_full_name(current, body))
    domains: list[str] = []
    if "email_domains" in fields:
        domains = _domains(body.email_domains or [])
        current["email_domains"] = domains
    if "can_members_access_group_tickets" in fields:
        current["can_members_access_group_tickets"] = body.can_members_access_group_tickets
    item = sb.customer_group_to_company(group=sb.SBUser.model_validate(current))
    attributes = dict(row.custom_attributes or {})
    attributes.update(item.data.custom_attributes or {})
    company = await w.update_company(
        company_id, CompanyData(name=item.data.name, domain=item.data.domain, custom_attributes=attributes)
    )
    await _join_by_domain(w, company, domains)


@router.put(
    r"/users/{id:\d+}", summary="Update an agent, customer or customer group", auth="admin", body=sb.SBUserWriteEnvelope
)
async def update_user(request: web.Request) -> web.Response:
    """Fields not given stay as they are; ``team_ids`` replaces the agent's teams. The caller cannot update
    themselves (403), as the spec says."""
    desk_ = desk(request)
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        kind, internal_id = await resolve_user(w.session, desk_.account_id, request.match_info["id"])
        if kind == "agent" and internal_id == desk_.user_id:
            raise Forbidden("You cannot update the user whose auth_token is used; change your own settings in the desk")
        body = await _user_body(request)
        if kind == "agent":
            await _update_agent(w, desk_, internal_id, body)
        elif kind == "contact":
            await _update_customer(w, desk_, internal_id, body)
        else:
            await _update_group(w, desk_, internal_id, body)
        view = await _render_user(w.session, desk_, kind, internal_id)
    return json_response(sb.SBUserEnvelope(user=view).to_wire())


async def _group_of(session: AsyncSession, account_id: int, raw: str) -> int:
    kind, internal_id = await resolve_user(session, account_id, raw)
    if kind != "company":
        raise NotFound("Customer group not found")
    return internal_id


@router.get(r"/users/{id:\d+}/members", summary="List the members of a customer group", auth="account", query=NoQuery)
async def list_members(request: web.Request) -> web.Response:
    desk_ = desk(request)
    async with _store(request).reader() as session:
        company_id = await _group_of(session, desk_.account_id, request.match_info["id"])
        rows = (
            (
                await session.execute(
                    select(Contact)
                    .where(Contact.account_id == desk_.account_id, Contact.company_id == company_id)
                    .order_by(Contact.id)
                )
            )
            .scalars()
            .all()
        )
        users = await _render_customers(session, desk_, rows)
    return json_response(sb.SBUserList(users=users).to_wire())


@router.post(
    r"/users/{id:\d+}/members",
    summary="Add a customer to a customer group",
    auth="admin",
    body=sb.SBMemberWriteEnvelope,
    status=201,
)
async def add_member(request: web.Request) -> web.Response:
    """Members are customers (Supportly contacts belong to one company: adding one moves it); an agent or a
    group as member is a 400."""
    desk_ = desk(request)
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        company_id = await _group_of(w.session, desk_.account_id, request.match_info["id"])
        member = await _envelope(request, "member", sb.SBMemberRef)
        kind, internal_id = await resolve_user(w.session, desk_.account_id, str(member.id))
        if kind != "contact":
            raise Unprocessable("only customers can be members of a customer group", field="member.id")
        await w.update_contact(internal_id, ContactData(company_id=company_id))
        view = await _render_user(w.session, desk_, kind, internal_id)
    return json_response(sb.SBMemberEnvelope(member=view).to_wire(), status=201)


# -- labels and teams ------------------------------------------------------------------------------
@router.get("/labels", summary="List the desk's labels", auth="account", query=NoQuery)
async def list_labels(request: web.Request) -> web.Response:
    desk_ = desk(request)
    async with _store(request).reader() as session:
        rows = (
            (await session.execute(select(Label).where(Label.account_id == desk_.account_id).order_by(Label.title)))
            .scalars()
            .all()
        )
        refs = await _refs(session, desk_, {"label": {row.id for row in rows}})
    labels = [sb.label_to_legacy(label=reads.label_record(row), legacy=refs) for row in rows]
    return json_response(sb.SBLabelList(labels=labels).to_wire())


@router.get("/teams", summary="List the desk's teams", auth="account", query=TeamsQuery)
async def list_teams(request: web.Request) -> web.Response:
    desk_ = desk(request)
    query = select(Team).where(Team.account_id == desk_.account_id).order_by(Team.id)
    if wire.truthy(request.query.get("with_users", "false")):
        query = query.where(exists().where(TeamMember.team_id == Team.id))
    if (request.query.get("user") or "").strip().lower() == "me":
        query = query.where(exists().where(TeamMember.team_id == Team.id, TeamMember.user_id == desk_.require_user()))
    async with _store(request).reader() as session:
        rows = (await session.execute(query)).scalars().all()
        refs = await _refs(session, desk_, {"team": {row.id for row in rows}})
    teams = [sb.team_to_legacy(team=reads.team_record(row), legacy=refs) for row in rows]
    return json_response(sb.SBTeamList(teams=teams).to_wire())


# -- snippets --------------------------------------------------------------------------------------
def _snippet_content(content: sb.SBContent | None) -> dict[str, Any]:
    """Normalise posted content to ``{text, html}``; text defaults to the html's text."""
    text = (content.text if content.text is not None else content.body) if content else None
    html = content.html if content else None
    if not (text or "").strip() and not (html or "").strip():
        raise Unprocessable("text or html must be present", field="snippet.content")
    if not (text or "").strip() and html:
        text = sb.html_to_text(html)
    return {"text": text, "html": html}


async def _render_snippet(session: AsyncSession, desk_: Desk, row: CannedResponse) -> sb.SBSnippet:
    refs = await _refs(session, desk_, {"canned_response": {row.id}})
    return sb.canned_response_to_snippet(canned_response=_canned_record(row), legacy=refs)


def _canned_record(row: CannedResponse) -> CannedResponseRecord:
    return CannedResponseRecord.model_construct(
        id=row.id, short_code=row.short_code, content=row.content, created_at=row.created_at, updated_at=row.updated_at
    )


async def _name_free(w: Writer, name: str, *, except_id: int | None = None) -> None:
    query = select(CannedResponse.id).where(
        CannedResponse.account_id == w.account_id, CannedResponse.short_code == name
    )
    if except_id is not None:
        query = query.where(CannedResponse.id != except_id)
    if (await w.session.execute(query.limit(1))).first() is not None:
        raise Unprocessable("has already been taken", field="snippet.name")


@router.get("/snippets", summary="List the desk's snippets", auth="account", query=NoQuery)
async def list_snippets(request: web.Request) -> web.Response:
    desk_ = desk(request)
    async with _store(request).reader() as session:
        rows = (
            (
                await session.execute(
                    select(CannedResponse)
                    .where(CannedResponse.account_id == desk_.account_id)
                    .order_by(CannedResponse.id)
                )
            )
            .scalars()
            .all()
        )
        refs = await _refs(session, desk_, {"canned_response": {row.id for row in rows}})
    snippets = [sb.canned_response_to_snippet(canned_response=_canned_record(row), legacy=refs) for row in rows]
    return json_response(sb.SBSnippetList(snippets=snippets).to_wire())


@router.post("/snippets", summary="Create a snippet", auth="account", body=sb.SBSnippetWriteEnvelope, status=201)
async def create_snippet(request: web.Request) -> web.Response:
    """Name → canned response short code, text → content; tags and html are kept."""
    desk_ = desk(request)
    body = await _envelope(request, "snippet", sb.SBSnippet)
    name = (body.name or "").strip()
    if not name:
        raise Unprocessable("can't be blank", field="snippet.name")
    posted = {key: value for key, value in body.to_wire().items() if key not in ("id", "created_at")}
    posted.update({"id": 0, "name": name, "tags": body.tags, "content": _snippet_content(body.content)})
    item = sb.snippet_to_canned_response(snippet=sb.SBSnippet.model_validate(posted))
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        await _name_free(w, name)
        row = await w.create_canned_response(
            CannedResponseData(short_code=item.data.short_code, content=item.data.content)
        )
        await _keep(w, "canned_response", row.id, item.kept)
        view = await _render_snippet(w.session, desk_, row)
    return json_response(sb.SBSnippetEnvelope(snippet=view).to_wire(), status=201)


async def _update_snippet(request: web.Request) -> web.Response:
    desk_ = desk(request)
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        row_id = await _resolve(
            w.session, desk_.account_id, "canned_response", CannedResponse, request.match_info["id"], what="Snippet"
        )
        body = await _envelope(request, "snippet", sb.SBSnippet)
        row = await w.session.get(CannedResponse, row_id)
        assert row is not None  # resolved in this account just before
        current = (await _render_snippet(w.session, desk_, row)).to_wire()
        fields = body.model_fields_set
        if "name" in fields:
            current["name"] = (body.name or "").strip()
            if not current["name"]:
                raise Unprocessable("can't be blank", field="snippet.name")
            await _name_free(w, current["name"], except_id=row_id)
        if "tags" in fields:
            current["tags"] = body.tags
        if "content" in fields:
            current["content"] = _snippet_content(body.content)
        item = sb.snippet_to_canned_response(snippet=sb.SBSnippet.model_validate(current))
        row = await w.update_canned_response(
            row_id, CannedResponseData(short_code=item.data.short_code, content=item.data.content)
        )
        await _keep(w, "canned_response", row_id, item.kept)
        view = await _render_snippet(w.session, desk_, row)
    return json_response(sb.SBSnippetEnvelope(snippet=view).to_wire())


@router.put(
    r"/snippet/{id:\d+}", summary="Update a snippet (the spec's path)", auth="account", body=sb.SBSnippetWriteEnvelope
)
async def update_snippet(request: web.Request) -> web.Response:
    """Fields not given stay as they are; ``content`` is replaced whole."""
    return await _update_snippet(request)


@router.put(r"/snippets/{id:\d+}", summary="Update a snippet", auth="account", body=sb.SBSnippetWriteEnvelope)
async def update_snippet_plural(request: web.Request) -> web.Response:
    """The same as ``PUT /snippet/{id}``, at the path the other snippet routes use."""
    return await _update_snippet(request)


@router.delete(r"/snippets/{id:\d+}", summary="Delete a snippet", auth="account", status=204)
async def delete_snippet(request: web.Request) -> web.Response:
    desk_ = desk(request)
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        row_id = await _resolve(
            w.session, desk_.account_id, "canned_response", CannedResponse, request.match_info["id"], what="Snippet"
        )
        await w.delete_row(CannedResponse, row_id)
        await w.forget_external_refs(PROVIDER, "canned_response", row_id)
    return no_content()


# -- filters: rule + consequence ⇄ automation rule -------------------------------------------------
_PART_KINDS: Final[Mapping[str, tuple[str, ...]]] = {
    "rule": ("rule",),
    "consequence": ("consequence",),
    "filter": ("filter", "automation_rule"),
}


async def _new_part_id(w: Writer, part: str) -> tuple[str, int]:
    """Allocate an id shaped like SupportBee's (``<company>_<YYYYmmddHHMMSS>``), unique for the part."""
    moment = utcnow().replace(microsecond=0)
    while True:
        stamp = int(moment.strftime("%Y%m%d%H%M%S"))
        external_id = f"{w.account_id}_{stamp}"
        taken = (
            await w.session.execute(
                select(ExternalRef.id).where(
                    ExternalRef.account_id == w.account_id,
                    ExternalRef.provider == PROVIDER,
                    ExternalRef.kind.in_(_PART_KINDS[part]),
                    or_(ExternalRef.external_id == external_id, ExternalRef.internal_id == stamp),
                )
            )
        ).first()
        if taken is None:
            return external_id, stamp
        moment += dt.timedelta(seconds=1)


async def _kept_part(w: Writer, part: str, part_id: str | None) -> dict[str, Any]:
    kept = (
        await w.session.execute(
            select(ExternalRef.kept).where(
                ExternalRef.account_id == w.account_id,
                ExternalRef.provider == PROVIDER,
                ExternalRef.kind == part,
                ExternalRef.external_id == str(part_id).strip(),
            )
        )
    ).scalar_one_or_none()
    if kept is None or not isinstance(kept.get(part), dict):
        raise NotFound(f"{part.capitalize()} {part_id} not found")
    return dict(kept[part])


@router.post(
    "/rules",
    summary="Create a filter's rule (which tickets it matches)",
    auth="admin",
    body=sb.SBRuleEnvelope,
    status=201,
)
async def create_rule(request: web.Request) -> web.Response:
    desk_ = desk(request)
    rule = await _envelope(request, "rule", sb.SBRule)
    if not any((getattr(rule, key) or "").strip() for key in ("requester_email", "delivered_to", "subject", "body")):
        raise Unprocessable("needs one of requester_email, delivered_to, subject or body", field="rule")
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        rule_id, internal_id = await _new_part_id(w, "rule")
        kept = {key: value for key, value in rule.to_wire().items() if key != "id"} | {"id": rule_id}
        await w.record_external_ref(PROVIDER, "rule", rule_id, internal_id, kept={"rule": kept})
    return json_response(sb.SBRuleEnvelope(rule=sb.SBRule(id=rule_id)).to_wire(), status=201)


@router.post(
    "/consequences",
    summary="Create a filter's consequence (what it does to a ticket)",
    auth="admin",
    body=sb.SBConsequenceEnvelope,
    status=201,
)
async def create_consequence(request: web.Request) -> web.Response:
    desk_ = desk(request)
    consequence = await _envelope(request, "consequence", sb.SBConsequence)
    assign_user = consequence.assign_user not in (None, "")
    assign_team = consequence.assign_team not in (None, "")
    if assign_user and assign_team:
        raise Unprocessable("a ticket can be assigned to a user or a team, not both", field="consequence.assign_team")
    if consequence.label is not None and not consequence.label.strip():
        raise Unprocessable("can't be blank", field="consequence.label")
    if not (
        consequence.archive or consequence.spam or consequence.trash or consequence.label or assign_user or assign_team
    ):
        raise Unprocessable("needs one of archive, spam, trash, label, assign_user or assign_team", field="consequence")
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        if assign_user:
            await _resolve_agent(w.session, w.account_id, consequence.assign_user, field="consequence.assign_user")
        if assign_team:
            await _resolve_team(w.session, w.account_id, consequence.assign_team, field="consequence.assign_team")
        consequence_id, internal_id = await _new_part_id(w, "consequence")
        kept = {key: value for key, value in consequence.to_wire().items() if key != "id"} | {"id": consequence_id}
        await w.record_external_ref(PROVIDER, "consequence", consequence_id, internal_id, kept={"consequence": kept})
    return json_response(
        sb.SBConsequenceEnvelope(consequence=sb.SBConsequence(id=consequence_id)).to_wire(), status=201
    )


@router.post(
    "/filters",
    summary="Create a filter from a rule and a consequence",
    auth="admin",
    body=sb.SBFilterEnvelope,
    status=201,
)
async def create_filter(request: web.Request) -> web.Response:
    """The filter becomes an automation rule run on new conversations (``mappings.supportbee.rule_to_automation``);
    what it cannot run (spam, trash, a rule on ``delivered_to``) is kept, and a filter with nothing Supportly
    can run is only kept."""
    desk_ = desk(request)
    body = await _envelope(request, "filter", sb.SBFilter)
    for key in ("rule_id", "consequence_id"):
        if not str(getattr(body, key) or "").strip():
            raise Unprocessable("can't be blank", field=f"filter.{key}")
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        rule = sb.SBRule.model_validate(await _kept_part(w, "rule", body.rule_id))
        consequence = sb.SBConsequence.model_validate(await _kept_part(w, "consequence", body.consequence_id))
        agent_id = team_id = None
        if consequence.assign_user not in (None, ""):
            agent_id = await _resolve_agent(
                w.session, w.account_id, consequence.assign_user, field="filter.consequence_id"
            )
        if consequence.assign_team not in (None, ""):
            team_id = await _resolve_team(
                w.session, w.account_id, consequence.assign_team, field="filter.consequence_id"
            )
        filter_id, internal_id = await _new_part_id(w, "filter")
        wire_filter = sb.SBFilter(id=filter_id, consequence_id=consequence.id, rule_id=rule.id)
        item = sb.rule_to_automation(
            rule=rule, consequence=consequence, filter=wire_filter, agent_id=agent_id, team_id=team_id
        )
        if item.data is not None:
            automation = await w.create_automation_rule(item.data)
            await w.record_external_ref(PROVIDER, "automation_rule", filter_id, automation.id, kept=item.kept)
        else:
            await w.record_external_ref(PROVIDER, "filter", filter_id, internal_id, kept=item.kept)
    return json_response(sb.SBFilterEnvelope(filter=wire_filter).to_wire(), status=201)


# -- forwarding addresses ⇄ email inboxes ----------------------------------------------------------
@router.get("/emails", summary="List the desk's forwarding addresses", auth="account", query=NoQuery)
async def list_emails(request: web.Request) -> web.Response:
    desk_ = desk(request)
    async with _store(request).reader() as session:
        rows = (
            (
                await session.execute(
                    select(Inbox)
                    .where(Inbox.account_id == desk_.account_id, Inbox.channel_type == "email")
                    .order_by(Inbox.id)
                )
            )
            .scalars()
            .all()
        )
        refs = await _refs(session, desk_, {"inbox": {row.id for row in rows}})
    addresses = [sb.inbox_to_email(inbox=reads.inbox_record(row), legacy=refs, shape="list") for row in rows]
    return json_response(sb.SBEmailList(forwarding_addresses=addresses).to_wire())


@router.post("/emails", summary="Create a forwarding address", auth="admin", body=sb.SBEmailWriteEnvelope, status=201)
async def create_email(request: web.Request) -> web.Response:
    """An email inbox; ``forward_to`` is ``<company>+<forwarding_hash>@<SupportBee host suffix>``."""
    desk_ = desk(request)
    body = await _envelope(request, "forwarding_address", sb.SBEmail)
    address = _valid_email(body.email, field="forwarding_address.email")
    name = (body.name or "").strip() or address
    forwarding_hash = "".join(secrets.choice(_HASH_ALPHABET) for _ in range(17))
    suffix = request.config_dict[appkeys.SETTINGS].supportbee_host_suffix
    posted = sb.SBEmail.model_validate(
        {
            "name": name,
            "company_id": desk_.account_id,
            "email": address,
            "filter_spam": bool(body.filter_spam),
            "forwarding_hash": forwarding_hash,
            "forward_to": f"{desk_.company}+{forwarding_hash}@{suffix}",
            "global_bcc": body.global_bcc,
            "use_agent_name": bool(body.use_agent_name),
        }
    )
    item = sb.email_to_inbox(email=posted)
    async with _store(request).writer(desk_.account_id, actor_user_id=desk_.user_id) as w:
        taken = (
            await w.session.execute(
                select(Inbox.id).where(
                    Inbox.account_id == w.account_id,
                    Inbox.channel_type == "email",
                    func.lower(Inbox.email) == (item.data.email or "").lower(),
                )
            )
        ).first()
        if taken is not None:
            raise Unprocessable("has already been taken", field="forwarding_address.email")
        row = await w.create_inbox(item.data)
        refs = await _refs(w.session, desk_, {"inbox": {row.id}})
        view = sb.inbox_to_email(inbox=reads.inbox_record(row), legacy=refs, shape="full")
    return json_response(sb.SBEmailEnvelope(forwarding_address=view).to_wire(), status=201)


# -- reports ---------------------------------------------------------------------------------------
ReportKind = Literal["avg_first_response_time", "tickets_count", "replies_count"]


def _report_time(value: str, *, field: str) -> dt.datetime:
    """Read ``since``/``until``: every "Date Format" of the spec, or unix time as the reports return it."""
    text = value.strip()
    if _is_number(text) and len(text) >= 9:
        try:
            return dt.datetime.fromtimestamp(int(text), tz=dt.UTC)
        except (OverflowError, ValueError, OSError) as err:
            raise Unprocessable(f"is not a time: {value!r}", field=field) from err
    return wire.parse_date(text, field=field)


def report_window(since: str | None, until: str | None, *, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Both optional: the last 30 days by default, 30 days from ``since`` or up to ``until``; at most 30 days."""
    start = _report_time(since, field="since") if since and since.strip() else None
    end = _report_time(until, field="until") if until and until.strip() else None
    if start is None and end is None:
        end = now
    try:
        if start is None:
            assert end is not None
            start = end - REPORT_WINDOW
        if end is None:
            end = start + REPORT_WINDOW
    except OverflowError as err:
        raise Unprocessable("is too far from today", field="since" if end is None else "until") from err
    if start > end:
        raise Unprocessable("must be before until", field="since")
    if end - start > REPORT_WINDOW:
        raise Unprocessable("data points are returned for at most a 30 days' window", field="until")
    return start, end


def _days(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> list[dt.datetime]:
    day = start.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last = min(end, now)
    days = []
    while day <= last:
        days.append(day)
        day += dt.timedelta(days=1)
    return days


def _day_of(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def _report_filters(request: web.Request, session: AsyncSession, desk_: Desk) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    user = (request.query.get("user") or "").strip()
    if user:
        number = _numeric(user, field="user", what="user")
        kind, internal_id = await resolve_user(session, desk_.account_id, str(number))
        if kind != "agent":
            raise Unprocessable(f"user {number} is not an agent", field="user")
        filters["user"] = internal_id
    team = (request.query.get("team") or "").strip()
    if team:
        number = _numeric(team, field="team", what="team")
        filters["team"] = await _resolve(session, desk_.account_id, "team", Team, str(number), what="Team")
    label = (request.query.get("label") or "").strip()
    if "\x00" in label:
        raise Unprocessable("must not contain NUL characters", field="label")
    if label:
        mapped = await _legacy_target(session, desk_.account_id, "label", label)
        condition = Label.id == mapped if mapped is not None else Label.title == sb.label_title(label)
        title = (
            await session.execute(select(Label.title).where(Label.account_id == desk_.account_id, condition))
        ).scalar_one_or_none()
        if title is None:
            raise NotFound("Label not found")
        filters["label"] = title
    return filters


def _ticket_conditions(desk_: Desk, filters: Mapping[str, Any], *, by_replier: bool) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Conversation.account_id == desk_.account_id,
        Conversation.spam.is_(False),
        _not_trashed(),
    ]
    if "user" in filters and not by_replier:
        conditions.append(Conversation.assignee_id == filters["user"])
    if "team" in filters:
        conditions.append(Conversation.team_id == filters["team"])
    if "label" in filters:
        conditions.append(
            exists().where(
                ConversationLabel.conversation_id == Conversation.id, ConversationLabel.title == filters["label"]
            )
        )
    return conditions


async def _report(request: web.Request, kind: ReportKind) -> web.Response:
    desk_ = desk(request)
    now = utcnow()
    start, end = report_window(request.query.get("since"), request.query.get("until"), now=now)
    days = _days(start, end, now)
    async with _store(request).reader() as session:
        filters = await _report_filters(request, session, desk_)
        points: list[sb.SBDataPoint] = []
        if kind == "replies_count":
            conditions = _ticket_conditions(desk_, filters, by_replier=True)
            query = (
                select(Message.created_at)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    *conditions,
                    Message.message_type == "outgoing",
                    Message.private.is_(False),
                    Message.sender_type == "agent",
                    Message.created_at >= start,
                    Message.created_at <= end,
                )
            )
            if "user" in filters:
                query = query.where(Message.sender_id == filters["user"])
            counts = _count_by_day(await session.scalars(query))
            points = [_point(day, str(counts.get(day, 0))) for day in days]
        else:
            conditions = _ticket_conditions(desk_, filters, by_replier=False)
            rows = (
                await session.execute(
                    select(Conversation.created_at, Conversation.first_reply_created_at).where(
                        *conditions, Conversation.created_at >= start, Conversation.created_at <= end
                    )
                )
            ).all()
            if kind == "tickets_count":
                counts = _count_by_day(created for created, _ in rows)
                points = [_point(day, str(counts.get(day, 0))) for day in days]
            else:
                waits: dict[dt.datetime, list[float]] = defaultdict(list)
                for created, first_reply in rows:
                    if first_reply is not None:
                        waits[_day_of(created)].append(max((first_reply - created).total_seconds(), 0.0))
                points = [_point(day, f"{sum(waits[day]) / len(waits[day]):.1f}") for day in days if waits.get(day)]
    return json_response(sb.SBReport(data_points=points).to_wire())


def _count_by_day(times: Iterable[dt.datetime]) -> dict[dt.datetime, int]:
    counts: dict[dt.datetime, int] = defaultdict(int)
    for value in times:
        counts[_day_of(value)] += 1
    return counts


def _point(day: dt.datetime, value: str) -> sb.SBDataPoint:
    return sb.SBDataPoint(value=value, timestamp=str(int(day.timestamp())))


@router.get(
    "/reports/avg_first_response_time",
    summary="Average first response time per day (seconds; admins only)",
    auth="admin",
    query=ReportQuery,
)
async def report_avg_first_response_time(request: web.Request) -> web.Response:
    """Per day of ticket creation, the mean of (first agent reply - creation); days without one are left out."""
    return await _report(request, "avg_first_response_time")


@router.get("/reports/tickets_count", summary="Tickets created per day (admins only)", auth="admin", query=ReportQuery)
async def report_tickets_count(request: web.Request) -> web.Response:
    """Tickets created per day (spam and trash left out); ``user`` is the assignee."""
    return await _report(request, "tickets_count")


@router.get("/reports/replies_count", summary="Agent replies per day (admins only)", auth="admin", query=ReportQuery)
async def report_replies_count(request: web.Request) -> web.Response:
    """Public agent replies per day; ``user`` is the agent who replied."""
    return await _report(request, "replies_count")


__all__ = ["resolve_user", "router"]
