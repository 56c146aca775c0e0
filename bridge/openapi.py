"""Generate the OpenAPI document from the route table and the pydantic models (never by hand)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bridge import __version__, appkeys
from bridge.routing import Endpoint

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
                "required": ["message"],
            },
        }
    },
}


def _param_schema(name: str) -> dict[str, Any]:
    return {"type": "integer"} if name == "id" or name.endswith("_id") else {"type": "string"}


def _model_schemas(endpoints: list[Endpoint]) -> tuple[dict[type[BaseModel], str], dict[str, Any]]:
    """Generate every body and query model's schema at once, so same-named models get distinct names."""
    models = sorted(
        {model for e in endpoints for model in (e.body, e.query) if model is not None},
        key=lambda m: (m.__module__, m.__qualname__),
    )
    refs, top = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    names = {model: str(refs[(model, "validation")]["$ref"]).rsplit("/", 1)[1] for model in models}
    return names, dict(top.get("$defs", {}))


def _operation_id(endpoint: Endpoint, used: set[str]) -> str:
    """``<surface>_<handler>_<method>``; qualified by the handler's module if two handlers share a name."""
    operation_id = f"{endpoint.surface}_{endpoint.handler.__name__}_{endpoint.method.lower()}"
    if operation_id in used:
        module = endpoint.handler.__module__.rsplit(".", 1)[-1]
        operation_id = f"{endpoint.surface}_{module}_{endpoint.handler.__name__}_{endpoint.method.lower()}"
    used.add(operation_id)
    return operation_id


def build_openapi(app: web.Application) -> dict[str, Any]:
    """Walk every declared endpoint of the app into an OpenAPI 3.1 document."""
    endpoints = sorted(app[appkeys.ENDPOINTS].values(), key=lambda e: (e.path, e.method))
    names, schemas = _model_schemas(endpoints)
    components: dict[str, Any] = {**schemas, "Errors": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    used_ids: set[str] = set()
    for endpoint in endpoints:
        params = [
            {"name": name, "in": "path", "required": True, "schema": _param_schema(name)}
            for name in _PARAM.findall(endpoint.path)
        ]
        if endpoint.query is not None:
            query_schema = schemas[names[endpoint.query]]
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "operationId": _operation_id(endpoint, used_ids),
            "parameters": params,
            "responses": {
                str(endpoint.status): {"description": "No content" if endpoint.status == 204 else "Success"},
                "default": {
                    "description": "Error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
                },
            },
        }
        if endpoint.body is not None:
            ref = {"$ref": f"#/components/schemas/{names[endpoint.body]}"}
            content: dict[str, Any] = {"application/json": {"schema": ref}}
            if endpoint.multipart:
                files = {"type": "array", "items": {"type": "string", "format": "binary"}}
                content["multipart/form-data"] = {
                    "schema": {"allOf": [ref, {"type": "object", "properties": {"attachments[]": files}}]}
                }
            operation["requestBody"] = {"required": True, "content": content}
        if endpoint.auth != "public" and endpoint.surface == "native":
            operation["security"] = [{"api_access_token": []}, {"bearer": []}]
        paths.setdefault(_PARAM.sub(r"{\1}", endpoint.path), {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "supportly-bridge", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "api_access_token": {"type": "apiKey", "in": "header", "name": "api_access_token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
