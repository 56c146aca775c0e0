"""The ``supportly-bridge`` command: run the service and manage accounts, agents and API tokens.

Every command says what to do next; ``--json`` prints one machine-readable JSON line on stdout instead.
Logs are JSON lines on stderr. Failures print ``supportly-bridge: error: …`` on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import shlex
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import aiohttp
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bridge import appkeys, crypto, db, loop
from bridge.errors import ApiError
from bridge.logs import configure_logging, get_logger
from bridge.migration import console, jobs
from bridge.migration.engine import LEASE_SECONDS, Engine
from bridge.models import Account, AccountUser, Inbox, MigrationJob, User
from bridge.schemas import AccountData, AgentData, ContactData, ConversationData, InboxData, MessageData
from bridge.settings import Settings
from bridge.store import Store

PROG = "supportly-bridge"
DEMO_MARK = "demo"
DEMO_ACCOUNT_NAME = "Demo account"
DEMO_COMPANY = "demo"
DEMO_ADMIN_EMAIL = "demo@example.com"
DEMO_ADMIN_NAME = "Demo Admin"
DEMO_INBOX_NAME = "Demo API inbox"

log = get_logger(__name__)


class CliError(Exception):
    """A failure the person running the command can fix; printed without a traceback."""


@dataclass(frozen=True)
class Output:
    """Print a command's result for a person, or as one JSON line with ``--json``."""

    as_json: bool

    def result(self, text: str, data: dict[str, Any]) -> None:
        if self.as_json:
            print(json.dumps(data, separators=(",", ":")), flush=True)
        else:
            print(text, flush=True)


# -- helpers ---------------------------------------------------------------------------------------
def masked_url(url: str) -> str:
    """Render a database URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def http_url(host: str, port: int) -> str:
    """Return the URL a local client reaches ``host:port`` at (wildcard binds become loopback)."""
    if host in {"", "0.0.0.0"}:
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def curl_line(token: str, url: str) -> str:
    return f"curl -H {shlex.quote('api_access_token: ' + token)} {shlex.quote(url)}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, naming the variable that holds a bad value."""
    try:
        return Settings.from_env(None, **overrides)
    except ValidationError as err:
        problems = "; ".join(
            f"{str(e['loc'][0]).upper() if e['loc'] else 'settings'}: {e['msg']}" for e in err.errors()
        )
        raise CliError(f"invalid configuration: {problems}") from err


def validation_message(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" if e["loc"] else str(e["msg"]) for e in err.errors()
    )


def api_error_message(err: ApiError) -> str:
    return "; ".join(
        f"{item['field']} {item['message']}" if item.get("field") else str(item["message"]) for item in err.errors()
    )


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Store]:
    """Migrate (unless AUTO_MIGRATE is off), then yield a Store on the configured database."""
    if settings.auto_migrate:
        await db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    try:
        yield Store(db.make_session_factory(engine), attachments_dir=settings.attachments_dir)
    finally:
        await engine.dispose()


async def require_account(store: Store, account_id: int) -> Account:
    async with store.reader() as session:
        account = await session.get(Account, account_id)
    if account is None:
        raise CliError(f"account {account_id} does not exist (create one with: {PROG} accounts create --name NAME)")
    return account


# -- demo account --------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoAccess:
    account_id: int
    user_id: int
    inbox_id: int
    token: str
    created: bool


async def find_demo_account(store: Store) -> int | None:
    """Return the id of the account marked ``{"demo": true}`` in its custom attributes, if any."""
    async with store.reader() as session:
        rows = await session.execute(select(Account.id, Account.custom_attributes).order_by(Account.id))
        for account_id, attributes in rows:
            if isinstance(attributes, dict) and attributes.get(DEMO_MARK) is True:
                return int(account_id)
    return None


