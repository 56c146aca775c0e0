"""A SupportBee import as its user sees it: re-runs bring over what changed, a misbehaving desk still imports in full,
cancel stops soon and resume finishes, unlisted agents become placeholders, files that cannot be had are reported.

Every desk is the fixture server's generated one (``fixtures.supportbee.server.generate_desk``), edited inside a test
(``fixture.desk``) to simulate what agents and customers do at the source meanwhile, with the server's ``Faults`` for
rate limits, errors, slowness and deleted tickets. Jobs go through ``POST …/data_migrations`` and what they wrote is
read back through the SupportBee compat routes (what an old client sees) and the native API.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge import appkeys
from bridge.migration import offload
from fixtures.supportbee.server import (
    DEFAULT_TOKEN,
    Attachment,
    Desk,
    Faults,
    Person,
    Post,
    Seen,
    SupportBeeFixture,
    Ticket,
    stamp,
)
from providers.supportbee import migration
from tests.conftest import Tenant
from tests.providers.supportbee.conftest import SBDesk, bind

READERS = [pytest.param("inline"), pytest.param("process", marks=pytest.mark.migration_reader("process"))]
"""Where the import reads and maps tickets (``MIGRATION_READER``): the tests below run both ways."""

TERMINAL = {"completed", "failed", "cancelled"}
COUNTS = ("created", "updated", "unchanged", "skipped", "failed")


# -- driving jobs -----------------------------------------------------------------------------------------------


async def start(tenant: Tenant, url: str, **options: Any) -> dict[str, Any]:
    body = {
        "source": "supportbee",
        "credentials": {"base_url": url, "auth_token": DEFAULT_TOKEN},
        "options": options,
    }
    _, job = await tenant.call("POST", "/data_migrations", json=body, expect=201)
    return dict(job)


async def wait(tenant: Tenant, job_id: int, until: set[str] = TERMINAL, seconds: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        _, data = await tenant.call("GET", f"/data_migrations/{job_id}", expect=200)
        if data["status"] in until:
            return dict(data)
        assert time.monotonic() < deadline, f"job {job_id} is still {data['status']}: {data}"
        await asyncio.sleep(0.02)


async def run(tenant: Tenant, url: str, **options: Any) -> dict[str, Any]:
    """Import the desk at ``url`` and wait for the job to complete."""
    job = await wait(tenant, (await start(tenant, url, **options))["id"])
    assert job["status"] == "completed", job
    return job


def counts(job: dict[str, Any], phase: str) -> dict[str, int]:
    return {key: job["stats"][phase][key] for key in COUNTS}


def when(text: str | None) -> datetime | None:
    """A timestamp of the API (SQLite keeps no offset: UTC is meant)."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- reading back -----------------------------------------------------------------------------------------------


async def file_bytes(desk: SBDesk, url: str) -> tuple[int, bytes]:
    """Download an attachment at the ``url.original`` the compat routes show."""
    path = url.split(f"/supportbee/{desk.company}", 1)[1]
    async with desk.client.get(desk.path(path), params={"auth_token": desk.token}) as response:
        return response.status, await response.read()


async def thread(desk: SBDesk, ticket_id: int) -> dict[str, Any]:
    """A ticket with its replies and comments as an old client reads them."""
    _, ticket = await desk.call("GET", f"/tickets/{ticket_id}", expect=200)
    _, replies = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
    _, comments = await desk.call("GET", f"/tickets/{ticket_id}/comments", expect=200)
    return {"ticket": ticket["ticket"], "replies": replies["replies"], "comments": comments["comments"]}


def _without_urls(value: Any) -> Any:
    # Attachment URLs carry the account's own file ids, which differ between two accounts by construction.
    if isinstance(value, dict):
        return {k: _without_urls(v) for k, v in value.items() if k not in {"url", "thumb_url"}}
    if isinstance(value, list):
        return [_without_urls(item) for item in value]
    return value


async def seen(desk: SBDesk, ticket_ids: list[int]) -> dict[int, Any]:
    """Everything an old client sees of these tickets, file contents included (missing tickets as ``None``)."""
    shown: dict[int, Any] = {}
    for ticket_id in ticket_ids:
        status, _ = await desk.call("GET", f"/tickets/{ticket_id}")
        if status == 404:
            shown[ticket_id] = None
            continue
        item = await thread(desk, ticket_id)
        files = []
        for message in [item["ticket"], *item["replies"], *item["comments"]]:
            for attachment in message["content"]["attachments"]:
                files.append((attachment["id"], *await file_bytes(desk, attachment["url"]["original"])))
        shown[ticket_id] = {**_without_urls(item), "files": files}
    return shown


