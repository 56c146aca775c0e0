"""The terminal side of ``supportly-bridge migrate``: a live progress line, the summary table, the failures file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

import orjson
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bridge.migration.engine import COUNTERS, Snapshot
from bridge.migration.jobs import render_failure
from bridge.models import MigrationFailure
from bridge.settings import DEFAULT_DATA_DIR, Settings
from bridge.store import Store


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ProgressLine:
    """Redraw one line per phase on a terminal stream (carriage return), ending it when the phase changes."""

    def __init__(self, stream: TextIO | None = None, width: int = 24) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.phase: str | None = None

    def update(self, snapshot: Snapshot) -> None:
        if snapshot.phase is None:
            self.close()
            return
        if snapshot.phase != self.phase:
            self.close()
            self.phase = snapshot.phase
        counts = snapshot.stats.get(snapshot.phase, {})
        done = sum(counts.get(key, 0) for key in ("created", "updated", "unchanged", "skipped", "failed"))
        total = max(int(snapshot.totals.get(snapshot.phase, 0)), done)
        filled = self.width * done // total if total else 0
        bar = "#" * filled + "-" * (self.width - filled)
        rate = f"{snapshot.records_per_second:.1f}/s" if snapshot.records_per_second else "-/s"
        line = (
            f"\r{snapshot.phase:<14} [{bar}] {done}/{total}  {rate}  "
            f"ETA {_duration(snapshot.eta_seconds)}  overall {snapshot.progress}%"
        )
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.phase is not None:
            self.stream.write("\n")
            self.stream.flush()
            self.phase = None


def summary_table(stats: dict[str, dict[str, int]]) -> str:
    """Render per-phase outcomes as a fixed-width table."""
    columns = [key for key in COUNTERS if key != "lossy" or any(c.get("lossy") for c in stats.values())]
    header = ["phase", *columns]
    rows = [[phase, *(str(counts.get(key, 0)) for key in columns)] for phase, counts in stats.items()]
    totals = ["total", *(str(sum(c.get(key, 0) for c in stats.values())) for key in columns)]
    table = [header, *rows, totals]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        return "  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule, *(fmt(r) for r in rows), rule, fmt(totals)])


def data_dir(settings: Settings) -> Path:
    """Return the folder next to the database (the SQLite file's folder, else the default data folder)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().parent
    return DEFAULT_DATA_DIR


async def write_failures(store: Store, settings: Settings, job_id: int) -> tuple[Path, int]:
    """Write every failed, skipped and lossy record of the job as NDJSON; return the path and the count."""
    folder = data_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"migration-{job_id}-failures.ndjson"
    count = 0
    after = 0
    with path.open("wb") as handle:
        while True:
            async with store.reader() as session:
                rows = list(
                    (
                        await session.execute(
                            select(MigrationFailure)
                            .where(MigrationFailure.job_id == job_id, MigrationFailure.id > after)
                            .order_by(MigrationFailure.id)
                            .limit(1000)
                        )
                    ).scalars()
                )
            if not rows:
                break
            after = rows[-1].id
            for row in rows:
                handle.write(orjson.dumps(render_failure(row)) + b"\n")
            count += len(rows)
    return path, count


def result_data(job: dict[str, Any], failures_file: Path, failure_count: int) -> dict[str, Any]:
    return {**job, "failures_file": str(failures_file), "failure_count": failure_count}
