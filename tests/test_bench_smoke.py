"""Smoke tests of the migration benchmark (``tests/perf/bench_migration.py``) and its bulk SupportBee desk, so
neither rots: the benchmark imports a 200-ticket desk end to end, and the desk's server pages every ticket to the
real SupportBee client exactly once.

Data: the deterministic generator ``fixtures/supportbee/generator.py`` (served by ``fixtures/supportbee/bulk_server``).
The benchmark runs on SQLite, or on PostgreSQL when ``BRIDGE_TEST_DATABASE_URL`` names a PostgreSQL server.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from bridge.migration.source import RunOptions
from bridge.settings import Settings
from fixtures.supportbee.bulk_server import serve
from fixtures.supportbee.generator import MESSAGES_PER_TICKET, BulkDesk, Folder, stamp, summarize
from mappings import supportbee as sb
from providers.supportbee import migration
from providers.supportbee.client import SupportBeeClient

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "tests" / "perf" / "bench_migration.py"


def test_benchmark_imports_a_small_desk_completely_and_prints_its_figures() -> None:
    requested = os.environ.get("BRIDGE_TEST_DATABASE_URL", "")
    kind, extra = "sqlite", []
    if requested.startswith("postgres"):
        server = make_url(requested).set(drivername="postgresql", database="postgres")
        kind, extra = "postgres", ["--pg-url", server.render_as_string(hide_password=False)]
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "200", "--databases", kind, *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("database "))
    figures = dict(zip(re.split(r"\s{2,}", lines[header]), re.split(r"\s{2,}", lines[header + 2]), strict=True))

    def number(column: str) -> float:
        return float(figures[column].replace(",", ""))

    assert (figures["database"], figures["N"], figures["complete"]) == (kind, "200", "yes"), done.stdout
    assert number("seconds") > 0
    fastest, slowest = (float(part) for part in figures["import runs"].split("-"))
    assert fastest <= number("seconds") <= slowest, "a small desk is imported three times; the median run counts"
    assert number("rows/s") > 0
    assert number("baseline rows/s") > number("rows/s"), "the raw insert is the ceiling"
    assert 50 < number("peak RSS MB") < 2000, "the child's own peak RSS, in MB"
    assert 0.8 < number("B/msg import") / number("B/msg baseline") < 1.25, "baseline rows sized like the import's"
    assert any(line.startswith(("PASS", "FAIL")) and "raw-insert baseline" in line for line in lines), done.stdout
    assert any("peak RSS" in line for line in lines if line.startswith(("PASS", "FAIL", "n/a"))), done.stdout


async def test_bulk_desk_serves_every_ticket_once_in_the_shapes_the_client_reads() -> None:
    desk = BulkDesk(250)
    async with serve(desk, token="smoke") as url, aiohttp.ClientSession() as http:
        client = SupportBeeClient(http, base_url=url, auth_token="smoke", allow_private_urls=True)
        await client.verify_credentials()
        tickets = [t async for t in client.tickets()]
        assert sorted(t["id"] for t in tickets) == list(range(1, 251))
        assert {t["spam"] for t in tickets} == {True, False}
        assert {t["trash"] for t in tickets} == {True, False}
        assert await client.count_tickets() + sum(1 for t in tickets if t["spam"] or t["trash"]) == 250

        # A delta run: exactly the tickets with activity after a moment inside ticket 100's thread.
        middle = desk.thread(100).posts[4].created_at
        newer = [t["id"] async for t in client.tickets(since=stamp(middle))]
        assert sorted(newer) == list(range(100, 251))

        # Listings are put together from each ticket's encoded JSON, made once: they decode to the ticket itself.
        assert next(t for t in tickets if t["id"] == 7) == desk.ticket_json(7, url)

        thread = desk.thread(7)
        replies, comments = await client.replies(7), await client.comments(7)
        ticket = sb.SBTicket.model_validate(next(t for t in tickets if t["id"] == 7))
        assert (ticket.replies_count, ticket.comments_count) == (len(replies), len(comments)) == (7, 3)
        posts = [sb.SBReply.model_validate(r) for r in replies] + [sb.SBComment.model_validate(c) for c in comments]
        assert max(p.created_at for p in posts if p.created_at) == ticket.last_activity_at == thread.last_activity_at
        assert 900 < len(thread.text) < 2200
        assert all(300 <= len(p.text) <= 1600 for p in thread.posts)

        customers = [c async for c in client.customers()]
        assert len(customers) == desk.customer_count == 25
        assert {t["requester"]["id"] for t in tickets} <= {c["id"] for c in customers}

    same = BulkDesk(250).ticket_json(42, "http://x")
    assert same == desk.ticket_json(42, "http://x")
    assert BulkDesk(250, seed=1).ticket_json(42, "http://x") != same
    rows = desk.message_rows(7, account_id=1, inbox_id=1, contact_id=1)
    assert len(rows) == MESSAGES_PER_TICKET
    assert desk.expected_messages == 250 * MESSAGES_PER_TICKET


async def test_the_spam_and_trash_passes_tickets_come_in_batches_of_at_least_a_quarter_page() -> None:
    # The spam and trash passes list the whole desk again for the 3 % only they show: their pages bring one or two
    # new tickets each, which must not become one- or two-ticket batches (a transaction and a checkpoint each).
    desk = BulkDesk(1000)
    async with serve(desk, token="smoke") as url, aiohttp.ClientSession() as http:
        settings = Settings(allow_private_urls=True, migration_reader="inline")
        source = migration.make_source(http, {"base_url": url, "auth_token": "smoke"}, settings)

        async def nothing_imported(provider: str, kind: str, external_ids: Iterable[str]) -> dict[str, Any]:
            return {}

        batches = source.batches("tickets", cursor=None, options=RunOptions(), lookup=nothing_imported)
        seen = [(len(batch.records), int(batch.cursor["page"])) async for batch in batches]
    sizes, pages = [size for size, _ in seen], [page for _, page in seen]
    assert sum(sizes) == 1000
    first_pass = Folder.of(archived="any", spam=False, trash=False).count_upto(1000)
    full = first_pass // 99
    assert sizes[:full] == [99] * full, "the first pass: a batch per page"
    assert all(size >= 24 for size in sizes[full + 1 : -1]), sizes
    assert len(sizes) <= full + 1 + math.ceil((1000 - first_pass) / 24) + 1, sizes
    assert pages == sorted(set(pages)), "each batch's cursor is past the one before"
    assert pages[-1] > len(pages), "the later batches gathered several pages each"


def test_the_bulk_desks_summaries_are_its_texts_with_whitespace_collapsed() -> None:
    # The generator builds summaries without splitting the texts (see _slice_summary); they must still be
    # SupportBee's, which the mapping compares with the text to decide whether to keep a summary of its own.
    desk = BulkDesk(3000, seed=3)
    for i in range(1, 3001, 7):
        ticket = desk.ticket_json(i, "http://x")
        assert ticket["summary"] == summarize(ticket["content"]["text"])
        for reply in desk.replies_json(i, "http://x"):
            assert reply["summary"] == summarize(reply["content"]["text"])


async def _exchange(url: str, raw: bytes) -> bytes:
    """Send ``raw`` on one connection to the desk and read until it closes the connection (or 2 s pass)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(raw)
    await writer.drain()
    got = b""
    with contextlib.suppress(TimeoutError):
        while chunk := await asyncio.wait_for(reader.read(65536), 2):
            got += chunk
    writer.close()
    return got


