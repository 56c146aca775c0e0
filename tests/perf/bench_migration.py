#!/usr/bin/env python3
"""Benchmark a SupportBee import end to end against a raw-driver bulk insert of the same rows, on SQLite and PostgreSQL.

    .venv/bin/python tests/perf/bench_migration.py [--sizes 10000,100000] [--databases sqlite,postgres]

For each size N a light SupportBee API (``fixtures/supportbee/bulk_server.py`` over the deterministic
``fixtures/supportbee/generator.py`` desk: N tickets of 10 replies and comments each, ~1-2 KB texts with html, N/10
customers, ~20 agents) runs in its own process, so its memory and CPU are not the importer's; it encodes every
ticket's answers before it listens (``--pregenerate``), so what it takes from the import's CPU during the run is
serving them, as near as a local server gets to a remote desk's nothing. For each database and size:

* import: a fresh database (a SQLite file in a temporary folder; ``CREATE DATABASE bench_…`` on ``--pg-url``,
  dropped after), ``python -m bridge.cli db upgrade``, ``accounts create --json``, then the import as a child
  process, ``python -m bridge.cli migrate supportbee --account A --base-url URL --token T --json`` (progress and
  logs to a file; ``LOG_LEVEL=warning``; ``MIGRATION_READER`` from ``--reader``). Wall time is taken around the
  child. Its peak RSS counts the reader process too: the larger of its own ``ru_maxrss`` from ``os.wait4`` (KiB on
  Linux) and the peak of its process tree's summed VmRSS, sampled every 100 ms; its CPU seconds include the
  reader's. The job must be completed and the database must hold exactly the generator's conversations and
  messages, else a loud failure. "all rows" counts the rows the import added to every table. It runs
  ``--import-runs`` times, each into a fresh database (default: 3 below 50,000 tickets, where a run is a few
  seconds and one slow minute of a shared machine moves it by a fifth; 1 above): the figures are the median run's
  (by time), the table shows the runs' range of seconds, and the peak RSS is the highest of any run.
* baseline, in the same run: the same conversation and message rows (``BulkDesk.conversation_row`` and
  ``message_rows``: same counts, similar sizes) inserted through the raw driver into another fresh, migrated
  database (an account, inbox and contact first): ``sqlite3`` ``executemany`` in one transaction with the app's
  pragmas; asyncpg ``copy_records_to_table`` in one transaction. Only the insert calls and the commit are timed
  (rows are generated in chunks of ``--chunk`` tickets between them); rows/s = (conversations + messages) / s.
  It runs ``--baseline-runs`` times (default 3), each into a fresh database; the median counts, and the table
  shows the runs' range. (Runs in one benchmark agree closely; on the machine this was written on, the SQLite
  figure at N = 10,000 ranged from 31k to 54k rows/s between benchmarks a few minutes apart.)
* both timed sections start after ``os.sync()``, so neither is slowed by the other's writes still draining to disk
  (without it the SQLite baseline at N = 10,000 measured anywhere from 25k to 45k rows/s).

It prints one line per (database, N): seconds, tickets/s, rows/s (conversations + messages), all rows/s, peak RSS,
the CPU seconds of the import child and of the desk server during the import, the baseline's rows/s and the ratio
of the two, and the average stored bytes per message of both (content + additional_attributes; they should be
close). Then the acceptance lines:

* throughput: every import at >= 15 % of its same-run baseline rows/s, on each database;
* memory: the peak RSS at the largest N within 25 % of the smallest N's, on each database (needs two sizes).

Exit status: 1 when an import failed or is incomplete; with ``--strict``, 2 when an acceptance line says FAIL.
"""

# ruff: noqa: E402  (the repository root goes on sys.path before the project's imports)

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import asyncpg
from sqlalchemy.engine import make_url

from bridge import db
from bridge.models import Base
from bridge.schemas import ContactData, InboxData
from bridge.store import Store
from fixtures.supportbee.generator import CONVERSATION_COLUMNS, MESSAGE_COLUMNS, BulkDesk

TOKEN = "bench-token"
THROUGHPUT_FLOOR = 0.15
RSS_CEILING = 1.25
AUTO_RUNS_BELOW = 50_000
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"
TABLES: tuple[str, ...] = tuple(table.name for table in Base.metadata.sorted_tables)