def posts(items: list[dict[str, Any]], author: str) -> list[tuple[str, str, str, str]]:
    return [
        (item["created_at"], item[author]["email"], item[author]["name"], item["content"]["text"]) for item in items
    ]


# -- editing the desk -------------------------------------------------------------------------------------------


def after_now(minutes: int = 0) -> datetime:
    """A moment later than anything the bridge has started so far (SupportBee's times have whole seconds)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1, minutes=minutes)


def tickets_of(fixture: SupportBeeFixture) -> dict[int, Ticket]:
    return {ticket.id: ticket for ticket in fixture.desk.tickets}


# -- 1. delta ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
async def test_a_rerun_brings_over_exactly_what_changed_at_the_source(tenant: Tenant, reader: str) -> None:
    """The second run reads only tickets with activity since the first one started (the spec's ``since``): an agent
    renames a ticket and notes why, a customer answers with a file, an agent answers and archives, a new customer
    writes in. Exactly those are written; every other ticket reads back as before."""
    assert tenant.client.app[appkeys.SETTINGS].migration_reader_mode() == reader
    fixture = SupportBeeFixture(tickets=12)
    desk = await bind(tenant)
    tickets = tickets_of(fixture)
    ids = sorted(tickets)
    async with fixture.serve() as url:
        first = await run(tenant, url)
        assert first["since"] is None
        assert counts(first, "tickets")["created"] == len(ids)
        before = await seen(desk, ids)

        renamed, answered, archived = tickets[1001], tickets[1002], tickets[1004]
        assert [t.archived for t in (renamed, answered, archived)] == [False, False, False]
        assert archived.assignee_id is None  # see test_an_agent_whose_open_ticket_count_moved_is_unchanged
        renamed.subject = "Ticket 1: login works again after the password reset"
        renamed.comments.append(Post(10018, 2, "Renamed: it was the password reset", after_now()))
        screenshot = Attachment(900_001, "screenshot.png", "image/png", 2048, after_now(1))
        answered.replies.append(
            Post(10028, answered.requester_id, "Still broken, see the screenshot", after_now(1), [screenshot])
        )
        archived.replies.append(Post(10048, 3, "Fixed on our side, closing this", after_now(2)))
        archived.archived = True
        newcomer = Person(200, "newcomer@mail.example", "Nora", "Newcomer", "customer")
        fixture.desk.people[newcomer.id] = newcomer
        created = after_now(3)
        fixture.desk.tickets.append(
            Ticket(
                id=1013,
                subject="Where is my invoice?",
                requester_id=newcomer.id,
                text="Hello, I cannot find my invoice.",
                created_at=created,
                archived=False,
                spam=False,
                trash=False,
                starred=False,
                labels=["billing"],
                assignee_id=None,
                team_id=None,
                cc_ids=[],
                source_email="support@company.example",
                attachments=[],
                replies=[],
                comments=[],
            )
        )
        started = when(first["started_at"])
        assert started is not None
        surfaced = {t.id for t in fixture.desk.tickets if t.last_activity_at > started}
        assert surfaced == {1001, 1002, 1004, 1013}

        mark = len(fixture.requests)
        second = await run(tenant, url)
        assert when(second["since"]) == started  # a re-run's default: the start of the last completed run
        listed = [r for r in fixture.requests[mark:] if r.path == "/tickets" and "page" in r.query]
        assert listed
        assert all("since" in r.query for r in listed)

        assert counts(second, "tickets") == {"created": 1, "updated": 3, "unchanged": 0, "skipped": 0, "failed": 0}
        # People are listed in full every run: only the new customer is new, nobody else changed.
        assert counts(second, "agents") == {
            "created": 1,
            "updated": 0,
            "unchanged": counts(first, "agents")["created"],
            "skipped": 0,
            "failed": 0,
        }
        for phase in ("teams", "labels", "canned_responses", "inboxes", "automation_rules"):
            assert (counts(second, phase)["created"], counts(second, phase)["updated"]) == (0, 0), phase

        after = await seen(desk, [*ids, 1013])
        for ticket_id in ids:
            if ticket_id not in surfaced:
                assert after[ticket_id] == before[ticket_id], ticket_id

        shown = await thread(desk, 1001)
        assert shown["ticket"]["subject"] == renamed.subject
        assert posts(shown["comments"], "commenter")[-1] == (
            stamp(renamed.comments[-1].created_at),
            "bob@desk.example",
            "Bob Agent",
            "Renamed: it was the password reset",
        )
        assert shown["ticket"]["comments_count"] == len(renamed.comments)

        shown = await thread(desk, 1002)
        requester = fixture.desk.people[answered.requester_id]
        assert posts(shown["replies"], "replier") == [
            (stamp(p.created_at), fixture.desk.people[p.author_id].email, fixture.desk.people[p.author_id].name, p.text)
            for p in answered.replies
        ]
        assert shown["replies"][-1]["replier"]["email"] == requester.email
        files = shown["replies"][-1]["content"]["attachments"]
        assert [(f["id"], f["filename"]) for f in files] == [(900_001, "screenshot.png")]
        assert await file_bytes(desk, files[0]["url"]["original"]) == (200, screenshot.content())
        assert shown["ticket"]["last_activity_at"] == stamp(answered.last_activity_at)

        shown = await thread(desk, 1004)
        assert shown["ticket"]["archived"] is True
        assert posts(shown["replies"], "replier")[-1] == (
            stamp(archived.replies[-1].created_at),
            "cleo@desk.example",
            "Cleo Agent",
            "Fixed on our side, closing this",
        )

        shown = await thread(desk, 1013)
        assert shown["ticket"]["subject"] == "Where is my invoice?"
        assert shown["ticket"]["created_at"] == stamp(created)
        assert (shown["ticket"]["requester"]["email"], shown["ticket"]["requester"]["name"]) == (
            "newcomer@mail.example",
            "Nora Newcomer",
        )
        assert [label["name"] for label in shown["ticket"]["labels"]] == ["billing"]

        # A subject edited without any activity does not move ``last_activity_at`` at SupportBee, so only a pass
        # over every ticket (an early ``since``) sees it; that pass finds nothing else to write.
        tickets[1006].subject = "Ticket 6: invoice question (answered by phone)"
        full = await run(tenant, url, since="2000-01-01T00:00:00Z")
    assert counts(full, "tickets") == {"created": 0, "updated": 1, "unchanged": len(ids), "skipped": 0, "failed": 0}
    shown = await thread(desk, 1006)
    assert shown["ticket"]["subject"] == "Ticket 6: invoice question (answered by phone)"


async def test_an_agent_whose_open_ticket_count_moved_is_unchanged(tenant: Tenant) -> None:
    """Archiving a ticket changes its assignee's ``active_tickets_count`` at SupportBee, a live figure the bridge
    computes itself: the agent did not change, so a re-run does not count them as updated."""
    fixture = SupportBeeFixture(tickets=6)
    desk = await bind(tenant)
    ticket = tickets_of(fixture)[1003]
    assert ticket.assignee_id == 1
    async with fixture.serve() as url:
        first = await run(tenant, url)
        ticket.replies.append(Post(10038, 1, "Done, archiving", after_now()))
        ticket.archived = True
        second = await run(tenant, url)
    assert counts(second, "tickets")["updated"] == 1
    _, shown = await desk.call("GET", "/users/1", expect=200)
    # What the desk itself now says: the figure is live, not the one the first run saw.
    assert shown["user"]["active_tickets_count"] == sum(
        1 for t in fixture.desk.tickets if t.assignee_id == 1 and not t.archived
    )
    assert counts(second, "agents") == {
        "created": 0,
        "updated": 0,
        "unchanged": counts(first, "agents")["created"],
        "skipped": 0,
        "failed": 0,
    }


# -- 2. a misbehaving desk --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
async def test_rate_limits_and_server_errors_slow_the_import_but_change_nothing(
    tenant: Tenant, other: Tenant, reader: str
) -> None:
    """429s with ``Retry-After``, planned and random 500s, and a 500 on the first download of every file: the import
    completes and an old client sees exactly what a fault-free import of the same desk shows (tickets read inline or
    in the reader process)."""
    assert tenant.client.app[appkeys.SETTINGS].migration_reader_mode() == reader
    clean = SupportBeeFixture(tickets=8)
    faulty = SupportBeeFixture(
        tickets=8,
        faults=Faults(throttle_on={2, 30}, retry_after="0", fail_on={5, 24}, error_rate=0.05),
        seed=7,
    )
    flaky: set[str] = set()

    async def first_download_fails(seen: Seen) -> None:
        if seen.path.startswith("/attachments/") and seen.path not in flaky:
            flaky.add(seen.path)
            faulty.faults.fail_on = {*faulty.faults.fail_on, seen.number}

    faulty.on_request = first_download_fails
    ids = sorted(tickets_of(clean))
    calm, stormy = await bind(other), await bind(tenant)
    async with clean.serve() as url:
        expected = await run(other, url)
    async with faulty.serve() as url:
        got = await run(tenant, url)
    # The desk did misbehave: every planned fault was answered (so this cannot pass on a quiet run).
    assert {r.number for r in faulty.requests if r.status == 429} == {2, 30}
    assert {r.number for r in faulty.requests if r.status == 500} >= {5, 24}
    assert {r.path for r in faulty.requests if r.status == 500} >= {f"/attachments/{n}" for n in clean.desk.attachments}
    assert got["stats"] == expected["stats"]
    assert got["failures"] == []
    assert await seen(stormy, ids) == await seen(calm, ids)
    everyone = {"with_roles": "admin,agent,collaborator,customer", "with_invited": "true"}
    _, calm_people = await calm.call("GET", "/users", params=everyone, expect=200)
    _, stormy_people = await stormy.call("GET", "/users", params=everyone, expect=200)
    assert _people(stormy_people) == _people(calm_people)
    assert len(_people(calm_people)) == len([p for p in clean.desk.people.values() if p.type == "user"])


def _people(listing: dict[str, Any]) -> list[tuple[Any, ...]]:
    # The accounts' own admins differ and have no SupportBee id to keep.
    return sorted(
        (user["id"], user["email"], user["name"], user["role"])
        for user in listing["users"]
        if not str(user["email"]).startswith("admin-")
    )


# -- 3. cancel and resume ---------------------------------------------------------------------------------------


class SlowNextPage:
    """Hold the desk's answer to the second page of tickets the import asks for until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.held = asyncio.Event()
        self.pages = 0

    async def __call__(self, seen: Seen) -> None:
        query = seen.query
        if seen.path != "/tickets" or "page" not in query or "total_only" in query or "assigned_user" in query:
            return
        self.pages += 1
        if self.pages == 2:
            self.held.set()
            await self.release.wait()


async def _cancel_while_the_next_page_is_slow(tenant: Tenant, fixture: SupportBeeFixture, url: str) -> int:
    """Start an import, let its first ticket page commit, and ask to cancel while the next page is slow to come."""
    job = await start(tenant, url)
    hold = fixture.on_request
    assert isinstance(hold, SlowNextPage)
    await asyncio.wait_for(hold.held.wait(), 30)
    shown = await wait(tenant, job["id"], {"in_progress"})
    deadline = time.monotonic() + 30
    while not shown["stats"].get("tickets", {}).get("created"):
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.02)
        _, shown = await tenant.call("GET", f"/data_migrations/{job['id']}", expect=200)
    assert shown["checkpoint_phase"] == "tickets"
    _, asked = await tenant.call("POST", f"/data_migrations/{job['id']}/cancel", expect=200)
    assert asked["status"] in {"in_progress", "cancelled"}
    return int(job["id"])


