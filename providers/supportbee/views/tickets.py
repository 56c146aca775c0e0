"""SupportBee compat views: tickets."""

from __future__ import annotations

from bridge.routing import Router

router = Router("supportbee", "SupportBee")
