"""SupportBee's auth dialect: ``auth_token`` in the query string, the JSON body or a form field.

A company (the desk's subdomain) is a legacy tenant bound to a Supportly account; it is read from the path
prefix ``/supportbee/{company}`` or from the Host ``{company}.<SUPPORTBEE_HOST_SUFFIX>``. The token is an
agent's Supportly API token or a registered alias of it (an old client's SupportBee ``auth_token``).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy import select

from bridge import appkeys
from bridge.auth import hash_token
from bridge.errors import Forbidden, NotFound, Unauthorized
from bridge.models import AccessToken, AccountUser, LegacyTenant
from bridge.routing import Endpoint

SURFACE = "supportbee"
CONTEXT: web.RequestKey[Desk] = web.RequestKey("supportbee_context")


@dataclass(frozen=True, slots=True)
class Desk:
    """The SupportBee company a request addresses, and who is calling (None when anonymous)."""

    company: str
    account_id: int
    user_id: int | None
    role: str | None
    token_hash: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "administrator"

    def require_user(self) -> int:
        if self.user_id is None:
            raise Unauthorized("You need to provide a valid auth_token")
        return self.user_id


def company_of(request: web.Request) -> str:
    """Read the company from the path prefix, or from the Host's subdomain."""
    company = request.match_info.get("company")
    if company:
        return company.lower()
    suffix = request.config_dict[appkeys.SETTINGS].supportbee_host_suffix.lower()
    host = (request.host or "").split(":", 1)[0].lower()
    if suffix and host.endswith("." + suffix):
        return host[: -len(suffix) - 1]
    raise NotFound("Company not found")


async def token_of(request: web.Request) -> str | None:
    """Find ``auth_token`` in the query, then in a JSON or form body."""
    token = request.query.get("auth_token")
    if token:
        return token.strip()
    for query_value in request.query.values():
        # Clients append "?auth_token=…" to URLs we gave them, even ones that already have a query
        # (``…/attachments/2?version=thumb?auth_token=…``).
        if "?auth_token=" in query_value:
            return query_value.split("?auth_token=", 1)[1].split("&", 1)[0].strip() or None
    if request.method in {"POST", "PUT", "PATCH", "DELETE"} and request.body_exists:
        if request.content_type == "application/json":
            try:
                body = orjson.loads(await request.read() or b"{}")
            except orjson.JSONDecodeError:
                return None
            value = body.get("auth_token") if isinstance(body, dict) else None
            return value.strip() if isinstance(value, str) and value.strip() else None
        if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            value = form.get("auth_token")
            return value.strip() if isinstance(value, str) and value.strip() else None
    return None


async def resolve_desk(request: web.Request, endpoint: Endpoint) -> Desk:
    """Resolve company and caller; anonymous callers only reach public endpoints."""
    company = company_of(request)
    store = request.config_dict[appkeys.STORE]
    token = await token_of(request)
    async with store.reader() as session:
        account_id = (
            await session.execute(
                select(LegacyTenant.account_id).where(LegacyTenant.provider == SURFACE, LegacyTenant.name == company)
            )
        ).scalar_one_or_none()
        if account_id is None:
            raise NotFound(f"Company {company!r} not found")
        if token is None:
            if endpoint.auth == "public":
                return Desk(company, account_id, None, None, None)
            raise Unauthorized("You need to provide a valid auth_token")
        digest = hash_token(token)
        found = (
            await session.execute(
                select(AccountUser.user_id, AccountUser.role)
                .join(AccessToken, AccessToken.owner_id == AccountUser.user_id)
                .where(
                    AccessToken.token_hash == digest,
                    AccessToken.owner_type == "user",
                    (AccessToken.surface.is_(None)) | (AccessToken.surface == SURFACE),
                    AccountUser.account_id == account_id,
                    AccountUser.active.is_(True),
                )
            )
        ).first()
    if found is None:
        raise Unauthorized("Invalid auth_token")
    user_id, role = found
    if endpoint.auth == "admin" and role != "administrator":
        raise Forbidden("Access denied: only admins can do this")
    return Desk(company, account_id, user_id, role, digest)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the resolved :class:`Desk` to every SupportBee request."""
    match_info = request.match_info
    endpoint = None if match_info.http_exception else request.config_dict[appkeys.ENDPOINTS].get(match_info.handler)
    if endpoint is None or endpoint.surface != SURFACE:
        return await handler(request)
    request[CONTEXT] = await resolve_desk(request, endpoint)
    return await handler(request)


def desk(request: web.Request) -> Desk:
    return request[CONTEXT]
