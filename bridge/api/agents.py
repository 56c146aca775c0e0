"""Native API: agents, teams and team members, inboxes and inbox members (spec "Agents", "Teams", "Inboxes").

Shapes follow Chatwoot's ``agent``, ``team`` and ``inbox`` schemas; inbox members are reachable both in
Chatwoot's form (``/inbox_members`` with ``inbox_id`` in the body) and by path (``/inbox_members/{id}``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator
from sqlalchemy import select

from bridge import render
from bridge.api.common import MAX_ID, native_router, path_id, principal, store
from bridge.errors import NotFound, Unprocessable
from bridge.models import AccountUser, Inbox, InboxMember, Team, TeamMember, User
from bridge.routing import json_response, no_content, parse_body, validate
from bridge.schemas import AgentData, InboxData, Role, TeamData

router = native_router("Agents")

# Ids beyond the id columns' range cannot exist; refusing them keeps them out of the database driver.
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]

# Chatwoot's availability words in, the stored ones out (``online`` is accepted as a synonym).
AVAILABILITY_IN = {"available": "online", "online": "online", "busy": "busy", "offline": "offline"}
AvailabilityIn = Literal["available", "online", "busy", "offline"]


def _not_null(value: Any) -> Any:
    """Refuse an explicit ``null`` for a field whose column cannot be empty."""
    if value is None:
        raise ValueError("can't be blank")
    return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class Input(BaseModel):
    """A request body: unknown keys ignored, strings stripped, and no NUL characters (PostgreSQL refuses them)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


# -- agents --------------------------------------------------------------------------------------
class AgentUpdate(Input):
    """Chatwoot's ``agent_update_payload`` plus the agent's name (the spec lets it change)."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    role: Role | None = None
    availability_status: AvailabilityIn | None = None
    auto_offline: bool | None = None

    _present = field_validator("name", "role", "availability_status", "auto_offline")(_not_null)

    def canonical(self) -> AgentData:
        fields = self.model_dump(exclude_unset=True, exclude={"availability_status"})
        if self.availability_status is not None:
            fields["availability"] = AVAILABILITY_IN[self.availability_status]
        return AgentData.model_validate(fields)


class AgentCreate(AgentUpdate):
    """Chatwoot's ``agent_create_payload``."""

    name: str = Field(min_length=1, max_length=255)
    email: EmailStr
    role: Role


async def _agents(request: web.Request) -> list[dict[str, Any]]:
    query = (
        select(User, AccountUser)
        .join(AccountUser, AccountUser.user_id == User.id)
        .where(AccountUser.account_id == principal(request).account_id)
        .order_by(User.id)
    )
    async with store(request).reader() as session:
        rows = (await session.execute(query)).all()
    return [render.agent(user, membership) for user, membership in rows]


@router.get("/agents", summary="List agents of the account")
async def list_agents(request: web.Request) -> web.Response:
    return json_response(await _agents(request))


@router.post("/agents", summary="Add an agent", auth="admin", body=AgentCreate)
async def create_agent(request: web.Request) -> web.Response:
    body = await parse_body(request, AgentCreate)
    async with store(request).writer(principal(request).account_id) as w:
        user, membership = await w.create_agent(body.canonical())
    return json_response(render.agent(user, membership))


@router.patch("/agents/{id}", summary="Update an agent's name, role or availability", auth="admin", body=AgentUpdate)
async def update_agent(request: web.Request) -> web.Response:
    user_id = path_id(request, what="Agent")
    body = await parse_body(request, AgentUpdate)
    async with store(request).writer(principal(request).account_id) as w:
        user, membership = await w.update_agent(user_id, body.canonical())
    return json_response(render.agent(user, membership))


@router.delete(
    "/agents/{id}",
    summary="Remove an agent (their conversations become unassigned)",
    auth="admin",
    status=204,
)
async def delete_agent(request: web.Request) -> web.Response:
    user_id = path_id(request, what="Agent")
    async with store(request).writer(principal(request).account_id) as w:
        await w.remove_agent(user_id)
    return no_content()


