"""SupportBee drop-in compatibility routes (spec: shared/specs/supportbee-api.txt).

Every path answers plain, with a ``.json`` suffix and with a trailing slash, under ``/supportbee/{company}``
and on ``{company}.<SUPPORTBEE_HOST_SUFFIX>``. Bodies are JSON or Rails-style forms; see ``wire``.
"""

from __future__ import annotations

from bridge.routing import Router

router = Router("supportbee", "SupportBee")
