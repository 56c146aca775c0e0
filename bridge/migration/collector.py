"""The cyclic garbage collector's settings while imports run in a process.

An import allocates a great many short-lived containers (parsed JSON, pydantic models, row dicts). With CPython's
default thresholds ``(700, 10, 10)`` the collector runs every 700 net allocations, and every hundredth run walks every
object in the process: the loaded modules and SQLAlchemy's, pydantic's and aiohttp's caches, none of which an import
frees. On the migration benchmark (10,000 tickets into SQLite) that was about a fifth of the import's CPU time.

While at least one job runs, the objects that were alive when the first one started are frozen (the collector
skips them) and the young generations are collected less often. When the last job ends, the previous thresholds
return and the frozen objects become collectable again. Cyclic garbage made during an import is still collected:
young cycles with the youngest generation, older ones with the middle one.

The youngest generation waits for 200,000 net new containers. A page of 99 tickets is about 100,000 of them (parsed
JSON, models, their pickled copies) that live until the page is written: with a threshold of 20,000 the collector
ran several times a page and walked the page's live objects each time, finding next to nothing to free. That was a
tenth of the benchmark's CPU (2.6 s at 10,000 tickets, counted with ``gc.callbacks``); at 200,000 it is 0.1 s.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

IMPORT_THRESHOLDS = (200_000, 20, 100)
"""Allocations between young collections, young collections per middle one, middle ones per full one."""

_active = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def tuned_for_import() -> Iterator[None]:
    """Collect less often while the block runs (nested and concurrent blocks share one setting)."""
    global _active, _saved
    if _active == 0:
        _saved = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*IMPORT_THRESHOLDS)
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            gc.unfreeze()
            _saved = None
