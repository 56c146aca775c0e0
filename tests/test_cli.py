"""The ``supportly-bridge`` command line: admin commands in-process, ``serve --demo`` as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bridge import appkeys, db
from bridge.cli import DEMO_ADMIN_EMAIL, DEMO_INBOX_NAME, ensure_demo, main
from bridge.models import Account, AccountUser, User
from bridge.settings import Settings
from bridge.store import Store

REPO = Path(__file__).resolve().parents[1]
Client = TestClient[web.Request, web.Application]


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Hermetic settings for each CLI run; the structlog set-up the CLI installs is undone after."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    monkeypatch.setenv("LOG_LEVEL", "warning")
    saved = structlog.get_config()
    yield
    structlog.reset_defaults()
    structlog.configure(**saved)


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema): a SQLite file, or a new PostgreSQL database on the test server."""
    requested = os.environ.get("BRIDGE_TEST_DATABASE_URL", "")
    if not requested.startswith("postgres"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    parsed = make_url(requested)
    admin_dsn = parsed.set(drivername="postgresql", database=parsed.database or "postgres").render_as_string(
        hide_password=False
    )
    name = f"bridge_cli_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield parsed.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def migrated_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    """Point the CLI at the run's migrated test database."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    return database_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; return its exit status, stdout and stderr."""
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def run_async(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI from an async test (it starts its own event loop, so in a thread)."""
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def json_line(out: str) -> dict[str, Any]:
    lines = out.splitlines()
    assert len(lines) == 1, out
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def assert_clean_failure(code: int, out: str, err: str, *phrases: str) -> None:
    assert code == 1, (code, out, err)
    assert "Traceback" not in err
    assert err.startswith("supportly-bridge: error: "), err
    for phrase in phrases:
        assert phrase in err, err


# -- db upgrade ----------------------------------------------------------------------------------
def test_db_upgrade_creates_the_schema_on_an_empty_database(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fresh_database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    code, out, err = run(capsys, "db", "upgrade", "--json")
    assert code == 0, err
    data = json_line(out)
    head = ScriptDirectory.from_config(db.alembic_config(fresh_database_url)).get_current_head()
    assert data["revision"] == head
    # With automatic migration off, only the schema `db upgrade` made lets an account be created.
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    code, out, err = run(capsys, "accounts", "create", "--name", "After upgrade")
    assert code == 0, err
    assert "Created account" in out


def test_db_upgrade_tells_what_to_do_next(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fresh_database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0
    assert "latest schema" in out
    assert "supportly-bridge serve" in out


def test_db_upgrade_of_a_database_from_an_unknown_schema_fails_with_alembics_reason(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fresh_database_url: str
) -> None:
    # A database some newer bridge migrated: its revision is not among this bridge's migrations.
    db.upgrade_sync(fresh_database_url)

    async def stamp_unknown() -> None:
        engine = db.make_engine(fresh_database_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE alembic_version SET version_num = 'f00dcafe'"))
        finally:
            await engine.dispose()

    asyncio.run(stamp_unknown())
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    code, out, err = run(capsys, "db", "upgrade")
    assert_clean_failure(code, out, err, "migrating")
    assert "f00dcafe" in err


def test_the_command_line_starts_without_loading_alembic() -> None:
    # alembic is a fifth of the start-up; only commands that migrate load it.
    probe = "import sys, bridge.cli; print(sorted(m for m in sys.modules if m.startswith('alembic')))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert done.stdout.strip() == "[]"


def test_commands_on_an_unreachable_database_fail_cleanly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:hunter2@127.0.0.1:1/nowhere")
    code, out, err = run(capsys, "accounts", "create", "--name", "Acme")
    assert_clean_failure(code, out, err, "127.0.0.1:1")
    assert "hunter2" not in err


def test_bad_configuration_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "eighty")
    code, out, err = run(capsys, "db", "upgrade")
    assert_clean_failure(code, out, err, "PORT")


# -- accounts, agents, tokens --------------------------------------------------------------------
async def test_account_agent_and_token_work_against_the_api(
    capsys: pytest.CaptureFixture[str], migrated_env: str, client: Client
) -> None:
    code, out, err = await run_async(capsys, "accounts", "create", "--name", "Initech", "--json")
    assert code == 0, err
    account_id = json_line(out)["account_id"]

    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    code, out, err = await run_async(
        capsys,
        "agents",
        "create",
        "--account",
        str(account_id),
        "--name",
        "Ada",
        "--email",
        email,
        "--role",
        "administrator",
        "--json",
    )
    assert code == 0, err
    agent = json_line(out)
    assert agent["account_id"] == account_id
    assert agent["role"] == "administrator"

    async with client.get(f"/api/v1/accounts/{account_id}", headers={"api_access_token": agent["token"]}) as r:
        assert r.status == 200
        body = await r.json()
    assert (body["id"], body["name"], body["role"]) == (account_id, "Initech", "administrator")

    code, out, err = await run_async(
        capsys, "tokens", "create", "--account", str(account_id), "--user", str(agent["user_id"]), "--json"
    )
    assert code == 0, err
    fresh = json_line(out)["token"]
    assert fresh != agent["token"]
    for token in (fresh, agent["token"]):  # the new token works and the old one still does
        async with client.get(f"/api/v1/accounts/{account_id}/agents", headers={"api_access_token": token}) as r:
            assert r.status == 200
            assert [a["email"] for a in await r.json()] == [email]


def test_human_output_shows_ids_token_and_next_steps(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    code, out, _ = run(capsys, "accounts", "create", "--name", "Hooli")
    assert code == 0
    match = re.search(r"Created account (\d+) \(Hooli\)", out)
    assert match, out
    account_id = match.group(1)
    assert f"agents create --account {account_id}" in out

    code, out, _ = run(
        capsys,
        "agents",
        "create",
        "--account",
        account_id,
        "--name",
        "Gavin",
        "--email",
        f"gavin-{uuid.uuid4().hex[:8]}@example.com",
    )
    assert code == 0
    token = re.search(r"API token: (\S+)", out)
    user = re.search(r"with user id (\d+)", out)
    assert token, out
    assert user, out
    assert "Created agent Gavin" in out  # --role defaults to agent
    assert f"curl -H 'api_access_token: {token.group(1)}' http://127.0.0.1:8080/api/v1/accounts/{account_id}" in out
    assert f"tokens create --account {account_id} --user {user.group(1)}" in out


async def test_agent_created_by_cli_is_stored_with_its_role(
    capsys: pytest.CaptureFixture[str], migrated_env: str
) -> None:
    code, out, _ = await run_async(capsys, "accounts", "create", "--name", "Pied Piper", "--json")
    account_id = json_line(out)["account_id"]
    email = f"jared-{uuid.uuid4().hex[:8]}@example.com"
    code, out, err = await run_async(
        capsys, "agents", "create", "--account", str(account_id), "--name", "Jared", "--email", email, "--json"
    )
    assert code == 0, err
    user_id = json_line(out)["user_id"]
    engine = db.make_engine(migrated_env)
    try:
        async with db.make_session_factory(engine)() as session:
            row = (
                await session.execute(
                    select(User.name, User.email, AccountUser.role)
                    .join(AccountUser, AccountUser.user_id == User.id)
                    .where(AccountUser.account_id == account_id, User.id == user_id)
                )
            ).one()
    finally:
        await engine.dispose()
    assert tuple(row) == ("Jared", email, "agent")


def test_agents_create_rejects_unknown_account(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    code, out, err = run(
        capsys, "agents", "create", "--account", "987654321", "--name", "X", "--email", "x@example.com"
    )
    assert_clean_failure(code, out, err, "account 987654321 does not exist")


def test_agents_create_rejects_bad_email(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    code, out, _ = run(capsys, "accounts", "create", "--name", "Acme", "--json")
    account_id = str(json_line(out)["account_id"])
    code, out, err = run(capsys, "agents", "create", "--account", account_id, "--name", "X", "--email", "not-an-email")
    assert_clean_failure(code, out, err, "email")


def test_agents_create_rejects_a_duplicate_agent(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    code, out, _ = run(capsys, "accounts", "create", "--name", "Acme", "--json")
    account_id = str(json_line(out)["account_id"])
    email = f"dup-{uuid.uuid4().hex[:8]}@example.com"
    args = ("agents", "create", "--account", account_id, "--name", "Dup", "--email", email)
    assert run(capsys, *args)[0] == 0
    code, out, err = run(capsys, *args)
    assert_clean_failure(code, out, err, "email has already been taken")


def test_agents_create_rejects_an_unknown_role(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["agents", "create", "--account", "1", "--name", "X", "--email", "x@example.com", "--role", "owner"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'owner'" in capsys.readouterr().err


def test_accounts_create_rejects_a_blank_name(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    code, out, err = run(capsys, "accounts", "create", "--name", "   ")
    assert_clean_failure(code, out, err, "name")


def test_tokens_create_needs_an_agent_of_that_account(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    accounts = []
    for name in ("First", "Second"):
        _, out, _ = run(capsys, "accounts", "create", "--name", name, "--json")
        accounts.append(str(json_line(out)["account_id"]))
    _, out, _ = run(
        capsys,
        "agents",
        "create",
        "--account",
        accounts[0],
        "--name",
        "Only Here",
        "--email",
        f"here-{uuid.uuid4().hex[:8]}@example.com",
        "--json",
    )
    user_id = str(json_line(out)["user_id"])
    code, out, err = run(capsys, "tokens", "create", "--account", accounts[1], "--user", user_id)
    assert_clean_failure(code, out, err, f"user {user_id} is not an agent of account {accounts[1]}")
    code, out, err = run(capsys, "tokens", "create", "--account", "987654321", "--user", user_id)
    assert_clean_failure(code, out, err, "account 987654321 does not exist")


# -- the demo account ----------------------------------------------------------------------------
async def test_demo_account_is_created_once_then_reused(fresh_database_url: str, tmp_path: Path) -> None:
    await db.upgrade(fresh_database_url)
    engine = db.make_engine(fresh_database_url)
    try:
        store = Store(db.make_session_factory(engine), attachments_dir=tmp_path)
        first = await ensure_demo(store)
        second = await ensure_demo(store)
        async with store.reader() as session:
            account = await session.get(Account, first.account_id)
            admins = (
                await session.execute(
                    select(User.email, AccountUser.role)
                    .join(AccountUser, AccountUser.user_id == User.id)
                    .where(AccountUser.account_id == first.account_id)
                )
            ).all()
            accounts = (await session.execute(select(Account.id))).scalars().all()
    finally:
        await engine.dispose()
    assert first.created
    assert not second.created
    assert (second.account_id, second.user_id, second.inbox_id) == (first.account_id, first.user_id, first.inbox_id)
    assert second.token != first.token
    assert account is not None
    assert account.custom_attributes == {"demo": True}
    assert [tuple(a) for a in admins] == [(DEMO_ADMIN_EMAIL, "administrator")]
    assert accounts == [first.account_id]


def test_serve_on_a_busy_port_fails_cleanly(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port))
    assert_clean_failure(code, out, err, f"cannot listen on 127.0.0.1:{port}")
    assert out == ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``supportly-bridge serve`` in a child process, its logs in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bridge.cli",
                "serve",
                *args,
                cwd=REPO,
                env=self.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )

    async def line(self) -> str:
        assert self.proc is not None
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout=90)
        assert raw, f"server exited early:\n{self.log_path.read_text()}"
        return raw.decode().rstrip("\n")

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout=30)
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        assert self.proc.stdout is not None
        await self.proc.stdout.read()
        return code


def test_the_program_ends_with_all_its_output_and_the_command_s_exit_status(
    fresh_database_url: str, tmp_path: Path
) -> None:
    """``python -m bridge.cli`` ends its process without tearing the interpreter down (``bridge.cli.run``): every
    line printed still arrives, on stdout or stderr (both pipes here), and the exit status is the command's."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in {n.upper() for n in Settings.model_fields}}
    env.update(
        DATABASE_URL=fresh_database_url,
        LOG_LEVEL="warning",
        ATTACHMENTS_DIR=str(tmp_path / "attachments"),
        BRIDGE_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )

    def program(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge.cli", *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = program("accounts", "create", "--name", "Acme")
    assert made.returncode == 0, made.stderr
    lines = made.stdout.splitlines()
    assert re.fullmatch(r"Created account \d+ \(Acme\)\.", lines[0])
    assert lines[-1].strip().startswith("supportly-bridge agents create --account ")
    account_id = int(lines[0].split()[2])

    as_json = program("accounts", "create", "--name", "Beta", "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["account_id"] == account_id + 1

    refused = program("migrate", "supportbee", "--account", "999", "--base-url", "http://127.0.0.1:9", "--token", "t")
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert "supportly-bridge: error: account 999 does not exist" in refused.stderr


async def test_serve_demo_prints_a_working_url_and_token(fresh_database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.upper() not in {n.upper() for n in Settings.model_fields}}
    env.update(
        DATABASE_URL=fresh_database_url,
        ATTACHMENTS_DIR=str(tmp_path / "attachments"),
        BRIDGE_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    )
    port = free_port()
    server = Server(env, tmp_path / "server.log")
    await server.start("--demo", "--json", "--port", str(port))
    try:
        started = json.loads(await server.line())
        assert set(started) == {"url", "account_id", "token"}
        assert started["url"] == f"http://127.0.0.1:{port}"
        headers = {"api_access_token": started["token"]}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{started['url']}/api/v1/accounts/{started['account_id']}", headers=headers) as r:
                assert r.status == 200
                assert (await r.json())["id"] == started["account_id"]
            async with http.get(
                f"{started['url']}/api/v1/accounts/{started['account_id']}/inboxes", headers=headers
            ) as r:
                assert r.status == 200
                assert [i["name"] for i in (await r.json())["payload"]] == [DEMO_INBOX_NAME]
    finally:
        assert await server.stop() == 0, server.log_path.read_text()

    # A second start reuses the demo account and prints a curl line that works as printed.
    server = Server(env, tmp_path / "server2.log")
    await server.start("--demo", "--port", str(port))
    try:
        lines = [await server.line()]
        while not lines[-1].startswith("  curl "):
            lines.append(await server.line())
        text = "\n".join(lines)
        assert f"Demo account: {started['account_id']} (reused)" in text, text
        argv = shlex.split(lines[-1])
        assert argv[:2] == ["curl", "-H"]
        assert argv[2].startswith("api_access_token: ")
        assert argv[3] == f"http://127.0.0.1:{port}/api/v1/accounts/{started['account_id']}/conversations"
        if shutil.which("curl"):
            curl = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
            )
            out, _ = await asyncio.wait_for(curl.communicate(), timeout=30)
            assert curl.returncode == 0
            listing = json.loads(out)
        else:
            name, _, value = argv[2].partition(": ")
            async with aiohttp.ClientSession() as http, http.get(argv[3], headers={name: value}) as r:
                assert r.status == 200
                listing = await r.json()
        assert listing["data"]["meta"]["all_count"] == 1
        assert listing["data"]["payload"][0]["meta"]["sender"]["email"] == "jane@example.com"
    finally:
        assert await server.stop() == 0, server.log_path.read_text()


def test_readme_documents_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in readme]
    assert not missing, f"README's configuration table lacks {missing}"


def test_readme_coverage_table_names_every_native_endpoint_group(app: web.Application) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Coverage", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1].strip().lower() for line in section.splitlines() if line.startswith("| ")]
    tags = {e.tag for e in app[appkeys.ENDPOINTS].values() if e.surface == "native"}
    missing = sorted(tag for tag in tags if not any(tag.lower() in row for row in rows))
    assert not missing, f"README's coverage table lacks the endpoint groups {missing}"


async def test_tenants_bind_and_tokens_alias_serve_an_old_supportbee_client(
    capsys: pytest.CaptureFixture[str], migrated_env: str, client: Client
) -> None:
    code, out, err = await run_async(capsys, "accounts", "create", "--name", "Hooli", "--json")
    assert code == 0, err
    account_id = str(json_line(out)["account_id"])
    email = f"gavin-{uuid.uuid4().hex[:8]}@example.com"
    code, out, err = await run_async(
        capsys, "agents", "create", "--account", account_id, "--name", "Gavin", "--email", email, "--json"
    )
    assert code == 0, err
    user_id = str(json_line(out)["user_id"])
    company = f"hooli{uuid.uuid4().hex[:6]}"
    code, out, err = await run_async(
        capsys, "tenants", "bind", "--account", account_id, "--provider", "supportbee", "--name", company, "--json"
    )
    assert code == 0, err
    assert json_line(out)["name"] == company
    code, out, err = await run_async(
        capsys,
        "tokens",
        "alias",
        "--account",
        account_id,
        "--user",
        user_id,
        "--provider",
        "supportbee",
        "--token",
        "old-client-token-1",
        "--json",
    )
    assert code == 0, err
    async with client.get(f"/supportbee/{company}/labels", params={"auth_token": "old-client-token-1"}) as r:
        assert r.status == 200


def test_tenants_bind_rejects_a_bad_name_and_a_taken_one(capsys: pytest.CaptureFixture[str], migrated_env: str) -> None:
    code, out, err = run(capsys, "accounts", "create", "--name", "A", "--json")
    first = str(json_line(out)["account_id"])
    code, out, err = run(capsys, "accounts", "create", "--name", "B", "--json")
    second = str(json_line(out)["account_id"])
    code, out, err = run(
        capsys, "tenants", "bind", "--account", first, "--provider", "supportbee", "--name", "no spaces"
    )
    assert_clean_failure(code, out, err, "name")
    company = f"taken{uuid.uuid4().hex[:6]}"
    code, out, err = run(capsys, "tenants", "bind", "--account", first, "--provider", "supportbee", "--name", company)
    assert code == 0, err
    code, out, err = run(capsys, "tenants", "bind", "--account", second, "--provider", "supportbee", "--name", company)
    assert_clean_failure(code, out, err, "already bound")
