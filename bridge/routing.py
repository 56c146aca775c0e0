"""Declared endpoints: one table that registers routes, drives auth, and generates OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from bridge.errors import BadRequest, Unprocessable, from_validation_error

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AuthLevel = Literal["public", "account", "admin"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    surface: str
    tag: str
    auth: AuthLevel = "account"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    multipart: bool = False
    status: int = 200
    responses: dict[int, str] = field(default_factory=dict)


class Router:
    """Collect a surface's endpoints; ``install`` adds them to an app."""

    def __init__(self, surface: str, tag: str, prefix: str = "") -> None:
        self.surface = surface
        self.tag = tag
        self.prefix = prefix
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        auth: AuthLevel = "account",
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        multipart: bool = False,
        status: int = 200,
        tag: str | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=self.prefix + path,
                    handler=handler,
                    summary=summary,
                    surface=self.surface,
                    tag=tag or self.tag,
                    auth=auth,
                    body=body,
                    query=query,
                    multipart=multipart,
                    status=status,
                )
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


def install(app: web.Application, routers: list[Router], registry: dict[object, Endpoint]) -> None:
    """Add every endpoint of ``routers`` to ``app`` and index them by handler."""
    for router in routers:
        for endpoint in router.endpoints:
            resource = app.router.add_resource(endpoint.path)
            resource.add_route(endpoint.method, endpoint.handler)
            registry[endpoint.handler] = endpoint


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Serialise ``data`` with orjson (non-str keys and datetimes allowed)."""
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_json(request: web.Request) -> Any:
    """Return the parsed JSON body (``{}`` when empty); malformed JSON is a 400."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BadRequest(f"malformed JSON body: {err.args[0]}", field="body", code="malformed_json") from err


async def parse_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON (or form) body into ``model``; 400 for malformed, 422 for invalid."""
    if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        data: Any = dict(await request.post())
    else:
        data = await read_json(request)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", field="body", code="not_an_object")
    return validate(model, data)


def find_nul(value: Any, path: str = "") -> str | None:
    """Return the field path of the first string holding a NUL character (PostgreSQL cannot store one)."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                return path or "body"
            found = find_nul(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def reject_nul(data: Any) -> None:
    """422 for text with NUL characters, naming the field, before it reaches the database."""
    field = find_nul(data)
    if field is not None:
        raise Unprocessable("must not contain NUL characters", field=field, code="invalid")


def validate(model: type[M], data: Any, *, prefix: str | None = None) -> M:
    reject_nul(data)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise from_validation_error(err, prefix=prefix) from err


def parse_query(request: web.Request, model: type[M]) -> M:
    """Validate query parameters; ``name[]`` keys repeat into lists."""
    data: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        if key.endswith("[]"):
            data[key[:-2]] = list(values)
        else:
            data[key] = values[-1]
    return validate(model, data)
