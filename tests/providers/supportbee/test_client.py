"""The SupportBee outbound client: every collection of a desk, paginated, de-duplicated, throttled politely.

Happy paths replay vcrpy cassettes recorded against the local fixture desk (``fixtures/supportbee/server.py``);
re-record them with ``SUPPORTBEE_RECORD_CASSETTES=1 .venv/bin/pytest tests/providers/supportbee/test_client.py``
(which serves the fixture desk at ``RECORD_BASE``). Fault injection (429, 500, slow answers, bad tokens,
concurrency) runs live against the fixture desk started in-process on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import vcr
from structlog.testing import capture_logs

from bridge.outbound import (
    EVENT_RETRY,
    EVENT_STREAM_UNREADABLE,
    EVENT_THROTTLED,
    FatalSourceError,
    RetriableSourceError,
    RetryPolicy,
    SkippableRecordError,
)
from fixtures.supportbee.server import BASE_TIME, DEFAULT_TOKEN, Faults, SupportBeeFixture, generate_desk
from providers.supportbee.client import EVENT_THREAD_SKIPPED, SupportBeeClient, TicketThread

CASSETTES = Path(__file__).resolve().parents[3] / "fixtures" / "supportbee" / "cassettes"
RECORDING = os.environ.get("SUPPORTBEE_RECORD_CASSETTES") == "1"
# Cassettes are recorded from, and replayed for, this address.
RECORD_BASE = "http://127.0.0.1:8099"
DESK_TICKETS = 13
PAGE_SIZE = 4

recorder = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode="all" if RECORDING else "none",
    match_on=["method", "scheme", "host", "port", "path", "query"],
    filter_query_parameters=["auth_token"],
    filter_headers=["authorization", "cookie", "set-cookie", "x-api-key"],
    decode_compressed_response=True,
)

# The generated desk the cassettes were recorded from: the expected answers.
DESK = generate_desk(DESK_TICKETS)
ALL_TICKET_IDS = {t.id for t in DESK.tickets}


class FakeClock:
    """A clock whose ``sleep`` returns at once and moves time forward, recording each wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return datetime(2024, 5, 1, 12, 0, tzinfo=UTC) + timedelta(seconds=self.now)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def hooks(self) -> dict[str, Any]:
        return {"sleep": self.sleep, "clock": self.monotonic, "wall_clock": self.wall, "rng": random.Random(7)}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def recorded_desk() -> AsyncIterator[str]:
    """The base URL cassettes replay for; when re-recording, the fixture desk really serves it."""
    if not RECORDING:
        yield RECORD_BASE
        return
    port = int(RECORD_BASE.rsplit(":", 1)[1])
    async with SupportBeeFixture(tickets=DESK_TICKETS).serve(port=port) as url:
        yield url


@pytest.fixture
def cassette(request: pytest.FixtureRequest) -> Iterator[None]:
    """Replay (or record) the cassette named after the test."""
    with recorder.use_cassette(f"{request.node.name}.yaml"):
        yield


def recorded_client(http: aiohttp.ClientSession, base_url: str, **options: Any) -> SupportBeeClient:
    return SupportBeeClient(
        http, base_url=base_url, auth_token=DEFAULT_TOKEN, allow_private_urls=True, page_size=PAGE_SIZE, **options
    )


# -- happy paths, from cassettes -------------------------------------------------------------------------------


@pytest.mark.usefixtures("cassette")
async def test_reads_people_teams_and_settings(http: aiohttp.ClientSession, recorded_desk: str) -> None:
    client = recorded_client(http, recorded_desk)

    users = [u async for u in client.users()]
    customers = [u async for u in client.customers()]
    groups = [g async for g in client.customer_groups()]
    members = await client.customer_group_members(groups[0]["id"])
    teams = [t async for t in client.teams()]
    labels = [label async for label in client.labels()]
    snippets = [s async for s in client.snippets()]
    emails = [e async for e in client.emails()]
    with capture_logs() as logs:
        filters = [f async for f in client.filters()]

    people = DESK.people.values()
    assert {u["email"] for u in users} == {p.email for p in people if p.agent}
    assert "ivy@desk.example" in {u["email"] for u in users}, "invited agents are migrated too"
    assert {u["role"] for u in users} == {"admin", "agent", "collaborator"}
    assert {c["email"] for c in customers} == {p.email for p in people if p.role == "customer" and p.type == "user"}
    assert [(g["type"], g["email_domains"]) for g in groups] == [("customer_group", ["acme.example"])]
    assert {m["email"] for m in members} == {p.email for p in people if p.email.endswith("@acme.example")}
    assert {t["name"]: sorted(u["id"] for u in t["users"]) for t in teams} == {
        "Billing": [1, 2],
        "Support": [2, 3],
        "Night shift": [],
    }, "every team, with its members, including a team nobody is in"
    assert [label["name"] for label in labels] == ["billing", "bug", "vip"]
    assert [s["name"] for s in snippets] == ["Facebook Link", "Thanks"]
    assert [e["forward_to"] for e in emails] == ["support@demo.supportbee.com", "billing@demo.supportbee.com"]
    assert filters == []
    assert [(e["event"], e["stream"], e["status"]) for e in logs if e["event"] == EVENT_STREAM_UNREADABLE] == [
        (EVENT_STREAM_UNREADABLE, "filters", 404)
    ]