async def settle(tenant: Tenant, seconds: float = 10.0) -> None:
    """Let the tenant's jobs finish before the desk they read goes away (never raises: it runs in ``finally``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, listing = await tenant.call("GET", "/data_migrations")
        if all(job["status"] in TERMINAL for job in (listing or {}).get("payload", [])):
            return
        await asyncio.sleep(0.05)


async def conversation_count(tenant: Tenant) -> int:
    _, listing = await tenant.call("GET", "/conversations", params={"status": "all"}, expect=200)
    return int(listing["data"]["meta"]["all_count"])


@pytest.mark.parametrize("reader", READERS)
async def test_cancel_takes_effect_while_the_desk_is_slow_to_answer(tenant: Tenant, reader: str) -> None:
    """A desk that takes long over its next page (a big page of threads, a long ``Retry-After``) does not hold a
    cancel back: the job is cancelled within a couple of seconds, with the source still not answering."""
    assert tenant.client.app[appkeys.SETTINGS].migration_reader_mode() == reader
    fixture = SupportBeeFixture(tickets=16, on_request=SlowNextPage())
    hold = fixture.on_request
    assert isinstance(hold, SlowNextPage)
    async with fixture.serve() as url:
        try:
            job_id = await _cancel_while_the_next_page_is_slow(tenant, fixture, url)
            asked = time.monotonic()
            done = await wait(tenant, job_id, seconds=3)
            assert done["status"] == "cancelled"
            assert time.monotonic() - asked < 2
        finally:
            hold.release.set()
            await settle(tenant)


class HoldTeams:
    """Hold the desk's answer to ``/teams`` (a people phase, before any ticket) until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.held = asyncio.Event()

    async def __call__(self, seen: Seen) -> None:
        if seen.path == "/teams":
            self.held.set()
            await self.release.wait()


