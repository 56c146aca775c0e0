"""Errors the native API answers with, and the envelope they render to."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class ApiError(Exception):
    """An error a client caused; rendered in the requesting surface's own error dialect."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.details = details

    def errors(self) -> list[dict[str, Any]]:
        """Return the list of ``{field, message, code}`` items of the envelope."""
        if self.details:
            return self.details
        return [{"field": self.field, "message": self.message, "code": self.code}]


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Unprocessable(ApiError):
    status = 422
    code = "invalid"


class PayloadTooLarge(ApiError):
    status = 413
    code = "too_large"


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"


def _loc_to_field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if not (isinstance(p, str) and p.startswith(("function-", "json-or-python")))]
    return ".".join(parts) if parts else "body"


def from_validation_error(err: ValidationError, *, prefix: str | None = None) -> Unprocessable:
    """Turn a pydantic validation error into a 422 naming every offending field."""
    details = []
    for item in err.errors(include_url=False, include_input=False):
        field = _loc_to_field(tuple(item["loc"]))
        if prefix:
            field = f"{prefix}.{field}" if field != "body" else prefix
        message = str(item["msg"]).removeprefix("Value error, ")
        details.append({"field": field, "message": message, "code": str(item["type"])})
    first = details[0] if details else {"field": None, "message": "is invalid"}
    return Unprocessable(str(first["message"]), field=first["field"], details=details)


def envelope(error: ApiError) -> dict[str, Any]:
    """Render the native envelope ``{"errors": [{field, message, code}]}``."""
    return {"errors": error.errors()}