# -- the desk server ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeskServer:
    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """CPU time the server has used so far (user + system; Linux ``/proc``), None where unknown."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def desk_server(tickets: int, seed: int) -> Iterator[DeskServer]:
    """Run ``fixtures.supportbee.bulk_server`` for ``tickets`` tickets in a child process."""
    argv = [sys.executable, "-m", "fixtures.supportbee.bulk_server", "--tickets", str(tickets), "--port", "0"]
    argv += ["--token", TOKEN, "--seed", str(seed), "--pregenerate"]
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, text=True, env=child_env({}))
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if " at http" not in line:
            raise RuntimeError(f"the desk server did not start: {line!r} (exit {proc.poll()})")
        yield DeskServer(line.rsplit(" ", 1)[1].strip(), proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# -- databases ---------------------------------------------------------------------------------------------
class Database(Protocol):
    kind: str

    @property
    def url(self) -> str:
        """The async SQLAlchemy URL the bridge uses."""
        ...

    def count(self, tables: Sequence[str]) -> dict[str, int]: ...

    def message_bytes(self) -> float:
        """Average stored bytes of a message's content and additional attributes."""
        ...


@dataclass
class SqliteDatabase:
    path: Path
    kind: str = "sqlite"

    @property
    def url(self) -> str:
        return f"sqlite+aiosqlite:///{self.path}"

    def _query(self, sql: str) -> Any:
        conn = sqlite3.connect(self.path)
        try:
            return conn.execute(sql).fetchone()[0]
        finally:
            conn.close()

    def count(self, tables: Sequence[str]) -> dict[str, int]:
        return {table: int(self._query(f'SELECT count(*) FROM "{table}"')) for table in tables}

    def message_bytes(self) -> float:
        sql = "SELECT avg(length(CAST(content AS BLOB)) + length(CAST(additional_attributes AS BLOB))) FROM messages"
        return float(self._query(sql) or 0.0)


@dataclass
class PostgresDatabase:
    dsn: str
    """A plain ``postgresql://`` DSN for asyncpg."""
    kind: str = "postgres"

    @property
    def url(self) -> str:
        return make_url(self.dsn).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)

    def _query(self, sql: str) -> Any:
        async def run() -> Any:
            conn = await asyncpg.connect(self.dsn)
            try:
                return await conn.fetchval(sql)
            finally:
                await conn.close()

        return asyncio.run(run())

    def count(self, tables: Sequence[str]) -> dict[str, int]:
        union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)

        async def run() -> dict[str, int]:
            conn = await asyncpg.connect(self.dsn)
            try:
                return {str(name): int(n) for name, n in await conn.fetch(union)}
            finally:
                await conn.close()

        return asyncio.run(run())

    def message_bytes(self) -> float:
        sql = "SELECT avg(octet_length(content) + octet_length(additional_attributes::text)) FROM messages"
        return float(self._query(sql) or 0.0)


