"""SupportBee drop-in compatibility routes (spec: shared/specs/supportbee-api.txt).

Every path answers plain, with a ``.json`` suffix and with a trailing slash, under ``/supportbee/{company}``
and on ``{company}.<SUPPORTBEE_HOST_SUFFIX>``. Bodies are JSON or Rails-style forms (see ``wire``); the
views live in ``providers.supportbee.views`` by spec area.
"""

from __future__ import annotations

from bridge.routing import Router
from providers.supportbee.views import desk, threads, tickets

router = Router("supportbee", "SupportBee")
router.endpoints = [*tickets.router.endpoints, *threads.router.endpoints, *desk.router.endpoints]
