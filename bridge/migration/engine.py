"""Run one migration job: stream the source's phases in batches, load each record in import mode, checkpoint.

Every batch is one transaction: its records (each in its own SAVEPOINT, so one bad record is recorded and
skipped), its failure records, the job's statistics and the checkpoint that resumes after it commit together.
A crash therefore resumes at the first uncommitted batch, and the external-reference table makes replaying it
harmless. A dry run loads everything in a single transaction that is rolled back, counting what would happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from bridge.logs import get_logger, redact_text
from bridge.migration.collector import tuned_for_import
from bridge.migration.source import (
    DEFAULT_CONCURRENCY,
    Batch,
    BatchResult,
    BulkLoading,
    Closing,
    LoadResult,
    Preparing,
    Record,
    RefLookup,
    RunOptions,
    SkipRecord,
    Source,
)
from bridge.models import MigrationFailure, MigrationJob, utcnow
from bridge.outbound import FatalSourceError, RetriableSourceError, SkippableRecordError
from bridge.store import Store, Writer

log = get_logger(__name__)

EVENT_RECORD_SKIPPED = "migration_record_skipped"
EVENT_RECORD_FAILED = "migration_record_failed"
EVENT_JOB_FINISHED = "migration_job_finished"
EVENT_JOB_FAILED = "migration_job_failed"
EVENT_BATCH_FALLBACK = "migration_batch_fallback"
EVENT_LEASE_RENEWAL_FAILED = "migration_lease_renewal_failed"

LEASE_SECONDS = 30.0
"""How long a worker's claim on a job lasts without renewal (renewed every third of it while the job runs)."""
DRY_RUN_LEASE_SECONDS = 6 * 3600.0
CANCEL_POLL_SECONDS = 2.0
"""How often a running job looks for a cancel requested through the database (another process's API)."""
STATISTICS_AFTER = frozenset({2, 8, 32, 128})
STATISTICS_EVERY = 256
"""After which committed batches the database's table statistics are refreshed (tables grow from empty)."""

COUNTERS = ("created", "updated", "unchanged", "skipped", "failed", "lossy")
IMPORTED = ("created", "updated", "unchanged")
PROCESSED = ("created", "updated", "unchanged", "skipped", "failed")
MAX_REASON = 2000


class JobCancelled(Exception):
    """Cancel was requested; the current batch is rolled back and the job stops at its last checkpoint."""


class LeaseLost(Exception):
    """Another worker holds the job now (this one was presumed dead); stop without touching it."""


class _RollBack(Exception):
    """Abort the dry run's transaction on purpose."""


@contextlib.asynccontextmanager
async def _closing(stream: AsyncIterator[Batch]) -> AsyncIterator[AsyncIterator[Batch]]:
    """Close a source's batch stream when the run leaves it early (cancel, error), so no reader lingers."""
    try:
        yield stream
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


T = TypeVar("T")


