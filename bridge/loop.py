"""The event loop the service, the CLI and the migration reader run on.

``EVENT_LOOP`` (settings): ``auto`` (the default) runs on uvloop (libuv) when it is installed, else on asyncio's
own loop; ``uvloop`` insists on it; ``asyncio`` keeps asyncio's. An import is CPU-bound on small machines and a
good part of that CPU is socket reads and writes (the reader's requests, the desk's answers, the service's
responses), which uvloop does for less.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")
LoopChoice = Literal["auto", "uvloop", "asyncio"]
Factory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: LoopChoice = "auto") -> Factory | None:
    """The factory of the loop ``choice`` names (None: asyncio's default); "uvloop" raises when it is missing."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    factory: Factory = uvloop.new_event_loop
    return factory


def running_choice() -> LoopChoice:
    """The kind of loop running now, as a choice another process can be started with (same loop as this one)."""
    return "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T], choice: LoopChoice = "auto") -> T:
    """Run ``main`` to completion on a new loop of the ``choice`` (as :func:`asyncio.run` does)."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)