@pytest.mark.migration_reader("process")
async def test_a_job_that_ends_before_its_tickets_leaves_no_reader_process_behind(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader process starts with the job (it is ready by the tickets phase); a job cancelled or failed before
    the tickets stops it rather than leaving it waiting. The cancel comes while the desk is still being counted
    (``/teams`` is held): it does not wait for the count."""
    started: list[asyncio.subprocess.Process] = []

    async def recording_start_child(target: str, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await offload.start_child(target, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(migration, "start_child", recording_start_child)
    hold = HoldTeams()
    fixture = SupportBeeFixture(tickets=4, on_request=hold)
    async with fixture.serve() as url:
        try:
            job = await start(tenant, url)
            await asyncio.wait_for(hold.held.wait(), 30)
            assert len(started) == 1, "started with the job, before the tickets phase"
            assert started[0].returncode is None
            await tenant.call("POST", f"/data_migrations/{job['id']}/cancel", expect=200)
            assert (await wait(tenant, job["id"], seconds=3))["status"] == "cancelled"
            assert not hold.release.is_set()
            assert await asyncio.wait_for(started[0].wait(), 5) is not None
            assert not any(seen.path == "/tickets" and "page" in seen.query for seen in fixture.requests)
        finally:
            hold.release.set()
            await settle(tenant)


class InboxesWaitForTickets:
    """Hold the inboxes phase's read of ``/emails`` (the second one: the estimate's is the first) until a page of
    tickets is asked for, at most ``seconds``, and say whether one was: were the tickets being read meanwhile?"""

    def __init__(self, seconds: float = 20.0) -> None:
        self.seconds = seconds
        self.emails = 0
        self.ticket_page = asyncio.Event()
        self.tickets_meanwhile: bool | None = None

    async def __call__(self, seen: Seen) -> None:
        if seen.path == "/tickets" and "page" in seen.query:
            self.ticket_page.set()
        elif seen.path == "/emails":
            self.emails += 1
            if self.emails == 2:
                try:
                    await asyncio.wait_for(self.ticket_page.wait(), self.seconds)
                except TimeoutError:
                    self.tickets_meanwhile = False
                else:
                    self.tickets_meanwhile = True


@pytest.mark.parametrize("reader", READERS)
async def test_the_tickets_are_read_while_the_customers_and_settings_are_written(tenant: Tenant, reader: str) -> None:
    """Reading and mapping a page of tickets (its listing, two requests a ticket) is what the tickets phase would
    wait for first: it begins once the agents are written, so the page is ready when the phase comes. The import is
    the same, ticket for ticket."""
    assert tenant.client.app[appkeys.SETTINGS].migration_reader_mode() == reader
    hold = InboxesWaitForTickets()
    fixture = SupportBeeFixture(tickets=6, on_request=hold)
    desk = await bind(tenant)
    async with fixture.serve() as url:
        job = await run(tenant, url)
    assert hold.emails == 2
    assert hold.tickets_meanwhile is True
    assert counts(job, "tickets") == {"created": 6, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    shown = await seen(desk, sorted(tickets_of(fixture)))
    assert len(shown) == 6
    assert all(item is not None for item in shown.values())


@pytest.mark.parametrize("reader", READERS)
async def test_a_cancelled_import_keeps_whole_pages_and_resumes_like_a_clean_one(
    tenant: Tenant, other: Tenant, reader: str
) -> None:
    """Cancelled between ticket pages, the account holds exactly the pages that were committed (none half written);
    resumed, it finishes equal to an import that was never interrupted."""
    assert tenant.client.app[appkeys.SETTINGS].migration_reader_mode() == reader
    fixture = SupportBeeFixture(tickets=16, faults=Faults(delay=0.01), on_request=SlowNextPage())
    hold = fixture.on_request
    assert isinstance(hold, SlowNextPage)
    ids = sorted(tickets_of(fixture))
    desk = await bind(tenant)
    async with fixture.serve() as url:
        try:
            job_id = await _cancel_while_the_next_page_is_slow(tenant, fixture, url)
        finally:
            hold.release.set()
        cancelled = await wait(tenant, job_id)
        assert cancelled["status"] == "cancelled", cancelled
        committed = counts(cancelled, "tickets")["created"]
        assert 0 < committed < len(ids)
        assert await conversation_count(tenant) == committed

        _, resumed = await tenant.call("POST", f"/data_migrations/{job_id}/resume", expect=200)
        done = await wait(tenant, resumed["id"])
        assert done["status"] == "completed", done
        fixture.faults.delay = 0
        clean = await run(other, url)
    assert done["stats"] == clean["stats"]
    assert await conversation_count(tenant) == len(ids)
    assert await seen(desk, ids) == await seen(await bind(other), ids)


# -- 4. placeholders --------------------------------------------------------------------------------------------


async def test_an_agent_the_desk_no_longer_lists_becomes_a_deactivated_placeholder(tenant: Tenant) -> None:
    """An agent deleted at SupportBee is gone from ``/users`` but still named by the tickets they worked on: they
    are imported once, deactivated, and old clients still see their name and address on those tickets."""
    fixture = SupportBeeFixture(tickets=9)
    gus = Person(7, "gus@desk.example", "Gus", "Gone", "agent", type="deleted")
    fixture.desk.people[gus.id] = gus
    tickets = tickets_of(fixture)
    # One ticket with a file and one without, so both ways a ticket page is written meet the unlisted agent.
    tickets[1003].assignee_id = gus.id
    tickets[1003].replies[0].author_id = gus.id
    tickets[1009].assignee_id = gus.id
    tickets[1009].comments[0].author_id = gus.id
    desk = await bind(tenant)
    async with fixture.serve() as url:
        job = await run(tenant, url)
    assert counts(job, "tickets") == {"created": 9, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    _, agents = await tenant.call("GET", "/agents", expect=200)
    found = [(a["name"], a["active"]) for a in agents if a["email"] == gus.email]
    assert found == [("Gus Gone", False)]
    assert all(a["active"] for a in agents if a["email"] != gus.email)

    named = (gus.email, "Gus Gone")
    shown = await thread(desk, 1003)
    user = shown["ticket"]["current_user_assignee"]["user"]
    assert (user["email"], user["name"]) == named
    assert (shown["replies"][0]["replier"]["email"], shown["replies"][0]["replier"]["name"]) == named
    assert shown["replies"][0]["content"]["text"] == tickets[1003].replies[0].text
    shown = await thread(desk, 1009)
    user = shown["ticket"]["current_user_assignee"]["user"]
    assert (user["email"], user["name"]) == named
    assert (shown["comments"][0]["commenter"]["email"], shown["comments"][0]["commenter"]["name"]) == named
    # Like SupportBee's own listing, the agents' listing does not show them.
    _, listed = await desk.call("GET", "/users", params={"with_invited": "true"}, expect=200)
    assert sorted(u["email"] for u in listed["users"] if not u["email"].startswith("admin-")) == sorted(
        p.email for p in fixture.desk.people.values() if p.type == "user" and p.agent
    )


# -- 5. attachments ---------------------------------------------------------------------------------------------


@dataclass
class DeskWithDeletedFiles(Desk):
    """A desk whose tickets still list files that can no longer be downloaded (404)."""

    deleted: frozenset[int] = frozenset()

    @property
    def attachments(self) -> dict[int, Attachment]:
        return {n: item for n, item in super().attachments.items() if n not in self.deleted}


def desk_with_unavailable_files(tenant: Tenant) -> tuple[SupportBeeFixture, Attachment, Attachment]:
    """Eight tickets; ticket 1004's file is over a 1 KiB cap, the second reply of 1006 has a file deleted since."""
    fixture = SupportBeeFixture(tickets=8)
    tickets = tickets_of(fixture)
    big = tickets[1004].attachments[0]
    big.size = 4096
    gone = tickets[1006].replies[1].attachments[0]
    fixture.desk = DeskWithDeletedFiles(**vars(fixture.desk), deleted=frozenset({gone.id}))
    tenant.store.max_attachment_bytes = 1024
    return fixture, big, gone