async def test_bulk_desk_speaks_http_as_a_server_should() -> None:
    # The desk is a bare asyncio protocol, not aiohttp's server: what any HTTP client may send must get a clear
    # answer (fixture: a generated desk of 5 tickets).
    async with serve(BulkDesk(5), token="smoke") as url:
        answered = await _exchange(
            url,
            b"GET /tickets/1?auth_token=nope HTTP/1.1\r\nHost: x\r\n\r\n"  # wrong token
            b"POST /tickets/1?auth_token=smoke HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"  # body skipped
            b"GET /nowhere?auth_token=smoke HTTP/1.1\r\nHost: x\r\n\r\n"
            b"HEAD /tickets/2?auth_token=smoke HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /tickets/99?auth_token=smoke HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            b"GET /tickets/1?auth_token=smoke HTTP/1.1\r\nHost: x\r\n\r\n",  # after close: never answered
        )
        refused = await _exchange(url, b"NONSENSE\r\n\r\nGET /labels?auth_token=smoke HTTP/1.1\r\n\r\n")
    heads = re.findall(rb"HTTP/1\.1 \d{3} [A-Za-z ]+(?=\r\n)", answered)
    assert heads == [
        b"HTTP/1.1 401 Unauthorized",
        b"HTTP/1.1 405 Method Not Allowed",
        b"HTTP/1.1 404 Not Found",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 404 Not Found",
    ]
    assert b'{"error":"You need to sign in or sign up before continuing."}' in answered
    head_answer = answered.split(b"HTTP/1.1 200 OK")[1].split(b"HTTP/1.1 404")[0]
    assert b"Content-Length: " in head_answer
    assert head_answer.endswith(b"\r\n\r\n"), "a HEAD answer has headers only"
    assert refused.startswith(b"HTTP/1.1 400 Bad Request")
    assert refused.count(b"HTTP/1.1") == 1, "a request that cannot be read closes the connection"


async def test_a_pregenerated_desk_answers_exactly_what_a_generating_one_does() -> None:
    # The benchmark's desk encodes its answers before it listens; the client must not be able to tell (fixture: a
    # generated desk of 12 tickets, files on every 5th).
    paths = [f"/tickets/{n}/{part}" for n in range(1, 13) for part in ("replies", "comments")]
    paths += ["/tickets?per_page=5&page=2", "/tickets/7", "/tickets/13/replies", "/users?with_roles=customer"]
    async with (
        serve(BulkDesk(12, attachments_every=5), token="smoke") as plain,
        serve(BulkDesk(12, attachments_every=5), token="smoke", pregenerate=True) as ready,
        aiohttp.ClientSession() as http,
    ):

        async def read(url: str, path: str) -> tuple[int, bytes]:
            async with http.get(f"{url}{path}", params={"auth_token": "smoke"}) as response:
                return response.status, (await response.read()).replace(url.encode(), b"ORIGIN")

        for path in paths:
            assert await read(ready, path) == await read(plain, path), path
        status, body = await read(ready, "/tickets/5/replies")
        assert status == 200
        assert b"ORIGIN/attachments/" in body, "files name the desk they are served from"
        async with http.post(f"{ready}/tickets/1/replies", params={"auth_token": "smoke"}) as response:
            assert response.status == 405
        async with http.get(f"{ready}/tickets/1/replies", params={"auth_token": "nope"}) as response:
            assert response.status == 401