@pytest.mark.usefixtures("cassette")
async def test_reads_every_ticket_once_across_archived_spam_and_trash(
    http: aiohttp.ClientSession, recorded_desk: str
) -> None:
    client = recorded_client(http, recorded_desk)

    pages = [page async for page in client.ticket_pages()]
    ids = [t["id"] for page in pages for t in page]

    assert len(ids) == len(set(ids)), "a ticket seen in several passes is yielded once"
    assert set(ids) == ALL_TICKET_IDS
    assert all(len(page) <= PAGE_SIZE for page in pages)
    flags = {t["id"]: (t["archived"], t["spam"], t["trash"]) for page in pages for t in page}
    assert flags[1005] == (True, False, False)
    assert flags[1007] == (False, True, False)
    assert flags[1011] == (False, False, True)
    first = pages[0][0]
    assert {"id", "subject", "requester", "content", "current_user_assignee", "current_team_assignee"} <= set(first)


@pytest.mark.usefixtures("cassette")
async def test_ticket_threads_carry_replies_and_comments(http: aiohttp.ClientSession, recorded_desk: str) -> None:
    client = recorded_client(http, recorded_desk)

    threads = [thread async for thread in client.ticket_threads()]

    assert {t.ticket["id"] for t in threads} == ALL_TICKET_IDS
    expected = {t.id: (len(t.replies), len(t.comments)) for t in DESK.tickets}
    assert {t.ticket["id"]: (len(t.replies), len(t.comments)) for t in threads} == expected
    by_id: dict[int, TicketThread] = {t.ticket["id"]: t for t in threads}
    assert [r["replier"]["agent"] for r in by_id[1003].replies] == [True, False, True]
    assert by_id[1003].comments[0]["content"]["text"] == "Internal note on ticket 1003"
    assert [a["filename"] for a in by_id[1003].attachments()] == ["reply-1003-1.log"]
    assert client.skipped == 0


@pytest.mark.usefixtures("cassette")
async def test_since_reads_only_tickets_with_later_activity(http: aiohttp.ClientSession, recorded_desk: str) -> None:
    client = recorded_client(http, recorded_desk)
    since = BASE_TIME + timedelta(hours=9)

    ids = {t["id"] async for t in client.tickets(since=since)}

    assert ids == {t.id for t in DESK.tickets if t.last_activity_at > since}
    assert ids
    assert ids != ALL_TICKET_IDS


@pytest.mark.usefixtures("cassette")
async def test_verify_credentials_and_count_tickets(http: aiohttp.ClientSession, recorded_desk: str) -> None:
    client = recorded_client(http, recorded_desk)

    await client.verify_credentials()
    counts = (
        await client.count_tickets(),
        await client.count_tickets(spam=True),
        await client.count_tickets(trash=True),
    )

    plain = [t for t in DESK.tickets if not t.spam and not t.trash]
    assert counts == (len(plain), len(plain) + 1, len(plain) + 1)


@pytest.mark.usefixtures("cassette")
async def test_downloads_attachment_files(http: aiohttp.ClientSession, recorded_desk: str, tmp_path: Path) -> None:
    client = recorded_client(http, recorded_desk)
    ticket = next(t for t in DESK.tickets if t.attachments)
    listed = {t["id"]: t async for t in client.tickets()}
    attachment = listed[ticket.id]["content"]["attachments"][0]

    in_memory = await client.download_attachment(attachment, max_bytes=10_000)
    on_disk = await client.download_attachment(attachment, max_bytes=10_000, to_path=tmp_path / "file")

    expected = ticket.attachments[0].content()
    assert in_memory.data == expected
    assert in_memory.content_type is not None
    assert in_memory.content_type.startswith("text/plain")
    assert on_disk.path is not None
    assert on_disk.path.read_bytes() == expected
    assert on_disk.size == len(expected)


