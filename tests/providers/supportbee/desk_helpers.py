"""Helpers for the SupportBee desk tests: the spec's example files and a few objects made through the store."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from bridge.models import ExternalRef, User
from bridge.schemas import CompanyData, ConversationData, MessageData, TeamData
from tests.providers.supportbee.conftest import SBDesk

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "supportbee"


def spec(name: str) -> Any:
    """One example of the spec, as ``fixtures/supportbee/<name>.json`` holds it."""
    return json.loads((FIXTURES / f"{name}.json").read_text())


def keys(value: Any) -> set[str]:
    assert isinstance(value, dict), value
    return set(value)


async def team(desk: SBDesk, name: str, members: list[int] | None = None) -> int:
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        row = await w.create_team(TeamData(name=name))
        if members:
            await w.set_team_members(row.id, members, mode="add")
    return row.id


async def company(desk: SBDesk, name: str, domain: str | None = None) -> int:
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        row = await w.create_company(CompanyData(name=name, domain=domain))
    return row.id


async def contact(desk: SBDesk, name: str = "Jane Customer", **fields: Any) -> int:
    fields.setdefault("email", f"{uuid.uuid4().hex[:10]}@customer.example")
    return await desk.tenant.contact(name=name, **fields)


async def ticket(
    desk: SBDesk,
    contact_id: int,
    *,
    created_at: dt.datetime | None = None,
    replies: Sequence[tuple[dt.datetime, int]] = (),
    **fields: Any,
) -> int:
    """A conversation written in import mode (original times); ``replies`` are (time, agent id) public replies."""
    inbox_id = await desk.tenant.inbox()
    created_at = created_at or dt.datetime.now(dt.UTC)
    async with desk.tenant.store.writer(desk.tenant.account_id, import_mode=True) as w:
        row = await w.create_conversation(
            ConversationData(inbox_id=inbox_id, contact_id=contact_id, created_at=created_at, **fields)
        )
        await w.create_message(
            row,
            MessageData(
                content="Help please",
                message_type="incoming",
                sender_type="contact",
                sender_id=contact_id,
                created_at=created_at,
            ),
        )
        for at, agent_id in replies:
            await w.create_message(
                row,
                MessageData(
                    content="On it", message_type="outgoing", sender_type="agent", sender_id=agent_id, created_at=at
                ),
            )
    return row.id


async def legacy_ref(
    desk: SBDesk, kind: str, external_id: str, internal_id: int, kept: dict[str, Any] | None = None
) -> None:
    """Record a SupportBee id as an import would."""
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        await w.record_external_ref("supportbee", kind, external_id, internal_id, kept=kept)


async def kept_of(desk: SBDesk, kind: str, internal_id: int) -> dict[str, Any] | None:
    async with desk.tenant.store.reader() as session:
        return (
            await session.execute(
                select(ExternalRef.kept).where(
                    ExternalRef.account_id == desk.tenant.account_id,
                    ExternalRef.provider == "supportbee",
                    ExternalRef.kind == kind,
                    ExternalRef.internal_id == internal_id,
                )
            )
        ).scalar_one_or_none()


async def unconfirm(desk: SBDesk, user_id: int) -> None:
    """Make an agent an invited one who has not confirmed yet."""
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        await w.session.execute(update(User).where(User.id == user_id).values(confirmed=False))
