"""Native API: catalog."""

from __future__ import annotations

from bridge.api.common import native_router

router = native_router("Catalog")
