"""Helpers of the crash-safety tests: the migrate CLI as a separate process, a request tripwire, an account dump.

The tripwire is the fixture server's ``on_request`` hook: it holds the first request a test's predicate accepts, so
the importing process is known to wait on exactly that request when the test kills it (no timing guesses).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import hashlib
import os
import signal
import sys
import termios
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.models import (
    AccountUser,
    Attachment,
    CannedResponse,
    Company,
    Contact,
    Conversation,
    ConversationLabel,
    ExternalRef,
    Inbox,
    Label,
    Message,
    MigrationFailure,
    MigrationJob,
    Team,
    TeamMember,
    User,
    utcnow,
)
from bridge.settings import Settings
from fixtures.supportbee.server import DEFAULT_TOKEN, Desk, Seen

REPO = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 60.0
POLL_SECONDS = 0.05
READER_EXIT_SECONDS = 10.0
Sessions = async_sessionmaker[AsyncSession]


# -- the importing process ---------------------------------------------------------------------------------------
def cli_environment(database_url: str, attachments_dir: Path, secret_key: str) -> dict[str, str]:
    """The environment of a ``supportly-bridge`` process on the test's database (nothing inherited from ours)."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update(
        DATABASE_URL=database_url,
        ATTACHMENTS_DIR=str(attachments_dir),
        LOG_LEVEL="warning",
        SECRET_KEY=secret_key,
        ALLOW_PRIVATE_URLS="true",  # the fixture desk listens on 127.0.0.1
        AUTO_MIGRATE="false",  # the database fixture already migrated it
        # Tickets are read in a reader process, as on any machine with two CPUs: killing the import must not leave
        # it behind, and a resume must not notice it was ever there.
        MIGRATION_READER="process",
    )
    return env


def _open_logs(folder: Path, name: str) -> tuple[Path, Path, IO[bytes], IO[bytes]]:
    folder.mkdir(parents=True, exist_ok=True)
    out, err = folder / f"{name}.out", folder / f"{name}.err"
    return out, err, out.open("wb"), err.open("wb")


@dataclass
class MigrateProcess:
    """One ``python -m bridge.cli migrate supportbee …`` process; its output goes to files (no pipe to drain)."""

    name: str
    process: asyncio.subprocess.Process
    out_path: Path
    err_path: Path
    readers: list[int] = field(default_factory=list)
    """The child processes it had when it was killed (its reader process, while it read tickets)."""

    @classmethod
    async def start(
        cls,
        env: Mapping[str, str],
        logs: Path,
        name: str,
        *,
        account_id: int,
        base_url: str,
        resume: int | None = None,
    ) -> MigrateProcess:
        args = ["migrate", "supportbee", "--account", str(account_id), "--json"]
        if resume is None:
            args += ["--base-url", base_url, "--token", DEFAULT_TOKEN]
        else:
            args += ["--resume", str(resume)]
        out_path, err_path, out, err = _open_logs(logs, name)
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bridge.cli",
                *args,
                stdout=out,
                stderr=err,
                # Run in the test's folder: the failures file lands there, not in the checkout.
                env={**env, "PYTHONPATH": str(REPO)},
                cwd=logs,
            )
        finally:
            out.close()
            err.close()
        return cls(name, process, out_path, err_path)

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def describe(self) -> str:
        return f"process {self.name} (exit {self.process.returncode}); stderr ends with:\n{self.stderr()[-3000:]}"

    async def finish(self) -> int:
        """Wait for the process to exit by itself; return its exit status."""
        try:
            return await asyncio.wait_for(self.process.wait(), PROCESS_TIMEOUT)
        except TimeoutError:
            await self.kill()
            raise AssertionError(f"{self.name} did not finish within {PROCESS_TIMEOUT} s: {self.describe()}") from None

    async def kill(self) -> None:
        """SIGKILL: no cleanup, no rollback, no lease release; exactly what a crash or an OOM kill does.

        Its reader process (if it was reading tickets) gets no signal: it must notice and exit by itself.
        """
        readers = self.readers = self.children()
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        deadline = time.monotonic() + READER_EXIT_SECONDS
        left = [pid for pid in readers if _running(pid)]
        for _ in range(int(READER_EXIT_SECONDS / POLL_SECONDS)):
            if not left or time.monotonic() > deadline:
                break
            await asyncio.sleep(POLL_SECONDS)
            left = [pid for pid in left if _running(pid)]
        assert not left, f"{self.name}: its reader process {left} outlived it"

    def children(self) -> list[int]:
        pid = self.process.pid
        try:
            return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []


