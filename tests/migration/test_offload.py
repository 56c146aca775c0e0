"""The reader process (``bridge.migration.offload``): items, errors, lifetime and secrets across the process edge.

The targets are the async generator functions of ``tests/migration/offload_targets.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.migration.offload import OffloadError, start_child, stream_in_child
from bridge.outbound import FatalSourceError

TARGETS = "tests.migration.offload_targets"
REPO = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


async def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return not alive(pid)


async def test_items_arrive_in_order_and_whole() -> None:
    got = [item async for item in stream_in_child(f"{TARGETS}:numbered", 300)]
    assert got == [{"n": n, "text": "é" * n, "blob": bytes([n % 256]) * (n * 1000)} for n in range(300)]


async def test_an_error_of_the_reader_is_raised_with_its_type_after_its_items() -> None:
    got: list[int] = []

    async def take_all() -> None:
        async for item in stream_in_child(f"{TARGETS}:refused_after", 3):
            got.append(item)

    with pytest.raises(FatalSourceError) as raised:
        await take_all()
    assert got == [0, 1, 2]
    assert (raised.value.message, raised.value.status, raised.value.path) == (
        "the token was refused (401)",
        401,
        "/tickets",
    )


async def test_an_error_that_cannot_be_pickled_arrives_as_its_text() -> None:
    with pytest.raises(RuntimeError, match="Unpicklable: cannot travel"):
        async for _ in stream_in_child(f"{TARGETS}:unpicklable_error", None):
            pass


async def test_a_reader_that_dies_is_an_error_naming_its_exit_code() -> None:
    with pytest.raises(OffloadError, match="exited with code 3"):
        async for _ in stream_in_child(f"{TARGETS}:dies", 3):
            pass


async def test_an_unknown_target_is_an_error() -> None:
    with pytest.raises(AttributeError):
        async for _ in stream_in_child(f"{TARGETS}:no_such_function", None):
            pass


async def test_closing_the_stream_ends_the_reader() -> None:
    stream = stream_in_child(f"{TARGETS}:one_then_waits", None)
    pid = await anext(stream)
    assert alive(pid)
    await stream.aclose()
    assert await gone_within(pid, 5)


async def test_a_reader_whose_parent_was_killed_exits() -> None:
    script = (
        "import asyncio, sys\n"
        "from bridge.migration.offload import stream_in_child\n"
        "async def main():\n"
        f"    async for pid in stream_in_child('{TARGETS}:one_then_waits', None):\n"
        "        print(pid, flush=True)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, env=env, cwd=REPO
    )
    try:
        assert parent.stdout is not None
        reader = int(await asyncio.wait_for(parent.stdout.readline(), 30))
        assert alive(reader)
        parent.send_signal(signal.SIGKILL)
        await parent.wait()
        assert await gone_within(reader, 5), "the orphaned reader is still running"
    finally:
        with contextlib.suppress(ProcessLookupError):
            parent.kill()
        await parent.wait()


async def test_a_reader_started_ahead_loads_its_module_before_it_is_asked_and_then_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mark = tmp_path / "imported"
    monkeypatch.setenv("OFFLOAD_TARGETS_IMPORT_MARK", str(mark))
    started = await start_child(f"{TARGETS}:its_pid")
    deadline = time.monotonic() + 30
    while not mark.exists():
        assert time.monotonic() < deadline, "the reader started ahead never imported its target's module"
        await asyncio.sleep(0.02)
    assert int(mark.read_text()) == started.pid
    got = [item async for item in stream_in_child(f"{TARGETS}:its_pid", 3, started=started)]
    assert got == [(started.pid, 0), (started.pid, 1), (started.pid, 2)]
    assert started.returncode is not None


async def test_a_reader_started_ahead_that_stopped_waiting_is_replaced() -> None:
    started = await start_child(f"{TARGETS}:its_pid", idle_seconds=0.2)
    assert await asyncio.wait_for(started.wait(), 30) == 0, "it exits by itself when never asked"
    got = [item async for item in stream_in_child(f"{TARGETS}:its_pid", 2, started=started)]
    assert [n for _, n in got] == [0, 1]
    assert {pid for pid, _ in got} != {started.pid}


async def test_a_reader_started_ahead_exits_quietly_when_its_parent_lets_it_go() -> None:
    started = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bridge.migration.offload",
        f"{TARGETS}:its_pid",
        "900",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert started.stdin is not None
    started.stdin.close()
    _, err = await asyncio.wait_for(started.communicate(), 30)
    assert (started.returncode, err.decode()) == (0, "")


async def test_the_argument_is_not_on_the_readers_command_line_or_in_its_environment() -> None:
    secret = "sb-token-never-on-argv-0d9f"
    assert [item async for item in stream_in_child(f"{TARGETS}:tells_its_environment", secret)] == [False]


def test_the_supportbee_reader_loads_no_database_code() -> None:
    # The reader process (MIGRATION_READER=process) runs providers.supportbee.reading: with no ORM, store or
    # driver to import it starts in about half the time and holds less memory than the importing process.
    probe = "import sys, providers.supportbee.reading; print(sorted(sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(done.stdout.strip().strip("[]").replace("'", "").split(", "))
    assert "providers.supportbee.reading" in loaded
    assert not {m for m in loaded if m.split(".")[0] in {"sqlalchemy", "aiosqlite", "asyncpg", "alembic"}}
    assert not {m for m in loaded if m.startswith(("bridge.store", "bridge.models"))}