async def test_a_file_too_big_or_gone_leaves_its_message_imported_and_says_so(tenant: Tenant) -> None:
    """Over the size cap, or deleted at the source: the message imports without the file, its attributes say which
    file and why, and every other file of the desk is served at its SupportBee id with the same bytes."""
    fixture, big, gone = desk_with_unavailable_files(tenant)
    tickets = tickets_of(fixture)
    kept = {n: item for n, item in fixture.desk.attachments.items() if n != big.id}
    assert len(kept) >= 4
    assert all(item.size <= 1024 for item in kept.values())
    desk = await bind(tenant)
    async with fixture.serve() as url:
        job = await run(tenant, url)
    assert counts(job, "tickets") == {"created": 8, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}

    shown = await thread(desk, 1004)
    assert shown["ticket"]["content"]["text"] == tickets[1004].text
    assert shown["ticket"]["content"]["attachments"] == []
    shown = await thread(desk, 1006)
    assert shown["replies"][1]["content"]["text"] == tickets[1006].replies[1].text
    assert shown["replies"][1]["content"]["attachments"] == []

    _, messages = await tenant.call("GET", "/conversations/1004/messages", expect=200)
    failed = messages["payload"][0]["additional_attributes"]["supportbee"]["failed_attachments"]
    assert [(f["id"], f["file_name"]) for f in failed] == [(str(big.id), big.filename)]
    assert "1024" in failed[0]["reason"], failed
    _, messages = await tenant.call("GET", "/conversations/1006/messages", expect=200)
    failed = [
        f
        for m in messages["payload"]
        for f in ((m["additional_attributes"] or {}).get("supportbee") or {}).get("failed_attachments", [])
    ]
    assert [(f["id"], f["file_name"]) for f in failed] == [(str(gone.id), gone.filename)]
    assert "404" in failed[0]["reason"], failed

    served = {}
    for ticket_id in tickets:
        item = await thread(desk, ticket_id)
        for message in [item["ticket"], *item["replies"], *item["comments"]]:
            for attachment in message["content"]["attachments"]:
                served[attachment["id"]] = await file_bytes(desk, attachment["url"]["original"])
    assert served == {n: (200, item.content()) for n, item in kept.items()}