@contextlib.contextmanager
def fresh_database(kind: str, work: Path, pg_url: str, label: str) -> Iterator[Database]:
    """A new, empty database: a SQLite file in ``work``, or ``bench_…`` on the PostgreSQL server (dropped after)."""
    if kind == "sqlite":
        path = work / f"{label}.db"
        try:
            yield SqliteDatabase(path)
        finally:
            for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                stale.unlink(missing_ok=True)
        return
    parsed = make_url(pg_url)
    admin = parsed.set(drivername="postgresql", database=parsed.database or "postgres")
    admin_dsn = admin.render_as_string(hide_password=False)
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"

    async def execute(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield PostgresDatabase(admin.set(database=name).render_as_string(hide_password=False))
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# -- the bridge's command line -------------------------------------------------------------------------------
def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def bridge_env(database: Database, work: Path) -> dict[str, str]:
    return child_env(
        {
            "DATABASE_URL": database.url,
            "ALLOW_PRIVATE_URLS": "true",
            "LOG_LEVEL": "warning",
            "BRIDGE_DATA_DIR": str(work),
            "ATTACHMENTS_DIR": str(work / "attachments"),
        }
    )


def cli(database: Database, work: Path, *args: str) -> dict[str, Any]:
    """Run ``python -m bridge.cli ARGS --json``; return its JSON line (raise with its stderr on failure)."""
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args, "--json"],
        cwd=work,
        env=bridge_env(database, work),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bridge.cli {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def prepare(database: Database, work: Path) -> int:
    """Migrate the database and create the account to import into; return its id."""
    cli(database, work, "db", "upgrade")
    return int(cli(database, work, "accounts", "create", "--name", "Bench")["account_id"])


@dataclass
class ChildRun:
    returncode: int
    seconds: float
    peak_rss_kib: int
    cpu_seconds: float
    stdout: str
    stderr_tail: str


def tree_rss_kib(pid: int) -> int:
    """The resident memory of a process and all its descendants now (Linux ``/proc``; 0 once it is gone)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        pending += [int(child) for child in children]
    return total


class TreeMemory:
    """Sample a process tree's resident memory every ``interval`` seconds in a thread; ``peak`` is the largest."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, tree_rss_kib(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_import(
    database: Database, work: Path, account_id: int, base_url: str, timeout: float, reader: str
) -> ChildRun:
    """Run the import as a child process; wall time around it, its own rusage from ``os.wait4``.

    The import may read in a second process (``MIGRATION_READER``): the peak RSS is the larger of the import's own
    ``ru_maxrss`` and the sampled peak of the import and its descendants together; CPU seconds include descendants
    the import waited for (``wait4`` counts them)."""
    argv = [sys.executable, "-m", "bridge.cli", "migrate", "supportbee", "--account", str(account_id)]
    argv += ["--base-url", base_url, "--token", TOKEN, "--json"]
    env = bridge_env(database, work) | {"AUTO_MIGRATE": "false", "MIGRATION_READER": reader}
    out_path, err_path = work / "import.out", work / "import.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=work, env=env, stdout=out, stderr=err)
        memory = TreeMemory(proc.pid)
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
            tree_peak = memory.stop()
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_bytes()[-3000:].decode(errors="replace")
    return ChildRun(
        returncode=proc.returncode,
        seconds=seconds,
        peak_rss_kib=max(int(usage.ru_maxrss), tree_peak),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        stdout=out_path.read_text(errors="replace"),
        stderr_tail=stderr,
    )


# -- the raw-driver baseline -----------------------------------------------------------------------------
async def _seed_baseline(database: Database, work: Path, account_id: int) -> tuple[int, int]:
    """An inbox and a contact for the baseline rows to point at (set-up through the store; not timed)."""
    engine = db.make_engine(database.url)
    try:
        store = Store(db.make_session_factory(engine), attachments_dir=work / "attachments")
        async with store.writer(account_id) as w:
            inbox = await w.create_inbox(InboxData(name="Bench", channel_type="api"))
            contact = await w.create_contact(ContactData(name="Bench Customer", email="bench@customer.example"))
            return inbox.id, contact.id
    finally:
        await engine.dispose()


def _sqlite_value(value: Any) -> Any:
    # What SQLAlchemy's SQLite DateTime stores (UTC, no zone).
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _chunks(tickets: int, size: int) -> Iterator[range]:
    for start in range(1, tickets + 1, size):
        yield range(start, min(start + size, tickets + 1))


def baseline_sqlite(database: SqliteDatabase, desk: BulkDesk, ids: dict[str, int], chunk: int) -> float:
    """executemany of every conversation and message row in one transaction; return the seconds spent inserting."""
    conn = sqlite3.connect(database.path, isolation_level=None)
    try:
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        insert_conversation = (
            f"INSERT INTO conversations ({', '.join(CONVERSATION_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(CONVERSATION_COLUMNS))})"
        )
        insert_message = (
            f"INSERT INTO messages ({', '.join(MESSAGE_COLUMNS)}) VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})"
        )
        spent = 0.0
        conn.execute("BEGIN")
        for numbers in _chunks(desk.tickets, chunk):
            conversations = [tuple(map(_sqlite_value, desk.conversation_row(i, **ids))) for i in numbers]
            messages = [tuple(map(_sqlite_value, row)) for i in numbers for row in desk.message_rows(i, **ids)]
            started = time.perf_counter()
            conn.executemany(insert_conversation, conversations)
            conn.executemany(insert_message, messages)
            spent += time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("COMMIT")
        return spent + time.perf_counter() - started
    finally:
        conn.close()


