"""Native API: the account itself (spec section "Account")."""

from __future__ import annotations

from aiohttp import web

from bridge import render
from bridge.api.common import native_router, principal, store
from bridge.models import Account
from bridge.routing import json_response, parse_body
from bridge.schemas import AccountData

router = native_router("Account")


@router.get("", summary="Get account details")
async def get_account(request: web.Request) -> web.Response:
    me = principal(request)
    async with store(request).reader() as session:
        row = await session.get(Account, me.account_id)
    assert row is not None
    return json_response(render.account(row, role=me.role))


@router.patch("", summary="Update account settings", auth="admin", body=AccountData)
async def update_account(request: web.Request) -> web.Response:
    data = await parse_body(request, AccountData)
    me = principal(request)
    async with store(request).writer(me.account_id) as w:
        row = await w.update_account(data)
    return json_response(render.account(row, role=me.role))