async def test_the_failure_report_lists_the_files_that_were_not_imported(tenant: Tenant) -> None:
    """The job's failure report (NDJSON and CSV, lossy notes included) is where an admin looks for what did not come
    over: each file left behind is listed with its SupportBee id, its name and the reason."""
    fixture, big, gone = desk_with_unavailable_files(tenant)
    async with fixture.serve() as url:
        job = await run(tenant, url)
    for fmt in ("ndjson", "csv"):
        report = await failure_report(tenant, job["id"], fmt=fmt, include_lossy=True)
        for item, why in ((big, "1024"), (gone, "404")):
            rows = [row for row in report if str(item.id) in f"{row['external_id']} {row['reason']}"]
            assert len(rows) == 1, (fmt, item, report)
            assert item.filename in rows[0]["reason"], rows
            assert why in rows[0]["reason"], rows


async def failure_report(tenant: Tenant, job_id: int, *, fmt: str, include_lossy: bool = False) -> list[dict[str, str]]:
    """The job's failure report, downloaded as NDJSON or CSV."""
    params = {"format": fmt, **({"include_lossy": "true"} if include_lossy else {})}
    path = tenant.url(f"/data_migrations/{job_id}/failures")
    async with tenant.client.get(path, params=params, headers=tenant.headers) as response:
        assert response.status == 200
        text = await response.text()
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines()]