async def baseline_postgres(database: PostgresDatabase, desk: BulkDesk, ids: dict[str, int], chunk: int) -> float:
    """COPY of every conversation and message row in one transaction; return the seconds spent copying."""
    conn = await asyncpg.connect(database.dsn)
    try:
        spent = 0.0
        transaction = conn.transaction()
        await transaction.start()
        for numbers in _chunks(desk.tickets, chunk):
            conversations = [desk.conversation_row(i, **ids) for i in numbers]
            messages = [row for i in numbers for row in desk.message_rows(i, **ids)]
            started = time.perf_counter()
            await conn.copy_records_to_table("conversations", records=conversations, columns=CONVERSATION_COLUMNS)
            await conn.copy_records_to_table("messages", records=messages, columns=MESSAGE_COLUMNS)
            spent += time.perf_counter() - started
        started = time.perf_counter()
        await transaction.commit()
        return spent + time.perf_counter() - started
    finally:
        await conn.close()


@dataclass
class Baseline:
    rows: int
    seconds: float
    message_bytes: float
    runs: list[float] = field(default_factory=list)
    """Rows/s of each run (``--baseline-runs``): the figure is their median."""

    @property
    def rows_per_second(self) -> float:
        return statistics.median(self.runs) if self.runs else (self.rows / self.seconds if self.seconds else 0.0)

    @property
    def spread(self) -> str:
        return f"{min(self.runs):,.0f}-{max(self.runs):,.0f}" if self.runs else "-"


def run_baselines(kind: str, work: Path, args: argparse.Namespace, desk: BulkDesk) -> Baseline:
    """The baseline ``args.baseline_runs`` times, each into a fresh database; its rows/s is the runs' median."""
    runs = [run_baseline(kind, work, args.pg_url, desk, args.chunk) for _ in range(max(1, args.baseline_runs))]
    first = runs[0]
    return Baseline(first.rows, first.seconds, first.message_bytes, [run.rows_per_second for run in runs])


def run_baseline(kind: str, work: Path, pg_url: str, desk: BulkDesk, chunk: int) -> Baseline:
    with fresh_database(kind, work, pg_url, f"baseline_{uuid.uuid4().hex[:8]}") as database:
        account_id = prepare(database, work)
        inbox_id, contact_id = asyncio.run(_seed_baseline(database, work, account_id))
        ids = {"account_id": account_id, "inbox_id": inbox_id, "contact_id": contact_id}
        os.sync()  # start from clean pages: the import's writes must not still be draining (nor slow this down)
        if isinstance(database, SqliteDatabase):
            seconds = baseline_sqlite(database, desk, ids, chunk)
        else:
            assert isinstance(database, PostgresDatabase)
            seconds = asyncio.run(baseline_postgres(database, desk, ids, chunk))
        counts = database.count(["conversations", "messages"])
        if counts != {"conversations": desk.expected_conversations, "messages": desk.expected_messages}:
            raise RuntimeError(f"the baseline wrote {counts}, expected {desk.expected_conversations} conversations")
        return Baseline(counts["conversations"] + counts["messages"], seconds, database.message_bytes())


# -- one measurement -------------------------------------------------------------------------------------
@dataclass
class Result:
    database: str
    tickets: int
    seconds: float = 0.0
    peak_rss_kib: int = 0
    cpu_seconds: float = 0.0
    server_cpu_seconds: float | None = None
    conversations: int = 0
    messages: int = 0
    all_rows: int = 0
    message_bytes: float = 0.0
    baseline: Baseline | None = None
    problems: list[str] = field(default_factory=list)
    run_seconds: list[float] = field(default_factory=list)
    """Seconds of each import run (``--import-runs``): the figures are the median run's."""

    @property
    def spread(self) -> str:
        return f"{min(self.run_seconds):.1f}-{max(self.run_seconds):.1f}" if len(self.run_seconds) > 1 else "-"

    @property
    def ok(self) -> bool:
        return not self.problems

    def per_second(self, amount: float) -> float:
        return amount / self.seconds if self.seconds else 0.0

    @property
    def rows_per_second(self) -> float:
        return self.per_second(self.conversations + self.messages)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline.rows_per_second:
            return None
        return self.rows_per_second / self.baseline.rows_per_second


