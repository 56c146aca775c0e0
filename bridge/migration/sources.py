"""Which legacy systems the engine can import from: source name → factory, resolved lazily by import path."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from bridge.migration.source import Source
from bridge.settings import Settings

SourceFactory = Callable[[aiohttp.ClientSession, Mapping[str, Any], Settings], Source]

# Provider sources are imported on first use so the engine never depends on a provider at import time.
SOURCES: dict[str, str] = {
    "supportbee": "providers.supportbee.migration:make_source",
}
# Named by the Supportly spec but not implemented: asked for, they answer 422 listing the supported ones.
PLANNED = ("intercom", "zendesk", "freshdesk")

_registered: dict[str, SourceFactory] = {}


class UnknownSource(LookupError):
    """The source is not one the engine can import from; ``supported`` lists those it can."""

    def __init__(self, name: str, supported: list[str]) -> None:
        listing = ", ".join(supported) or "none"
        super().__init__(f"{name!r} is not a supported source (supported: {listing})")
        self.name = name
        self.supported = supported


def register(name: str, factory: SourceFactory) -> None:
    """Add (or replace) a source in this process, e.g. a fake one in tests."""
    _registered[name] = factory


def unregister(name: str) -> None:
    _registered.pop(name, None)


def _resolve(name: str) -> SourceFactory | None:
    if name in _registered:
        return _registered[name]
    target = SOURCES.get(name)
    if target is None:
        return None
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        # Only a missing provider module means "not available"; a broken import inside it must surface.
        if err.name is not None and module_name.startswith(err.name):
            return None
        raise
    factory: SourceFactory | None = getattr(module, attribute, None)
    return factory


def supported() -> list[str]:
    """Return the names of the sources available in this process, sorted."""
    return sorted(name for name in {*SOURCES, *_registered} if _resolve(name) is not None)


def factory(name: str) -> SourceFactory:
    """Return the factory of source ``name``; :class:`UnknownSource` when there is none."""
    found = _resolve(name)
    if found is None:
        raise UnknownSource(name, supported())
    return found
