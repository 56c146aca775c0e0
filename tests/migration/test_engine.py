"""The migration engine against an in-memory source: counting, bad records, crash/resume, lease, cancel, dry run."""

from __future__ import annotations

import asyncio
import gc
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from structlog.testing import capture_logs

from bridge import appkeys
from bridge.migration import jobs
from bridge.migration.collector import IMPORT_THRESHOLDS
from bridge.migration.engine import EVENT_RECORD_FAILED, EVENT_RECORD_SKIPPED, Engine
from bridge.models import Contact, ExternalRef, MigrationFailure, MigrationJob
from bridge.settings import Settings
from tests.conftest import Tenant
from tests.migration.fake import GOOD_TOKEN, FakeSource


@pytest.fixture
async def desk(tenant: Tenant) -> Tenant:
    """The tenant, with the app's background worker stopped so each test drives the engine itself."""
    await tenant.client.app[appkeys.MIGRATIONS].stop()
    return tenant


def people(count: int, **extra: Any) -> list[dict[str, Any]]:
    tag = uuid.uuid4().hex[:8]
    return [{"id": 100 + n, "name": f"Person {n}", "email": f"p{n}-{tag}@example.com", **extra} for n in range(count)]


async def new_job(desk: Tenant, settings: Settings, **options: Any) -> int:
    job = await jobs.create_job(
        desk.store,
        settings,
        account_id=desk.account_id,
        source="fake",
        credentials={"token": GOOD_TOKEN},
        options=jobs.MigrationOptions(**options),
    )
    return job.id


async def run(
    desk: Tenant, job_id: int, source: FakeSource, *, owner: str = "w1", cancel: asyncio.Event | None = None
) -> str:
    assert await jobs.claim(desk.store, owner, 300, job_id) == job_id
    return await Engine(desk.store, owner=owner).run(job_id, source, cancel=cancel)


async def job_row(desk: Tenant, job_id: int) -> MigrationJob:
    async with desk.store.reader() as session:
        job = await session.get(MigrationJob, job_id)
    assert job is not None
    return job


async def contacts(desk: Tenant) -> list[tuple[str | None, str | None]]:
    async with desk.store.reader() as session:
        rows = await session.execute(
            select(Contact.name, Contact.email).where(Contact.account_id == desk.account_id).order_by(Contact.id)
        )
        return [(name, email) for name, email in rows]


async def failures(desk: Tenant, job_id: int) -> list[tuple[str, str, str]]:
    async with desk.store.reader() as session:
        rows = await session.execute(
            select(MigrationFailure.external_id, MigrationFailure.outcome, MigrationFailure.reason)
            .where(MigrationFailure.job_id == job_id)
            .order_by(MigrationFailure.id)
        )
        return [(a, b, c) for a, b, c in rows]


async def test_first_run_creates_a_rerun_changes_nothing_and_an_edit_updates(desk: Tenant, settings: Settings) -> None:
    data = people(5)
    job_id = await new_job(desk, settings)
    assert await run(desk, job_id, FakeSource(data)) == "completed"
    job = await job_row(desk, job_id)
    assert job.stats["contacts"] | {} == {**job.stats["contacts"], "created": 5, "updated": 0, "unchanged": 0}
    assert (job.status, job.progress, job.records_imported, job.total_records) == ("completed", 100, 5, 5)
    assert job.started_at is not None
    assert job.finished_at is not None
    assert len(await contacts(desk)) == 5

    again = await new_job(desk, settings)
    assert await run(desk, again, FakeSource(data)) == "completed"
    stats = (await job_row(desk, again)).stats["contacts"]
    assert (stats["created"], stats["updated"], stats["unchanged"]) == (0, 0, 5)
    assert len(await contacts(desk)) == 5

    data[2] = {**data[2], "name": "Renamed at the source"}
    delta = await new_job(desk, settings)
    assert await run(desk, delta, FakeSource(data)) == "completed"
    stats = (await job_row(desk, delta)).stats["contacts"]
    assert (stats["created"], stats["updated"], stats["unchanged"]) == (0, 1, 4)
    names = [name for name, _ in await contacts(desk)]
    assert names.count("Renamed at the source") == 1
    assert len(names) == 5


