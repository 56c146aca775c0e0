"""Native API: companies."""

from __future__ import annotations

from bridge.api.common import native_router

router = native_router("Companies")