# -- 6. records the source cannot give whole ----------------------------------------------------------------------


class Vanished(Person):
    """A requester deleted at SupportBee: tickets show ``"requester": null``."""

    def embedded(self) -> Any:
        return None


async def test_gone_and_malformed_tickets_are_skipped_and_listed_while_the_rest_imports(tenant: Tenant) -> None:
    """A ticket deleted between the list and its replies (404), one whose requester is null and one whose id is not
    a number are each skipped and listed with their id and why; every other ticket imports."""
    fixture = SupportBeeFixture(tickets=10, faults=Faults(gone_tickets={1003}))
    tickets = tickets_of(fixture)
    fixture.desk.people[300] = Vanished(300, "gone@mail.example", "Gone", "Customer", "customer", type="deleted")
    tickets[1005].requester_id = 300
    tickets[1006].id = "1006x"  # type: ignore[assignment]  # what a broken answer would carry
    desk = await bind(tenant)
    async with fixture.serve() as url:
        job = await run(tenant, url)
    assert counts(job, "tickets") == {"created": 7, "updated": 0, "unchanged": 0, "skipped": 3, "failed": 0}
    reasons = {(row["kind"], row["external_id"], row["outcome"]): row["reason"] for row in job["failures"]}
    assert set(reasons) == {
        ("conversation", "1003", "skipped"),
        ("conversation", "1005", "skipped"),
        ("conversation", "1006x", "skipped"),
    }
    assert "404" in reasons[("conversation", "1003", "skipped")]
    assert "requester" in reasons[("conversation", "1005", "skipped")]
    assert "id" in reasons[("conversation", "1006x", "skipped")]
    report = await failure_report(tenant, job["id"], fmt="ndjson")
    assert {(row["external_id"], row["outcome"]) for row in report} == {
        ("1003", "skipped"),
        ("1005", "skipped"),
        ("1006x", "skipped"),
    }
    shown = await seen(desk, [n for n in tickets if n != 1006])
    assert {n for n, item in shown.items() if item is None} == {1003, 1005}