async def test_a_bad_record_is_recorded_and_skipped_while_the_rest_imports(desk: Tenant, settings: Settings) -> None:
    data = people(5)
    data[1]["bad"] = True
    data[3]["skip"] = True
    data[4]["half"] = True  # writes, then fails: its savepoint must undo the write
    job_id = await new_job(desk, settings)
    with capture_logs() as logs:
        assert await run(desk, job_id, FakeSource(data)) == "completed"
    stats = (await job_row(desk, job_id)).stats["contacts"]
    assert (stats["created"], stats["failed"], stats["skipped"]) == (2, 2, 1)
    emails = {email for _, email in await contacts(desk)}
    assert emails == {data[0]["email"], data[2]["email"]}
    recorded = await failures(desk, job_id)
    assert [(ext, outcome) for ext, outcome, _ in recorded] == [
        ("101", "failed"),
        ("103", "skipped"),
        ("104", "failed"),
    ]
    assert "phone is a list" in recorded[0][2]
    events = [(entry["event"], entry.get("external_id")) for entry in logs]
    assert (EVENT_RECORD_FAILED, "101") in events
    assert (EVENT_RECORD_SKIPPED, "103") in events


async def test_a_crash_mid_phase_resumes_from_the_checkpoint_without_duplicates(
    desk: Tenant, settings: Settings
) -> None:
    data = people(7)
    job_id = await new_job(desk, settings)
    assert await run(desk, job_id, FakeSource(data, crash_after=2)) == "failed"
    job = await job_row(desk, job_id)
    assert job.status == "failed"
    assert "connection dropped" in (job.last_error or "")
    assert job.checkpoint == {"phase": "contacts", "cursor": {"offset": 4}}
    assert job.stats["contacts"]["created"] == 4
    assert len(await contacts(desk)) == 4

    resumed = await jobs.resume(desk.store, desk.account_id, job_id)
    assert resumed.status == "pending"
    source = FakeSource(data)
    assert await run(desk, job_id, source) == "completed"
    assert source.loads == ["104", "105", "106"]  # nothing before the checkpoint is read again
    job = await job_row(desk, job_id)
    assert (job.status, job.records_imported, job.progress) == ("completed", 7, 100)
    assert job.stats["contacts"]["created"] == 7
    emails = [email for _, email in await contacts(desk)]
    assert sorted(str(email) for email in emails) == sorted(row["email"] for row in data)


async def test_a_job_whose_worker_died_is_claimed_again_and_the_old_worker_stops(
    desk: Tenant, settings: Settings
) -> None:
    job_id = await new_job(desk, settings)
    assert await jobs.claim(desk.store, "dead-worker", -1, job_id) == job_id  # its lease has already run out
    assert await jobs.claim(desk.store, "new-worker", 300, job_id) == job_id
    assert await jobs.claim(desk.store, "third-worker", 300, job_id) is None  # a live lease is respected
    data = people(3)
    assert await Engine(desk.store, owner="dead-worker").run(job_id, FakeSource(data)) == "lost"
    assert await Engine(desk.store, owner="new-worker").run(job_id, FakeSource(data)) == "completed"
    assert len(await contacts(desk)) == 3


async def test_cancel_stops_within_a_batch_and_resume_finishes(desk: Tenant, settings: Settings) -> None:
    data = people(6)
    job_id = await new_job(desk, settings)
    cancel = asyncio.Event()
    seen: list[str] = []

    def stop_after_two(record: Any) -> None:
        seen.append(record.external_id)
        if len(seen) == 2:
            cancel.set()

    source = FakeSource(data, batch_size=10, on_load=stop_after_two)
    assert await run(desk, job_id, source, cancel=cancel) == "cancelled"
    assert seen == ["100", "101"]  # the third record of the batch never started
    job = await job_row(desk, job_id)
    assert job.status == "cancelled"
    assert job.finished_at is not None
    assert await contacts(desk) == []  # the unfinished batch was rolled back as a whole

    await jobs.resume(desk.store, desk.account_id, job_id)
    assert await run(desk, job_id, FakeSource(data, batch_size=10)) == "completed"
    assert len(await contacts(desk)) == 6


