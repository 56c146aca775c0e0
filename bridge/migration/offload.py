"""Run a source's reading and mapping in a child process, so an import uses a second core.

An import is CPU-bound in one Python process: reading the legacy API (HTTP, JSON) and mapping each record (pydantic
validation, fingerprints) cost about as much as writing it. A source hands :func:`stream_in_child` the import path
of an async generator function (``"package.module:function"``) and its one argument; a child Python process runs it
and sends each item it yields back, pickled, and the parent yields them in order.

* **Secrets:** the argument (credentials included) travels over the child's stdin, never its command line or
  environment; the child logs like the parent (same level, same redaction) to the parent's stderr.
* **Back-pressure:** the child writes an item from a thread while it builds the next one, and the pipe holds
  little, so it runs at most about two items ahead of what the parent has taken.
* **Errors:** an exception the generator raises is raised by the parent's stream at that point, with its type
  (one that cannot be pickled arrives as a :class:`RuntimeError` with its text). A child that dies is an
  :class:`OffloadError`.
* **Lifetime:** closing the parent's stream (the end of a phase, a cancel, an error) kills the child; a child
  whose parent died sees its stdin close and exits at once.
* **Loop:** the child runs on the same kind of event loop as the parent (:mod:`bridge.loop`).

Run as ``python -m bridge.migration.offload``, this module is the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import pickle
import struct
import sys
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any

from bridge import loop
from bridge.logs import configure_logging

_HEADER = struct.Struct(">Q")
_READ_LIMIT = 1 << 22
_ROOT = str(Path(__file__).resolve().parents[2])
"""The folder holding ``bridge``, ``providers`` and ``mappings``: the child imports the target from it."""

ITEM, ERROR, END = "item", "error", "end"


class OffloadError(RuntimeError):
    """The child process failed outside the generator (it died, or could not start)."""


def _frame(kind: str, value: Any) -> bytes:
    body = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


def _error_frame(err: BaseException) -> bytes:
    try:
        return _frame(ERROR, err)
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled travels as its text
        return _frame(ERROR, RuntimeError(f"{type(err).__name__}: {err}"))


def _child_environment() -> dict[str, str]:
    env = dict(os.environ)
    paths = [_ROOT, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


async def stream_in_child(target: str, argument: Any, *, log_level: str = "info") -> AsyncGenerator[Any, None]:
    """Yield what the async generator function ``target`` yields for ``argument``, run in a child process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=_child_environment(),
        limit=_READ_LIMIT,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(_frame(target, (argument, log_level, loop.running_choice())))
        await process.stdin.drain()
        while True:
            try:
                (size,) = _HEADER.unpack(await process.stdout.readexactly(_HEADER.size))
                kind, value = pickle.loads(await process.stdout.readexactly(size))
            except asyncio.IncompleteReadError as err:
                code = await process.wait()
                raise OffloadError(f"the reader process for {target} exited with code {code}") from err
            if kind == ITEM:
                yield value
            elif kind == ERROR:
                raise value
            else:
                return
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        await process.wait()


# -- the child ---------------------------------------------------------------------------------------------------


def _read_frame(stream: IO[bytes]) -> bytes:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise OffloadError("no request on stdin")
    (size,) = _HEADER.unpack(header)
    return stream.read(size)


def _resolve(target: str) -> Callable[[Any], AsyncIterator[Any]]:
    module_name, _, attribute = target.partition(":")
    function: Callable[[Any], AsyncIterator[Any]] = getattr(importlib.import_module(module_name), attribute)
    return function


def _exit_when_orphaned(stdin: IO[bytes]) -> None:
    """The parent holds our stdin open while it reads; EOF means it closed the stream or died."""

    def watch() -> None:
        stdin.read()
        os._exit(0)

    threading.Thread(target=watch, name="offload-parent-watch", daemon=True).start()


async def _serve(generate: Callable[[Any], AsyncIterator[Any]], argument: Any, out: IO[bytes]) -> None:
    from bridge.migration.collector import tuned_for_import
    from bridge.outbound import read_ahead

    def send(data: bytes) -> None:
        out.write(data)
        out.flush()

    with tuned_for_import():
        try:
            # The next item is built while this one is written (the write blocks until the parent reads).
            async with contextlib.aclosing(read_ahead(generate(argument), depth=1)) as items:
                async for item in items:
                    await asyncio.to_thread(send, _frame(ITEM, item))
        except Exception as err:  # noqa: BLE001 - handed to the parent, raised there
            send(_error_frame(err))
            return
    send(_frame(END, None))


def main() -> None:
    stdin = sys.stdin.buffer
    # The frames own file descriptor 1; anything printed goes to stderr with the logs.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    request = _read_frame(stdin)
    target, (argument, log_level, loop_choice) = pickle.loads(request)
    configure_logging(log_level, stream=sys.stderr)
    _exit_when_orphaned(stdin)
    try:
        generate = _resolve(target)
    except Exception as err:  # noqa: BLE001 - reported to the parent like the generator's own errors
        out.write(_error_frame(err))
        out.flush()
        return
    loop.run(_serve(generate, argument, out), loop_choice)


if __name__ == "__main__":
    main()
