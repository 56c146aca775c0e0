"""Async generator functions for ``tests/migration/test_offload.py`` to run in a reader process."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bridge.outbound import FatalSourceError

# A test names a file here to learn when a reader process has imported this module (a child started ahead does so
# before it is asked for anything).
_MARK = os.environ.get("OFFLOAD_TARGETS_IMPORT_MARK")
if _MARK:
    Path(_MARK).write_text(str(os.getpid()))


async def numbered(count: int) -> AsyncIterator[dict[str, Any]]:
    for n in range(count):
        yield {"n": n, "text": "é" * n, "blob": bytes([n % 256]) * (n * 1000)}


async def refused_after(count: int) -> AsyncIterator[int]:
    for n in range(count):
        yield n
    raise FatalSourceError("the token was refused (401)", status=401, path="/tickets")


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("cannot travel")
        self.hook = lambda: None


async def unpicklable_error(_: Any) -> AsyncIterator[int]:
    yield 1
    raise Unpicklable


async def dies(code: int) -> AsyncIterator[int]:
    yield 1
    os._exit(code)


async def one_then_waits(_: Any) -> AsyncIterator[int]:
    """Tells its pid, then waits for ever (closing the stream, or the parent dying, must end it)."""
    yield os.getpid()
    await asyncio.Event().wait()
    yield -1  # pragma: no cover


async def tells_its_environment(secret: str) -> AsyncIterator[bool]:
    """Whether ``secret`` shows on this process's command line or in its environment."""
    on_command_line = secret.encode() in Path(f"/proc/{os.getpid()}/cmdline").read_bytes()  # noqa: ASYNC240
    yield on_command_line or any(secret in value for value in os.environ.values())


async def loop_kind(_: Any) -> AsyncIterator[str]:
    yield type(asyncio.get_running_loop()).__module__.split(".")[0]


async def its_pid(count: int) -> AsyncIterator[tuple[int, int]]:
    for n in range(count):
        yield os.getpid(), n
