"""Data Migration API: start, watch, list, cancel, resume, failure reports; credentials never leave the database."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from bridge import appkeys, crypto
from bridge.migration import jobs, sources
from bridge.models import MigrationJob
from tests.conftest import Tenant, assert_error
from tests.migration.fake import GOOD_TOKEN, FakeSource, factory_for

TERMINAL = {"completed", "failed", "cancelled"}


class Desk:
    """What the registered fake source serves to the next job."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.rows: list[dict[str, Any]] = [
            {"id": 1, "name": "Ann", "email": f"ann-{tag}@example.com"},
            {"id": 2, "name": "Bob", "email": f"bob-{tag}@example.com", "bad": True},
            {"id": 3, "name": "Cy", "email": f"cy-{tag}@example.com", "skip": True},
            {"id": 4, "name": "Di", "email": f"di-{tag}@example.com"},
        ]
        self.gate: asyncio.Event | None = None


@pytest.fixture
def desk() -> Iterator[Desk]:
    desk = Desk()
    sources.register(
        "fake", factory_for(lambda creds: FakeSource(desk.rows, token=str(creds["token"]), gate=desk.gate))
    )
    yield desk
    sources.unregister("fake")


async def start(tenant: Tenant, **options: Any) -> dict[str, Any]:
    body = {"source": "fake", "credentials": {"token": GOOD_TOKEN}, "options": options}
    _, data = await tenant.call("POST", "/data_migrations", json=body, expect=201)
    return dict(data)


async def wait_for(tenant: Tenant, job_id: int, statuses: set[str] = TERMINAL) -> dict[str, Any]:
    for _ in range(200):
        _, data = await tenant.call("GET", f"/data_migrations/{job_id}", expect=200)
        if data["status"] in statuses:
            return dict(data)
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} stayed {data['status']}")


async def test_a_migration_runs_in_the_background_and_reports_progress(tenant: Tenant, desk: Desk) -> None:
    job = await start(tenant)
    assert {"id", "source", "status", "progress", "records_imported", "total_records"} <= set(job)
    assert job["source"] == "fake"
    assert job["status"] in {"pending", "in_progress"}
    assert "credentials" not in job

    done = await wait_for(tenant, job["id"])
    assert done["status"] == "completed"
    assert (done["progress"], done["records_imported"], done["total_records"]) == (100, 2, 4)
    assert done["stats"]["contacts"] | {"lossy": 0} == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
        "failed": 1,
        "lossy": 0,
    }
    assert done["started_at"]
    assert done["finished_at"]
    assert "records_per_second" in done
    assert done["eta_seconds"] == 0
    assert [(f["kind"], f["external_id"], f["outcome"]) for f in done["failures"]] == [
        ("contact", "2", "failed"),
        ("contact", "3", "skipped"),
    ]
    assert "phone is a list" in done["failures"][0]["reason"]

    _, listing = await tenant.call("GET", "/data_migrations", expect=200)
    assert [item["id"] for item in listing["payload"]] == [job["id"]]
    assert listing["meta"]["count"] == 1
    _, contacts = await tenant.call("GET", "/contacts", expect=200)
    assert sorted(c["name"] for c in contacts["payload"]) == ["Ann", "Di"]


@pytest.mark.parametrize("source", ["zendesk", "intercom", "freshdesk", "nope"])
async def test_unsupported_sources_answer_422_listing_the_supported_ones(
    tenant: Tenant, desk: Desk, source: str
) -> None:
    status, data = await tenant.call(
        "POST", "/data_migrations", json={"source": source, "credentials": {"token": GOOD_TOKEN}}
    )
    assert_error(status, data, 422, "source")
    assert "fake" in data["errors"][0]["message"]


async def test_supportbee_is_refused_while_its_source_module_is_missing(
    tenant: Tenant, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sources.SOURCES, "supportbee", "providers.supportbee.no_such_module:make_source")
    status, data = await tenant.call(
        "POST", "/data_migrations", json={"source": "supportbee", "credentials": {"company": "a", "auth_token": "x"}}
    )
    assert_error(status, data, 422, "source")


async def test_credentials_the_source_refuses_answer_422_and_create_no_job(tenant: Tenant, desk: Desk) -> None:
    status, data = await tenant.call(
        "POST", "/data_migrations", json={"source": "fake", "credentials": {"token": "wrong"}}
    )
    assert_error(status, data, 422, "credentials")
    assert "401" in data["errors"][0]["message"]
    status, data = await tenant.call("POST", "/data_migrations", json={"source": "fake", "credentials": {}})
    assert_error(status, data, 422, "credentials")
    _, listing = await tenant.call("GET", "/data_migrations", expect=200)
    assert listing["payload"] == []


async def test_malformed_bodies_name_the_field(tenant: Tenant, desk: Desk) -> None:
    status, data = await tenant.call("POST", "/data_migrations", json={"source": "fake"})
    assert_error(status, data, 422, "credentials")
    status, data = await tenant.call(
        "POST",
        "/data_migrations",
        json={"source": "fake", "credentials": {"token": GOOD_TOKEN}, "options": {"sample": 0}},
    )
    assert_error(status, data, 422)
    assert "sample" in data["errors"][0]["field"]
    status, data = await tenant.call("GET", "/data_migrations/abc")
    assert_error(status, data, 404)


