"""The event loop the CLI and the migration reader run on (``bridge.loop``, setting ``EVENT_LOOP``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from bridge import loop
from bridge.migration.offload import stream_in_child
from bridge.settings import Settings


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


@pytest.mark.parametrize(("choice", "module"), [("auto", "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_the_loop_is_the_one_chosen(choice: loop.LoopChoice, module: str) -> None:
    # uvloop is a dependency on Linux, so "auto" finds it.
    assert loop.run(_loop_module(), choice) == module


@pytest.mark.parametrize("choice", ["uvloop", "asyncio"])
def test_the_reader_process_runs_on_the_same_kind_of_loop_as_its_parent(choice: loop.LoopChoice) -> None:
    async def reader_loop() -> list[str]:
        items: AsyncIterator[str] = stream_in_child("tests.migration.offload_targets:loop_kind", None)
        return [item async for item in items]

    assert loop.run(reader_loop(), choice) == [choice]


def test_event_loop_is_a_setting_with_three_choices() -> None:
    assert Settings.from_env({}).event_loop == "auto"
    assert Settings.from_env({"EVENT_LOOP": "asyncio"}).event_loop == "asyncio"
    with pytest.raises(ValidationError, match="event_loop"):
        Settings.from_env({"EVENT_LOOP": "tokio"})