# -- teams ---------------------------------------------------------------------------------------
class TeamUpdate(Input):
    """Chatwoot's ``team_create_update_payload``."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    allow_auto_assign: bool | None = None

    _present = field_validator("name", "allow_auto_assign")(_not_null)

    def canonical(self) -> TeamData:
        return TeamData.model_validate(self.model_dump(exclude_unset=True))


class TeamCreate(TeamUpdate):
    name: str = Field(min_length=1, max_length=255)


class Members(Input):
    """The agents to add, remove or keep."""

    user_ids: list[RowId] = Field(max_length=1000)


async def _team(request: web.Request, team_id: int) -> dict[str, Any]:
    me = principal(request)
    async with store(request).reader() as session:
        row = await session.get(Team, team_id)
        if row is None or row.account_id != me.account_id:
            raise NotFound("Team not found", field="id")
        member = (
            await session.execute(
                select(TeamMember.user_id).where(TeamMember.team_id == team_id, TeamMember.user_id == me.user_id)
            )
        ).first()
    return render.team(row, is_member=member is not None)


@router.get("/teams", summary="List teams", tag="Teams")
async def list_teams(request: web.Request) -> web.Response:
    me = principal(request)
    async with store(request).reader() as session:
        rows = (await session.execute(select(Team).where(Team.account_id == me.account_id).order_by(Team.id))).scalars()
        mine = set(
            (
                await session.execute(
                    select(TeamMember.team_id).where(
                        TeamMember.account_id == me.account_id, TeamMember.user_id == me.user_id
                    )
                )
            ).scalars()
        )
        return json_response([render.team(row, is_member=row.id in mine) for row in rows])


@router.post("/teams", summary="Create a team", auth="admin", body=TeamCreate, tag="Teams")
async def create_team(request: web.Request) -> web.Response:
    body = await parse_body(request, TeamCreate)
    async with store(request).writer(principal(request).account_id) as w:
        row = await w.create_team(body.canonical())
    return json_response(render.team(row))


@router.get("/teams/{id}", summary="Get a team", tag="Teams")
async def get_team(request: web.Request) -> web.Response:
    return json_response(await _team(request, path_id(request, what="Team")))


@router.patch("/teams/{id}", summary="Update a team", auth="admin", body=TeamUpdate, tag="Teams")
async def update_team(request: web.Request) -> web.Response:
    team_id = path_id(request, what="Team")
    body = await parse_body(request, TeamUpdate)
    async with store(request).writer(principal(request).account_id) as w:
        await w.update_team(team_id, body.canonical())
    return json_response(await _team(request, team_id))


@router.delete("/teams/{id}", summary="Delete a team", auth="admin", tag="Teams", status=204)
async def delete_team(request: web.Request) -> web.Response:
    team_id = path_id(request, what="Team")
    async with store(request).writer(principal(request).account_id) as w:
        await w.delete_row(Team, team_id)
    return no_content()


async def _member_list(
    request: web.Request, model: type[TeamMember] | type[InboxMember], key: Any, owner_id: int
) -> list[dict[str, Any]]:
    me = principal(request)
    async with store(request).reader() as session:
        rows = (
            await session.execute(
                select(User, AccountUser)
                .join(model, model.user_id == User.id)
                .join(AccountUser, (AccountUser.user_id == User.id) & (AccountUser.account_id == me.account_id))
                .where(key == owner_id, model.account_id == me.account_id)
                .order_by(User.id)
            )
        ).all()
    return [render.agent(user, membership) for user, membership in rows]


@router.get("/teams/{id}/team_members", summary="List a team's agents", tag="Teams")
async def list_team_members(request: web.Request) -> web.Response:
    team_id = path_id(request, what="Team")
    await _team(request, team_id)
    return json_response(await _member_list(request, TeamMember, TeamMember.team_id, team_id))


async def _change_team_members(request: web.Request, mode: str) -> web.Response:
    team_id = path_id(request, what="Team")
    body = await parse_body(request, Members)
    async with store(request).writer(principal(request).account_id) as w:
        await w.set_team_members(team_id, body.user_ids, mode=mode)
    return json_response(await _member_list(request, TeamMember, TeamMember.team_id, team_id))


@router.post("/teams/{id}/team_members", summary="Add agents to a team", auth="admin", body=Members, tag="Teams")
async def add_team_members(request: web.Request) -> web.Response:
    return await _change_team_members(request, "add")


@router.patch("/teams/{id}/team_members", summary="Replace a team's agents", auth="admin", body=Members, tag="Teams")
async def replace_team_members(request: web.Request) -> web.Response:
    return await _change_team_members(request, "replace")


@router.delete("/teams/{id}/team_members", summary="Remove agents from a team", auth="admin", body=Members, tag="Teams")
async def remove_team_members(request: web.Request) -> web.Response:
    return await _change_team_members(request, "remove")


# -- inboxes -------------------------------------------------------------------------------------
# Chatwoot inbox settings this model keeps in ``channel_config`` (rendered at the top level too).
INBOX_SETTINGS = (
    "enable_email_collect",
    "csat_survey_enabled",
    "allow_messages_after_resolved",
    "lock_to_single_conversation",
    "sender_name_type",
    "business_name",
)
_CHANNEL_COLUMNS = frozenset({"type", "website_url", "email", "webhook_url"})


class ChannelUpdate(Input):
    """Channel settings; unknown keys (``widget_color``, ``welcome_title``…) are kept in ``channel_config``."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_in_extras(cls, data: Any) -> Any:
        if _has_nul(data):
            raise ValueError("must not contain NUL characters")
        return data

    website_url: str | None = Field(default=None, max_length=2048)
    email: EmailStr | None = None
    webhook_url: str | None = Field(default=None, max_length=2048)


