"""Helpers every native route uses: the caller, the account, ids from the path, pagination."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bridge import appkeys
from bridge.auth import Principal
from bridge.errors import NotFound
from bridge.routing import Router
from bridge.store import Store

ACCOUNT = "/api/v1/accounts/{account_id}"


def native_router(tag: str) -> Router:
    return Router("native", tag, prefix=ACCOUNT)


def principal(request: web.Request) -> Principal:
    return request[appkeys.PRINCIPAL]


def store(request: web.Request) -> Store:
    return request.app[appkeys.STORE]


def base_url(request: web.Request) -> str:
    settings = request.app[appkeys.SETTINGS]
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"{request.scheme}://{request.host}"


# Ids are 32-bit on PostgreSQL; larger numbers can name no row and never reach the database.
MAX_ID = 2**31 - 1


def path_id(request: web.Request, name: str = "id", *, what: str = "Resource") -> int:
    """Read an integer id from the path; anything else is simply not found."""
    raw = request.match_info.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > MAX_ID:
        raise NotFound(f"{what} not found", field=name)
    return int(raw)


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so the user's text matches literally (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: int = Field(default=1, ge=1, le=1_000_000)


def paginated_meta(count: int, page: int, per_page: int) -> dict[str, Any]:
    return {"count": count, "current_page": page, "per_page": per_page, "total_pages": -(-count // per_page)}
