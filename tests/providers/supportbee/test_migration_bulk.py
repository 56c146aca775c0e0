"""The set-based ticket load writes exactly what the record-by-record load writes.

A page of new tickets is inserted with a few statements (``SupportBeeSource.load_batch``); anything it cannot
take goes record by record, and if it fails the engine loads the page again record by record. This imports the
fixture server's generated desk (``fixtures.supportbee.server.generate_desk``: attachments, spam and trash,
archived, cc, labels, assignees, comments) both ways into two accounts and compares what an old client sees
through the SupportBee compat routes, ticket by ticket, including the attachment bytes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from bridge.migration import sources
from bridge.migration.engine import EVENT_BATCH_FALLBACK
from bridge.migration.source import BatchResult, Record, RunOptions
from bridge.settings import Settings
from bridge.store import Writer
from fixtures.supportbee.server import DEFAULT_TOKEN, SupportBeeFixture
from providers.supportbee import migration
from tests.conftest import Tenant
from tests.providers.supportbee.conftest import SBDesk, bind

TERMINAL = {"completed", "failed", "cancelled"}


class RecordByRecord(migration.SupportBeeSource):
    """The same source without its set-based path."""

    async def load_batch(
        self, writer: Writer, records: Sequence[Record], *, options: RunOptions
    ) -> Sequence[BatchResult] | None:
        return None


class BrokenBulk(migration.SupportBeeSource):
    """A set-based path that writes half a page and then fails: the engine must undo it and go record by record."""

    async def load_batch(
        self, writer: Writer, records: Sequence[Record], *, options: RunOptions
    ) -> Sequence[BatchResult] | None:
        if records and records[0].kind == "conversation":
            await super().load_batch(writer, records[: len(records) // 2], options=options)
            raise RuntimeError("the set-based path broke half way")
        return None


def variant(cls: type[migration.SupportBeeSource]) -> sources.SourceFactory:
    def make(http: aiohttp.ClientSession, credentials: Mapping[str, Any], settings: Settings) -> Any:
        made = migration.make_source(http, credentials, settings)
        return cls(made.client, auth_token=str(credentials["auth_token"]))

    return make


def read_in_a_process(http: aiohttp.ClientSession, credentials: Mapping[str, Any], settings: Settings) -> Any:
    """The same source, reading and mapping the tickets in a reader process (``bridge.migration.offload``)."""
    made = migration.make_source(http, credentials, settings.model_copy(update={"migration_reader": "process"}))
    assert made.reader == "process"
    return made


@pytest.fixture
def restore_sources() -> Iterator[None]:
    yield
    sources.unregister("supportbee")


async def import_desk(tenant: Tenant, url: str) -> dict[str, Any]:
    body = {"source": "supportbee", "credentials": {"base_url": url, "auth_token": DEFAULT_TOKEN}}
    _, job = await tenant.call("POST", "/data_migrations", json=body, expect=201)
    for _ in range(1200):
        _, data = await tenant.call("GET", f"/data_migrations/{job['id']}", expect=200)
        if data["status"] in TERMINAL:
            assert data["status"] == "completed", data
            return dict(data)
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job['id']} did not finish")


def _strip(value: Any) -> Any:
    """Drop what differs between two accounts by construction: attachment URLs carry the account's file ids."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in {"url", "thumb_url"}}
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


async def seen_by_old_client(desk: SBDesk, ticket_ids: list[int]) -> dict[int, Any]:
    shown: dict[int, Any] = {}
    for ticket_id in ticket_ids:
        _, ticket = await desk.call("GET", f"/tickets/{ticket_id}", expect=200)
        _, replies = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
        _, comments = await desk.call("GET", f"/tickets/{ticket_id}/comments", expect=200)
        files = []
        for item in [ticket["ticket"], *replies["replies"], *comments["comments"]]:
            for attachment in item["content"]["attachments"]:
                status, _ = await desk.call("GET", _path(attachment["url"]["original"], desk), expect=None)
                files.append((attachment["filename"], status))
        shown[ticket_id] = _strip({"ticket": ticket, "replies": replies, "comments": comments, "files": files})
    return shown


def _people(listing: dict[str, Any], tenant: Tenant) -> list[tuple[Any, ...]]:
    return sorted(
        (user["id"], user["email"], user["name"], user["role"])
        for user in listing["users"]
        if not str(user["email"]).startswith("admin-")
    )


async def _agents(tenant: Tenant) -> list[tuple[Any, ...]]:
    _, agents = await tenant.call("GET", "/agents", expect=200)
    return sorted((a["email"], a["name"], a["role"]) for a in agents if a["id"] != tenant.user_id)


async def _contacts(tenant: Tenant) -> list[tuple[Any, ...]]:
    _, found = await tenant.call("GET", "/contacts", params={"per_page": "100"}, expect=200)
    assert found["meta"]["count"] == len(found["payload"]), "one page holds them all"
    return sorted(
        (c["email"], c["name"], repr(c["additional_attributes"]), c.get("company_id") is not None)
        for c in found["payload"]
    )