class Channel(ChannelUpdate):
    type: Literal["web_widget", "email", "api"]

    @model_validator(mode="after")
    def _required_per_type(self) -> Channel:
        if self.type == "email" and not self.email:
            raise ValueError("an email channel needs an email address")
        if self.type == "web_widget" and not self.website_url:
            raise ValueError("a web_widget channel needs a website_url")
        return self


class InboxUpdate(Input):
    """Chatwoot's ``inbox_update_payload``."""

    name: str | None = Field(default=None, min_length=1, max_length=255)
    greeting_enabled: bool | None = None
    greeting_message: str | None = None
    working_hours_enabled: bool | None = None
    working_hours: list[dict[str, Any]] | None = Field(default=None, max_length=7)
    timezone: str | None = None
    out_of_office_message: str | None = None
    enable_auto_assignment: bool | None = None
    enable_email_collect: bool | None = None
    csat_survey_enabled: bool | None = None
    allow_messages_after_resolved: bool | None = None
    lock_to_single_conversation: bool | None = None
    sender_name_type: Literal["friendly", "professional"] | None = None
    business_name: str | None = Field(default=None, max_length=255)
    channel: ChannelUpdate | None = None

    _present = field_validator(
        "name", "greeting_enabled", "working_hours_enabled", "working_hours", "timezone", "enable_auto_assignment"
    )(_not_null)

    def canonical(self) -> InboxData:
        fields = self.model_dump(exclude_unset=True, exclude={"channel", *INBOX_SETTINGS})
        config = {key: getattr(self, key) for key in INBOX_SETTINGS if key in self.model_fields_set}
        if self.channel is not None:
            channel = self.channel.model_dump(exclude_unset=True)
            fields.update({k: v for k, v in channel.items() if k in _CHANNEL_COLUMNS and k != "type"})
            config.update({k: v for k, v in channel.items() if k not in _CHANNEL_COLUMNS})
        if config:
            fields["channel_config"] = config
        return validate(InboxData, fields)


class InboxCreate(InboxUpdate):
    """Chatwoot's ``inbox_create_payload``."""

    name: str = Field(min_length=1, max_length=255)
    channel: Channel

    def canonical(self) -> InboxData:
        data = super().canonical()
        data.channel_type = self.channel.type
        return data


async def _inbox(request: web.Request, inbox_id: int, *, field: str = "id") -> Inbox:
    async with store(request).reader() as session:
        row = await session.get(Inbox, inbox_id)
    if row is None or row.account_id != principal(request).account_id:
        raise NotFound("Inbox not found", field=field)
    return row


@router.get("/inboxes", summary="List inboxes", tag="Inboxes")
async def list_inboxes(request: web.Request) -> web.Response:
    async with store(request).reader() as session:
        rows = (
            await session.execute(
                select(Inbox).where(Inbox.account_id == principal(request).account_id).order_by(Inbox.id)
            )
        ).scalars()
        return json_response({"payload": [render.inbox(row) for row in rows]})


@router.get("/inboxes/{id}", summary="Get an inbox", tag="Inboxes")
async def get_inbox(request: web.Request) -> web.Response:
    return json_response(render.inbox(await _inbox(request, path_id(request, what="Inbox"))))


