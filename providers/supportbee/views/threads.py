"""SupportBee compat views: threads."""

from __future__ import annotations

from bridge.routing import Router

router = Router("supportbee", "SupportBee")
