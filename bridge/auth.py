"""Who is calling: API tokens (stored as SHA-256 digests) resolved to an account member."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.models import AccessToken, AccountUser, PlatformAppPermissible

TOKEN_BYTES = 24


def new_token() -> str:
    """Return a fresh random API token (shown once, never stored)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller acting in one account."""

    account_id: int
    owner_type: str  # "user" or "platform_app"
    owner_id: int
    role: str  # "administrator" or "agent"
    token_hash: str

    @property
    def user_id(self) -> int | None:
        return self.owner_id if self.owner_type == "user" else None

    @property
    def is_admin(self) -> bool:
        return self.role == "administrator"


def token_from_request(request: web.Request) -> str | None:
    """Read the token from ``api_access_token`` or ``Authorization: Bearer``."""
    token = request.headers.get("api_access_token") or request.headers.get("api-access-token")
    if token:
        return token.strip()
    authorization = request.headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def token_owner(session: AsyncSession, token: str) -> AccessToken | None:
    """Return the stored token row for ``token``, if any."""
    result = await session.execute(
        select(AccessToken).where(AccessToken.token_hash == hash_token(token), AccessToken.surface.is_(None))
    )
    return result.scalar_one_or_none()


async def principal_for(session: AsyncSession, token: str, account_id: int) -> Principal | bool | None:
    """Resolve ``token`` in ``account_id``: a Principal, False for an unknown token, None for no access.

    One query on the hot path: the token joined with the caller's membership (or platform-app permission).
    """
    digest = hash_token(token)
    found = (
        await session.execute(
            select(AccessToken.owner_type, AccessToken.owner_id, AccountUser.role, PlatformAppPermissible.account_id)
            .outerjoin(
                AccountUser,
                (AccessToken.owner_type == "user")
                & (AccountUser.user_id == AccessToken.owner_id)
                & (AccountUser.account_id == account_id)
                & AccountUser.active.is_(True),
            )
            .outerjoin(
                PlatformAppPermissible,
                (AccessToken.owner_type == "platform_app")
                & (PlatformAppPermissible.platform_app_id == AccessToken.owner_id)
                & (PlatformAppPermissible.account_id == account_id),
            )
            .where(AccessToken.token_hash == digest, AccessToken.surface.is_(None))
        )
    ).first()
    if found is None:
        return False
    owner_type, owner_id, role, permitted = found
    if owner_type == "user" and role is not None:
        return Principal(account_id, "user", owner_id, role, digest)
    if owner_type == "platform_app" and permitted is not None:
        return Principal(account_id, "platform_app", owner_id, "administrator", digest)
    return None
