"""SupportBee's error dialect (spec "Response Status Codes": 400 validation, 403 access denied, 404, 500).

The spec shows no error body; we answer one consistent JSON body naming the problem:
``{"error": "<message>"}`` and, for validation failures, ``"errors": {"<field>": ["<message>"]}`` as Rails
apps like SupportBee do. Validation failures are 400 (never 422) as the spec lists them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bridge.errors import ApiError
from bridge.routing import json_response

SURFACE = "supportbee"

# The native 422 is SupportBee's "Validation Failure: 400".
_STATUS = {422: 400}


def render_error(error: ApiError) -> web.Response:
    """Render ``error`` the way SupportBee clients expect it."""
    status = _STATUS.get(error.status, error.status)
    body: dict[str, Any] = {"error": _sentence(error)}
    if error.status in {400, 422} and any(item.get("field") for item in error.errors()):
        fields: dict[str, list[str]] = {}
        for item in error.errors():
            if item.get("field"):
                fields.setdefault(str(item["field"]), []).append(str(item["message"]))
        body["errors"] = fields
    return json_response(body, status=status, headers=error.headers)


def _sentence(error: ApiError) -> str:
    if error.field and error.status in {400, 422} and not error.message.lower().startswith(error.field.lower()):
        return f"{error.field} {error.message}"
    return error.message
