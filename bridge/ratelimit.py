"""Per-token sliding-window rate limit."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """Return the ``X-RateLimit-*`` headers (and ``Retry-After`` when refused)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class SlidingWindowLimiter:
    """Allow ``limit`` hits per key within any ``window`` seconds (a log of hit times per key)."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] | None = None) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock or time.time
        self._hits: dict[str, deque[float]] = {}
        self._next_prune = self._clock() + window

    @property
    def tracked_keys(self) -> int:
        """Return how many keys the limiter currently remembers."""
        return len(self._hits)

    def hit(self, key: str) -> Verdict:
        """Record one request for ``key`` unless that would exceed the limit."""
        now = self._clock()
        if now >= self._next_prune:
            # Idle keys are forgotten once per window, so memory follows the active tokens only.
            self._next_prune = now + self.window
            self.prune()
        hits = self._hits.setdefault(key, deque())
        horizon = now - self.window
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.limit:
            frees_at = hits[0] + self.window
            return Verdict(False, self.limit, 0, math.ceil(frees_at), max(1, math.ceil(frees_at - now)))
        hits.append(now)
        reset_at = math.ceil(hits[0] + self.window)
        return Verdict(True, self.limit, self.limit - len(hits), reset_at, 0)

    def prune(self) -> None:
        """Forget keys with no hit in the current window."""
        horizon = self._clock() - self.window
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= horizon]:
            del self._hits[key]
