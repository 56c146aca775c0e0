"""An in-memory legacy desk of contacts that follows the engine ⇄ source contract (``bridge.migration.source``)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from sqlalchemy import select

from bridge.migration.source import Batch, LoadResult, Record, RefLookup, RunOptions, SkipRecord
from bridge.models import ExternalRef
from bridge.outbound import FatalSourceError
from bridge.schemas import ContactData
from bridge.settings import Settings
from bridge.store import Writer

GOOD_TOKEN = "fake-token-s3cr3t-value"


class FakeSource:
    """People first, then "notes"; ``crash_after`` raises after that many batches (a crash mid-phase)."""

    name = "fake"
    phases: Sequence[str] = ("contacts", "notes")

    def __init__(
        self,
        contacts: list[dict[str, Any]],
        *,
        token: str = GOOD_TOKEN,
        batch_size: int = 2,
        crash_after: int | None = None,
        on_load: Callable[[Record], None] | None = None,
        gate: asyncio.Event | None = None,
        between_batches: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.contacts = contacts
        self.token = token
        self.batch_size = batch_size
        self.crash_after = crash_after
        self.on_load = on_load
        self.gate = gate
        self.between_batches = between_batches
        self.batches_served = 0
        self.loads: list[str] = []

    async def verify(self) -> None:
        if self.token != GOOD_TOKEN:
            raise FatalSourceError("the token was refused (401)", status=401)

    async def estimate(self, options: RunOptions) -> Mapping[str, int]:
        return {"contacts": len(self._selected(options)), "notes": 0}

    def _selected(self, options: RunOptions) -> list[dict[str, Any]]:
        rows = self.contacts
        if options.sample is not None:
            rows = rows[: options.sample]
        return rows

    async def batches(
        self, phase: str, *, cursor: Mapping[str, Any] | None, options: RunOptions, lookup: RefLookup
    ) -> AsyncIterator[Batch]:
        if phase != "contacts":
            return
        rows = self._selected(options)
        offset = int(cursor["offset"]) if cursor else 0
        while offset < len(rows):
            if offset and self.between_batches is not None:
                await self.between_batches()
            if self.crash_after is not None and self.batches_served >= self.crash_after:
                raise RuntimeError("the source connection dropped")
            chunk = rows[offset : offset + self.batch_size]
            offset += len(chunk)
            self.batches_served += 1
            yield Batch(
                phase=phase,
                records=[Record(kind="contact", external_id=str(row["id"]), payload=row) for row in chunk],
                cursor={"offset": offset},
            )

    async def load(self, writer: Writer, record: Record, *, options: RunOptions) -> LoadResult:
        if self.gate is not None:
            await self.gate.wait()
        if self.on_load is not None:
            self.on_load(record)
        self.loads.append(record.external_id)
        row = record.payload
        if row.get("skip"):
            raise SkipRecord("the contact has no name nor email")
        if row.get("bad"):
            raise ValueError("unexpected shape: phone is a list")
        data = ContactData(name=row["name"], email=row["email"])
        fingerprint = hashlib.sha256(f"{row['name']}|{row['email']}".encode()).hexdigest()
        existing = await writer.external_ref("fake", "contact", record.external_id)
        lossy = ["custom field 'shoe size' has no place"] if row.get("lossy") else []
        if existing is None:
            contact = await writer.create_contact(data)
            if row.get("half"):
                raise RuntimeError("the source died after the contact was written")
            await writer.record_external_ref("fake", "contact", record.external_id, contact.id, fingerprint=fingerprint)
            return LoadResult(outcome="created", lossy=lossy)
        current = (
            await writer.session.execute(
                select(ExternalRef.fingerprint).where(
                    ExternalRef.account_id == writer.account_id,
                    ExternalRef.provider == "fake",
                    ExternalRef.kind == "contact",
                    ExternalRef.external_id == record.external_id,
                )
            )
        ).scalar_one()
        if current == fingerprint:
            return LoadResult(outcome="unchanged")
        await writer.update_contact(existing, data)
        await writer.record_external_ref("fake", "contact", record.external_id, existing, fingerprint=fingerprint)
        return LoadResult(outcome="updated", lossy=lossy)


def factory_for(make: Callable[[Mapping[str, Any]], FakeSource]) -> Callable[..., FakeSource]:
    """Adapt a builder to the registry's ``(http, credentials, settings)`` factory signature."""

    def build(http: aiohttp.ClientSession, credentials: Mapping[str, Any], settings: Settings) -> FakeSource:
        if "token" not in credentials:
            raise ValueError("credentials need a token")
        return make(credentials)

    return build