async def ensure_demo(store: Store) -> DemoAccess:
    """Find or create the demo account, its administrator and API inbox; issue a fresh token."""
    account_id = await find_demo_account(store)
    created = account_id is None
    if account_id is None:
        account = await store.create_account(DEMO_ACCOUNT_NAME)
        account_id = account.id
        async with store.writer(account_id) as w:
            await w.update_account(AccountData(custom_attributes={DEMO_MARK: True}))
    async with store.reader() as session:
        user_id = (
            await session.execute(
                select(User.id)
                .join(AccountUser, AccountUser.user_id == User.id)
                .where(
                    AccountUser.account_id == account_id,
                    AccountUser.active.is_(True),
                    User.email == DEMO_ADMIN_EMAIL,
                )
            )
        ).scalar_one_or_none()
        inbox_id = (
            await session.execute(
                select(Inbox.id)
                .where(Inbox.account_id == account_id, Inbox.channel_type == "api")
                .order_by(Inbox.id)
                .limit(1)
            )
        ).scalar_one_or_none()
    async with store.writer(account_id) as w:
        if user_id is None:
            user, _ = await w.create_agent(
                AgentData(name=DEMO_ADMIN_NAME, email=DEMO_ADMIN_EMAIL, role="administrator")
            )
            user_id = user.id
        if inbox_id is None:
            inbox_id = (await w.create_inbox(InboxData(name=DEMO_INBOX_NAME, channel_type="api"))).id
            if created:
                # One sample conversation so the first request shows something.
                contact = await w.create_contact(ContactData(name="Jane Customer", email="jane@example.com"))
                conversation = await w.create_conversation(ConversationData(inbox_id=inbox_id, contact_id=contact.id))
                await w.create_message(
                    conversation, MessageData(content="Hi! My order has not arrived yet.", message_type="incoming")
                )
        token = await w.create_token(owner_type="user", owner_id=user_id, name="demo")
        # Old SupportBee clients of the demo desk reach it at /supportbee/demo/… or demo.<host suffix>.
        await w.bind_tenant("supportbee", DEMO_COMPANY)
    log.info("demo_ready", account_id=account_id, created=created)
    return DemoAccess(account_id, user_id, inbox_id, token, created)


