"""Native API: agents, teams and team members, inboxes and inbox members (spec "Agents", "Teams", "Inboxes")."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import select

from bridge import render
from bridge.api.common import native_router, path_id, principal, store
from bridge.errors import NotFound
from bridge.models import AccountUser, Inbox, InboxMember, Team, TeamMember, User
from bridge.routing import json_response, no_content, parse_body
from bridge.schemas import AgentData, InboxData, Role, TeamData

router = native_router("Agents")

AVAILABILITY_IN = {"available": "online", "online": "online", "busy": "busy", "offline": "offline"}


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=255)
    email: EmailStr | None = None
    role: Role | None = None
    availability_status: Literal["available", "online", "busy", "offline"] | None = None
    auto_offline: bool | None = None

    def canonical(self) -> AgentData:
        data = AgentData.model_validate(self.model_dump(exclude_unset=True, exclude={"availability_status"}))
        if self.availability_status is not None:
            data.availability = AVAILABILITY_IN[self.availability_status]  # type: ignore[assignment]
        return data


class AgentCreate(AgentIn):
    name: str = Field(min_length=1, max_length=255)
    email: EmailStr
    role: Role


async def _agents(request: web.Request, user_id: int | None = None) -> list[dict[str, Any]]:
    query = (
        select(User, AccountUser)
        .join(AccountUser, AccountUser.user_id == User.id)
        .where(AccountUser.account_id == principal(request).account_id)
        .order_by(User.id)
    )
    if user_id is not None:
        query = query.where(User.id == user_id)
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


@router.patch("/agents/{id}", summary="Update an agent", auth="admin", body=AgentIn)
async def update_agent(request: web.Request) -> web.Response:
    user_id = path_id(request, what="Agent")
    body = await parse_body(request, AgentIn)
    async with store(request).writer(principal(request).account_id) as w:
        user, membership = await w.update_agent(user_id, body.canonical())
    return json_response(render.agent(user, membership))


@router.delete("/agents/{id}", summary="Remove an agent (their conversations become unassigned)", auth="admin")
async def delete_agent(request: web.Request) -> web.Response:
    user_id = path_id(request, what="Agent")
    async with store(request).writer(principal(request).account_id) as w:
        await w.remove_agent(user_id)
    return no_content()


# -- teams ---------------------------------------------------------------------------------------
class TeamCreate(TeamData):
    name: str = Field(min_length=1, max_length=255)


class Members(BaseModel):
    user_ids: list[int] = Field(min_length=0)


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
            (await session.execute(select(TeamMember.team_id).where(TeamMember.user_id == me.user_id))).scalars()
        )
        return json_response([render.team(row, is_member=row.id in mine) for row in rows])


@router.post("/teams", summary="Create a team", auth="admin", body=TeamCreate, tag="Teams")
async def create_team(request: web.Request) -> web.Response:
    body = await parse_body(request, TeamCreate)
    async with store(request).writer(principal(request).account_id) as w:
        row = await w.create_team(body)
    return json_response(render.team(row))


@router.get("/teams/{id}", summary="Get a team", tag="Teams")
async def get_team(request: web.Request) -> web.Response:
    return json_response(await _team(request, path_id(request, what="Team")))


@router.patch("/teams/{id}", summary="Update a team", auth="admin", body=TeamData, tag="Teams")
async def update_team(request: web.Request) -> web.Response:
    team_id = path_id(request, what="Team")
    body = await parse_body(request, TeamData)
    async with store(request).writer(principal(request).account_id) as w:
        await w.update_team(team_id, body)
    return json_response(await _team(request, team_id))


@router.delete("/teams/{id}", summary="Delete a team", auth="admin", tag="Teams")
async def delete_team(request: web.Request) -> web.Response:
    team_id = path_id(request, what="Team")
    async with store(request).writer(principal(request).account_id) as w:
        await w.delete_row(Team, team_id)
    return no_content()


async def _member_list(request: web.Request, model: type[TeamMember] | type[InboxMember], key: Any, owner_id: int) -> Any:
    me = principal(request)
    async with store(request).reader() as session:
        rows = (
            await session.execute(
                select(User, AccountUser)
                .join(model, model.user_id == User.id)
                .join(AccountUser, (AccountUser.user_id == User.id) & (AccountUser.account_id == me.account_id))
                .where(key == owner_id)
                .order_by(User.id)
            )
        ).all()
    return [render.agent(user, membership) for user, membership in rows]


@router.get("/teams/{id}/team_members", summary="List a team's members", tag="Teams")
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
class Channel(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["web_widget", "email", "api"]
    website_url: str | None = None
    email: EmailStr | None = None
    webhook_url: str | None = None


class InboxCreate(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=255)
    channel: Channel
    greeting_enabled: bool | None = None
    greeting_message: str | None = None
    working_hours_enabled: bool | None = None
    working_hours: list[dict[str, Any]] | None = None
    timezone: str | None = None
    out_of_office_message: str | None = None
    enable_auto_assignment: bool | None = None

    def canonical(self) -> InboxData:
        fields = self.model_dump(exclude_unset=True, exclude={"channel"})
        channel = self.channel.model_dump(exclude_unset=True)
        extra = {k: v for k, v in channel.items() if k not in {"type", "website_url", "email", "webhook_url"}}
        return InboxData.model_validate(
            {
                **fields,
                "channel_type": self.channel.type,
                "website_url": self.channel.website_url,
                "email": self.channel.email,
                "webhook_url": self.channel.webhook_url,
                "channel_config": extra,
            }
        )


class InboxUpdate(InboxData):
    channel: dict[str, Any] | None = None

    def canonical(self) -> InboxData:
        fields = self.model_dump(exclude_unset=True, exclude={"channel", "channel_type"})
        for key in ("website_url", "email", "webhook_url"):
            if self.channel and key in self.channel:
                fields[key] = self.channel[key]
        return InboxData.model_validate(fields)


async def _inbox(request: web.Request, inbox_id: int) -> Inbox:
    async with store(request).reader() as session:
        row = await session.get(Inbox, inbox_id)
    if row is None or row.account_id != principal(request).account_id:
        raise NotFound("Inbox not found", field="id")
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


class InboxMembers(Members):
    inbox_id: int | None = None


@router.get("/inbox_members/{id}", summary="List an inbox's agents", tag="Inboxes")
async def list_inbox_members(request: web.Request) -> web.Response:
    inbox_id = path_id(request, what="Inbox")
    await _inbox(request, inbox_id)
    return json_response({"payload": await _member_list(request, InboxMember, InboxMember.inbox_id, inbox_id)})


async def _change_inbox_members(request: web.Request, mode: str) -> web.Response:
    inbox_id = path_id(request, what="Inbox")
    body = await parse_body(request, InboxMembers)
    async with store(request).writer(principal(request).account_id) as w:
        await w.set_inbox_members(inbox_id, body.user_ids, mode=mode)
    return json_response({"payload": await _member_list(request, InboxMember, InboxMember.inbox_id, inbox_id)})


@router.post("/inbox_members/{id}", summary="Add agents to an inbox", auth="admin", body=InboxMembers, tag="Inboxes")
async def add_inbox_members(request: web.Request) -> web.Response:
    return await _change_inbox_members(request, "add")


@router.patch(
    "/inbox_members/{id}", summary="Replace an inbox's agents", auth="admin", body=InboxMembers, tag="Inboxes"
)
async def replace_inbox_members(request: web.Request) -> web.Response:
    return await _change_inbox_members(request, "replace")


@router.delete(
    "/inbox_members/{id}", summary="Remove agents from an inbox", auth="admin", body=InboxMembers, tag="Inboxes"
)
async def remove_inbox_members(request: web.Request) -> web.Response:
    return await _change_inbox_members(request, "remove")
