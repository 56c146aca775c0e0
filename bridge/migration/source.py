"""The contract between the migration engine and a provider's source (e.g. ``providers.supportbee.migration``).

The engine owns jobs, checkpoints, progress, cancellation and failure records; a source owns reading the
legacy system and loading one record through ``bridge.store`` (import mode) via the provider's mapping.

A run walks the source's ``phases`` in order (people before the tickets that reference them). Each phase
streams *batches*; after the engine commits a batch it stores the batch's ``cursor`` as the job's
checkpoint in the same transaction, so a crash resumes at the first uncommitted batch. Loading is
idempotent through the external-reference table (a record already mapped is updated in place or left
unchanged), so replaying a batch after a crash never duplicates anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # a reader process streams records without the database code (bridge.migration.offload)
    from bridge.store import Writer

Outcome = Literal["created", "updated", "unchanged", "skipped"]


@dataclass(frozen=True, kw_only=True)
class Record:
    """One legacy record of a phase: its kind and external id (for failure reports) and the raw payload."""

    kind: str
    external_id: str
    payload: Any
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Batch:
    """A bounded group of records and the cursor that resumes *after* it."""

    phase: str
    records: Sequence[Record]
    cursor: Mapping[str, Any]


@dataclass(kw_only=True)
class LoadResult:
    outcome: Outcome
    lossy: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


DEFAULT_CONCURRENCY = 8
"""Requests in flight to the source (pages, threads, files) unless the job says otherwise; 429s lower it."""


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    dry_run: bool = False
    sample: int | None = None
    since: dt.datetime | None = None
    include_attachments: bool = True
    concurrency: int = DEFAULT_CONCURRENCY
    max_attachment_bytes: int = 40 * 1024 * 1024


class SkipRecord(Exception):
    """A record that cannot be imported; it is recorded as skipped and the run goes on."""


RefLookup = Callable[[str, str, Iterable[str]], Awaitable[Mapping[str, tuple[int, str | None]]]]
"""``lookup(provider, kind, external_ids)``: those already imported, ``{external id: (internal id, fingerprint)}``."""


class Source(Protocol):
    """A legacy system the engine can import from."""

    name: str
    phases: Sequence[str]

    async def verify(self) -> None:
        """Check credentials and reachability; raise ``bridge.outbound.FatalSourceError`` with a reason."""

    async def estimate(self, options: RunOptions) -> Mapping[str, int]:
        """Return the expected number of records per phase (for progress and ETA)."""

    def batches(
        self, phase: str, *, cursor: Mapping[str, Any] | None, options: RunOptions, lookup: RefLookup
    ) -> AsyncIterator[Batch]:
        """Stream the phase's records in bounded batches, starting after ``cursor`` when given.

        ``lookup`` finds what earlier phases committed (a dry run's own writes are never committed).
        """

    async def load(self, writer: Writer, record: Record, *, options: RunOptions) -> LoadResult:
        """Write one record through ``writer`` (import mode); raise :class:`SkipRecord` to skip it."""


BatchResult = LoadResult | Exception
"""One record's result in a bulk load: its outcome, or the error that skipped (:class:`SkipRecord`) or failed it."""


@runtime_checkable
class Preparing(Protocol):
    """A source that does slow work for a batch (downloads) *before* the engine opens the batch's transaction.

    Network waits inside a write transaction would hold SQLite's single write lock and a PostgreSQL connection
    for their whole length; ``prepare`` runs with only read access (``lookup``) and returns the batch to load.
    """

    async def prepare(self, batch: Batch, *, lookup: RefLookup, options: RunOptions) -> Batch: ...


@runtime_checkable
class Closing(Protocol):
    """A source that holds something beyond its batch streams (a reader process started ahead, say): the engine
    closes it when a run ends, however it ends."""

    async def aclose(self) -> None: ...


@runtime_checkable
class BulkLoading(Protocol):
    """A source that can load a whole batch with a few set-based writes.

    ``load_batch`` returns one :data:`BatchResult` per record, in order, or ``None`` to have the engine load this
    batch record by record. It runs inside a savepoint: if it raises, the engine rolls the savepoint back and
    loads the batch record by record, so one bad record still never costs the others.
    """

    async def load_batch(
        self, writer: Writer, records: Sequence[Record], *, options: RunOptions
    ) -> Sequence[BatchResult] | None: ...
