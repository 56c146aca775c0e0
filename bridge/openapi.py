"""Generate the OpenAPI document from the route table and the pydantic models (never by hand)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from bridge import __version__, appkeys

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


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_openapi(app: web.Application) -> dict[str, Any]:
    """Walk every declared endpoint of the app into an OpenAPI 3.1 document."""
    components: dict[str, Any] = {"Errors": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for endpoint in sorted(app[appkeys.ENDPOINTS].values(), key=lambda e: (e.path, e.method)):
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(endpoint.path)
        ]
        if endpoint.query is not None:
            query_schema = endpoint.query.model_json_schema()
            required = set(query_schema.get("required", []))
            for name, prop in query_schema.get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": name in required, "schema": prop})
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": [endpoint.tag],
            "operationId": f"{endpoint.surface}_{endpoint.handler.__name__}_{endpoint.method.lower()}",
            "parameters": params,
            "responses": {
                str(endpoint.status): {"description": "Success"},
                "default": {
                    "description": "Error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
                },
            },
        }
        if endpoint.body is not None:
            media = "multipart/form-data" if endpoint.multipart else "application/json"
            content = {"application/json": {"schema": _schema_ref(endpoint.body, components)}}
            if endpoint.multipart:
                content[media] = {"schema": {"type": "object"}}
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
