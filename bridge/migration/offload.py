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
* **Started ahead:** a child takes most of a second to start (Python, pydantic, the target's module). A source that
  knows it will need one can :func:`start_child` it early, while other work goes on, and hand it to
  :func:`stream_in_child`: the child imports the target's module at once, then waits for its request. A child
  started ahead and never asked exits after ``idle_seconds``; one that is gone by then is replaced.

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
IDLE_SECONDS = 900.0
"""How long a child started ahead (:func:`start_child`) waits for its request before it exits."""


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


async def start_child(target: str, *, idle_seconds: float = IDLE_SECONDS) -> asyncio.subprocess.Process:
    """Start a child for ``target`` ahead of its request (see the module docstring); pass it to
    :func:`stream_in_child`, or kill it. Only the target's name is on its command line, never an argument."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        __name__,
        target,
        repr(idle_seconds),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=_child_environment(),
        limit=_READ_LIMIT,
    )


async def stream_in_child(
    target: str, argument: Any, *, log_level: str = "info", started: asyncio.subprocess.Process | None = None
) -> AsyncGenerator[Any, None]:
    """Yield what the async generator function ``target`` yields for ``argument``, run in a child process
    (``started``: one :func:`start_child` started for ``target``, used if it is still waiting)."""
    request = _frame(target, (argument, log_level, loop.running_choice()))
    process = started if started is not None and started.returncode is None else await start_child(target)
    try:
        if not await _ask(process, request):
            if process is not started:
                raise OffloadError(f"the reader process for {target} closed its input")
            # The child started ahead stopped waiting just now: start another.
            await stop_child(process)
            process = await start_child(target)
            if not await _ask(process, request):
                raise OffloadError(f"the reader process for {target} closed its input")
        assert process.stdout is not None
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
        await stop_child(process)


async def _ask(process: asyncio.subprocess.Process, request: bytes) -> bool:
    """Send the request; False if the child is no longer reading."""
    assert process.stdin is not None
    try:
        process.stdin.write(request)
        await process.stdin.drain()
    except ConnectionError:
        return False
    return True


async def stop_child(process: asyncio.subprocess.Process) -> None:
    """Kill a child (one :func:`start_child` started and nobody asked, say) and wait for it."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    await process.wait()


# -- the child ---------------------------------------------------------------------------------------------------


def _read_frame(stream: IO[bytes]) -> bytes | None:
    """The request, or None if the parent closed our stdin without one (it died, or never needed us)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
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


def _import_ahead(target: str) -> None:
    """Import the module of a target named on the command line (a child started ahead); an error waits for the
    request, which resolves the target again and reports it."""
    with contextlib.suppress(Exception):
        importlib.import_module(target.partition(":")[0])


def main() -> None:
    stdin = sys.stdin.buffer
    # The frames own file descriptor 1; anything printed goes to stderr with the logs.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    idle: threading.Timer | None = None
    if len(sys.argv) == 3:  # started ahead: TARGET IDLE_SECONDS
        _import_ahead(sys.argv[1])
        idle = threading.Timer(float(sys.argv[2]), os._exit, args=(0,))
        idle.daemon = True
        idle.start()
    request = _read_frame(stdin)
    if idle is not None:
        idle.cancel()
    if request is None:
        return
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
