"""Native API: contacts, their conversations, search, and contact activities (spec "Contacts", "Contact Activities")."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from sqlalchemy import ColumnElement, and_, func, or_, select

from bridge import render
from bridge.api.common import MAX_ID, Page, escape_like, native_router, paginated_meta, path_id, principal, store
from bridge.api.conversations import conversation_payloads
from bridge.errors import NotFound
from bridge.models import Activity, Contact, Conversation
from bridge.routing import json_response, no_content, parse_body, parse_query
from bridge.schemas import ActivityData, ActivityType, ContactData, ContactSource, LifecycleStage

router = native_router("Contacts")
PER_PAGE = 15
_E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")

ContactSort = Literal[
    "name",
    "email",
    "phone_number",
    "last_activity_at",
    "created_at",
    "-name",
    "-email",
    "-phone_number",
    "-last_activity_at",
    "-created_at",
]


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("must not be null")
    return value


# -- input -----------------------------------------------------------------------------------------
class ContactIn(BaseModel):
    """A contact's writable fields; every one optional (PATCH is partial), ``null`` clears where allowed."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = Field(default=None, max_length=255)
    phone_number: str | None = Field(default=None, description="E.164, e.g. +1234567890")
    avatar_url: str | None = Field(default=None, max_length=2048)
    identifier: str | None = Field(default=None, max_length=255)
    lifecycle_stage: LifecycleStage | None = None
    source: ContactSource | None = None
    custom_attributes: dict[str, Any] | None = None
    additional_attributes: dict[str, Any] | None = None
    company_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    blocked: bool | None = None

    @field_validator("name", "email", "phone_number", "avatar_url", "identifier", mode="before")
    @classmethod
    def _blank_is_null(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("blocked", "custom_attributes", "additional_attributes", mode="before")
    @classmethod
    def _required_value(cls, value: Any) -> Any:
        return _not_null(value)

    @field_validator("phone_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not _E164.match(value):
            raise ValueError("must be in E.164 format, such as +1234567890")
        return value

    def canonical(self) -> ContactData:
        return ContactData.model_validate(self.model_dump(exclude_unset=True))


class ContactQuery(Page):
    sort: ContactSort | None = None
    order_by: Literal["asc", "desc"] | None = None

    @field_validator("order_by", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class ContactSearch(ContactQuery):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    q: str = Field(min_length=1, max_length=255, description="Text found in name, email, phone number or identifier")


class ActivityIn(BaseModel):
    """An activity's writable fields for PATCH; type and title may change but not be cleared."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    activity_type: ActivityType | None = None
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    due_date: dt.datetime | None = Field(default=None, description="ISO 8601 time")
    completed_at: dt.datetime | None = Field(default=None, description="ISO 8601 time, null while not completed")
    user_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    metadata: dict[str, Any] | None = None

    @field_validator("activity_type", "title", mode="before")
    @classmethod
    def _required_value(cls, value: Any) -> Any:
        return _not_null(value)

    @field_validator("due_date", "completed_at")
    @classmethod
    def _utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is None:
            return None
        try:
            value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        except OverflowError as err:
            raise ValueError("is out of range") from err
        if not 1000 <= value.year <= 9999:
            raise ValueError("is out of range")
        return value

    def canonical(self) -> ActivityData:
        return ActivityData.model_validate(self.model_dump(exclude_unset=True))


class ActivityCreate(ActivityIn):
    activity_type: ActivityType
    title: str = Field(min_length=1, max_length=255)


# -- reads -----------------------------------------------------------------------------------------
def _order(query: ContactQuery) -> list[Any]:
    """ORDER BY for a contact list: ``-field`` or ``order_by=desc`` is descending; nulls always last."""
    field = (query.sort or "-last_activity_at").removeprefix("-")
    descending = (query.sort or "-last_activity_at").startswith("-")
    if query.order_by is not None:
        descending = query.order_by == "desc"
    columns: dict[str, Any] = {
        "name": func.lower(Contact.name),
        "email": Contact.email,
        "phone_number": Contact.phone_number,
        "last_activity_at": Contact.last_activity_at,
        "created_at": Contact.created_at,
    }
    column = columns[field]
    if descending:
        return [column.desc().nulls_last(), Contact.id.desc()]
    return [column.asc().nulls_last(), Contact.id.asc()]


async def _contact_page(request: web.Request, query: ContactQuery, *conditions: ColumnElement[bool]) -> web.Response:
    account_id = principal(request).account_id
    where = and_(Contact.account_id == account_id, *conditions)
    listing = select(Contact).where(where).order_by(*_order(query)).limit(PER_PAGE).offset((query.page - 1) * PER_PAGE)
    async with store(request).reader() as session:
        count = (await session.execute(select(func.count()).select_from(Contact).where(where))).scalar_one()
        rows = (await session.execute(listing)).scalars().all()
    return json_response(
        {"meta": paginated_meta(int(count), query.page, PER_PAGE), "payload": [render.contact(r) for r in rows]}
    )


async def _search(request: web.Request) -> web.Response:
    query = parse_query(request, ContactSearch)
    pattern = f"%{escape_like(query.q.lower())}%"
    matches = or_(
        *(
            func.lower(column).like(pattern, escape="\\")
            for column in (Contact.name, Contact.email, Contact.phone_number, Contact.identifier)
        )
    )
    return await _contact_page(request, query, matches)


async def _contact(request: web.Request, contact_id: int) -> Contact:
    async with store(request).reader() as session:
        row = await session.get(Contact, contact_id)
    if row is None or row.account_id != principal(request).account_id:
        raise NotFound("Contact not found", field="id")
    return row


@router.get("/contacts", summary="List contacts (15 per page)", query=ContactQuery)
async def list_contacts(request: web.Request) -> web.Response:
    return await _contact_page(request, parse_query(request, ContactQuery))


# Registered before /contacts/{id} so that "search" is not taken for an id.
@router.get("/contacts/search", summary="Search contacts (Chatwoot's path)", query=ContactSearch)
async def search_contacts(request: web.Request) -> web.Response:
    return await _search(request)


@router.get("/search", summary="Search contacts by name, email, phone number or identifier", query=ContactSearch)
async def search(request: web.Request) -> web.Response:
    return await _search(request)


@router.get("/contacts/{id}", summary="Get a contact")
async def get_contact(request: web.Request) -> web.Response:
    row = await _contact(request, path_id(request, what="Contact"))
    return json_response({"payload": render.contact(row)})


@router.get("/contacts/{id}/conversations", summary="List a contact's conversations (most recent first)")
async def contact_conversations(request: web.Request) -> web.Response:
    contact_id = path_id(request, what="Contact")
    account_id = principal(request).account_id
    await _contact(request, contact_id)
    async with store(request).reader() as session:
        rows = (
            (
                await session.execute(
                    select(Conversation)
                    .where(Conversation.account_id == account_id, Conversation.contact_id == contact_id)
                    .order_by(Conversation.last_activity_at.desc(), Conversation.id.desc())
                )
            )
            .scalars()
            .all()
        )
        payload = await conversation_payloads(session, account_id, rows)
    return json_response({"payload": payload})


# -- writes ----------------------------------------------------------------------------------------
@router.post("/contacts", summary="Create a contact", body=ContactIn)
async def create_contact(request: web.Request) -> web.Response:
    data = (await parse_body(request, ContactIn)).canonical()
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        row = await w.create_contact(data)
    return json_response({"payload": {"contact": render.contact(row), "contact_inbox": None}})


async def _update(request: web.Request) -> web.Response:
    contact_id = path_id(request, what="Contact")
    body = await parse_body(request, ContactIn)
    data = body.canonical()
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        current = await w.get_row(Contact, contact_id, what="Contact")
        # Attribute objects merge (JSON Merge Patch): given keys replace, a null value removes its key.
        for field in ("custom_attributes", "additional_attributes"):
            given = getattr(body, field)
            if given is not None:
                setattr(data, field, _merge(getattr(current, field) or {}, given))
        row = await w.update_contact(contact_id, data)
    return json_response({"payload": render.contact(row)})


def _merge(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for key, value in given.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@router.patch("/contacts/{id}", summary="Update a contact (partial)", body=ContactIn)
async def update_contact(request: web.Request) -> web.Response:
    return await _update(request)


@router.put("/contacts/{id}", summary="Update a contact (partial, Chatwoot's verb)", body=ContactIn)
async def put_contact(request: web.Request) -> web.Response:
    return await _update(request)


@router.delete("/contacts/{id}", summary="Delete a contact with its conversations and activities", auth="admin")
async def delete_contact(request: web.Request) -> web.Response:
    contact_id = path_id(request, what="Contact")
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        await w.delete_contact(contact_id)
    return no_content()


# -- activities ------------------------------------------------------------------------------------
@router.get(
    "/contacts/{contact_id}/activities", summary="List a contact's activities (most recent first)", tag="Activities"
)
async def list_activities(request: web.Request) -> web.Response:
    contact_id = path_id(request, "contact_id", what="Contact")
    await _contact(request, contact_id)
    async with store(request).reader() as session:
        rows = (
            (
                await session.execute(
                    select(Activity)
                    .where(Activity.account_id == principal(request).account_id, Activity.contact_id == contact_id)
                    .order_by(Activity.created_at.desc(), Activity.id.desc())
                )
            )
            .scalars()
            .all()
        )
    return json_response({"payload": [render.activity(row) for row in rows]})


@router.post(
    "/contacts/{contact_id}/activities", summary="Log an activity for a contact", body=ActivityCreate, tag="Activities"
)
async def create_activity(request: web.Request) -> web.Response:
    contact_id = path_id(request, "contact_id", what="Contact")
    data = (await parse_body(request, ActivityCreate)).canonical()
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        row = await w.create_activity(contact_id, data)
    return json_response(render.activity(row))


@router.patch(
    "/contacts/{contact_id}/activities/{id}", summary="Update a contact activity", body=ActivityIn, tag="Activities"
)
async def update_activity(request: web.Request) -> web.Response:
    contact_id = path_id(request, "contact_id", what="Contact")
    activity_id = path_id(request, what="Activity")
    data = (await parse_body(request, ActivityIn)).canonical()
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        row = await w.update_activity(contact_id, activity_id, data)
    return json_response(render.activity(row))


@router.delete("/contacts/{contact_id}/activities/{id}", summary="Delete a contact activity", tag="Activities")
async def delete_activity(request: web.Request) -> web.Response:
    contact_id = path_id(request, "contact_id", what="Contact")
    activity_id = path_id(request, what="Activity")
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        await w.delete_activity(contact_id, activity_id)
    return no_content()