@router.post("/inboxes", summary="Create an inbox", auth="admin", body=InboxCreate, tag="Inboxes")
async def create_inbox(request: web.Request) -> web.Response:
    body = await parse_body(request, InboxCreate)
    async with store(request).writer(principal(request).account_id) as w:
        row = await w.create_inbox(body.canonical())
    return json_response(render.inbox(row))


@router.patch("/inboxes/{id}", summary="Update an inbox", auth="admin", body=InboxUpdate, tag="Inboxes")
async def update_inbox(request: web.Request) -> web.Response:
    inbox_id = path_id(request, what="Inbox")
    body = await parse_body(request, InboxUpdate)
    async with store(request).writer(principal(request).account_id) as w:
        row = await w.update_inbox(inbox_id, body.canonical())
    return json_response(render.inbox(row))


# -- inbox members -------------------------------------------------------------------------------
class InboxMembers(Members):
    """Agents of the inbox named in the path (an ``inbox_id`` in the body must agree)."""

    inbox_id: RowId | None = None


class InboxMembersIn(Members):
    """Chatwoot's form: the inbox is named in the body."""

    inbox_id: RowId


async def _inbox_members(request: web.Request, inbox_id: int) -> web.Response:
    return json_response({"payload": await _member_list(request, InboxMember, InboxMember.inbox_id, inbox_id)})


async def _change_inbox_members(
    request: web.Request, inbox_id: int, user_ids: list[int], mode: str, field: str
) -> None:
    async with store(request).writer(principal(request).account_id) as w:
        await w.set_inbox_members(inbox_id, user_ids, mode=mode, field=field)


async def _by_path(request: web.Request, mode: str) -> web.Response:
    inbox_id = path_id(request, what="Inbox")
    body = await parse_body(request, InboxMembers)
    if body.inbox_id is not None and body.inbox_id != inbox_id:
        raise Unprocessable("does not match the inbox in the path", field="inbox_id", code="mismatch")
    await _change_inbox_members(request, inbox_id, body.user_ids, mode, "id")
    return await _inbox_members(request, inbox_id)


async def _by_body(request: web.Request, mode: str) -> web.Response:
    body = await parse_body(request, InboxMembersIn)
    await _change_inbox_members(request, body.inbox_id, body.user_ids, mode, "inbox_id")
    return await _inbox_members(request, body.inbox_id)


@router.get("/inbox_members/{id}", summary="List an inbox's agents", tag="Inboxes")
async def list_inbox_members(request: web.Request) -> web.Response:
    inbox_id = path_id(request, what="Inbox")
    await _inbox(request, inbox_id)
    return await _inbox_members(request, inbox_id)


@router.post("/inbox_members", summary="Add agents to an inbox", auth="admin", body=InboxMembersIn, tag="Inboxes")
async def add_inbox_members(request: web.Request) -> web.Response:
    return await _by_body(request, "add")


@router.patch("/inbox_members", summary="Replace an inbox's agents", auth="admin", body=InboxMembersIn, tag="Inboxes")
async def replace_inbox_members(request: web.Request) -> web.Response:
    return await _by_body(request, "replace")


@router.delete(
    "/inbox_members", summary="Remove agents from an inbox", auth="admin", body=InboxMembersIn, tag="Inboxes"
)
async def remove_inbox_members(request: web.Request) -> web.Response:
    return await _by_body(request, "remove")


@router.post(
    "/inbox_members/{id}", summary="Add agents to an inbox (by path)", auth="admin", body=InboxMembers, tag="Inboxes"
)
async def add_inbox_members_by_path(request: web.Request) -> web.Response:
    return await _by_path(request, "add")


@router.patch(
    "/inbox_members/{id}",
    summary="Replace an inbox's agents (by path)",
    auth="admin",
    body=InboxMembers,
    tag="Inboxes",
)
async def replace_inbox_members_by_path(request: web.Request) -> web.Response:
    return await _by_path(request, "replace")


@router.delete(
    "/inbox_members/{id}",
    summary="Remove agents from an inbox (by path)",
    auth="admin",
    body=InboxMembers,
    tag="Inboxes",
)
async def remove_inbox_members_by_path(request: web.Request) -> web.Response:
    return await _by_path(request, "remove")
