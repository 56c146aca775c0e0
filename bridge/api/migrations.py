"""Data Migration (Supportly spec, "Data Migration"): start, watch, cancel and resume imports; failure reports."""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from bridge import appkeys
from bridge.api.common import Page, native_router, paginated_meta, path_id, principal, store
from bridge.migration import jobs
from bridge.models import MigrationFailure, MigrationJob
from bridge.routing import json_response, parse_body, parse_query

router = native_router("Data Migration")

PER_PAGE = 25
FAILURE_CHUNK = 1000
CSV_COLUMNS = ("kind", "external_id", "outcome", "reason", "created_at")


class MigrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=32)
    credentials: dict[str, Any]
    options: jobs.MigrationOptions = Field(default_factory=jobs.MigrationOptions)


class FailuresQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    format: Literal["ndjson", "csv"] | None = None
    include_lossy: bool = False


def _job_id(request: web.Request) -> int:
    return path_id(request, "id", what="Data migration")


async def _show(request: web.Request, job_id: int) -> dict[str, Any]:
    async with store(request).reader() as session:
        job = await jobs.get_job(session, principal(request).account_id, job_id)
        return jobs.render_job(job, await jobs.first_failures(session, job.id))


@router.post("/data_migrations", summary="Start a data migration", auth="admin", body=MigrationCreate, status=201)
async def create_migration(request: web.Request) -> web.Response:
    body = await parse_body(request, MigrationCreate)
    settings = request.app[appkeys.SETTINGS]
    name = body.source.strip().lower()
    source = jobs.build_source(name, request.app[appkeys.HTTP], body.credentials, settings)
    await jobs.verify_source(source)
    job = await jobs.create_job(
        store(request),
        settings,
        account_id=principal(request).account_id,
        source=name,
        credentials=body.credentials,
        options=body.options,
    )
    request.app[appkeys.MIGRATIONS].notify()
    return json_response(jobs.render_job(job, []), status=201)


@router.get("/data_migrations", summary="List data migrations", auth="admin", query=Page)
async def list_migrations(request: web.Request) -> web.Response:
    page = parse_query(request, Page).page
    account_id = principal(request).account_id
    async with store(request).reader() as session:
        count = (await session.execute(select(func.count()).where(MigrationJob.account_id == account_id))).scalar_one()
        rows = await session.execute(
            select(MigrationJob)
            .where(MigrationJob.account_id == account_id)
            .order_by(MigrationJob.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
        payload = [jobs.render_job(job) for job in rows.scalars()]
    return json_response({"payload": payload, "meta": paginated_meta(int(count), page, PER_PAGE)})


@router.get("/data_migrations/{id}", summary="Show a data migration's status", auth="admin")
async def show_migration(request: web.Request) -> web.Response:
    return json_response(await _show(request, _job_id(request)))


@router.post("/data_migrations/{id}/cancel", summary="Cancel a data migration", auth="admin")
async def cancel_migration(request: web.Request) -> web.Response:
    job_id = _job_id(request)
    account_id = principal(request).account_id
    async with store(request).reader() as session:
        jobs.ensure_cancellable(await jobs.get_job(session, account_id, job_id))
    # A job this process runs stops at its next record and records the cancel itself; writing the flag
    # now would wait on SQLite for the batch transaction that the stop is about to roll back.
    if not request.app[appkeys.MIGRATIONS].cancel(job_id):
        await jobs.request_cancel(store(request), account_id, job_id)
    return json_response(await _show(request, job_id))


@router.post("/data_migrations/{id}/resume", summary="Resume a failed or cancelled migration", auth="admin")
async def resume_migration(request: web.Request) -> web.Response:
    job_id = _job_id(request)
    await jobs.resume(store(request), principal(request).account_id, job_id)
    request.app[appkeys.MIGRATIONS].notify()
    return json_response(await _show(request, job_id))


@router.get(
    "/data_migrations/{id}/failures",
    summary="Every skipped or failed record (NDJSON, or CSV with ?format=csv)",
    auth="admin",
    query=FailuresQuery,
)
async def migration_failures(request: web.Request) -> web.StreamResponse:
    job_id = _job_id(request)
    query = parse_query(request, FailuresQuery)
    wants_csv = query.format == "csv" or (query.format is None and "text/csv" in request.headers.get("Accept", ""))
    outcomes = ("skipped", "failed", "lossy") if query.include_lossy else ("skipped", "failed")
    async with store(request).reader() as session:
        await jobs.get_job(session, principal(request).account_id, job_id)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if wants_csv else "application/x-ndjson",
            "Content-Disposition": f'attachment; filename="migration-{job_id}-failures.'
            + ("csv" if wants_csv else "ndjson")
            + '"',
        }
    )
    await response.prepare(request)
    if wants_csv:
        await response.write(_csv_line(CSV_COLUMNS))
    after = 0
    while True:
        async with store(request).reader() as session:
            rows = list(
                (
                    await session.execute(
                        select(MigrationFailure)
                        .where(
                            MigrationFailure.job_id == job_id,
                            MigrationFailure.id > after,
                            MigrationFailure.outcome.in_(outcomes),
                        )
                        .order_by(MigrationFailure.id)
                        .limit(FAILURE_CHUNK)
                    )
                ).scalars()
            )
        if not rows:
            break
        after = rows[-1].id
        chunk = bytearray()
        for row in rows:
            data = jobs.render_failure(row)
            if wants_csv:
                chunk += _csv_line(tuple(str(data[column]) for column in CSV_COLUMNS))
            else:
                chunk += orjson.dumps(data) + b"\n"
        await response.write(bytes(chunk))
    await response.write_eof()
    return response


def _csv_line(values: tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().encode()
