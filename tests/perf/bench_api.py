#!/usr/bin/env python3
"""Benchmark the native API's conversation reads against a one-query baseline, on SQLite and PostgreSQL.

    python tests/perf/bench_api.py [--conversations 10000] [--db sqlite|postgres|both]

For each database: create it fresh (a SQLite file; a new PostgreSQL database on --pg-url's server, dropped
after), migrate, seed (account, administrator, token, inboxes, labels and contacts through ``bridge.store``;
conversations and messages by bulk Core inserts, as that is set-up, not what is measured), start the real app
with an AppRunner on a free port, and drive it from a separate process with an aiohttp client at a fixed
concurrency. Routes measured:

* baseline: a route added only here that runs one primary-key SELECT through the raw driver (one aiosqlite
  connection / an asyncpg pool) and returns small JSON: the floor any route on this stack pays;
* ``GET /api/v1/accounts/{id}/conversations/{display_id}`` on random display ids;
* ``GET /api/v1/accounts/{id}/conversations?status=open&inbox_id=…&page=1``.

It prints requests/s, p50 and p99 latency, and each route's requests/s as a ratio of the baseline's.
"""

# ruff: noqa: E402  (the repository root goes on sys.path before the project's imports)

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import logging
import multiprocessing
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp
import aiosqlite
import asyncpg
import sqlalchemy
import structlog
from aiohttp import web
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import make_url

from bridge import db
from bridge.app import create_app
from bridge.logs import SHARED_PROCESSORS
from bridge.models import Account, Conversation, ConversationLabel, Message, utcnow
from bridge.routing import json_response
from bridge.schemas import ContactData, InboxData, LabelData
from bridge.settings import Settings
from bridge.store import Store

RAW = web.AppKey("bench_raw_driver", object)
STATUSES = ("open", "open", "open", "open", "open", "resolved", "resolved", "resolved", "pending", "pending")
LABELS = ("billing", "shipping", "vip")
BATCH = 5_000


# -- load generation (runs in a child process) -----------------------------------------------------
@dataclass
class Figures:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    client_cpu: float = 0.0  # share of one core the load generator used
    server_cpu: float = 0.0  # share of one core the app's process used
    first_error: str | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def run_load(
    base_url: str,
    headers: dict[str, str],
    paths: list[str],
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int | None,
    seed: int,
) -> Figures:
    """Drive ``paths`` (picked at random) with ``concurrency`` connections; return the measured figures."""
    return asyncio.run(_load(base_url, headers, paths, concurrency, duration, warmup, max_requests, seed))


async def _load(
    base_url: str,
    headers: dict[str, str],
    paths: list[str],
    concurrency: int,
    duration: float,
    warmup: float,
    max_requests: int | None,
    seed: int,
) -> Figures:
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    issued = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base_url, connector=connector, headers=headers, timeout=timeout) as http:

        async def worker(deadline: float, record: bool) -> None:
            nonlocal errors, first_error, issued
            while time.perf_counter() < deadline:
                if record and max_requests is not None:
                    if issued >= max_requests:
                        return
                    issued += 1
                path = rng.choice(paths)
                started = time.perf_counter()
                async with http.get(path) as response:
                    body = await response.read()
                    status = response.status
                elapsed = time.perf_counter() - started
                if not record:
                    continue
                latencies.append(elapsed)
                if status != 200:
                    errors += 1
                    first_error = first_error or f"{status} {path}: {body[:200]!r}"

        if warmup > 0:
            warm_until = time.perf_counter() + warmup
            await asyncio.gather(*(worker(warm_until, False) for _ in range(concurrency)))
        start, cpu_start = time.perf_counter(), time.process_time()
        deadline = start + (duration if max_requests is None else 3600)
        await asyncio.gather(*(worker(deadline, True) for _ in range(concurrency)))
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
    latencies.sort()
    return Figures(
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        client_cpu=cpu / seconds if seconds else 0.0,
        first_error=first_error,
    )


# -- databases -----------------------------------------------------------------------------------
@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    try:
        yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    parsed = make_url(server_url)
    admin_dsn = parsed.set(drivername="postgresql", database=parsed.database or "postgres").render_as_string(
        hide_password=False
    )
    name = f"bridge_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- seeding -------------------------------------------------------------------------------------
@dataclass
class Seeded:
    account_id: int
    token: str
    inbox_ids: list[int]
    display_ids: list[int]
    conversation_ids: list[int]
    open_per_inbox: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


