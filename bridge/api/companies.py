"""Native API: companies (spec "Companies"); single companies are the bare object, as in the spec's example."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge import render
from bridge.api.common import MAX_ID, Page, escape_like, native_router, paginated_meta, path_id, principal, store
from bridge.errors import NotFound
from bridge.models import Company, Contact
from bridge.routing import json_response, no_content, parse_body, parse_query
from bridge.schemas import CompanyData

router = native_router("Companies")
PER_PAGE = 25

CompanySort = Literal["name", "domain", "created_at", "-name", "-domain", "-created_at"]


class CompanyIn(BaseModel):
    """A company's writable fields for PATCH; ``null`` clears the optional ones."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=255)
    domain: str | None = Field(default=None, max_length=255)
    description: str | None = None
    industry: str | None = Field(default=None, max_length=255)
    employee_count: int | None = Field(default=None, ge=0, le=MAX_ID)
    annual_revenue: Decimal | None = Field(
        default=None, ge=0, max_digits=20, decimal_places=2, description="Annual revenue in USD"
    )
    phone: str | None = Field(default=None, max_length=64)
    address: str | None = None
    social_links: dict[str, str] | None = Field(default=None, description="twitter, facebook, linkedin, github …")
    avatar_url: str | None = Field(default=None, max_length=2048)
    custom_attributes: dict[str, Any] | None = None

    @field_validator("name", "social_links", "custom_attributes", mode="before")
    @classmethod
    def _required_value(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value

    @field_validator("domain", "phone", "avatar_url", mode="before")
    @classmethod
    def _blank_is_null(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def canonical(self) -> CompanyData:
        return CompanyData.model_validate(self.model_dump(exclude_unset=True))


class CompanyCreate(CompanyIn):
    name: str = Field(min_length=1, max_length=255)


class CompanyQuery(Page):
    sort: CompanySort | None = Field(default=None, description="name (default), domain or created_at; -field for desc")


class CompanySearch(CompanyQuery):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    q: str = Field(min_length=1, max_length=255, description="Text found in the name or domain")


def _contacts_count() -> Any:
    return select(func.count(Contact.id)).where(Contact.company_id == Company.id).correlate(Company).scalar_subquery()


def _order(sort: str | None) -> list[Any]:
    field = (sort or "name").removeprefix("-")
    columns: dict[str, Any] = {
        "name": func.lower(Company.name),
        "domain": func.lower(Company.domain),
        "created_at": Company.created_at,
    }
    column = columns[field]
    if (sort or "").startswith("-"):
        return [column.desc().nulls_last(), Company.id.desc()]
    return [column.asc().nulls_last(), Company.id.asc()]


async def _company_page(request: web.Request, query: CompanyQuery, *conditions: ColumnElement[bool]) -> web.Response:
    where = and_(Company.account_id == principal(request).account_id, *conditions)
    async with store(request).reader() as session:
        count = (await session.execute(select(func.count()).select_from(Company).where(where))).scalar_one()
        rows = (
            await session.execute(
                select(Company, _contacts_count())
                .where(where)
                .order_by(*_order(query.sort))
                .limit(PER_PAGE)
                .offset((query.page - 1) * PER_PAGE)
            )
        ).all()
    return json_response(
        {
            "meta": paginated_meta(int(count), query.page, PER_PAGE),
            "payload": [render.company(row, contacts_count=int(n)) for row, n in rows],
        }
    )


async def _company(session: AsyncSession, account_id: int, company_id: int) -> dict[str, Any]:
    """Render one company with its contact count, or 404."""
    found = (
        await session.execute(
            select(Company, _contacts_count()).where(Company.id == company_id, Company.account_id == account_id)
        )
    ).first()
    if found is None:
        raise NotFound("Company not found", field="id")
    return render.company(found[0], contacts_count=int(found[1]))


async def _company_payload(request: web.Request, company_id: int) -> dict[str, Any]:
    async with store(request).reader() as session:
        return await _company(session, principal(request).account_id, company_id)


@router.get("/companies", summary="List companies (25 per page)", query=CompanyQuery)
async def list_companies(request: web.Request) -> web.Response:
    return await _company_page(request, parse_query(request, CompanyQuery))


# Registered before /companies/{id} so that "search" is not taken for an id.
@router.get("/companies/search", summary="Search companies by name or domain", query=CompanySearch)
async def search_companies(request: web.Request) -> web.Response:
    query = parse_query(request, CompanySearch)
    pattern = f"%{escape_like(query.q.lower())}%"
    matches = or_(
        func.lower(Company.name).like(pattern, escape="\\"), func.lower(Company.domain).like(pattern, escape="\\")
    )
    return await _company_page(request, query, matches)


@router.get("/companies/{id}", summary="Get a company with its linked contacts")
async def get_company(request: web.Request) -> web.Response:
    company_id = path_id(request, what="Company")
    account_id = principal(request).account_id
    async with store(request).reader() as session:
        payload = await _company(session, account_id, company_id)
        contacts = (
            (
                await session.execute(
                    select(Contact)
                    .where(Contact.account_id == account_id, Contact.company_id == company_id)
                    .order_by(func.lower(Contact.name).asc().nulls_last(), Contact.id)
                )
            )
            .scalars()
            .all()
        )
    payload["contacts"] = [render.contact(row) for row in contacts]
    return json_response(payload)


@router.post("/companies", summary="Create a company", body=CompanyCreate)
async def create_company(request: web.Request) -> web.Response:
    data = (await parse_body(request, CompanyCreate)).canonical()
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        row = await w.create_company(data)
    return json_response(render.company(row, contacts_count=0))


@router.patch("/companies/{id}", summary="Update a company (partial)", body=CompanyIn)
async def update_company(request: web.Request) -> web.Response:
    company_id = path_id(request, what="Company")
    data = (await parse_body(request, CompanyIn)).canonical()
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        await w.update_company(company_id, data)
    return json_response(await _company_payload(request, company_id))


@router.delete("/companies/{id}", summary="Delete a company; its contacts are unlinked, not deleted", auth="admin")
async def delete_company(request: web.Request) -> web.Response:
    company_id = path_id(request, what="Company")
    me = principal(request)
    async with store(request).writer(me.account_id, actor_user_id=me.user_id) as w:
        await w.delete_company(company_id)
    return no_content()
