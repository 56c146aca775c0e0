"""``supportly-bridge migrate supportbee``: runs in-process with progress on stderr, a summary, a failures file."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog

from bridge import cli
from bridge.migration import sources
from bridge.settings import Settings
from tests.migration.fake import GOOD_TOKEN, FakeSource

ROWS: list[dict[str, Any]] = []


def supportbee_stand_in(http: aiohttp.ClientSession, credentials: Mapping[str, Any], settings: Settings) -> FakeSource:
    return FakeSource(ROWS, token=str(credentials["auth_token"]))


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bridge.db'}")
    monkeypatch.setenv("ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    monkeypatch.setenv("LOG_LEVEL", "warning")
    tag = uuid.uuid4().hex[:8]
    ROWS[:] = [
        {"id": 1, "name": "Ann", "email": f"ann-{tag}@example.com"},
        {"id": 2, "name": "Bob", "email": f"bob-{tag}@example.com", "bad": True},
        {"id": 3, "name": "Cy", "email": f"cy-{tag}@example.com"},
    ]
    sources.register("supportbee", supportbee_stand_in)
    saved = structlog.get_config()
    yield tmp_path / "data"
    sources.unregister("supportbee")
    structlog.reset_defaults()
    structlog.configure(**saved)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_migrate_imports_shows_progress_and_writes_the_failures_file(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    code, out, _ = run(capsys, "accounts", "create", "--name", "Acme", "--json")
    assert code == 0
    account = str(json.loads(out)["account_id"])

    code, out, err = run(
        capsys, "migrate", "supportbee", "--account", account, "--company", "acme", "--token", GOOD_TOKEN
    )
    assert code == 0, err
    assert "contacts" in err
    assert "\r" in err  # the live progress line redraws in place
    assert "2 of 3 records imported" in out
    assert "created" in out
    assert "failed" in out
    failures_file = cli_env / f"migration-{out.split()[1]}-failures.ndjson"
    assert str(failures_file) in out
    lines = [json.loads(line) for line in failures_file.read_text().splitlines()]
    assert [(line["external_id"], line["outcome"]) for line in lines] == [("2", "failed")]
    assert GOOD_TOKEN not in out + err

    code, out, err = run(
        capsys, "migrate", "supportbee", "--account", account, "--company", "acme", "--token", GOOD_TOKEN, "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "completed"
    assert data["stats"]["contacts"]["unchanged"] == 2  # a re-run duplicates nothing
    assert data["since"] is not None  # and reads only what changed since the last completed run
    assert "credentials" not in data


def test_migrate_reports_refused_credentials_and_unknown_accounts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "accounts", "create", "--name", "Acme", "--json")
    account = str(json.loads(out)["account_id"])
    code, _, err = run(capsys, "migrate", "supportbee", "--account", account, "--company", "acme", "--token", "nope")
    assert code == 1
    assert "refused the credentials" in err
    code, _, err = run(capsys, "migrate", "supportbee", "--account", "999", "--company", "acme", "--token", GOOD_TOKEN)
    assert code == 1
    assert "account 999 does not exist" in err
    code, _, err = run(capsys, "migrate", "supportbee", "--account", account, "--token", GOOD_TOKEN)
    assert code == 1
    assert "--company" in err