async def seed(url: str, attachments_dir: Path, conversations: int, messages: int) -> Seeded:
    started = time.perf_counter()
    await db.upgrade(url)
    engine = db.make_engine(url)
    try:
        store = Store(db.make_session_factory(engine), attachments_dir=attachments_dir)
        account = await store.create_account("Benchmark")
        user_id, token = await store.create_admin(account.id, name="Bench Admin", email="bench@example.com")
        async with store.writer(account.id) as w:
            inbox_ids = [
                (await w.create_inbox(InboxData(name=f"Support {i}", channel_type="api"))).id for i in range(2)
            ]
            for title in LABELS:
                await w.create_label(LabelData(title=title))
        contact_ids: list[int] = []
        contacts = max(1, conversations // 10)
        for first in range(0, contacts, 500):
            async with store.writer(account.id) as w:
                for i in range(first, min(contacts, first + 500)):
                    row = await w.create_contact(ContactData(name=f"Customer {i}", email=f"customer{i}@example.com"))
                    contact_ids.append(row.id)

        now = utcnow()
        rows: list[dict[str, Any]] = []
        open_per_inbox = dict.fromkeys(inbox_ids, 0)
        for n in range(1, conversations + 1):
            status = STATUSES[n % len(STATUSES)]
            inbox_id = inbox_ids[n % len(inbox_ids)]
            open_per_inbox[inbox_id] += status == "open"
            last = now - dt.timedelta(minutes=conversations - n)
            rows.append(
                {
                    "account_id": account.id,
                    "display_id": n,
                    "uuid": str(uuid.uuid4()),
                    "inbox_id": inbox_id,
                    "contact_id": contact_ids[n % len(contact_ids)],
                    "assignee_id": user_id if n % 3 == 0 else None,
                    "team_id": None,
                    "status": status,
                    "priority": "none",
                    "muted": False,
                    "spam": False,
                    "custom_attributes": {},
                    "additional_attributes": {},
                    "last_activity_at": last,
                    "created_at": last - dt.timedelta(hours=1),
                    "updated_at": last,
                }
            )
        async with engine.begin() as conn:
            for first in range(0, len(rows), BATCH):
                await conn.execute(insert(Conversation), rows[first : first + BATCH])
            await conn.execute(update(Account).where(Account.id == account.id).values(conversation_seq=conversations))
            found = (
                await conn.execute(
                    select(Conversation.id, Conversation.display_id, Conversation.inbox_id, Conversation.contact_id)
                    .where(Conversation.account_id == account.id)
                    .order_by(Conversation.display_id)
                )
            ).all()
            label_rows = [
                {"conversation_id": cid, "title": LABELS[display % len(LABELS)], "account_id": account.id}
                for cid, display, _, _ in found
                if display % 3 == 0
            ]
            for first in range(0, len(label_rows), BATCH):
                await conn.execute(insert(ConversationLabel), label_rows[first : first + BATCH])
            batch: list[dict[str, Any]] = []
            for cid, display, inbox_id, contact_id in found:
                base_time = now - dt.timedelta(minutes=conversations - display, hours=1)
                for m in range(messages):
                    incoming = m % 2 == 0
                    at = base_time + dt.timedelta(minutes=m)
                    batch.append(
                        {
                            "account_id": account.id,
                            "conversation_id": cid,
                            "inbox_id": inbox_id,
                            "content": f"Message {m + 1} of conversation {display}: "
                            + ("where is my order?" if incoming else "it ships tomorrow."),
                            "message_type": "incoming" if incoming else "outgoing",
                            "private": False,
                            "content_type": "text",
                            "content_attributes": {},
                            "additional_attributes": {},
                            "sender_type": "contact" if incoming else "agent",
                            "sender_id": contact_id if incoming else user_id,
                            "status": "sent",
                            "created_at": at,
                            "updated_at": at,
                        }
                    )
                if len(batch) >= BATCH:
                    await conn.execute(insert(Message), batch)
                    batch = []
            if batch:
                await conn.execute(insert(Message), batch)
        # Fresh statistics, as a database that has been in use would have them.
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return Seeded(
        account_id=account.id,
        token=token,
        inbox_ids=inbox_ids,
        display_ids=[display for _, display, _, _ in found],
        conversation_ids=[cid for cid, _, _, _ in found],
        open_per_inbox=open_per_inbox,
        seconds=time.perf_counter() - started,
    )


# -- the app under test --------------------------------------------------------------------------
def raw_driver(url: str) -> Any:
    """A cleanup_ctx that opens the raw driver the baseline route queries through."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            conn = await aiosqlite.connect(str(parsed.database))
            app[RAW] = conn
            yield
            await conn.close()
        else:
            pool = await asyncpg.create_pool(
                parsed.set(drivername="postgresql").render_as_string(hide_password=False), min_size=1, max_size=20
            )
            app[RAW] = pool
            yield
            await pool.close()

    return ctx


async def baseline(request: web.Request) -> web.Response:
    """One primary-key SELECT through the raw driver, returned as small JSON."""
    conversation_id = int(request.match_info["id"])
    raw = request.app[RAW]
    if isinstance(raw, aiosqlite.Connection):
        async with raw.execute(
            "SELECT id, display_id, status FROM conversations WHERE id = ?", (conversation_id,)
        ) as cursor:
            row = await cursor.fetchone()
    else:
        assert isinstance(raw, asyncpg.Pool)
        row = await raw.fetchrow("SELECT id, display_id, status FROM conversations WHERE id = $1", conversation_id)
    if row is None:
        raise web.HTTPNotFound()
    return json_response({"id": row[0], "display_id": row[1], "status": row[2]})


def quiet_json_logs() -> None:
    """Keep the app's real structlog pipeline (JSON, redaction) at info level, but write it to /dev/null."""
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    structlog.configure(
        processors=[*SHARED_PROCESSORS, structlog.processors.format_exc_info, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sink),
        cache_logger_on_first_use=False,
    )


@dataclass
class Row:
    database: str
    route: str
    figures: Figures | None
    note: str = ""


async def check(http: aiohttp.ClientSession, path: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with http.get(path, headers=headers) as response:
        body = await response.json(content_type=None)
        return response.status, body


async def bench_database(
    name: str, url: str, args: argparse.Namespace, pool: concurrent.futures.ProcessPoolExecutor
) -> tuple[list[Row], float]:
    work = Path(tempfile.mkdtemp(prefix="bridge-bench-files-"))
    try:
        print(f"[{name}] seeding {args.conversations:,} conversations x {args.messages} messages …", flush=True)
        seeded = await seed(url, work / "attachments", args.conversations, args.messages)
        print(f"[{name}] seeded in {seeded.seconds:.1f} s; starting the app", flush=True)
        settings = Settings(
            database_url=url,
            auto_migrate=False,
            rate_limit=1_000_000_000,
            attachments_dir=work / "attachments",
            host="127.0.0.1",
            port=0,
        )
        app = create_app(settings)
        app.cleanup_ctx.append(raw_driver(url))
        app.router.add_get("/bench/baseline/{id}", baseline)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            return await measure(name, base_url, seeded, args, pool), seeded.seconds
        finally:
            await runner.cleanup()
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def measure(
    name: str, base_url: str, seeded: Seeded, args: argparse.Namespace, pool: concurrent.futures.ProcessPoolExecutor
) -> list[Row]:
    rng = random.Random(args.seed)
    account = f"/api/v1/accounts/{seeded.account_id}"
    headers = {"api_access_token": seeded.token}
    sample = 20_000
    routes: list[tuple[str, list[str], str]] = [
        (
            f"baseline: 1 PK SELECT via {'aiosqlite' if name == 'sqlite' else 'asyncpg'}",
            [f"/bench/baseline/{rng.choice(seeded.conversation_ids)}" for _ in range(sample)],
            "",
        ),
        (
            "GET …/conversations/{display_id}",
            [f"{account}/conversations/{rng.choice(seeded.display_ids)}" for _ in range(sample)],
            "",
        ),
        (
            "GET …/conversations?status=open&inbox_id=…&page=1",
            [f"{account}/conversations?status=open&inbox_id={inbox}&page=1" for inbox in seeded.inbox_ids],
            "",
        ),
    ]

    # Check each route answers what the benchmark claims to measure before timing it.
    problems: dict[str, str] = {}
    async with aiohttp.ClientSession(base_url) as http:
        status, body = await check(http, routes[0][1][0], {})
        if status != 200 or "display_id" not in body:
            problems[routes[0][0]] = f"baseline answered {status}"
        display_id = seeded.display_ids[len(seeded.display_ids) // 2]
        status, body = await check(http, f"{account}/conversations/{display_id}", headers)
        if status != 200 or not isinstance(body, dict) or body.get("id") != display_id:
            problems[routes[1][0]] = f"answered {status} {str(body)[:120]}"
        inbox = seeded.inbox_ids[0]
        status, body = await check(http, f"{account}/conversations?status=open&inbox_id={inbox}&page=1", headers)
        try:
            payload = body["data"]["payload"]
            meta = body["data"]["meta"]
            expected = min(25, seeded.open_per_inbox[inbox])
            if (
                status != 200
                or len(payload) != expected
                or any(c["status"] != "open" or c["inbox_id"] != inbox for c in payload)
            ):
                problems[routes[2][0]] = f"answered {status} with {len(payload)} items, meta {meta}"
        except (KeyError, TypeError):
            problems[routes[2][0]] = f"answered {status} {str(body)[:120]}"

    loop = asyncio.get_running_loop()
    rows: list[Row] = []
    for label, paths, _ in routes:
        if label in problems:
            print(f"[{name}] skipping {label}: {problems[label]}", flush=True)
            rows.append(Row(name, label, None, problems[label]))
            continue
        print(f"[{name}] {label} …", flush=True)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        figures = await loop.run_in_executor(
            pool,
            run_load,
            base_url,
            headers,
            paths,
            args.concurrency,
            args.duration,
            args.warmup,
            args.requests,
            args.seed,
        )
        # Includes the warm-up: the server's share of a core over the whole run of this route.
        figures.server_cpu = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
        rows.append(Row(name, label, figures))
    return rows


def render_table(rows: list[Row], args: argparse.Namespace, seeding: dict[str, float]) -> str:
    lines = [
        "",
        "Supportly bridge API benchmark",
        f"  data:    {args.conversations:,} conversations x {args.messages} messages "
        f"({args.conversations * args.messages:,} messages) in one account, 2 inboxes, "
        f"{max(1, args.conversations // 10):,} contacts",
        f"  load:    {args.concurrency} concurrent connections from a separate process, "
        + (f"{args.requests:,} requests" if args.requests else f"{args.duration:g} s")
        + f" per route after {args.warmup:g} s warm-up; app logs at info, JSON, to /dev/null",
        f"  machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
        f"SQLAlchemy {sqlalchemy.__version__}, asyncpg {asyncpg.__version__}",
        "  seeding: " + ", ".join(f"{db_name} {seconds:.1f} s" for db_name, seconds in seeding.items()),
        "",
    ]
    header = (
        f"{'database':<9} {'route':<52} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'vs baseline':>12} {'app CPU':>8} {'client CPU':>11}"
    )
    lines += [header, "-" * len(header)]
    baselines = {r.database: r.figures.rps for r in rows if r.route.startswith("baseline") and r.figures}
    for row in rows:
        if row.figures is None:
            lines.append(f"{row.database:<9} {row.route:<52} not measured: {row.note}")
            continue
        f = row.figures
        base = baselines.get(row.database)
        ratio = f"{f.rps / base:.2f}x" if base else "n/a"
        figures = f"{f.rps:>8,.0f} {f.p50_ms:>8.1f} {f.p99_ms:>8.1f} {f.errors:>7}"
        cpu = f"{f.server_cpu:>8.0%} {f.client_cpu:>11.0%}"
        lines.append(f"{row.database:<9} {row.route:<52} {figures} {ratio:>12} {cpu}")
        if f.first_error:
            lines.append(f"{'':<9} first error: {f.first_error}")
    lines += [
        "",
        "req/s and latency are measured at the client; 'vs baseline' is req/s over the same database's baseline;",
        "CPU is the share of one core used by the app's process and by the load generator's process.",
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--conversations", type=int, default=10_000, help="conversations to seed (default 10000)")
    parser.add_argument("--messages", type=int, default=10, help="messages per conversation (default 10)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per route (default 10)")
    parser.add_argument("--requests", type=int, default=None, help="measure this many requests per route instead")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up per route (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the ids requested")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BRIDGE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="PostgreSQL server to create the scratch database on (default: 127.0.0.1:5432, user postgres)",
    )
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.messages < 0 or args.concurrency < 1:
        parser.error("--conversations and --concurrency must be positive, --messages not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_json_logs()
    databases = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows: list[Row] = []
    seeding: dict[str, float] = {}
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        for name in databases:
            scratch = sqlite_database() if name == "sqlite" else postgres_database(args.pg_url)
            try:
                with scratch as url:
                    found, seconds = asyncio.run(bench_database(name, url, args, pool))
            except (OSError, asyncpg.PostgresError) as err:
                print(f"[{name}] cannot use the database: {err}", file=sys.stderr, flush=True)
                return 1
            rows += found
            seeding[name] = seconds
    print(render_table(rows, args, seeding), flush=True)
    return 0 if all(r.figures is not None and r.figures.errors == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