# -- commands --------------------------------------------------------------------------------------
def listening_socket(host: str, port: int) -> socket.socket:
    """Bind the service's port first, so a busy port fails fast, before anything else starts."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as err:
        raise CliError(f"cannot listen on {host}:{port}: {err.strerror or err}") from err


async def cmd_serve(args: argparse.Namespace, out: Output) -> None:
    settings = load_settings(host=args.host, port=args.port)
    sock = listening_socket(settings.host, settings.port)
    from bridge.app import create_app  # the whole service is loaded only to serve it

    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    try:
        await runner.setup()  # runs cleanup_ctx: migrations, engine, store
        demo = await ensure_demo(app[appkeys.STORE]) if args.demo else None
        await web.SockSite(runner, sock).start()
        url = http_url(settings.host, int(sock.getsockname()[1]))
        log.info("listening", url=url)
        announce_serving(out, settings, url, demo)
        await wait_for_stop_signal()
        log.info("stopping")
    finally:
        await runner.cleanup()
        sock.close()


def announce_serving(out: Output, settings: Settings, url: str, demo: DemoAccess | None) -> None:
    data: dict[str, Any] = {"url": url}
    lines = [f"Supportly bridge is listening on {url}", f"Database: {masked_url(settings.database_url)}"]
    if demo is not None:
        data.update(account_id=demo.account_id, token=demo.token)
        conversations = f"{url}/api/v1/accounts/{demo.account_id}/conversations"
        lines += [
            "",
            f"Demo account: {demo.account_id} ({'created' if demo.created else 'reused'}), "
            f"administrator {DEMO_ADMIN_EMAIL}, API inbox {demo.inbox_id}",
            f"API token:    {demo.token}",
            "              (a new token is issued on every start; earlier ones keep working)",
            "",
            "Try it:",
            f"  {curl_line(demo.token, conversations)}",
            "",
            f"Old SupportBee clients of company '{DEMO_COMPANY}' (same token, as auth_token):",
            f"  curl '{url}/supportbee/{DEMO_COMPANY}/tickets?auth_token={demo.token}'",
        ]
    else:
        lines += [
            "",
            "Next: create an account and an administrator with an API token:",
            f"  {PROG} accounts create --name 'Acme'",
            f"  {PROG} agents create --account ACCOUNT_ID --name 'Ada Admin' --email ada@example.com "
            "--role administrator",
            f"(or restart with `{PROG} serve --demo` for a ready-made demo account)",
        ]
    lines += ["", f"API description: {url}/openapi.json", "Press Ctrl+C to stop."]
    out.result("\n".join(lines), data)


async def wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    running = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            running.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - platforms without signal support
            continue
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                running.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                continue


async def cmd_db_upgrade(args: argparse.Namespace, out: Output) -> None:
    settings = load_settings()
    await db.upgrade(settings.database_url)
    head = db.head_revision(settings.database_url)
    database = masked_url(settings.database_url)
    out.result(
        f"Database {database} is at the latest schema (revision {head}).\n"
        f"Next: {PROG} serve   (or {PROG} accounts create --name NAME)",
        {"database": database, "revision": head},
    )


async def cmd_accounts_create(args: argparse.Namespace, out: Output) -> None:
    try:
        data = AccountData.model_validate({"name": args.name.strip()})
    except ValidationError as err:
        raise CliError(validation_message(err)) from err
    assert data.name is not None
    settings = load_settings()
    async with open_store(settings) as store:
        account = await store.create_account(data.name)
    out.result(
        f"Created account {account.id} ({account.name}).\n"
        "Next: add an administrator and get an API token:\n"
        f"  {PROG} agents create --account {account.id} --name 'Ada Admin' --email ada@example.com "
        "--role administrator",
        {"account_id": account.id, "name": account.name},
    )


async def cmd_agents_create(args: argparse.Namespace, out: Output) -> None:
    try:
        data = AgentData.model_validate({"name": args.name.strip(), "email": args.email.strip(), "role": args.role})
    except ValidationError as err:
        raise CliError(validation_message(err)) from err
    settings = load_settings()
    async with open_store(settings) as store:
        await require_account(store, args.account)
        async with store.writer(args.account) as w:
            user, membership = await w.create_agent(data)
            token = await w.create_token(owner_type="user", owner_id=user.id, name="cli")
    url = f"{settings.base_url()}/api/v1/accounts/{args.account}"
    out.result(
        f"Created {membership.role} {user.name} <{user.email}> with user id {user.id} in account {args.account}.\n"
        f"API token: {token}\n"
        "(shown once; keep it secret. Another one: "
        f"{PROG} tokens create --account {args.account} --user {user.id})\n"
        f"Try it (with `{PROG} serve` running):\n"
        f"  {curl_line(token, url)}",
        {"account_id": args.account, "user_id": user.id, "role": membership.role, "token": token},
    )


async def cmd_tokens_create(args: argparse.Namespace, out: Output) -> None:
    settings = load_settings()
    async with open_store(settings) as store:
        await require_account(store, args.account)
        async with store.reader() as session:
            membership = (
                await session.execute(
                    select(AccountUser).where(AccountUser.account_id == args.account, AccountUser.user_id == args.user)
                )
            ).scalar_one_or_none()
        if membership is None:
            raise CliError(
                f"user {args.user} is not an agent of account {args.account} "
                f"(add one with: {PROG} agents create --account {args.account} --name NAME --email EMAIL)"
            )
        if not membership.active:
            raise CliError(f"user {args.user} is deactivated in account {args.account}; a token would not work")
        async with store.writer(args.account) as w:
            token = await w.create_token(owner_type="user", owner_id=args.user, name="cli")
    url = f"{settings.base_url()}/api/v1/accounts/{args.account}"
    out.result(
        f"New API token for user {args.user} ({membership.role}) in account {args.account}:\n"
        f"{token}\n"
        "(shown once; keep it secret; earlier tokens keep working)\n"
        f"Try it (with `{PROG} serve` running):\n"
        f"  {curl_line(token, url)}",
        {"account_id": args.account, "user_id": args.user, "token": token},
    )


async def cmd_tenants_bind(args: argparse.Namespace, out: Output) -> None:
    settings = load_settings()
    async with open_store(settings) as store:
        await require_account(store, args.account)
        async with store.writer(args.account) as w:
            tenant = await w.bind_tenant(args.provider, args.name)
    suffix = settings.supportbee_host_suffix
    out.result(
        f"{args.provider} company {tenant.name!r} is now account {args.account}.\n"
        f"Old clients reach it at {settings.base_url()}/supportbee/{tenant.name}/…"
        + (f" or http://{tenant.name}.{suffix}:{settings.port}/…" if suffix else "")
        + f"\nRegister an old client's token with: {PROG} tokens alias --account {args.account} --user ID "
        f"--provider {args.provider} --token TOKEN",
        {"account_id": args.account, "provider": args.provider, "name": tenant.name, "id": tenant.id},
    )


async def cmd_tokens_alias(args: argparse.Namespace, out: Output) -> None:
    settings = load_settings()
    async with open_store(settings) as store:
        await require_account(store, args.account)
        async with store.writer(args.account) as w:
            await w.membership(args.user)
            await w.register_alias(args.token, user_id=args.user, surface=args.provider)
    out.result(
        f"The {args.provider} token is now an alias of user {args.user} in account {args.account} "
        f"(stored hashed; it works on the {args.provider} surface only).",
        {"account_id": args.account, "user_id": args.user, "provider": args.provider},
    )


async def cmd_migrate(args: argparse.Namespace, out: Output) -> None:
    """Run a data migration in this process, with a live progress line per phase on stderr."""
    settings = load_settings()
    source_name = args.migrate_source
    async with open_store(settings) as store, aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        await require_account(store, args.account)
        if args.resume is not None:
            async with store.reader() as session:
                existing = await jobs.get_job(session, args.account, args.resume)
            if existing.source != source_name:
                raise CliError(f"job {existing.id} imports from {existing.source}, not {source_name}")
            if existing.status in jobs.RESUMABLE:
                await jobs.resume(store, args.account, existing.id)
            elif existing.status == "completed":
                raise CliError(f"job {existing.id} is already completed")
            credentials = crypto.decrypt_json(settings.secret_key, existing.credentials)
            source = jobs.build_source(source_name, http, credentials, settings)
            job_id = existing.id
        else:
            if not args.token:
                raise CliError("--token is required (the SupportBee API token of an administrator)")
            if not (args.company or args.base_url):
                raise CliError("give --company NAME (e.g. acme for acme.supportbee.com) or --base-url URL")
            credentials = {"auth_token": args.token}
            if args.company:
                credentials["company"] = args.company
            if args.base_url:
                credentials["base_url"] = args.base_url
            try:
                options = jobs.MigrationOptions(dry_run=args.dry_run, sample=args.sample, since=args.since)
            except ValidationError as err:
                raise CliError(validation_message(err)) from err
            source = jobs.build_source(source_name, http, credentials, settings)
            await jobs.verify_source(source)
            job_id = (
                await jobs.create_job(
                    store,
                    settings,
                    account_id=args.account,
                    source=source_name,
                    credentials=credentials,
                    options=options,
                )
            ).id
        owner = f"cli-{uuid.uuid4().hex[:12]}"
        if await jobs.claim(store, owner, LEASE_SECONDS, job_id) != job_id:
            raise CliError(await jobs.why_unclaimable(store, job_id))
        progress = console.ProgressLine(sys.stderr)
        print(f"Migration job {job_id}: {source_name} -> account {args.account}", file=sys.stderr, flush=True)
        try:
            status = await Engine(store, owner=owner, on_progress=progress.update).run(job_id, source)
        finally:
            progress.close()
        async with store.reader() as session:
            job = await session.get(MigrationJob, job_id)
            assert job is not None
            rendered = jobs.render_job(job)
        failures_file, failure_count = await console.write_failures(store, settings, job_id)
    if status != "completed":
        raise CliError(
            f"migration {job_id} {status}: {rendered['last_error'] or 'stopped'}; records so far: "
            f"{rendered['records_imported']}. Resume with: {PROG} migrate {source_name} --account {args.account} "
            f"--resume {job_id}"
        )
    text = "\n".join(
        [
            f"Migration {job_id} completed{' (dry run: nothing was written)' if rendered['dry_run'] else ''}: "
            f"{rendered['records_imported']} of {rendered['total_records']} records imported.",
            "",
            console.summary_table(rendered["stats"]),
            "",
            f"Failures, skips and lossy mappings ({failure_count}): {failures_file}",
        ]
    )
    out.result(text, console.result_data(rendered, failures_file, failure_count))


# -- argument parsing ------------------------------------------------------------------------------
def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, not {port}")
    return port


def _positive_id(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not an id: {value!r}")
    return int(value)


def _since(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {value!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


Command = Callable[[argparse.Namespace, Output], Coroutine[Any, Any, None]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Supportly bridge: the Supportly API service and its administration. "
        "Configuration comes from environment variables (DATABASE_URL, HOST, PORT, …; see README).",
    )
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print one JSON line on stdout instead of text")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", parents=[json_flag], help="run the HTTP service")
    serve.add_argument("--host", help="address to listen on (default: HOST or 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to listen on (default: PORT or 8080; 0 picks a free one)")
    serve.add_argument(
        "--demo", action="store_true", help="ensure a demo account with an administrator and print a fresh API token"
    )
    serve.set_defaults(handler=cmd_serve)

    database = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="ACTION", required=True
    )
    upgrade = database.add_parser("upgrade", parents=[json_flag], help="migrate DATABASE_URL to the latest schema")
    upgrade.set_defaults(handler=cmd_db_upgrade)

    accounts = commands.add_parser("accounts", help="accounts").add_subparsers(
        dest="accounts_command", metavar="ACTION", required=True
    )
    account_create = accounts.add_parser("create", parents=[json_flag], help="create an account")
    account_create.add_argument("--name", required=True, help="the account's name")
    account_create.set_defaults(handler=cmd_accounts_create)

    agents = commands.add_parser("agents", help="agents (users of an account)").add_subparsers(
        dest="agents_command", metavar="ACTION", required=True
    )
    agent_create = agents.add_parser("create", parents=[json_flag], help="add an agent and issue an API token")
    agent_create.add_argument("--account", type=_positive_id, required=True, help="account id")
    agent_create.add_argument("--name", required=True, help="the agent's name")
    agent_create.add_argument("--email", required=True, help="the agent's email address")
    agent_create.add_argument("--role", choices=["administrator", "agent"], default="agent", help="default: agent")
    agent_create.set_defaults(handler=cmd_agents_create)

    tokens = commands.add_parser("tokens", help="API tokens").add_subparsers(
        dest="tokens_command", metavar="ACTION", required=True
    )
    token_create = tokens.add_parser("create", parents=[json_flag], help="issue a new API token for an agent")
    token_create.add_argument("--account", type=_positive_id, required=True, help="account id")
    token_create.add_argument("--user", type=_positive_id, required=True, help="the agent's user id")
    token_create.set_defaults(handler=cmd_tokens_create)
    token_alias = tokens.add_parser(
        "alias", parents=[json_flag], help="register an old client's legacy token as an alias of an agent"
    )
    token_alias.add_argument("--account", type=_positive_id, required=True, help="account id")
    token_alias.add_argument("--user", type=_positive_id, required=True, help="the agent's user id")
    token_alias.add_argument("--provider", choices=["supportbee"], required=True, help="the legacy system")
    token_alias.add_argument("--token", required=True, help="the token the old client sends")
    token_alias.set_defaults(handler=cmd_tokens_alias)

    tenants = commands.add_parser("tenants", help="legacy tenants (e.g. SupportBee companies)").add_subparsers(
        dest="tenants_command", metavar="ACTION", required=True
    )
    tenant_bind = tenants.add_parser("bind", parents=[json_flag], help="bind a legacy tenant name to an account")
    tenant_bind.add_argument("--account", type=_positive_id, required=True, help="account id")
    tenant_bind.add_argument("--provider", choices=["supportbee"], required=True, help="the legacy system")
    tenant_bind.add_argument("--name", required=True, help="e.g. the SupportBee company (subdomain)")
    tenant_bind.set_defaults(handler=cmd_tenants_bind)

    migrate = commands.add_parser("migrate", help="import a legacy helpdesk into an account").add_subparsers(
        dest="migrate_source", metavar="SOURCE", required=True
    )
    supportbee = migrate.add_parser(
        "supportbee", parents=[json_flag], help="import a SupportBee desk (resumable; a re-run imports only changes)"
    )
    supportbee.add_argument("--account", type=_positive_id, required=True, help="account id to import into")
    supportbee.add_argument("--company", help="the SupportBee company (acme for acme.supportbee.com)")
    supportbee.add_argument("--base-url", help="the SupportBee API base URL (instead of --company)")
    supportbee.add_argument("--token", help="an administrator's SupportBee API token")
    supportbee.add_argument("--dry-run", action="store_true", help="read everything, write nothing, report outcomes")
    supportbee.add_argument("--sample", type=_positive_id, help="import only N tickets with their people")
    supportbee.add_argument(
        "--since", type=_since, help="only what changed since this ISO date (default: last completed run's start)"
    )
    supportbee.add_argument("--resume", type=_positive_id, metavar="JOB", help="resume a failed or cancelled job")
    supportbee.set_defaults(handler=cmd_migrate)
    return parser


def fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    out = Output(as_json=args.json)
    handler: Command = args.handler
    try:
        settings = load_settings()
    except CliError as err:
        return fail(str(err))
    configure_logging(settings.log_level)
    database = masked_url(settings.database_url)
    try:
        loop.run(handler(args, out), settings.event_loop)
    except CliError as err:
        return fail(str(err))
    except ApiError as err:
        return fail(api_error_message(err))
    except db.SchemaMigrationError as err:
        return fail(f"migrating {database} failed: {err}")
    except SQLAlchemyError as err:
        detail = str(getattr(err, "orig", None) or err).strip().splitlines() or [type(err).__name__]
        return fail(f"database error on {database}: {detail[0]}")
    except OSError as err:
        return fail(f"cannot use the database {database}: {err}")
    except KeyboardInterrupt:
        return 130
    return 0


def run() -> NoReturn:
    """The command (``supportly-bridge``, ``python -m bridge.cli``): :func:`main`, then the process ends at once.

    A finished command has closed its connections, stopped its child processes and written its files. Tearing the
    interpreter down after it (every loaded module's objects freed one by one: SQLAlchemy's, pydantic's, aiohttp's)
    took 0.15-0.4 s here for nothing, on every command. Output and logs are flushed first; an error ``main`` does
    not handle still ends the ordinary way, with its traceback."""
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away (``| head``), a closed stream
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
