"""Migration jobs: create, claim (with a lease), cancel, resume and render them; the background worker."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge import crypto
from bridge.errors import Conflict, NotFound, Unprocessable
from bridge.logs import get_logger, redact_text
from bridge.migration import sources
from bridge.migration.engine import LEASE_SECONDS, Engine, Snapshot
from bridge.migration.source import DEFAULT_CONCURRENCY, Source
from bridge.models import MigrationFailure, MigrationJob, utcnow
from bridge.outbound import SourceError
from bridge.settings import Settings
from bridge.store import Store

log = get_logger(__name__)

Status = Literal["pending", "in_progress", "completed", "failed", "cancelled"]
RESUMABLE = ("failed", "cancelled")
FIRST_FAILURES = 10


class MigrationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = False
    sample: int | None = Field(default=None, ge=1, le=1_000_000)
    since: dt.datetime | None = None
    include_attachments: bool = True
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=16)


def build_source(name: str, http: aiohttp.ClientSession, credentials: Mapping[str, Any], settings: Settings) -> Source:
    """Make the source ``name`` with ``credentials``; 422 naming ``source`` or ``credentials`` when impossible."""
    try:
        factory = sources.factory(name)
    except sources.UnknownSource as err:
        raise Unprocessable(str(err), field="source", code="unsupported_source") from err
    try:
        return factory(http, credentials, settings)
    except ValidationError as err:
        # Only locations and messages: pydantic's text would echo the input, i.e. the secrets.
        reason = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors())
        raise Unprocessable(f"invalid credentials: {reason}", field="credentials") from err
    except (SourceError, ValueError, TypeError, KeyError) as err:
        reason = getattr(err, "message", None) or str(err) or type(err).__name__
        raise Unprocessable(f"invalid credentials: {redact_text(reason)}", field="credentials") from err


async def verify_source(source: Source) -> None:
    """Ask the source to check the credentials; 422 with its reason when it refuses them."""
    try:
        await source.verify()
    except SourceError as err:
        raise Unprocessable(
            f"the source refused the credentials: {redact_text(err.message)}", field="credentials", code="refused"
        ) from err


async def default_since(session: AsyncSession, account_id: int, source: str) -> dt.datetime | None:
    """Return the start of the last completed (real) run of ``source`` into the account, if any."""
    found: dt.datetime | None = (
        await session.execute(
            select(func.max(MigrationJob.started_at)).where(
                MigrationJob.account_id == account_id,
                MigrationJob.source == source,
                MigrationJob.status == "completed",
                MigrationJob.dry_run.is_(False),
            )
        )
    ).scalar_one_or_none()
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=dt.UTC)
    return found


async def create_job(
    store: Store,
    settings: Settings,
    *,
    account_id: int,
    source: str,
    credentials: Mapping[str, Any],
    options: MigrationOptions,
) -> MigrationJob:
    """Persist a pending job with encrypted credentials; ``since`` defaults to the last completed run's start."""
    async with store.sessions() as session, session.begin():
        since = options.since
        if since is None and not options.dry_run:
            since = await default_since(session, account_id, source)
        job = MigrationJob(
            account_id=account_id,
            source=source,
            status="pending",
            options=options.model_dump(mode="json", exclude={"since", "dry_run"}),
            credentials=crypto.encrypt_json(settings.secret_key, dict(credentials)),
            dry_run=options.dry_run,
            since=since,
            stats={},
            totals={},
            checkpoint={},
            created_at=utcnow(),
        )
        session.add(job)
        await session.flush()
    log.info("migration_job_created", job_id=job.id, account_id=account_id, source=source, dry_run=options.dry_run)
    return job


async def get_job(session: AsyncSession, account_id: int, job_id: int) -> MigrationJob:
    job = await session.get(MigrationJob, job_id, populate_existing=True)
    if job is None or job.account_id != account_id:
        raise NotFound("Data migration not found", field="id")
    return job


async def claim(store: Store, owner: str, lease_seconds: float, job_id: int | None = None) -> int | None:
    """Take a pending job, or one in progress whose worker's lease ran out; return its id (``None``: none)."""
    now = utcnow()
    claimable = or_(
        MigrationJob.status == "pending",
        (MigrationJob.status == "in_progress") & (MigrationJob.lease_expires_at < now),
    )
    async with store.sessions() as session, session.begin():
        query = select(MigrationJob.id).where(claimable).order_by(MigrationJob.id).limit(1)
        if job_id is not None:
            query = query.where(MigrationJob.id == job_id)
        candidate = (await session.execute(query)).scalar_one_or_none()
        if candidate is None:
            return None
        result = await session.execute(
            update(MigrationJob)
            .where(MigrationJob.id == candidate, claimable)
            .values(
                status="in_progress",
                lease_owner=owner,
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds),
                heartbeat_at=now,
                started_at=func.coalesce(MigrationJob.started_at, now),
                finished_at=None,
            )
        )
        # Another worker may have claimed it between the select and the update.
        return candidate if getattr(result, "rowcount", 0) == 1 else None


async def why_unclaimable(store: Store, job_id: int) -> str:
    """Say why a job cannot be claimed now: finished, or another worker's live lease (and when it runs out)."""
    async with store.reader() as session:
        job = await session.get(MigrationJob, job_id)
    if job is None:
        return f"job {job_id} does not exist"
    if job.status not in {"pending", "in_progress"}:
        return f"job {job_id} is {job.status}; resume it first (POST …/data_migrations/{job_id}/resume)"
    until = job.lease_expires_at
    when = f"; its lease runs out at {until:%H:%M:%S} UTC unless that worker renews it" if until else ""
    return f"job {job_id} is being run by another worker (the service, or another migrate command){when}"


