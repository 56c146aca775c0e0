"""Request middlewares: request log, per-surface error rendering, authentication and rate limits."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from bridge import appkeys
from bridge.auth import hash_token, principal_for, token_from_request
from bridge.errors import ApiError, Forbidden, NotFound, RateLimited, Unauthorized, Unprocessable, envelope
from bridge.logs import get_logger
from bridge.routing import Endpoint, json_response

log = get_logger("bridge.http")

ErrorRenderer = Callable[[ApiError], web.Response]


def native_error(error: ApiError) -> web.Response:
    return json_response(envelope(error), status=error.status, headers=error.headers)


# Surface name -> renderer of its own error body; providers add theirs.
ERROR_DIALECTS: dict[str, ErrorRenderer] = {"native": native_error}
# Path prefix -> surface, for requests that match no route (404/405 still speak the surface's dialect).
SURFACE_PREFIXES: list[tuple[str, str]] = [("/api/", "native")]

_MAX_ID = 2**31 - 1
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "bad_request"}


def endpoint_of(request: web.Request) -> Endpoint | None:
    match_info = request.match_info
    if match_info.http_exception is not None:
        return None
    return request.app[appkeys.ENDPOINTS].get(match_info.handler)


def surface_of(request: web.Request) -> str:
    endpoint = endpoint_of(request)
    if endpoint is not None:
        return endpoint.surface
    for app in request.match_info.apps:
        # A Host-routed legacy surface is a sub-app that knows its surface.
        if appkeys.SURFACE in app:
            return app[appkeys.SURFACE]
    for prefix, surface in SURFACE_PREFIXES:
        if request.path.startswith(prefix):
            return surface
    return "native"


@web.middleware
async def request_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    request[appkeys.REQUEST_ID] = request_id
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    finally:
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )
        structlog.contextvars.unbind_contextvars("request_id")


def _refuse_nul_in_query(request: web.Request) -> None:
    """PostgreSQL cannot store NUL characters; refuse them before any query sees them."""
    for key, value in request.query.items():
        if "\x00" in key or "\x00" in value:
            raise Unprocessable("must not contain NUL characters", field=key.strip("\x00") or "query")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every failure in the dialect of the surface the request addressed."""
    try:
        _refuse_nul_in_query(request)
        return await handler(request)
    except ApiError as err:
        return ERROR_DIALECTS[surface_of(request)](err)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        error = ApiError(
            err.reason if err.status != 404 else "Resource not found",
            status=err.status,
            code=_HTTP_CODES.get(err.status, "error"),
        )
        if err.status == 405:
            error.headers = {"Allow": err.headers.get("Allow", "")}
        return ERROR_DIALECTS[surface_of(request)](error)
    except Exception:
        log.exception("unhandled_error", method=request.method, path=request.path)
        return ERROR_DIALECTS[surface_of(request)](ApiError("Internal server error", status=500, code="internal_error"))


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the native API's token for the addressed account, then count it against the rate limit."""
    endpoint = endpoint_of(request)
    if endpoint is None or endpoint.surface != "native" or endpoint.auth == "public":
        return await handler(request)
    token = token_from_request(request)
    if not token:
        raise Unauthorized("You need to sign in or provide an api_access_token", code="unauthorized")
    raw_account = request.match_info.get("account_id", "")
    # Only plain ASCII digits within the id columns' 32-bit range (bridge.api.common.MAX_ID) name an account.
    if not (raw_account.isascii() and raw_account.isdigit() and len(raw_account) <= 10) or int(raw_account) > _MAX_ID:
        raise NotFound("Account not found", field="account_id")
    account_id = int(raw_account)
    async with request.app[appkeys.STORE].reader() as session:
        principal = await principal_for(session, token, account_id)
    if principal is False:
        raise Unauthorized("Invalid access token", code="invalid_token")
    verdict = request.app[appkeys.LIMITER].hit(hash_token(token))
    if not verdict.allowed:
        raise RateLimited(
            f"Rate limit exceeded. Please retry after {verdict.retry_after} seconds.",
            headers=verdict.headers(),
        )
    if principal is None or principal is True:
        # A valid token for another account: that account does not exist as far as it can tell.
        raise _with_headers(NotFound("Account not found", field="account_id"), verdict.headers())
    if endpoint.auth == "admin" and not principal.is_admin:
        raise _with_headers(Forbidden("You are not authorized to do this action"), verdict.headers())
    request[appkeys.PRINCIPAL] = principal
    try:
        response = await handler(request)
    except ApiError as err:
        raise _with_headers(err, verdict.headers()) from None
    response.headers.update(verdict.headers())
    return response


def _with_headers(error: ApiError, headers: dict[str, str]) -> ApiError:
    error.headers = {**headers, **error.headers}
    return error