def _path(url: str, desk: SBDesk) -> str:
    return url.split(f"/supportbee/{desk.company}", 1)[-1]


@pytest.mark.parametrize(
    ("slow", "falls_back"),
    [(variant(RecordByRecord), False), (variant(BrokenBulk), True), (read_in_a_process, False)],
    ids=["record_by_record", "bulk_fails_half_way", "reader_process"],
)
async def test_bulk_load_equals_record_by_record_load(
    tenant: Tenant, other: Tenant, slow: sources.SourceFactory, falls_back: bool, restore_sources: None
) -> None:
    """Also: tickets read and mapped in a reader process import exactly as those read in the importing one."""
    fixture = SupportBeeFixture(tickets=24)
    ticket_ids = [t.id for t in fixture.desk.tickets]
    bulk_desk, slow_desk = await bind(tenant), await bind(other)
    async with fixture.serve() as url:
        bulk = await import_desk(tenant, url)
        sources.register("supportbee", slow)
        with capture_logs() as logs:
            record = await import_desk(other, url)
    assert bulk["stats"] == record["stats"]
    assert bulk["stats"]["tickets"]["created"] == len(ticket_ids)
    fell_back = [entry for entry in logs if entry["event"] == EVENT_BATCH_FALLBACK]
    assert bool(fell_back) == falls_back
    people = {"with_roles": "admin,agent,collaborator,customer", "with_invited": "true", "per_page": "99"}
    _, bulk_people = await bulk_desk.call("GET", "/users", params=people, expect=200)
    _, slow_people = await slow_desk.call("GET", "/users", params=people, expect=200)
    # The accounts' own admins differ (and are the only ones without a SupportBee id).
    assert _people(bulk_people, tenant) == _people(slow_people, other)
    # Placeholders (deactivated) are not listed to old clients; the native API shows every agent.
    assert await _agents(tenant) == await _agents(other)
    assert await _contacts(tenant) == await _contacts(other)
    expected = await seen_by_old_client(slow_desk, ticket_ids)
    got = await seen_by_old_client(bulk_desk, ticket_ids)
    for ticket_id in ticket_ids:
        assert got[ticket_id] == expected[ticket_id], (ticket_id, _diff(got[ticket_id], expected[ticket_id]))
    assert any(files for shown in got.values() for files in [shown["files"]]), "the desk must carry attachments"
    assert all(status == 200 for shown in got.values() for _, status in shown["files"])
    # Old clients stored SupportBee's attachment ids: they are what the ticket shows.
    shown_ids = {
        attachment["id"]
        for shown in got.values()
        for item in [shown["ticket"]["ticket"], *shown["replies"]["replies"], *shown["comments"]["comments"]]
        for attachment in item["content"]["attachments"]
    }
    assert shown_ids == set(fixture.desk.attachments)


def _diff(got: Any, expected: Any, path: str = "") -> list[str]:
    """Where two read-backs differ, as paths (for the assertion message)."""
    if isinstance(got, dict) and isinstance(expected, dict):
        return [d for key in sorted({*got, *expected}) for d in _diff(got.get(key), expected.get(key), f"{path}.{key}")]
    if isinstance(got, list) and isinstance(expected, list) and len(got) == len(expected):
        return [d for n, (a, b) in enumerate(zip(got, expected, strict=True)) for d in _diff(a, b, f"{path}[{n}]")]
    return [] if got == expected else [f"{path}: {got!r} != {expected!r}"]


async def test_a_customer_renamed_at_the_source_is_updated_and_one_sharing_an_address_shares_the_contact(
    tenant: Tenant,
) -> None:
    """Customers a page cannot insert set-based (already imported but changed; an address another contact of the
    account already has) go one by one: the renamed one is updated in place, the other shares the contact."""
    fixture = SupportBeeFixture(tickets=6)
    customers = sorted(p.id for p in fixture.desk.people.values() if p.role == "customer" and p.type == "user")
    renamed, twin = customers[0], customers[1]
    existing = f"twin-{uuid.uuid4().hex[:8]}@example.com"
    fixture.desk.people[twin].email = existing
    await tenant.call("POST", "/contacts", json={"name": "Already here", "email": existing}, expect=200)
    async with fixture.serve() as url:
        first = await import_desk(tenant, url)
        fixture.desk.people[renamed].first_name = "Renamed"
        second = await import_desk(tenant, url)
    assert second["stats"]["agents"]["updated"] == 1, second["stats"]["agents"]
    assert second["stats"]["agents"]["created"] == 0
    _, found = await tenant.call("GET", "/contacts/search", params={"q": "Renamed"}, expect=200)
    assert [c["name"] for c in found["payload"]] == [f"Renamed {fixture.desk.people[renamed].last_name}".strip()]
    _, shared = await tenant.call("GET", "/contacts/search", params={"q": existing}, expect=200)
    assert len(shared["payload"]) == 1, "the customer with an address already in the account shares its contact"
    assert first["stats"]["agents"]["failed"] == 0
