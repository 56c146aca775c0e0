"""End to end: a SupportBee desk (the local fixture server) imported through ``POST …/data_migrations`` reads back
through the SupportBee compat routes ticket for ticket, at the ticket ids its old clients stored; a re-run
changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp

from fixtures.supportbee.server import DEFAULT_TOKEN, SupportBeeFixture
from tests.conftest import Tenant
from tests.providers.supportbee.conftest import bind

TERMINAL = {"completed", "failed", "cancelled"}


async def _wait(tenant: Tenant, job_id: int) -> dict[str, Any]:
    for _ in range(1200):
        _, data = await tenant.call("GET", f"/data_migrations/{job_id}", expect=200)
        if data["status"] in TERMINAL:
            return dict(data)
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {data}")


async def _source(http: aiohttp.ClientSession, url: str, path: str) -> Any:
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    async with http.get(f"{url}{path}", params={"auth_token": DEFAULT_TOKEN}, headers=headers) as response:
        assert response.status == 200, path
        return await response.json()


def _posts(items: list[dict[str, Any]], author: str) -> list[tuple[Any, ...]]:
    return [(item["created_at"], item[author]["email"], item["content"]["text"]) for item in items]


async def test_imported_desk_reads_back_ticket_for_ticket(tenant: Tenant) -> None:
    fixture = SupportBeeFixture(tickets=8)
    desk = await bind(tenant)
    async with fixture.serve() as url, aiohttp.ClientSession() as http:
        body = {"source": "supportbee", "credentials": {"base_url": url, "auth_token": DEFAULT_TOKEN}}
        _, job = await tenant.call("POST", "/data_migrations", json=body, expect=201)
        done = await _wait(tenant, job["id"])
        assert done["status"] == "completed", done
        assert done["records_imported"] == done["total_records"]

        listing = await _source(http, url, "/tickets?archived=any&per_page=99")
        spam = await _source(http, url, "/tickets?spam=true&per_page=99")
        trash = await _source(http, url, "/tickets?trash=true&per_page=99")
        source_tickets = {t["id"]: t for t in [*listing["tickets"], *spam["tickets"], *trash["tickets"]]}
        assert source_tickets
        for ticket_id, original in source_tickets.items():
            _, shown = await desk.call("GET", f"/tickets/{ticket_id}", expect=200)
            ticket = shown["ticket"]
            assert ticket["id"] == ticket_id
            for key in ("subject", "archived", "spam", "created_at"):
                assert ticket[key] == original[key], (ticket_id, key)
            assert ticket["requester"]["email"] == original["requester"]["email"]
            assert sorted(label["name"] for label in ticket["labels"]) == sorted(
                label["name"] for label in original["labels"]
            )
            assert ticket["content"]["text"] == original["content"]["text"]
            replies = (await _source(http, url, f"/tickets/{ticket_id}/replies"))["replies"]
            comments = (await _source(http, url, f"/tickets/{ticket_id}/comments"))["comments"]
            _, shown_replies = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
            _, shown_comments = await desk.call("GET", f"/tickets/{ticket_id}/comments", expect=200)
            assert _posts(shown_replies["replies"], "replier") == _posts(replies, "replier"), ticket_id
            assert _posts(shown_comments["comments"], "commenter") == _posts(comments, "commenter"), ticket_id

        _, rerun = await tenant.call("POST", "/data_migrations", json=body, expect=201)
        again = await _wait(tenant, rerun["id"])
        assert again["status"] == "completed", again
        for phase, counts in again["stats"].items():
            assert counts["created"] == 0, (phase, counts)
            assert counts["updated"] == 0, (phase, counts)


async def test_the_old_token_keeps_working_and_its_owner_keeps_their_stars(tenant: Tenant) -> None:
    """The desk's token belongs to an agent (found through ``assigned_user=me``): after the import the same token
    works against the bridge as that agent, and the tickets they starred are starred for them."""
    token = f"sb-{uuid.uuid4().hex}"
    fixture = SupportBeeFixture(tickets=12, auth_token=token)
    desk = await bind(tenant)
    async with fixture.serve() as url:
        body = {"source": "supportbee", "credentials": {"base_url": url, "auth_token": token}}
        _, job = await tenant.call("POST", "/data_migrations", json=body, expect=201)
        done = await _wait(tenant, job["id"])
    assert done["status"] == "completed", done
    starred = {t.id for t in fixture.desk.tickets if t.starred}
    assert starred
    assert starred != {t.id for t in fixture.desk.tickets}
    for ticket in fixture.desk.tickets:
        _, shown = await desk.call("GET", f"/tickets/{ticket.id}", token=token, expect=200)
        assert shown["ticket"]["starred"] is ticket.starred, ticket.id
    async with tenant.client.get(
        tenant.url(f"/data_migrations/{job['id']}/failures"), headers=tenant.headers
    ) as response:
        report = await response.text()
    assert "star is dropped" not in report