def _running(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


# -- knowing "now" -----------------------------------------------------------------------------------------------
Predicate = Callable[[Seen], Awaitable[bool]]


@dataclass
class Tripwire:
    """Hold the first request an armed predicate accepts until :meth:`release` (set as ``on_request``)."""

    _predicate: Predicate | None = None
    held: Seen | None = None
    _hit: asyncio.Event = field(default_factory=asyncio.Event)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def arm(self, predicate: Predicate) -> None:
        self._predicate, self.held = predicate, None
        self._hit, self._release = asyncio.Event(), asyncio.Event()

    async def __call__(self, seen: Seen) -> None:
        predicate = self._predicate
        if predicate is None or not await predicate(seen) or self._predicate is not predicate:
            return
        self._predicate, self.held = None, seen  # only the first match is held
        self._hit.set()
        release = self._release
        await release.wait()

    def release(self) -> None:
        """Let a held request be answered (to a dead client, once it has been killed) and disarm."""
        self._predicate = None
        self._release.set()

    async def wait(self, run: MigrateProcess) -> Seen:
        """Wait until a request is held; fail if the process exits first (then it never reached that point)."""
        hit = asyncio.ensure_future(self._hit.wait())
        exited = asyncio.ensure_future(run.process.wait())
        try:
            await asyncio.wait({hit, exited}, timeout=PROCESS_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        finally:
            hit.cancel()
            exited.cancel()
        if self.held is None:
            await run.kill()
            raise AssertionError(f"{run.name} never made the awaited request: {run.describe()}")
        return self.held


async def _reached(run: MigrateProcess, state: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(int(PROCESS_TIMEOUT / POLL_SECONDS)):
        if await state() or run.process.returncode is not None:
            break
        await asyncio.sleep(POLL_SECONDS)
    assert run.process.returncode is None, f"{run.name} exited before the crash point: {run.describe()}"
    assert await state(), f"{run.name} never reached the crash point: {run.describe()}"


async def crash_at(
    tripwire: Tripwire, run: MigrateProcess, *, until: Callable[[], Awaitable[bool]] | None = None
) -> Seen:
    """Wait for the armed request (and, while it is held, for ``until``), SIGKILL the process, let the server go on.

    ``until`` is a state the worker cannot leave while the request is held, e.g. "the batch before committed" when
    the held request is the read-ahead of the next batch, which the worker waits for after that commit.
    """
    try:
        seen = await tripwire.wait(run)
        if until is not None:
            await _reached(run, until)
        await run.kill()
    finally:
        tripwire.release()
    assert run.process.returncode == -signal.SIGKILL, run.describe()
    return seen


async def crash_when(run: MigrateProcess, state: Callable[[], Awaitable[bool]]) -> None:
    """SIGKILL the process once it is in ``state``, a state it cannot leave by itself (e.g. blocked on a pipe)."""
    try:
        await _reached(run, state)
    finally:
        await run.kill()
    assert run.process.returncode == -signal.SIGKILL, run.describe()


class BlockedFileWrite:
    """A named pipe where the store will write one attachment's file (``.part`` of its content address).

    The store writes files inside the batch's transaction, after inserting the rows they belong to; a file larger
    than the pipe's buffer blocks that write for good (nobody reads the pipe), so a kill then lands mid-transaction.
    The path follows bridge.store's layout, ``<attachments>/<account>/<sha[:2]>/<sha>``.
    """

    def __init__(self, attachments_dir: Path, account_id: int, content: bytes) -> None:
        assert len(content) > 1 << 17, "the file must not fit in the pipe's buffer"
        checksum = hashlib.sha256(content).hexdigest()
        self.path = attachments_dir / str(account_id) / checksum[:2] / f"{checksum}.part"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(self.path)
        # Opened before the writer, so its open() does not block and its bytes become visible here.
        self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)

    async def writing(self) -> bool:
        """Whether the worker has begun writing the file (bytes wait in the pipe)."""
        waiting = fcntl.ioctl(self._fd, termios.FIONREAD, b"\0\0\0\0")
        return int.from_bytes(waiting, sys.byteorder) > 0

    def remove(self) -> None:
        """Close and delete the pipe, so that a resumed worker writes an ordinary file."""
        os.close(self._fd)
        self.path.unlink()


# -- the job row -------------------------------------------------------------------------------------------------
async def latest_job(sessions: Sessions, account_id: int) -> MigrationJob | None:
    async with sessions() as session:
        found = await session.execute(
            select(MigrationJob).where(MigrationJob.account_id == account_id).order_by(MigrationJob.id.desc()).limit(1)
        )
        return found.scalar_one_or_none()


async def checkpoint_of(sessions: Sessions, account_id: int) -> dict[str, Any] | None:
    """The committed checkpoint of the account's latest job (``None`` before the job exists)."""
    job = await latest_job(sessions, account_id)
    return None if job is None else dict(job.checkpoint or {})


async def expire_lease(sessions: Sessions, job_id: int) -> None:
    """Let the lease of the killed worker run out now: stands for waiting out the CLI's 30 s lease."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(MigrationJob)
            .where(MigrationJob.id == job_id)
            .values(lease_expires_at=utcnow() - dt.timedelta(seconds=1))
        )


# -- what the account holds ----------------------------------------------------------------------------------------
def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()


async def _rows(session: AsyncSession, query: Any) -> list[Any]:
    return list((await session.execute(query)).all())


@dataclass
class AccountDump:
    """An account's imported data by natural keys (legacy ids, emails, names), without surrogate ids or import times.

    ``checks`` are problems seen while dumping (a missing or corrupt attachment file, a message whose sender
    is gone); ``ref_counts`` counts external references per (provider, kind, external id).
    """

    data: dict[str, Any]
    ref_counts: Counter[tuple[str, str, str]]
    conversations_by_ticket: Counter[str]
    messages_per_ticket: dict[str, int]
    checks: list[str]


async def dump_account(sessions: Sessions, account_id: int, attachments_dir: Path) -> AccountDump:
    async with sessions() as session:
        return await _dump(session, account_id, attachments_dir)


async def _dump(session: AsyncSession, account_id: int, attachments_dir: Path) -> AccountDump:
    checks: list[str] = []
    # Placeholder agents get an address naming their account (user emails are unique across accounts).
    own_domain = f"@account-{account_id}.example"
    agents = {
        user_id: (email.replace(own_domain, "@account-<this>.example"), name, role, active)
        for user_id, email, name, role, active in await _rows(
            session,
            select(User.id, User.email, User.name, AccountUser.role, AccountUser.active)
            .join(AccountUser, AccountUser.user_id == User.id)
            .where(AccountUser.account_id == account_id),
        )
    }
    companies = dict(await _rows(session, select(Company.id, Company.name).where(Company.account_id == account_id)))
    contacts = {
        row.id: row
        for row in (await session.execute(select(Contact).where(Contact.account_id == account_id))).scalars()
    }
    teams = {
        row.id: row for row in (await session.execute(select(Team).where(Team.account_id == account_id))).scalars()
    }
    members: dict[int, list[str]] = {}
    for team_id, user_id in await _rows(
        session, select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.account_id == account_id)
    ):
        members.setdefault(team_id, []).append(agents[user_id][0] if user_id in agents else f"user {user_id}?")
    inboxes = {
        row.id: row for row in (await session.execute(select(Inbox).where(Inbox.account_id == account_id))).scalars()
    }
    labels = (await session.execute(select(Label).where(Label.account_id == account_id))).scalars().all()
    canned = (await session.execute(select(CannedResponse).where(CannedResponse.account_id == account_id))).scalars()

    refs = (await session.execute(select(ExternalRef).where(ExternalRef.account_id == account_id))).scalars().all()
    ref_counts = Counter((r.provider, r.kind, r.external_id) for r in refs)
    key_of = {(r.kind, r.internal_id): r.external_id for r in refs}

    conversations = {
        row.id: row
        for row in (await session.execute(select(Conversation).where(Conversation.account_id == account_id))).scalars()
    }
    conversation_labels: dict[int, list[str]] = {}
    for conversation_id, title in await _rows(
        session,
        select(ConversationLabel.conversation_id, ConversationLabel.title).where(
            ConversationLabel.account_id == account_id
        ),
    ):
        conversation_labels.setdefault(conversation_id, []).append(title)
    files: dict[int, list[tuple[str, str, int, str]]] = {}
    attachment_keys: dict[int, tuple[str, str]] = {}
    for item in (await session.execute(select(Attachment).where(Attachment.account_id == account_id))).scalars():
        files.setdefault(item.message_id or 0, []).append((item.file_name, item.content_type, item.size, item.checksum))
        attachment_keys[item.id] = (item.file_name, item.checksum)
        stored = attachments_dir / item.storage_key if item.storage_key else None
        if stored is None or not stored.is_file():
            checks.append(f"attachment {item.file_name}: no file at {item.storage_key}")
        elif hashlib.sha256(stored.read_bytes()).hexdigest() != item.checksum:
            checks.append(f"attachment {item.file_name}: the stored file does not match its checksum")

    def sender(message: Message) -> str | None:
        if message.sender_id is None:
            return None
        if message.sender_type == "contact":
            found = contacts.get(message.sender_id)
            return f"contact {found.email if found else '?'}"
        return f"{message.sender_type} {agents.get(message.sender_id, ('?',))[0]}"

    messages: dict[int, list[dict[str, Any]]] = {}
    message_keys: dict[int, tuple[Any, ...]] = {}
    for message in (
        await session.execute(
            select(Message).where(Message.account_id == account_id).order_by(Message.created_at, Message.id)
        )
    ).scalars():
        who = sender(message)
        if who is not None and who.endswith("?"):
            checks.append(f"message {key_of.get(('message', message.id))}: its sender ({who}) is missing")
        messages.setdefault(message.conversation_id, []).append(
            {
                "ref": key_of.get(("message", message.id)),
                "content": message.content,
                "private": message.private,
                "message_type": message.message_type,
                "content_type": message.content_type,
                "sender": sender(message),
                "created_at": _iso(message.created_at),
                "additional_attributes": message.additional_attributes,
                "attachments": sorted(files.get(message.id, [])),
            }
        )
        conversation = conversations.get(message.conversation_id)
        message_keys[message.id] = (
            conversation.display_id if conversation else None,
            _iso(message.created_at),
            key_of.get(("message", message.id)),
        )

    def contact_row(row: Contact) -> dict[str, Any]:
        return {
            "email": row.email,
            "name": row.name,
            "phone_number": row.phone_number,
            "company": companies.get(row.company_id) if row.company_id else None,
            "additional_attributes": row.additional_attributes,
            "custom_attributes": row.custom_attributes,
        }

    by_ticket: Counter[str] = Counter()
    tickets: dict[str, dict[str, Any]] = {}
    for row in conversations.values():
        ticket = key_of.get(("conversation", row.id), f"unreferenced #{row.display_id}")
        by_ticket[ticket] += 1
        tickets[ticket] = {
            "display_id": row.display_id,
            "status": row.status,
            "priority": row.priority,
            "spam": row.spam,
            "inbox": inboxes[row.inbox_id].name,
            "contact": contacts[row.contact_id].email,
            "assignee": agents[row.assignee_id][0] if row.assignee_id in agents else row.assignee_id,
            "team": teams[row.team_id].name if row.team_id in teams else row.team_id,
            "labels": sorted(conversation_labels.get(row.id, [])),
            "additional_attributes": row.additional_attributes,
            "custom_attributes": row.custom_attributes,
            "created_at": _iso(row.created_at),
            "last_activity_at": _iso(row.last_activity_at),
            "first_reply_created_at": _iso(row.first_reply_created_at),
            "waiting_since": _iso(row.waiting_since),
            "messages": messages.get(row.id, []),
        }

    natural: dict[str, Callable[[int], Any]] = {
        "agent": lambda i: agents.get(i, ("?",))[0],
        "contact": lambda i: contacts[i].email if i in contacts else "?",
        "company": lambda i: companies.get(i, "?"),
        "team": lambda i: teams[i].name if i in teams else "?",
        "label": lambda i: next((x.title for x in labels if x.id == i), "?"),
        "inbox": lambda i: inboxes[i].name if i in inboxes else "?",
        "conversation": lambda i: conversations[i].display_id if i in conversations else "?",
        "message": lambda i: message_keys.get(i, "?"),
        "attachment": lambda i: attachment_keys.get(i, "?"),
    }
    external_refs = sorted(
        (
            r.provider,
            r.kind,
            r.external_id,
            repr(natural[r.kind](r.internal_id)) if r.kind in natural else "",
            _iso(r.source_updated_at),
            repr(sorted((r.kept or {}).items())),
        )
        for r in refs
    )
    data = {
        "agents": sorted(agents.values()),
        "companies": sorted(companies.values()),
        "contacts": sorted((contact_row(row) for row in contacts.values()), key=repr),
        "teams": sorted((row.name, row.description, sorted(members.get(row.id, []))) for row in teams.values()),
        "inboxes": sorted((row.name, row.channel_type, row.email) for row in inboxes.values()),
        "labels": sorted((row.title, row.color, row.description) for row in labels),
        "canned_responses": sorted((row.short_code, row.content) for row in canned),
        "tickets": tickets,
        "external_refs": external_refs,
    }
    return AccountDump(
        data=data,
        ref_counts=ref_counts,
        conversations_by_ticket=by_ticket,
        messages_per_ticket={ticket: len(item["messages"]) for ticket, item in tickets.items()},
        checks=checks,
    )


async def conversations_and_messages(sessions: Sessions, account_id: int) -> tuple[int, int]:
    """How many conversations and messages the account holds (committed), referenced or not."""
    async with sessions() as session:
        conversations = await _rows(session, select(Conversation.id).where(Conversation.account_id == account_id))
        messages = await _rows(session, select(Message.id).where(Message.account_id == account_id))
    return len(conversations), len(messages)


async def refs_by_kind(sessions: Sessions, account_id: int) -> Counter[str]:
    """How many legacy records of each kind the account has committed (external references by kind)."""
    async with sessions() as session:
        kinds = await _rows(session, select(ExternalRef.kind).where(ExternalRef.account_id == account_id))
    return Counter(str(kind) for (kind,) in kinds)


async def failure_report(sessions: Sessions, job_id: int) -> Counter[tuple[str, str, str, str]]:
    """The job's failures report (skips, failures, lossy notes) as a multiset: a replay must not repeat a line."""
    async with sessions() as session:
        rows = await _rows(
            session,
            select(
                MigrationFailure.kind, MigrationFailure.external_id, MigrationFailure.outcome, MigrationFailure.reason
            ).where(MigrationFailure.job_id == job_id),
        )
    return Counter((str(a), str(b), str(c), str(d)) for a, b, c, d in rows)


# -- what the desk holds -------------------------------------------------------------------------------------------
def expected_messages(desk: Desk) -> dict[str, int]:
    """Messages per imported ticket: its own content, then every reply and comment."""
    return {str(t.id): 1 + len(t.replies) + len(t.comments) for t in desk.tickets}


def expected_files(desk: Desk) -> list[tuple[str, int, str]]:
    return sorted(
        (item.filename, item.size, hashlib.sha256(item.content()).hexdigest()) for item in desk.attachments.values()
    )


def stored_files(dump: AccountDump) -> list[tuple[str, int, str]]:
    return sorted(
        (name, size, checksum)
        for ticket in dump.data["tickets"].values()
        for message in ticket["messages"]
        for name, _type, size, checksum in message["attachments"]
    )