def import_runs(args: argparse.Namespace, tickets: int) -> int:
    """How many times to import a desk of ``tickets``: ``--import-runs``, else 3 below 50,000 tickets and 1 above."""
    if args.import_runs is not None:
        return max(1, int(args.import_runs))
    return 3 if tickets < AUTO_RUNS_BELOW else 1


def measure(kind: str, desk: BulkDesk, server: DeskServer, args: argparse.Namespace) -> Result:
    """The import's figures (the median of its runs by time; the highest peak RSS of any) and the baseline's."""
    runs = [measure_import(kind, desk, server, args) for _ in range(import_runs(args, desk.tickets))]
    result = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    result.run_seconds = [run.seconds for run in runs]
    result.peak_rss_kib = max(run.peak_rss_kib for run in runs)
    result.problems = [problem for run in runs for problem in run.problems]
    work = Path(tempfile.mkdtemp(prefix=f"bench-migration-{kind}-"))
    try:
        result.baseline = run_baselines(kind, work, args, desk)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def measure_import(kind: str, desk: BulkDesk, server: DeskServer, args: argparse.Namespace) -> Result:
    """One import of the desk into a fresh database."""
    result = Result(kind, desk.tickets)
    work = Path(tempfile.mkdtemp(prefix=f"bench-migration-{kind}-"))
    try:
        with fresh_database(kind, work, args.pg_url, "import") as database:
            account_id = prepare(database, work)
            before = database.count(TABLES)
            server_cpu = server.cpu_seconds()
            os.sync()  # the same clean start as the baseline's
            child = run_import(database, work, account_id, server.url, args.timeout, args.reader)
            server_cpu_after = server.cpu_seconds()
            if server_cpu is not None and server_cpu_after is not None:
                result.server_cpu_seconds = server_cpu_after - server_cpu
            result.seconds, result.cpu_seconds = child.seconds, child.cpu_seconds
            result.peak_rss_kib = child.peak_rss_kib
            after = database.count(TABLES)
            result.conversations, result.messages = after["conversations"], after["messages"]
            result.all_rows = sum(after[t] - before[t] for t in TABLES)
            result.message_bytes = database.message_bytes()
            result.problems += check_import(child, desk, result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def check_import(child: ChildRun, desk: BulkDesk, result: Result) -> list[str]:
    """What is wrong with the import: exit status, job status, failures, missing or extra rows."""
    problems = []
    if child.returncode != 0:
        problems.append(f"the import exited with {child.returncode}: {child.stderr_tail.strip()[-800:]}")
    try:
        job: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        job = {}
    if job.get("status") != "completed":
        problems.append(f"job status {job.get('status')!r}: {job.get('last_error')}")
    for phase, counts in (job.get("stats") or {}).items():
        if counts.get("failed") or counts.get("skipped"):
            problems.append(f"phase {phase}: {counts.get('failed')} failed, {counts.get('skipped')} skipped")
    if result.conversations != desk.expected_conversations:
        problems.append(f"{result.conversations} conversations in the database, expected {desk.expected_conversations}")
    if result.messages != desk.expected_messages:
        problems.append(f"{result.messages} messages in the database, expected {desk.expected_messages}")
    return problems


# -- report ----------------------------------------------------------------------------------------------
def render(results: Sequence[Result]) -> str:
    header = (
        "database",
        "N",
        "seconds",
        "import runs",
        "tickets/s",
        "rows/s",
        "all rows/s",
        "peak RSS MB",
        "cpu s",
        "server cpu s",
        "baseline rows/s",
        "baseline runs",
        "ratio",
        "B/msg import",
        "B/msg baseline",
        "complete",
    )
    rows = [header]
    for r in results:
        base = r.baseline
        rows.append(
            (
                r.database,
                str(r.tickets),
                f"{r.seconds:.1f}",
                r.spread,
                f"{r.per_second(r.tickets):,.0f}",
                f"{r.rows_per_second:,.0f}",
                f"{r.per_second(r.all_rows):,.0f}",
                f"{r.peak_rss_kib / 1024:.0f}",
                f"{r.cpu_seconds:.1f}",
                f"{r.server_cpu_seconds:.1f}" if r.server_cpu_seconds is not None else "-",
                f"{base.rows_per_second:,.0f}" if base else "-",
                base.spread if base else "-",
                f"{r.ratio:.1%}" if r.ratio is not None else "-",
                f"{r.message_bytes:,.0f}",
                f"{base.message_bytes:,.0f}" if base else "-",
                "yes" if r.ok else "NO",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def acceptance(results: Sequence[Result]) -> list[tuple[bool | None, str]]:
    """(passed, line) per criterion and database; None when it cannot be judged."""
    verdicts: list[tuple[bool | None, str]] = []
    for kind in dict.fromkeys(r.database for r in results):
        mine = sorted((r for r in results if r.database == kind), key=lambda r: r.tickets)
        ratios = [(r.tickets, r.ratio) for r in mine]
        judged = [ratio for _, ratio in ratios if ratio is not None]
        shown = ", ".join(f"N={n}: {ratio:.1%}" if ratio is not None else f"N={n}: -" for n, ratio in ratios)
        passed = bool(judged) and len(judged) == len(ratios) and min(judged) >= THROUGHPUT_FLOOR
        floor = f"{THROUGHPUT_FLOOR:.0%}"
        verdicts.append((passed, f"{kind}: import rows/s >= {floor} of the raw-insert baseline ({shown})"))
        if len(mine) < 2 or not mine[0].peak_rss_kib:
            verdicts.append((None, f"{kind}: peak RSS growth needs two sizes"))
            continue
        growth = mine[-1].peak_rss_kib / mine[0].peak_rss_kib
        verdicts.append(
            (
                growth <= RSS_CEILING,
                f"{kind}: peak RSS at N={mine[-1].tickets} is {growth:.2f}x N={mine[0].tickets}'s "
                f"(<= {RSS_CEILING:.2f}x)",
            )
        )
    return verdicts


# -- main ------------------------------------------------------------------------------------------------
def _sizes(value: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of sizes: {value!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return sizes


def _databases(value: str) -> list[str]:
    kinds = [part.strip() for part in value.split(",") if part.strip()]
    unknown = set(kinds) - {"sqlite", "postgres"}
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"databases are sqlite and/or postgres, not {value!r}")
    return list(dict.fromkeys(kinds))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=_sizes("10000,100000"), help="tickets, comma-separated")
    parser.add_argument("--databases", type=_databases, default=["sqlite", "postgres"], help="sqlite,postgres")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help=f"PostgreSQL server (default {DEFAULT_PG})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=500, help="tickets per baseline insert call")
    parser.add_argument(
        "--baseline-runs", type=int, default=3, help="baseline runs per size and database; the median counts"
    )
    parser.add_argument(
        "--import-runs",
        type=int,
        default=None,
        help=f"imports per size and database, the median counts (default 3 below {AUTO_RUNS_BELOW:,} tickets, else 1)",
    )
    parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds before an import is killed")
    parser.add_argument("--strict", action="store_true", help="exit 2 when an acceptance criterion fails")
    parser.add_argument(
        "--reader",
        choices=["auto", "inline", "process"],
        default="auto",
        help="where the import reads and maps tickets (MIGRATION_READER; default: the service's own default)",
    )
    args = parser.parse_args(argv)

    print(
        f"bench_migration: Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"sizes {args.sizes}; databases {args.databases}; reader {args.reader}",
        flush=True,
    )
    results: list[Result] = []
    for tickets in args.sizes:
        desk = BulkDesk(tickets, seed=args.seed)
        with desk_server(tickets, args.seed) as server:
            for kind in args.databases:
                print(f"  {kind}, N={tickets}: importing …", flush=True)
                result = measure(kind, desk, server, args)
                results.append(result)
                for problem in result.problems:
                    print(f"  !!! FAILED {kind} N={tickets}: {problem}", flush=True)
                base = result.baseline
                print(
                    f"  {kind}, N={tickets}: import {result.seconds:.1f} s, baseline "
                    f"{base.seconds if base else float('nan'):.2f} s",
                    flush=True,
                )
    print()
    print(render(results))
    print()
    verdicts = acceptance(results)
    for passed, line in verdicts:
        print(f"{'n/a ' if passed is None else 'PASS' if passed else 'FAIL'}  {line}")
    broken = [r for r in results if not r.ok]
    if broken:
        print(f"\n!!! {len(broken)} import(s) failed or are incomplete: the figures above do not count", flush=True)
        return 1
    if args.strict and any(passed is False for passed, _ in verdicts):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
