"""Native API: bind legacy tenants (a SupportBee company…) to this account, and register legacy token aliases."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from bridge.api.common import native_router, path_id, principal, store
from bridge.models import LegacyTenant
from bridge.render import iso
from bridge.routing import json_response, no_content, parse_body

router = native_router("Legacy compatibility")
ProviderName = Literal["supportbee"]


class TenantIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    provider: ProviderName
    name: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")


class AliasIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    provider: ProviderName
    token: str = Field(min_length=8, max_length=255)


def _tenant(row: LegacyTenant) -> dict[str, object]:
    return {"id": row.id, "provider": row.provider, "name": row.name, "created_at": iso(row.created_at)}


@router.get("/legacy_tenants", summary="List legacy tenants bound to this account", auth="admin")
async def list_tenants(request: web.Request) -> web.Response:
    async with store(request).reader() as session:
        rows = (
            await session.execute(
                select(LegacyTenant)
                .where(LegacyTenant.account_id == principal(request).account_id)
                .order_by(LegacyTenant.id)
            )
        ).scalars()
        return json_response({"payload": [_tenant(row) for row in rows]})


@router.post("/legacy_tenants", summary="Bind a legacy tenant name to this account", auth="admin", body=TenantIn)
async def bind_tenant(request: web.Request) -> web.Response:
    body = await parse_body(request, TenantIn)
    async with store(request).writer(principal(request).account_id) as w:
        row = await w.bind_tenant(body.provider, body.name)
    return json_response(_tenant(row), status=201)


@router.delete("/legacy_tenants/{id}", summary="Unbind a legacy tenant", auth="admin")
async def unbind_tenant(request: web.Request) -> web.Response:
    tenant_id = path_id(request, what="Legacy tenant")
    async with store(request).writer(principal(request).account_id) as w:
        await w.unbind_tenant(tenant_id)
    return no_content()


@router.post(
    "/agents/{id}/legacy_tokens",
    summary="Register an old client's token as an alias of this agent's credentials",
    auth="admin",
    body=AliasIn,
)
async def register_alias(request: web.Request) -> web.Response:
    user_id = path_id(request, what="Agent")
    body = await parse_body(request, AliasIn)
    async with store(request).writer(principal(request).account_id) as w:
        await w.membership(user_id)
        await w.register_alias(body.token, user_id=user_id, surface=body.provider)
    return json_response({"agent_id": user_id, "provider": body.provider}, status=201)
