"""Writes that tie legacy systems to the model: tenant bindings and legacy token aliases."""

from __future__ import annotations

import re

from sqlalchemy import select

from bridge.auth import hash_token
from bridge.errors import Unprocessable
from bridge.models import AccessToken, LegacyTenant
from bridge.store.core import WriterBase

_TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class LegacyWrites(WriterBase):
    async def bind_tenant(self, provider: str, name: str) -> LegacyTenant:
        """Bind a legacy tenant name (e.g. a SupportBee company) to this account; names are unique per provider."""
        name = name.strip().lower()
        if not _TENANT_NAME.match(name):
            raise Unprocessable("must be a subdomain-like name (letters, digits, hyphens)", field="name")
        existing = (
            await self.session.execute(
                select(LegacyTenant).where(LegacyTenant.provider == provider, LegacyTenant.name == name)
            )
        ).scalar_one_or_none()
        if existing is not None:
            if existing.account_id != self.account_id:
                raise Unprocessable("is already bound to another account", field="name", code="taken")
            return existing
        return await self.insert_row(
            LegacyTenant,
            {"account_id": self.account_id, "provider": provider, "name": name, "created_at": self.stamp(None)},
            unique_field="name",
        )

    async def unbind_tenant(self, tenant_id: int) -> None:
        await self.delete_row(LegacyTenant, tenant_id)

    async def register_alias(self, token: str, *, user_id: int, surface: str) -> None:
        """Register a legacy client's token as an alias of an agent's credentials on one surface (hashed)."""
        await self.require_agents([user_id], field="user_id")
        digest = hash_token(token)
        existing = (
            await self.session.execute(select(AccessToken).where(AccessToken.token_hash == digest))
        ).scalar_one_or_none()
        if existing is not None:
            if existing.owner_type == "user" and existing.owner_id == user_id and existing.surface == surface:
                return
            raise Unprocessable("is already registered", field="token", code="taken")
        await self.insert_row(
            AccessToken,
            {
                "token_hash": digest,
                "owner_type": "user",
                "owner_id": user_id,
                "surface": surface,
                "name": f"{surface} alias",
            },
            unique_field="token",
        )