def ensure_cancellable(job: MigrationJob) -> None:
    if job.status not in ("pending", "in_progress"):
        raise Conflict(f"the migration is {job.status} and cannot be cancelled", field="status")


async def request_cancel(store: Store, account_id: int, job_id: int) -> MigrationJob:
    """Cancel a pending job at once; ask a running one to stop (it stops within its current batch)."""
    now = utcnow()
    async with store.sessions() as session, session.begin():
        job = await get_job(session, account_id, job_id)
        ensure_cancellable(job)
        lease_live = job.lease_expires_at is not None and job.lease_expires_at > now
        if job.status == "pending" or not lease_live:
            job.status = "cancelled"
            job.finished_at = now
            job.lease_owner = None
            job.lease_expires_at = None
        else:
            job.cancel_requested = True
    return job


async def resume(store: Store, account_id: int, job_id: int) -> MigrationJob:
    """Put a failed or cancelled job back in the queue; it goes on from its checkpoint."""
    async with store.sessions() as session, session.begin():
        job = await get_job(session, account_id, job_id)
        if job.status not in RESUMABLE:
            raise Conflict(f"the migration is {job.status}; only failed or cancelled ones resume", field="status")
        job.status = "pending"
        job.cancel_requested = False
        job.finished_at = None
        job.last_error = None
    return job


async def first_failures(session: AsyncSession, job_id: int, limit: int = FIRST_FAILURES) -> list[MigrationFailure]:
    rows = await session.execute(
        select(MigrationFailure)
        .where(MigrationFailure.job_id == job_id, MigrationFailure.outcome.in_(("skipped", "failed")))
        .order_by(MigrationFailure.id)
        .limit(limit)
    )
    return list(rows.scalars())


def render_failure(failure: MigrationFailure) -> dict[str, Any]:
    return {
        "kind": failure.kind,
        "external_id": failure.external_id,
        "outcome": failure.outcome,
        "reason": failure.reason,
        "created_at": failure.created_at.isoformat(),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def render_job(job: MigrationJob, failures: list[MigrationFailure] | None = None) -> dict[str, Any]:
    """Render a job as the API shows it; the credentials never leave the database."""
    data: dict[str, Any] = {
        "id": job.id,
        "account_id": job.account_id,
        "source": job.source,
        "status": job.status,
        "progress": job.progress,
        "records_imported": job.records_imported,
        "total_records": job.total_records,
        "stats": job.stats or {},
        "totals": job.totals or {},
        "options": {**(job.options or {}), "dry_run": job.dry_run, "since": _iso(job.since)},
        "dry_run": job.dry_run,
        "since": _iso(job.since),
        "cancel_requested": job.cancel_requested,
        "checkpoint_phase": (job.checkpoint or {}).get("phase"),
        "records_per_second": job.records_per_second,
        "eta_seconds": job.eta_seconds,
        "last_error": job.last_error,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }
    if failures is not None:
        data["failures"] = [render_failure(f) for f in failures]
    return data


class MigrationWorker:
    """Run queued jobs one at a time in the service's background; pick up orphaned ones after a restart."""

    def __init__(
        self,
        store: Store,
        http: aiohttp.ClientSession,
        settings: Settings,
        *,
        poll_seconds: float = 2.0,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.http = http
        self.settings = settings
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.owner = f"worker-{uuid.uuid4().hex[:12]}"
        self._wake = asyncio.Event()
        self._running: dict[int, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="migration-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def notify(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    def cancel(self, job_id: int) -> bool:
        """Stop a job this worker runs at its next record; tell whether it runs here."""
        event = self._running.get(job_id)
        if event is None:
            return False
        event.set()
        return True

    async def _loop(self) -> None:
        while True:
            try:
                job_id = await claim(self.store, self.owner, self.lease_seconds)
                if job_id is not None:
                    await self.run(job_id)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as err:  # noqa: BLE001 - the worker outlives any one failure (e.g. database restart)
                log.error("migration_worker_error", error=redact_text(str(err)), error_type=type(err).__name__)  # noqa: TRY400
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run(self, job_id: int) -> str:
        """Run a job this worker has claimed."""
        engine = Engine(self.store, owner=self.owner, lease_seconds=self.lease_seconds)
        cancel = self._running[job_id] = asyncio.Event()
        try:
            async with self.store.reader() as session:
                job = await session.get(MigrationJob, job_id)
            assert job is not None
            try:
                credentials = crypto.decrypt_json(self.settings.secret_key, job.credentials)
                source = build_source(job.source, self.http, credentials, self.settings)
            except (crypto.DecryptionError, Unprocessable) as err:
                await fail_unstarted(self.store, job_id, self.owner, str(err))
                return "failed"
            return await engine.run(job_id, source, cancel=cancel)
        finally:
            self._running.pop(job_id, None)


async def fail_unstarted(store: Store, job_id: int, owner: str, reason: str) -> None:
    async with store.sessions() as session, session.begin():
        await session.execute(
            update(MigrationJob)
            .where(MigrationJob.id == job_id, MigrationJob.lease_owner == owner)
            .values(status="failed", last_error=reason, finished_at=utcnow(), lease_owner=None, lease_expires_at=None)
        )
    log.error("migration_job_failed", job_id=job_id, error=reason)


__all__ = [
    "MigrationOptions",
    "MigrationWorker",
    "Snapshot",
    "build_source",
    "claim",
    "create_job",
    "render_job",
    "request_cancel",
    "resume",
    "verify_source",
]
