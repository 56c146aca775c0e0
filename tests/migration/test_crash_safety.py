"""Crash safety: an import SIGKILLed at several points and resumed ends with exactly the data of a clean import.

Data: the fixture generator's deterministic desk (``fixtures.supportbee.server.generate_desk``, 40 tickets: one page
of tickets, then the spam and the trash folders' few tickets gathered into a second batch; agents, a customer group,
customers; files on tickets and replies). Every import is ``python -m bridge.cli migrate supportbee`` in a process
of its own. Each kill lands at a known point, not at a guessed time: the fixture server holds the request that marks
it (its ``on_request`` hook) until the test has killed the process, or, inside a batch's transaction where the
worker makes no request, a named pipe blocks the store's write of an attachment file. A killed worker's lease is
expired in the job row instead of waiting out the CLI's 30 s lease. The clean import goes into a second account of
the same database; dumps compare the accounts by legacy ids, emails and names.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge import db
from bridge.migration import jobs
from bridge.migration.jobs import MigrationWorker
from bridge.models import MigrationJob
from bridge.settings import Settings
from bridge.store import Store
from fixtures.supportbee.server import Seen, SupportBeeFixture
from tests.migration.crash_support import (
    AccountDump,
    BlockedFileWrite,
    MigrateProcess,
    Sessions,
    Tripwire,
    checkpoint_of,
    cli_environment,
    conversations_and_messages,
    crash_at,
    crash_when,
    dump_account,
    expected_files,
    expected_messages,
    expire_lease,
    failure_report,
    latest_job,
    refs_by_kind,
    stored_files,
)

TICKETS = 40
SECRET = "test-secret"
THREAD = re.compile(r"/tickets/\d+/(replies|comments)")


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = db.make_engine(database_url)
    yield db.make_session_factory(engine)
    await engine.dispose()


def assert_same_data(crashed: AccountDump, clean: AccountDump) -> None:
    assert crashed.data.keys() == clean.data.keys()
    for section, expected in clean.data.items():
        if section == "tickets":
            assert crashed.data[section].keys() == expected.keys()
            for ticket, data in expected.items():
                assert crashed.data[section][ticket] == data, f"ticket {ticket}"
        else:
            assert crashed.data[section] == expected, section


def assert_each_once(dump: AccountDump, fixture: SupportBeeFixture) -> None:
    """Nothing missing, nothing twice: every ticket, message, file and legacy id of the desk exactly once."""
    assert dump.checks == []
    assert {key: n for key, n in dump.ref_counts.items() if n != 1} == {}
    assert dump.conversations_by_ticket == dict.fromkeys(expected_messages(fixture.desk), 1)
    assert dump.messages_per_ticket == expected_messages(fixture.desk)
    assert stored_files(dump) == expected_files(fixture.desk)
    emails = [row["email"] for row in dump.data["contacts"] if row["email"]]
    assert len(emails) == len(set(emails))


async def test_killed_at_six_points_and_resumed_equals_a_clean_import(
    database_url: str, sessions: Sessions, tmp_path: Path
) -> None:
    tripwire = Tripwire()
    fixture = SupportBeeFixture(tickets=TICKETS, on_request=tripwire)
    desk = fixture.desk
    first_page = [t for t in desk.tickets if not t.spam and not t.trash]
    # One file of the first ticket page larger than a pipe's buffer, for the kill during a file write (6).
    big_file = next(item for ticket in first_page for item in ticket.attachments)
    big_file.size = 1 << 20
    store = Store(sessions)
    clean = (await store.create_account("Clean import")).id
    crashed = (await store.create_account("Crashed import")).id
    attachments = tmp_path / "attachments"
    env = cli_environment(database_url, attachments, SECRET)
    logs = tmp_path / "logs"

    async def job_row() -> MigrationJob:
        job = await latest_job(sessions, crashed)
        assert job is not None
        return job

    async def checkpoint() -> dict[str, Any]:
        return await checkpoint_of(sessions, crashed) or {}

    async def resume(name: str) -> MigrateProcess:
        await expire_lease(sessions, job.id)
        return await MigrateProcess.start(env, logs, name, account_id=crashed, base_url=url, resume=job.id)

    async with fixture.serve() as url:
        run = await MigrateProcess.start(env, logs, "clean", account_id=clean, base_url=url)
        assert await run.finish() == 0, run.describe()
        clean_result = json.loads(run.stdout())

        # (1) Before the first batch: the people phase lists the agents (the estimate, before it, already did).
        async def listing_agents(seen: Seen) -> bool:
            if seen.path != "/users" or "admin" not in seen.query.get("with_roles", ""):
                return False
            job = await latest_job(sessions, crashed)
            return job is not None and bool(job.totals)

        tripwire.arm(listing_agents)
        run = await MigrateProcess.start(env, logs, "1-start", account_id=crashed, base_url=url)
        await crash_at(tripwire, run)
        job = await job_row()
        assert job.status == "in_progress"
        assert await refs_by_kind(sessions, crashed) == {}

        # The killed worker's lease is still live: a resume says so and leaves the job as it is.
        run = await MigrateProcess.start(env, logs, "2-refused", account_id=crashed, base_url=url, resume=job.id)
        assert await run.finish() == 1, run.describe()
        assert f"job {job.id} is being run by another worker" in run.stderr()
        refused = await job_row()
        assert (refused.status, refused.checkpoint, refused.lease_owner) == (
            "in_progress",
            job.checkpoint,
            job.lease_owner,
        )

        # (2) People phase: agents are committed, the customers are being listed (read ahead of the agents' batch
        # while it was written: held until that batch committed). A resume does not estimate again, so the listing
        # is the phase's own.
        async def listing_customers(seen: Seen) -> bool:
            return seen.path == "/users" and seen.query.get("with_roles") == "customer"

        async def agents_committed() -> bool:
            now = await checkpoint()
            return now.get("phase") == "agents" and bool(now.get("cursor"))

        tripwire.arm(listing_customers)
        await crash_at(tripwire, await resume("3-people"), until=agents_committed)
        kinds = await refs_by_kind(sessions, crashed)
        assert kinds["agent"] > 0
        assert kinds["contact"] == 0

        # (3) Ticket phase: the first page's replies and comments are being read; no ticket batch committed yet.
        async def reading_a_thread(seen: Seen) -> bool:
            if not THREAD.fullmatch(seen.path):
                return False
            now = await checkpoint()
            return now.get("phase") == "tickets" and not now.get("cursor")

        tripwire.arm(reading_a_thread)
        run = await resume("4-thread")
        await crash_at(tripwire, run)
        assert run.readers, "tickets are read in a reader process (which kill() saw exit by itself)"
        kinds = await refs_by_kind(sessions, crashed)
        assert kinds["contact"] > 0
        assert kinds["team"] == len(desk.teams)
        assert await conversations_and_messages(sessions, crashed) == (0, 0)

        # (4) The first ticket page's files are being downloaded (a few already arrived).
        downloads = 0

        async def downloading_a_file(seen: Seen) -> bool:
            nonlocal downloads
            if not seen.path.startswith("/attachments/"):
                return False
            now = await checkpoint()
            if now.get("phase") != "tickets" or now.get("cursor"):
                return False
            downloads += 1
            return downloads == 3

        tripwire.arm(downloading_a_file)
        await crash_at(tripwire, await resume("5-download"))
        assert await conversations_and_messages(sessions, crashed) == (0, 0)

        # (5) Mid-transaction: the first ticket page's rows are written (not committed) and a file is being stored.
        blocked = BlockedFileWrite(attachments, crashed, big_file.content())
        try:
            await crash_when(await resume("6-transaction"), blocked.writing)
        finally:
            blocked.remove()
        assert await conversations_and_messages(sessions, crashed) == (0, 0)  # nothing of it survived
        assert (await checkpoint()).get("cursor") is None

        # (6) Right after the first ticket batch committed: the next folder (spam), read ahead while that batch
        # was written, is held, so the worker stops right after the commit and waits for it.
        async def reading_the_next_folder(seen: Seen) -> bool:
            return seen.path == "/tickets" and seen.query.get("spam") == "true" and "total_only" not in seen.query

        async def first_batch_committed() -> bool:
            now = await checkpoint()
            return now.get("phase") == "tickets" and bool(now.get("cursor"))

        tripwire.arm(reading_the_next_folder)
        await crash_at(tripwire, await resume("7-committed"), until=first_batch_committed)
        assert (await refs_by_kind(sessions, crashed))["conversation"] == len(first_page)

        run = await resume("8-final")
        assert await run.finish() == 0, run.describe()
        result = json.loads(run.stdout())

    assert clean_result["status"] == "completed"
    assert clean_result["records_imported"] == clean_result["total_records"]
    assert (result["id"], result["status"]) == (job.id, "completed")
    assert result["records_imported"] == result["total_records"] == clean_result["total_records"]
    # Per phase, what was created, updated or left unchanged is what the clean run did: no batch counted twice.
    assert result["stats"] == clean_result["stats"]
    assert await failure_report(sessions, job.id) == await failure_report(sessions, clean_result["id"])

    clean_dump = await dump_account(sessions, clean, attachments)
    crashed_dump = await dump_account(sessions, crashed, attachments)
    assert_each_once(clean_dump, fixture)
    assert_each_once(crashed_dump, fixture)
    assert_same_data(crashed_dump, clean_dump)


async def test_the_service_worker_takes_over_a_killed_import_once_its_lease_ran_out(
    database_url: str, sessions: Sessions, settings: Settings, tmp_path: Path
) -> None:
    tripwire = Tripwire()
    fixture = SupportBeeFixture(tickets=TICKETS, on_request=tripwire)
    store = Store(sessions, attachments_dir=settings.attachments_dir)
    clean = (await store.create_account("Clean import")).id
    crashed = (await store.create_account("Crashed import")).id
    env = cli_environment(database_url, settings.attachments_dir, settings.secret_key)
    logs = tmp_path / "logs"

    async with fixture.serve() as url, aiohttp.ClientSession() as http:
        run = await MigrateProcess.start(env, logs, "clean", account_id=clean, base_url=url)
        assert await run.finish() == 0, run.describe()
        clean_result = json.loads(run.stdout())

        # The last ticket batch (the few tickets only the spam and trash passes show, gathered into one batch) is
        # downloading its files (read ahead, held until the batch before it committed).
        trashed = {
            f"/attachments/{item.id}"
            for ticket in fixture.desk.tickets
            if ticket.trash
            for item in [*ticket.attachments, *(a for p in ticket.replies + ticket.comments for a in p.attachments)]
        }

        async def downloading_the_last_batchs_files(seen: Seen) -> bool:
            return seen.path in trashed

        async def first_batch_committed() -> bool:
            now = await checkpoint_of(sessions, crashed) or {}
            return now.get("phase") == "tickets" and (now.get("cursor") or {}).get("page") == 1

        tripwire.arm(downloading_the_last_batchs_files)
        run = await MigrateProcess.start(env, logs, "killed", account_id=crashed, base_url=url)
        await crash_at(tripwire, run, until=first_batch_committed)
        job = await latest_job(sessions, crashed)
        assert job is not None

        worker = MigrationWorker(store, http, settings)
        assert await jobs.claim(store, worker.owner, worker.lease_seconds, job.id) is None  # the lease is live
        await expire_lease(sessions, job.id)
        assert await jobs.claim(store, worker.owner, worker.lease_seconds, job.id) == job.id
        assert await worker.run(job.id) == "completed"

    async with sessions() as session:
        done = jobs.render_job(await jobs.get_job(session, crashed, job.id))
    assert done["records_imported"] == done["total_records"] == clean_result["total_records"]
    assert done["stats"] == clean_result["stats"]
    assert await failure_report(sessions, job.id) == await failure_report(sessions, clean_result["id"])
    crashed_dump = await dump_account(sessions, crashed, settings.attachments_dir)
    assert_each_once(crashed_dump, fixture)
    assert_same_data(crashed_dump, await dump_account(sessions, clean, settings.attachments_dir))


async def test_each_person_of_the_desk_is_imported_once(database_url: str, sessions: Sessions, tmp_path: Path) -> None:
    """Customers who reply are the contacts they are, not also deactivated placeholder agents."""
    fixture = SupportBeeFixture(tickets=TICKETS)
    account = (await Store(sessions).create_account("Clean import")).id
    attachments = tmp_path / "attachments"
    async with fixture.serve() as url:
        run = await MigrateProcess.start(
            cli_environment(database_url, attachments, SECRET), tmp_path, "import", account_id=account, base_url=url
        )
        assert await run.finish() == 0, run.describe()
    dump = await dump_account(sessions, account, attachments)
    people = fixture.desk.people.values()
    assert sorted(agent[0] for agent in dump.data["agents"]) == sorted(p.email for p in people if p.agent)
    assert sorted(row["email"] for row in dump.data["contacts"]) == sorted(
        p.email for p in people if p.role == "customer" and p.type == "user"
    )
    refs = dump.ref_counts
    assert sorted(key[2] for key in refs if key[1] == "agent") == sorted(str(p.id) for p in people if p.agent)