# -- 7. dry run and sample --------------------------------------------------------------------------------------


async def test_a_dry_run_reports_what_it_would_do_and_writes_nothing(tenant: Tenant) -> None:
    """A dry run counts what it would create and lists what would be lossy, but the account stays empty, and the
    real run afterwards still imports everything (a dry run is no starting point for the next ``since``)."""
    fixture = SupportBeeFixture(tickets=8)
    desk = await bind(tenant)
    async with fixture.serve() as url:
        dry = await run(tenant, url, dry_run=True)
        assert dry["dry_run"] is True
        assert counts(dry, "tickets") == {"created": 8, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
        lossy = sum(phase["lossy"] for phase in dry["stats"].values())
        assert lossy >= 1  # the collaborator has no Supportly role of their own
        notes = await failure_report(tenant, dry["id"], fmt="ndjson", include_lossy=True)
        assert len([row for row in notes if row["outcome"] == "lossy"]) == lossy
        assert any("collaborator" in row["reason"] for row in notes)

        assert await conversation_count(tenant) == 0
        _, agents = await tenant.call("GET", "/agents", expect=200)
        assert [a["id"] for a in agents] == [tenant.user_id]
        _, contacts = await tenant.call("GET", "/contacts", expect=200)
        assert contacts["payload"] == []
        _, labels = await tenant.call("GET", "/labels", expect=200)
        assert labels["payload"] == []
        status, _ = await desk.call("GET", "/tickets/1001")
        assert status == 404

        real = await run(tenant, url)
    assert real["since"] is None
    assert real["stats"] == dry["stats"]
    assert await conversation_count(tenant) == 8


async def test_a_sample_imports_that_many_tickets_and_only_the_customers_they_name(tenant: Tenant) -> None:
    """``sample=3`` brings over three tickets whole, the agents, and of the customers only those the three tickets
    name (requester, cc, customers who replied); the other customers and the customer group stay behind."""
    fixture = SupportBeeFixture(tickets=12)
    desk = await bind(tenant)
    async with fixture.serve() as url:
        job = await run(tenant, url, sample=3)
    assert counts(job, "tickets")["created"] == 3
    shown = await seen(desk, sorted(tickets_of(fixture)))
    imported = [tickets_of(fixture)[n] for n, item in shown.items() if item is not None]
    assert len(imported) == 3
    people = fixture.desk.people
    for ticket in imported:
        item = shown[ticket.id]
        assert item["ticket"]["subject"] == ticket.subject
        assert [r["content"]["text"] for r in item["replies"]] == [p.text for p in ticket.replies]
        assert [r["replier"]["email"] for r in item["replies"]] == [people[p.author_id].email for p in ticket.replies]
    named = {
        people[n].email
        for ticket in imported
        for n in [ticket.requester_id, *ticket.cc_ids, *(p.author_id for p in ticket.replies)]
        if people[n].role == "customer"
    }
    _, contacts = await tenant.call("GET", "/contacts", expect=200)
    assert sorted(c["email"] for c in contacts["payload"]) == sorted(named)
    assert len(named) < len([p for p in people.values() if p.role == "customer" and p.type == "user"])
    _, groups = await desk.call("GET", "/users", params={"type": "customer_group"}, expect=200)
    assert groups["users"] == []
    _, agents = await tenant.call("GET", "/agents", expect=200)
    assert {a["email"] for a in agents} >= {p.email for p in people.values() if p.agent and p.type == "user"}