async def test_another_accounts_migration_is_not_found(tenant: Tenant, other: Tenant, desk: Desk) -> None:
    job = await start(other)
    await wait_for(other, job["id"])
    for method, path in [
        ("GET", f"/data_migrations/{job['id']}"),
        ("POST", f"/data_migrations/{job['id']}/cancel"),
        ("POST", f"/data_migrations/{job['id']}/resume"),
        ("GET", f"/data_migrations/{job['id']}/failures"),
    ]:
        status, data = await tenant.call(method, path)
        assert_error(status, data, 404)
    _, listing = await tenant.call("GET", "/data_migrations", expect=200)
    assert listing["payload"] == []


async def test_agents_cannot_use_data_migrations(tenant: Tenant, desk: Desk) -> None:
    _, agent_token = await tenant.agent()
    status, data = await tenant.call("GET", "/data_migrations", token=agent_token)
    assert_error(status, data, 403)
    status, data = await tenant.call(
        "POST", "/data_migrations", token=agent_token, json={"source": "fake", "credentials": {"token": GOOD_TOKEN}}
    )
    assert_error(status, data, 403)


async def test_failures_download_as_ndjson_or_csv(tenant: Tenant, desk: Desk) -> None:
    job = await start(tenant)
    await wait_for(tenant, job["id"])
    path = tenant.url(f"/data_migrations/{job['id']}/failures")
    async with tenant.client.get(path, headers=tenant.headers) as response:
        assert response.status == 200
        assert response.content_type == "application/x-ndjson"
        lines = [json.loads(line) for line in (await response.text()).splitlines()]
    assert [(line["external_id"], line["outcome"]) for line in lines] == [("2", "failed"), ("3", "skipped")]
    assert set(lines[0]) == {"kind", "external_id", "outcome", "reason", "created_at"}

    for query, headers in [("?format=csv", {}), ("", {"Accept": "text/csv"})]:
        async with tenant.client.get(path + query, headers={**tenant.headers, **headers}) as response:
            assert response.status == 200
            assert response.content_type == "text/csv"
            rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert [(row["kind"], row["external_id"], row["outcome"]) for row in rows] == [
            ("contact", "2", "failed"),
            ("contact", "3", "skipped"),
        ]
    status, data = await tenant.call("GET", f"/data_migrations/{job['id']}/failures?format=xml")
    assert_error(status, data, 422, "format")


async def test_cancel_stops_a_running_migration_and_resume_finishes_it(tenant: Tenant, desk: Desk) -> None:
    desk.gate = asyncio.Event()
    job = await start(tenant)
    await wait_for(tenant, job["id"], {"in_progress"})
    _, cancelling = await tenant.call("POST", f"/data_migrations/{job['id']}/cancel", expect=200)
    assert cancelling["status"] in {"in_progress", "cancelled"}
    desk.gate.set()
    cancelled = await wait_for(tenant, job["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["finished_at"]
    status, data = await tenant.call("POST", f"/data_migrations/{job['id']}/cancel")
    assert_error(status, data, 409, "status")

    _, resumed = await tenant.call("POST", f"/data_migrations/{job['id']}/resume", expect=200)
    assert resumed["status"] in {"pending", "in_progress", "completed"}
    done = await wait_for(tenant, job["id"])
    assert (done["status"], done["records_imported"]) == ("completed", 2)
    status, data = await tenant.call("POST", f"/data_migrations/{job['id']}/resume")
    assert_error(status, data, 409, "status")


async def test_credentials_are_encrypted_at_rest_and_never_returned_or_logged(tenant: Tenant, desk: Desk) -> None:
    with capture_logs() as logs:
        job = await start(tenant)
        done = await wait_for(tenant, job["id"])
        _, listing = await tenant.call("GET", "/data_migrations", expect=200)
    assert GOOD_TOKEN not in json.dumps([job, done, listing])
    assert GOOD_TOKEN not in repr(logs)
    async with tenant.store.reader() as session:
        row = await session.get(MigrationJob, job["id"])
    assert row is not None
    assert GOOD_TOKEN not in row.credentials
    assert crypto.decrypt_json("test-secret", row.credentials) == {"token": GOOD_TOKEN}


async def test_a_job_left_in_progress_by_a_dead_worker_is_picked_up_again(tenant: Tenant, desk: Desk) -> None:
    app = tenant.client.app
    await app[appkeys.MIGRATIONS].stop()  # the service is down while the job is created and orphaned
    job = await jobs.create_job(
        tenant.store,
        app[appkeys.SETTINGS],
        account_id=tenant.account_id,
        source="fake",
        credentials={"token": GOOD_TOKEN},
        options=jobs.MigrationOptions(),
    )
    # A worker claimed it and died: the job is in progress and its lease has run out.
    assert await jobs.claim(tenant.store, "dead-worker", -1, job.id) == job.id
    app[appkeys.MIGRATIONS].start()  # the service restarts
    done = await wait_for(tenant, job.id)
    assert (done["status"], done["records_imported"]) == ("completed", 2)