def test_cassettes_hold_no_token() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files, "cassettes are committed"
    for path in files:
        text = path.read_text()
        assert DEFAULT_TOKEN not in text, path
        assert "auth_token" not in text, path


# -- faults, live against the fixture desk ---------------------------------------------------------------------


async def test_paginates_every_pass_to_total_pages(http: aiohttp.ClientSession) -> None:
    desk = SupportBeeFixture(tickets=DESK_TICKETS)
    async with desk.serve() as url:
        client = recorded_client(http, url)
        ids = [t["id"] async for t in client.tickets()]

    assert sorted(ids) == sorted(ALL_TICKET_IDS)
    pages = [(r.query.get("spam"), r.query.get("trash"), r.query["page"]) for r in desk.requests]
    # 11 plain tickets, then 12 with spam, 12 with trash: 3 pages of 4 each, and no page past the last.
    assert pages == [(s, t, p) for s, t in [(None, None), ("true", None), (None, "true")] for p in "123"]
    assert all(r.query["per_page"] == str(PAGE_SIZE) and r.query["archived"] == "any" for r in desk.requests)


async def test_honours_retry_after_seconds_on_429(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    desk = SupportBeeFixture(tickets=3, faults=Faults(throttle_on={1}, retry_after="7"))
    async with desk.serve() as url:
        client = recorded_client(http, url, concurrency=4, **clock.hooks())
        with capture_logs() as logs:
            labels = [label async for label in client.labels()]

    assert len(labels) == 3
    assert [r.status for r in desk.requests] == [429, 200]
    assert len(clock.sleeps) == 1
    assert 7 <= clock.sleeps[0] < 8, "waited what Retry-After asked, plus jitter"
    assert client.api.limiter.limit == 2, "a 429 halves the concurrency"
    assert EVENT_THROTTLED in [e["event"] for e in logs]


async def test_honours_retry_after_http_date_on_429(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    when = format_datetime(clock.wall() + timedelta(seconds=30), usegmt=True)
    desk = SupportBeeFixture(tickets=3, faults=Faults(throttle_on={1}, retry_after=when))
    async with desk.serve() as url:
        client = recorded_client(http, url, **clock.hooks())
        labels = [label async for label in client.labels()]

    assert len(labels) == 3
    assert len(clock.sleeps) == 1
    assert 30 <= clock.sleeps[0] < 31


async def test_backs_off_on_500_then_succeeds(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    desk = SupportBeeFixture(tickets=3, faults=Faults(fail_on={1, 2}))
    retry = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=10.0)
    async with desk.serve() as url:
        client = recorded_client(http, url, retry=retry, **clock.hooks())
        with capture_logs() as logs:
            snippets = [s async for s in client.snippets()]

    assert len(snippets) == 2
    assert [r.status for r in desk.requests] == [500, 500, 200]
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 1.0, "full jitter under a doubling ceiling"
    assert 0 <= clock.sleeps[1] <= 2.0
    assert [e["attempt"] for e in logs if e["event"] == EVENT_RETRY] == [1, 2]


async def test_gives_up_as_retriable_when_the_desk_keeps_failing(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    desk = SupportBeeFixture(tickets=3, faults=Faults(error_rate=1.0))
    async with desk.serve() as url:
        client = recorded_client(http, url, retry=RetryPolicy(max_attempts=3), **clock.hooks())
        with pytest.raises(RetriableSourceError) as caught:
            [label async for label in client.labels()]

    assert caught.value.status == 500
    assert len(desk.requests) == 3


async def test_slow_answers_time_out_and_are_retried(http: aiohttp.ClientSession) -> None:
    desk = SupportBeeFixture(tickets=3, faults=Faults(delay=0.5))
    retry = RetryPolicy(max_attempts=2, base_delay=0.01)
    async with desk.serve() as url:
        client = recorded_client(http, url, retry=retry, timeout=0.05)
        with pytest.raises(RetriableSourceError) as caught:
            await client.verify_credentials()

    assert isinstance(caught.value.__cause__, TimeoutError)
    assert len(desk.requests) == 2


async def test_bad_token_is_fatal_with_a_readable_reason(http: aiohttp.ClientSession) -> None:
    desk = SupportBeeFixture(tickets=3)
    async with desk.serve() as url:
        client = SupportBeeClient(http, base_url=url, auth_token="wrong-token", allow_private_urls=True)
        with capture_logs() as logs, pytest.raises(FatalSourceError) as caught:
            await client.verify_credentials()

    assert caught.value.status == 401
    assert "auth_token" in str(caught.value)
    assert len(desk.requests) == 1, "credentials are not retried"
    assert "wrong-token" not in repr(logs) + str(caught.value)


async def test_concurrency_bound_is_respected(http: aiohttp.ClientSession) -> None:
    desk = SupportBeeFixture(tickets=30, faults=Faults(delay=0.05))
    async with desk.serve() as url:
        client = SupportBeeClient(
            http, base_url=url, auth_token=DEFAULT_TOKEN, allow_private_urls=True, concurrency=3, page_size=20
        )
        threads = [t async for t in client.ticket_threads()]

    assert len(threads) == 30
    assert desk.max_in_flight == 3, "replies and comments are fetched in parallel, never more than the bound"


async def test_a_ticket_deleted_meanwhile_is_skipped_logged_and_counted(http: aiohttp.ClientSession) -> None:
    desk = SupportBeeFixture(tickets=6, faults=Faults(gone_tickets={1003}))
    async with desk.serve() as url:
        client = recorded_client(http, url)
        with capture_logs() as logs:
            threads = [t async for t in client.ticket_threads()]

    assert {t.ticket["id"] for t in threads} == {1001, 1002, 1004, 1005, 1006}
    assert client.skipped == 1
    skipped = [e for e in logs if e["event"] == EVENT_THREAD_SKIPPED]
    assert [(e["external_id"], e["status"]) for e in skipped] == [(1003, 404)]


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "chunked"])
async def test_attachment_over_the_cap_is_skipped(
    http: aiohttp.ClientSession, tmp_path: Path, content_length: bool
) -> None:
    desk = SupportBeeFixture(tickets=4, attachment_content_length=content_length)
    async with desk.serve() as url:
        client = recorded_client(http, url)
        listed = [t async for t in client.tickets() if t["content"]["attachments"]]
        attachment = listed[0]["content"]["attachments"][0]
        size = len((await client.download_attachment(attachment, max_bytes=10_000)).data or b"")
        with pytest.raises(SkippableRecordError):
            await client.download_attachment(attachment, max_bytes=size - 1)
        with pytest.raises(SkippableRecordError):
            await client.download_attachment(attachment, max_bytes=size - 1, to_path=tmp_path / "big")

    assert size == 140
    assert not (tmp_path / "big").exists(), "no partial file is left behind"


async def test_private_base_url_is_refused_unless_allowed(http: aiohttp.ClientSession) -> None:
    desk = SupportBeeFixture(tickets=3)
    async with desk.serve() as url:
        refused = SupportBeeClient(http, base_url=url, auth_token=DEFAULT_TOKEN)
        with pytest.raises(FatalSourceError, match="private"):
            await refused.verify_credentials()
        assert desk.requests == []

        allowed = SupportBeeClient(http, base_url=url, auth_token=DEFAULT_TOKEN, allow_private_urls=True)
        await allowed.verify_credentials()
    assert len(desk.requests) == 1


async def test_attachment_link_to_a_private_address_is_skipped(http: aiohttp.ClientSession) -> None:
    client = SupportBeeClient(http, company="acme", auth_token=DEFAULT_TOKEN)
    attachment = {"id": 9, "url": {"original": "http://10.0.0.8/attachments/9"}}

    with pytest.raises(SkippableRecordError, match="private"):
        await client.download_attachment(attachment, max_bytes=1000)


def test_company_builds_the_desk_url_and_bad_names_are_refused() -> None:
    session: Any = object()
    assert SupportBeeClient(session, company="Acme-Support", auth_token="t").base_url == (
        "https://acme-support.supportbee.com"
    )
    with pytest.raises(FatalSourceError):
        SupportBeeClient(session, company="evil.example/x", auth_token="t")
    with pytest.raises(FatalSourceError):
        SupportBeeClient(session, auth_token="t")
