"""Log redaction and the request log line: no token, password or credential ever reaches a log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from bridge.logs import REDACTED, configure_logging, get_logger, redact_processor
from tests.conftest import Tenant

SECRET = "S3cr3tTok3nValue42"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Configure the service's real logging (JSON, debug level) into a buffer; undo it afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    configure_logging("debug", stream=buffer)
    try:
        yield buffer
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)


def _json_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def _redact(**event: Any) -> dict[str, Any]:
    return dict(redact_processor(None, "info", event))


def test_secret_keys_are_redacted_at_any_depth() -> None:
    out = _redact(
        event="calling",
        token=SECRET,
        api_access_token=SECRET,
        password=SECRET,
        Authorization=f"Bearer {SECRET}",
        credentials={"user": "bob", "pass": SECRET},
        headers={"api_access_token": SECRET, "Accept": "application/json"},
        items=[{"secret_key": SECRET, "id": 7}],
        author_id=42,
        path="/api/v1/accounts/1/agents",
    )
    assert SECRET not in json.dumps(out)
    assert out["token"] == out["api_access_token"] == out["password"] == out["Authorization"] == REDACTED
    assert out["credentials"] == {"user": REDACTED, "pass": REDACTED}
    assert out["headers"] == {"api_access_token": REDACTED, "Accept": "application/json"}
    assert out["items"] == [{"secret_key": REDACTED, "id": 7}]
    # Ordinary fields stay readable.
    assert (out["event"], out["author_id"], out["path"]) == ("calling", 42, "/api/v1/accounts/1/agents")


@pytest.mark.parametrize(
    "text",
    [
        f"GET /api/v1/accounts/1/agents?page=2&api_access_token={SECRET}&x=1",
        f"token={SECRET}",
        f"password={SECRET} retry",
        f"api_access_token: {SECRET}",
        f"Authorization: Bearer {SECRET}",
        f"authorization=Basic {SECRET}",
        f"{{'api_access_token': '{SECRET}', 'page': 1}}",
        f'{{"password": "{SECRET}"}}',
        f"connecting to postgresql://bridge:{SECRET}@db.internal:5432/bridge",
        f"sent with bearer {SECRET}",
    ],
)
def test_secrets_in_free_text_are_redacted(text: str) -> None:
    out = _redact(event=text, detail=text, nested={"note": text}, lines=[text])
    assert SECRET not in json.dumps(out)
    assert REDACTED in out["event"]


def test_free_text_without_secrets_is_untouched() -> None:
    text = "GET /api/v1/accounts/1/agents?page=2 took 3 ms (author=jane)"
    assert _redact(event=text, message=text) == {"event": text, "message": text}


def test_exceptions_are_rendered_then_redacted(log_lines: io.StringIO) -> None:
    log = get_logger("tests.logs")
    try:
        raise ValueError(f"upstream refused token={SECRET}")
    except ValueError:
        log.exception("upstream_failed")
    (line,) = [entry for entry in _json_lines(log_lines) if entry["event"] == "upstream_failed"]
    assert "ValueError" in line["exception"]
    assert SECRET not in log_lines.getvalue()


def test_stdlib_log_records_are_redacted_too(log_lines: io.StringIO) -> None:
    logging.getLogger("aiohttp.access").info('127.0.0.1 "GET /x?api_access_token=%s HTTP/1.1" 401', SECRET)
    (line,) = [entry for entry in _json_lines(log_lines) if entry.get("logger") == "aiohttp.access"]
    assert REDACTED in line["event"]
    assert SECRET not in log_lines.getvalue()


async def test_tokens_sent_to_the_api_never_reach_the_logs(tenant: Tenant, log_lines: io.StringIO) -> None:
    # A token in the query string is not a credential here (401), but must not be logged either.
    async with tenant.client.get(tenant.url(f"/agents?api_access_token={SECRET}")) as response:
        assert response.status == 401
    async with tenant.client.get(
        tenant.url(f"/agents?page=1&api_access_token={tenant.token}"), headers=tenant.headers
    ) as response:
        assert response.status == 200
    async with tenant.client.get(tenant.url("/agents"), headers={"Authorization": f"Bearer {tenant.token}"}) as r:
        assert r.status == 200
    async with tenant.client.get(tenant.url("/agents"), headers={"api_access_token": SECRET}) as response:
        assert response.status == 401
    body = {"name": "X", "email": "x@example.com", "role": "agent", "password": SECRET}
    await tenant.call("POST", "/agents", json=body, expect=200)
    output = log_lines.getvalue()
    assert output.count('"event": "request"') >= 5
    # The server's access log writes the full request line; the query token in it is blanked.
    access = [e["event"] for e in _json_lines(log_lines) if e.get("logger") == "aiohttp.access"]
    assert any(f"api_access_token={REDACTED}" in line for line in access), access
    assert SECRET not in output
    assert tenant.token not in output


async def test_request_log_line_has_the_request_fields(tenant: Tenant, log_lines: io.StringIO) -> None:
    async with tenant.client.get(tenant.url("/teams/999999999"), headers=tenant.headers) as response:
        assert response.status == 404
        request_id = response.headers["X-Request-Id"]
    async with tenant.client.get(
        tenant.url("/agents"), headers={**tenant.headers, "X-Request-Id": "client-chosen-id"}
    ) as response:
        assert response.headers["X-Request-Id"] == "client-chosen-id"
    lines = [entry for entry in _json_lines(log_lines) if entry["event"] == "request"]
    assert len(lines) == 2
    first, second = lines
    assert set(first) >= {"request_id", "method", "path", "status", "duration_ms", "level", "timestamp"}
    assert (first["request_id"], first["method"], first["path"], first["status"]) == (
        request_id,
        "GET",
        f"/api/v1/accounts/{tenant.account_id}/teams/999999999",
        404,
    )
    assert isinstance(first["duration_ms"], int | float)
    assert first["duration_ms"] >= 0
    assert (second["request_id"], second["status"]) == ("client-chosen-id", 200)
    assert first["level"] == "info"