async def _unless_cancelled(work: Callable[[], Awaitable[T]], cancel: asyncio.Event) -> T:
    """``work()``'s result, or :class:`JobCancelled` as soon as ``cancel`` is set (``work`` is then cancelled)."""
    if cancel.is_set():
        raise JobCancelled
    working = asyncio.ensure_future(work())
    cancelled = asyncio.ensure_future(cancel.wait())
    try:
        await asyncio.wait({working, cancelled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (working, cancelled):
            if not task.done():
                task.cancel()
        await asyncio.gather(working, cancelled, return_exceptions=True)
    if cancel.is_set():
        raise JobCancelled
    return working.result()


def _check_batch_results(results: Sequence[BatchResult] | None, records: Sequence[Record]) -> None:
    if results is not None and len(results) != len(records):
        raise ValueError(f"load_batch gave {len(results)} results for {len(records)} records")


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)


def run_options(job: MigrationJob) -> RunOptions:
    """Build the source's options from a job row."""
    options = job.options or {}
    return RunOptions(
        dry_run=job.dry_run,
        sample=options.get("sample"),
        since=job.since,
        include_attachments=bool(options.get("include_attachments", True)),
        concurrency=int(options.get("concurrency", DEFAULT_CONCURRENCY)),
    )


@dataclass
class Snapshot:
    """What a progress display needs after each batch."""

    job_id: int
    status: str
    phase: str | None
    stats: dict[str, dict[str, int]]
    totals: dict[str, int]
    progress: int
    records_imported: int
    total_records: int
    records_per_second: float | None
    eta_seconds: int | None


@dataclass
class _Failure:
    kind: str
    external_id: str
    reason: str
    outcome: str

    def row(self, job_id: int) -> dict[str, Any]:
        return {
            "job_id": job_id,
            "kind": self.kind[:32],
            "external_id": self.external_id[:255],
            "reason": self.reason[:MAX_REASON],
            "outcome": self.outcome,
            "created_at": utcnow(),
        }


@dataclass
class _State:
    job_id: int
    stats: dict[str, dict[str, int]]
    totals: dict[str, int]
    checkpoint: dict[str, Any]
    segment_started: float = field(default_factory=time.monotonic)
    segment_processed: int = 0
    pending_failures: list[_Failure] = field(default_factory=list)

    def processed(self) -> int:
        return sum(counts.get(key, 0) for counts in self.stats.values() for key in PROCESSED)

    def imported(self) -> int:
        return sum(counts.get(key, 0) for counts in self.stats.values() for key in IMPORTED)

    def total(self) -> int:
        return max(sum(self.totals.values()), self.processed())

    def progress(self, *, done: bool = False) -> int:
        if done:
            return 100
        total = self.total()
        if total == 0:
            return 0
        # 100 means finished; a run at its last record still has its bookkeeping to commit.
        return min(99, self.processed() * 100 // total)

    def rate(self) -> float | None:
        elapsed = time.monotonic() - self.segment_started
        if self.segment_processed == 0 or elapsed <= 0:
            return None
        return round(self.segment_processed / elapsed, 2)

    def eta(self) -> int | None:
        rate = self.rate()
        if not rate:
            return None
        return int((self.total() - self.processed()) / rate)

    def figures(self, *, done: bool = False) -> dict[str, Any]:
        return {
            "stats": self.stats,
            "totals": self.totals,
            "records_imported": self.imported(),
            "total_records": self.total(),
            "progress": self.progress(done=done),
            "records_per_second": self.rate(),
            "eta_seconds": 0 if done else self.eta(),
        }


class Engine:
    """Run claimed jobs for one worker (``owner``), renewing its lease at every batch."""

    def __init__(
        self,
        store: Store,
        *,
        owner: str,
        lease_seconds: float = LEASE_SECONDS,
        on_progress: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.store = store
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.on_progress = on_progress

    async def run(self, job_id: int, source: Source, *, cancel: asyncio.Event | None = None) -> str:
        """Run (or resume) a job this worker has claimed; return its final status."""
        cancel = cancel or asyncio.Event()
        async with self.store.reader() as session:
            job = await session.get(MigrationJob, job_id)
        if job is None:
            raise LookupError(f"migration job {job_id} does not exist")
        account_id = job.account_id
        options = run_options(job)
        cap = min(options.max_attachment_bytes, self.store.max_attachment_bytes)
        options = replace(options, max_attachment_bytes=cap)
        state = _State(
            job_id=job_id,
            stats={phase: {**empty_counts(), **counts} for phase, counts in (job.stats or {}).items()},
            totals=dict(job.totals or {}),
            checkpoint=dict(job.checkpoint or {}),
        )
        # A dry run holds one transaction (and SQLite's write lock) for its whole length, so nothing could renew
        # its lease meanwhile: it takes a long one instead (it writes nothing; a crashed one is simply run again).
        keeper = (
            None if options.dry_run else asyncio.create_task(self._keep_lease(job_id, cancel), name=f"lease-{job_id}")
        )
        try:
            with tuned_for_import():
                return await self._run(job_id, account_id, source, state, options, cancel)
        finally:
            if keeper is not None:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
            if isinstance(source, Closing):
                await source.aclose()

    async def _run(
        self,
        job_id: int,
        account_id: int,
        source: Source,
        state: _State,
        options: RunOptions,
        cancel: asyncio.Event,
    ) -> str:
        try:
            if options.dry_run:
                await self._save_progress(state, lease_seconds=DRY_RUN_LEASE_SECONDS)
            if not state.totals:
                # Counting a big desk takes a while (every customer is listed): a cancel does not wait for it.
                estimate = await _unless_cancelled(partial(source.estimate, options), cancel)
                state.totals = {str(k): int(v) for k, v in estimate.items()}
                await self._save_progress(state)
            phases = list(source.phases)
            for phase in phases:
                state.stats.setdefault(phase, empty_counts())
            if options.dry_run:
                await self._dry_run(account_id, source, phases, state, options, cancel)
            else:
                await self._run_phases(account_id, source, phases, state, options, cancel)
        except JobCancelled:
            await self._finish(state, "cancelled")
            return "cancelled"
        except LeaseLost:
            log.warning("migration_lease_lost", job_id=job_id, owner=self.owner)
            return "lost"
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - any error ends the job as failed (resumable), never the worker
            reason = redact_text(str(err) or type(err).__name__)
            # No traceback: it could carry the source's payloads; the redacted reason is what the user needs.
            log.error(EVENT_JOB_FAILED, job_id=job_id, error=reason, error_type=type(err).__name__)  # noqa: TRY400
            await self._finish(state, "failed", error=reason)
            return "failed"
        await self._finish(state, "completed")
        return "completed"

    async def _keep_lease(self, job_id: int, cancel: asyncio.Event) -> None:
        """Renew this worker's lease every third of its length, however long a batch takes (a slow download, a
        big page), so the lease can be short and a crashed worker's job is taken over soon. Each beat also
        notices a cancel requested through another process (the API of another service instance)."""
        while True:
            await asyncio.sleep(max(0.5, min(CANCEL_POLL_SECONDS, self.lease_seconds / 3)))
            now = utcnow()
            try:
                async with self.store.sessions() as session, session.begin():
                    renewed = await session.execute(
                        update(MigrationJob)
                        .where(MigrationJob.id == job_id, MigrationJob.lease_owner == self.owner)
                        .values(heartbeat_at=now, lease_expires_at=now + dt.timedelta(seconds=self.lease_seconds))
                        .returning(MigrationJob.cancel_requested)
                    )
                    if renewed.scalar_one_or_none():
                        cancel.set()
            except Exception as err:  # noqa: BLE001 - the next beat tries again; each batch renews the lease too
                reason = redact_text(f"{type(err).__name__}: {err}")
                log.warning(EVENT_LEASE_RENEWAL_FAILED, job_id=job_id, error=reason)

    # -- phases ------------------------------------------------------------------------------------------------
    def _start(self, phases: Sequence[str], state: _State) -> tuple[int, Mapping[str, Any] | None]:
        phase = state.checkpoint.get("phase")
        if state.checkpoint.get("done"):
            return len(phases), None
        if phase in phases:
            cursor = state.checkpoint.get("cursor")
            return phases.index(phase), cursor if isinstance(cursor, dict) else None
        return 0, None

    async def _run_phases(
        self,
        account_id: int,
        source: Source,
        phases: Sequence[str],
        state: _State,
        options: RunOptions,
        cancel: asyncio.Event,
    ) -> None:
        start, cursor = self._start(phases, state)
        batches = 0
        for index in range(start, len(phases)):
            phase = phases[index]
            state.checkpoint = {"phase": phase, "cursor": dict(cursor) if cursor else None}
            self._report(state, phase)
            stream = source.batches(phase, cursor=cursor, options=options, lookup=self._lookup(account_id))
            async with _closing(stream):
                while batch := await self._next_batch(stream, account_id, source, options, cancel):
                    async with self.store.writer(account_id, import_mode=True) as writer:
                        await self._check_job(writer.session, state.job_id, cancel)
                        counts, failures = await self._load_batch(writer, source, batch.records, options, cancel)
                        self._merge(state, phase, counts, failures)
                        state.checkpoint = {"phase": phase, "cursor": dict(batch.cursor)}
                        await self._write_progress(writer.session, state)
                    self._report(state, phase)
                    batches += 1
                    if batches in STATISTICS_AFTER or batches % STATISTICS_EVERY == 0:
                        await self.store.refresh_statistics()
            cursor = None
            following = phases[index + 1] if index + 1 < len(phases) else None
            state.checkpoint = {"phase": following, "cursor": None, "done": following is None}
            await self._save_progress(state)

    async def _dry_run(
        self,
        account_id: int,
        source: Source,
        phases: Sequence[str],
        state: _State,
        options: RunOptions,
        cancel: asyncio.Event,
    ) -> None:
        # One transaction for the whole run so later phases see earlier ones; progress stays in memory because
        # SQLite would block any other writer (the job row) while this transaction is open.
        try:
            async with self.store.writer(account_id, import_mode=True) as writer:
                await self._open_transaction(writer.session, state.job_id)
                for phase in phases:
                    self._report(state, phase)
                    stream = source.batches(phase, cursor=None, options=options, lookup=self._lookup(account_id))
                    async with _closing(stream):
                        while (
                            batch := await self._next_batch(stream, account_id, source, options, cancel)
                        ) is not None:
                            counts, failures = await self._load_batch(writer, source, batch.records, options, cancel)
                            self._merge(state, phase, counts, failures)
                            self._report(state, phase)
                raise _RollBack  # noqa: TRY301 - the rollback is the point of a dry run
        except _RollBack:
            pass
        state.checkpoint = {"phase": None, "cursor": None, "done": True}

    async def _next_batch(
        self,
        stream: AsyncIterator[Batch],
        account_id: int,
        source: Source,
        options: RunOptions,
        cancel: asyncio.Event,
    ) -> Batch | None:
        """The source's next batch, prepared; ``None`` at the end. A cancel does not wait for a slow source."""

        async def fetch() -> Batch | None:
            fetched = await anext(stream, None)
            return None if fetched is None else await self._prepare(account_id, source, fetched, options)

        return await _unless_cancelled(fetch, cancel)

    def _lookup(self, account_id: int) -> RefLookup:
        """The account's committed external references, for a source reading or preparing outside a batch."""

        async def lookup(provider: str, kind: str, external_ids: Iterable[str]) -> Mapping[str, tuple[int, str | None]]:
            return await self.store.external_refs(account_id, provider, kind, external_ids)

        return lookup

    async def _prepare(self, account_id: int, source: Source, batch: Batch, options: RunOptions) -> Batch:
        if not isinstance(source, Preparing):
            return batch
        return await source.prepare(batch, lookup=self._lookup(account_id), options=options)

    async def _load_batch(
        self, writer: Writer, source: Source, records: Sequence[Record], options: RunOptions, cancel: asyncio.Event
    ) -> tuple[dict[str, int], list[_Failure]]:
        if cancel.is_set():
            raise JobCancelled
        results = await self._load_in_bulk(writer, source, records, options)
        if results is None:
            results = []
            for record in records:
                if cancel.is_set():
                    raise JobCancelled
                results.append(await self._load_one(writer, source, record, options))
        if cancel.is_set():
            raise JobCancelled
        return self._tally(records, results)

    @staticmethod
    async def _load_in_bulk(
        writer: Writer, source: Source, records: Sequence[Record], options: RunOptions
    ) -> list[BatchResult] | None:
        if not isinstance(source, BulkLoading) or not records:
            return None
        try:
            async with writer.session.begin_nested():
                results = await source.load_batch(writer, records, options=options)
                _check_batch_results(results, records)
        except (FatalSourceError, RetriableSourceError, JobCancelled, LeaseLost):
            raise
        except Exception as err:  # noqa: BLE001 - the batch is loaded again record by record
            log.warning(EVENT_BATCH_FALLBACK, error=redact_text(f"{type(err).__name__}: {err}"), records=len(records))
            return None
        return None if results is None else list(results)

    @staticmethod
    async def _load_one(writer: Writer, source: Source, record: Record, options: RunOptions) -> BatchResult:
        try:
            async with writer.session.begin_nested():
                return await source.load(writer, record, options=options)
        except (FatalSourceError, RetriableSourceError, JobCancelled, LeaseLost):
            raise
        except Exception as err:  # noqa: BLE001 - one bad record is recorded and never aborts the batch
            return err

    @staticmethod
    def _tally(records: Sequence[Record], results: Sequence[BatchResult]) -> tuple[dict[str, int], list[_Failure]]:
        counts = empty_counts()
        failures: list[_Failure] = []
        for record, result in zip(records, results, strict=True):
            if isinstance(result, LoadResult):
                counts[result.outcome] += 1
                # A warning (a file left behind, a placeholder made up) is something the import could not carry
                # over as it was: the report lists it with the lossy mappings.
                for note in [*result.lossy, *result.warnings]:
                    counts["lossy"] += 1
                    failures.append(_Failure(record.kind, record.external_id, note, "lossy"))
                continue
            if isinstance(result, SkipRecord | SkippableRecordError):
                outcome, reason = "skipped", str(result) or type(result).__name__
            else:
                outcome, reason = "failed", f"{type(result).__name__}: {result}"
            counts[outcome] += 1
            reason = redact_text(reason)
            failures.append(_Failure(record.kind, record.external_id, reason, outcome))
            log.warning(
                EVENT_RECORD_SKIPPED if outcome == "skipped" else EVENT_RECORD_FAILED,
                kind=record.kind,
                external_id=record.external_id,
                reason=reason,
            )
        return counts, failures

    def _merge(self, state: _State, phase: str, counts: dict[str, int], failures: list[_Failure]) -> None:
        phase_counts = state.stats.setdefault(phase, empty_counts())
        for key, value in counts.items():
            phase_counts[key] = phase_counts.get(key, 0) + value
        state.segment_processed += sum(counts[key] for key in PROCESSED)
        state.pending_failures.extend(failures)

    # -- the job row -------------------------------------------------------------------------------------------
    @staticmethod
    async def _open_transaction(session: AsyncSession, job_id: int) -> None:
        # pysqlite only sends BEGIN before DML: without a write first, the first SAVEPOINT would open the
        # transaction itself and its RELEASE would commit it, so a later rollback could not undo the batch.
        await session.execute(update(MigrationJob).where(MigrationJob.id == job_id).values(heartbeat_at=utcnow()))

    async def _check_job(self, session: AsyncSession, job_id: int, cancel: asyncio.Event) -> None:
        await self._open_transaction(session, job_id)
        job = await session.get(MigrationJob, job_id, populate_existing=True)
        if job is None or job.lease_owner != self.owner:
            raise LeaseLost
        if job.cancel_requested or cancel.is_set():
            raise JobCancelled

    async def _write_progress(
        self, session: AsyncSession, state: _State, *, lease_seconds: float | None = None
    ) -> None:
        now = utcnow()
        if state.pending_failures:
            await session.execute(insert(MigrationFailure), [f.row(state.job_id) for f in state.pending_failures])
            state.pending_failures = []
        await session.execute(
            update(MigrationJob)
            .where(MigrationJob.id == state.job_id)
            .values(
                **state.figures(),
                checkpoint=state.checkpoint,
                heartbeat_at=now,
                lease_expires_at=now + dt.timedelta(seconds=lease_seconds or self.lease_seconds),
            )
        )

    async def _save_progress(self, state: _State, *, lease_seconds: float | None = None) -> None:
        async with self.store.sessions() as session, session.begin():
            await self._check_job(session, state.job_id, asyncio.Event())
            await self._write_progress(session, state, lease_seconds=lease_seconds)

    async def _finish(self, state: _State, status: str, *, error: str | None = None) -> None:
        values: dict[str, Any] = {
            "status": status,
            "finished_at": utcnow(),
            "lease_owner": None,
            "lease_expires_at": None,
            "cancel_requested": False,
            "last_error": error,
        }
        async with self.store.sessions() as session, session.begin():
            if status == "completed":
                values.update(state.figures(done=True), checkpoint=state.checkpoint)
                if state.pending_failures:
                    # A dry run's failures: its own transaction was rolled back, so they are written now.
                    rows = [f.row(state.job_id) for f in state.pending_failures]
                    await session.execute(insert(MigrationFailure), rows)
                    state.pending_failures = []
            await session.execute(
                update(MigrationJob)
                .where(MigrationJob.id == state.job_id, MigrationJob.lease_owner == self.owner)
                .values(**values)
            )
        log.info(EVENT_JOB_FINISHED, job_id=state.job_id, status=status, records_imported=state.imported())
        self._report(state, None, status=status, done=status == "completed")

    def _report(self, state: _State, phase: str | None, *, status: str = "in_progress", done: bool = False) -> None:
        if self.on_progress is None:
            return
        figures = state.figures(done=done)
        self.on_progress(
            Snapshot(
                job_id=state.job_id,
                status=status,
                phase=phase,
                stats={k: dict(v) for k, v in state.stats.items()},
                totals=dict(state.totals),
                progress=figures["progress"],
                records_imported=figures["records_imported"],
                total_records=figures["total_records"],
                records_per_second=figures["records_per_second"],
                eta_seconds=figures["eta_seconds"],
            )
        )