async def test_a_cancel_request_stops_a_running_job_at_its_next_batch(desk: Tenant, settings: Settings) -> None:
    job_id = await new_job(desk, settings)

    async def cancel_from_elsewhere() -> None:
        job = await jobs.request_cancel(desk.store, desk.account_id, job_id)
        assert (job.status, job.cancel_requested) == ("in_progress", True)

    source = FakeSource(people(6), batch_size=2, between_batches=cancel_from_elsewhere)
    assert await run(desk, job_id, source) == "cancelled"
    job = await job_row(desk, job_id)
    assert (job.status, job.cancel_requested) == ("cancelled", False)
    assert job.checkpoint == {"phase": "contacts", "cursor": {"offset": 2}}
    assert len(await contacts(desk)) == 2  # the first batch committed; the second never loaded


async def test_dry_run_counts_outcomes_and_writes_nothing(desk: Tenant, settings: Settings) -> None:
    data = people(4)
    data[2]["bad"] = True
    data[0]["lossy"] = True
    job_id = await new_job(desk, settings, dry_run=True)
    assert await run(desk, job_id, FakeSource(data)) == "completed"
    job = await job_row(desk, job_id)
    assert (job.stats["contacts"]["created"], job.stats["contacts"]["failed"]) == (3, 1)
    assert job.stats["contacts"]["lossy"] == 1
    assert job.dry_run
    assert await contacts(desk) == []
    outcomes = {(ext, outcome) for ext, outcome, _ in await failures(desk, job_id)}
    assert outcomes == {("100", "lossy"), ("102", "failed")}
    async with desk.store.reader() as session:
        refs = (
            await session.execute(select(func.count()).where(ExternalRef.account_id == desk.account_id))
        ).scalar_one()
    assert refs == 0  # no legacy id was mapped either


async def test_sample_limits_the_records_and_since_defaults_to_the_last_completed_run(
    desk: Tenant, settings: Settings
) -> None:
    job_id = await new_job(desk, settings, sample=2)
    assert await run(desk, job_id, FakeSource(people(5))) == "completed"
    first = await job_row(desk, job_id)
    assert (first.records_imported, first.total_records) == (2, 2)
    assert len(await contacts(desk)) == 2
    assert first.since is None

    rerun = await job_row(desk, await new_job(desk, settings))
    assert rerun.since == first.started_at


async def test_a_running_job_keeps_its_short_lease_through_a_slow_batch(desk: Tenant, settings: Settings) -> None:
    """The lease is renewed in the background, so a batch slower than the lease does not hand the job over."""
    claims: list[int | None] = []

    async def slow() -> None:
        # Three lease lengths pass while the source prepares its next batch; a second worker keeps trying.
        for _ in range(6):
            await asyncio.sleep(0.3)
            claims.append(await jobs.claim(desk.store, "w2", 0.6, job_id))

    source = FakeSource(people(4), between_batches=slow)
    job_id = await new_job(desk, settings)
    assert await jobs.claim(desk.store, "w1", 0.6, job_id) == job_id
    status = await Engine(desk.store, owner="w1", lease_seconds=0.6).run(job_id, source)
    assert status == "completed"
    assert claims
    assert set(claims) == {None}, "another worker took over a live job"
    async with desk.store.reader() as session:
        job = await session.get(MigrationJob, job_id)
    assert job is not None
    assert job.lease_owner is None
    assert job.records_imported == 4


async def test_the_collector_is_tuned_only_while_a_job_runs_even_when_it_fails(
    desk: Tenant, settings: Settings
) -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    frozen: list[int] = []

    def look(_record: Any) -> None:
        seen.append(gc.get_threshold())
        frozen.append(gc.get_freeze_count())

    assert await run(desk, await new_job(desk, settings), FakeSource(people(3), on_load=look)) == "completed"
    assert set(seen) == {IMPORT_THRESHOLDS}
    assert min(frozen) > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0

    crashing = FakeSource(people(6), crash_after=1, on_load=look)
    assert await run(desk, await new_job(desk, settings), crashing) == "failed"
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
