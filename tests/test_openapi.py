"""The generated OpenAPI document: every registered endpoint, with its method, parameters and body schema."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel

from bridge import appkeys
from bridge.openapi import build_openapi
from bridge.routing import Endpoint, Router, install

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


async def _document(client: TestClient[web.Request, web.Application]) -> dict[str, Any]:
    async with client.get("/openapi.json") as response:  # public: no token
        assert response.status == 200
        assert response.content_type == "application/json"
        document: dict[str, Any] = await response.json()
    return document


def _endpoints(client: TestClient[web.Request, web.Application]) -> list[Endpoint]:
    return list(client.app[appkeys.ENDPOINTS].values())


def _operation(document: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    path = _PARAM.sub(r"{\1}", endpoint.path)
    assert path in document["paths"], path
    operations = document["paths"][path]
    assert endpoint.method.lower() in operations, (endpoint.method, path)
    operation: dict[str, Any] = operations[endpoint.method.lower()]
    return operation


def _resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix), ref
    schema: dict[str, Any] = document["components"]["schemas"][ref.removeprefix(prefix)]
    return schema


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


async def test_every_registered_endpoint_is_documented(client: TestClient[web.Request, web.Application]) -> None:
    document = await _document(client)
    assert document["openapi"].startswith("3.1")
    endpoints = _endpoints(client)
    assert len(endpoints) > 20
    for endpoint in endpoints:
        operation = _operation(document, endpoint)
        assert operation["summary"] == endpoint.summary
        assert operation["tags"] == [endpoint.tag]
        assert str(endpoint.status) in operation["responses"]
        assert operation["responses"]["default"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Errors"
        }
    documented = sum(len(ops) for ops in document["paths"].values())
    assert documented == len(endpoints)
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))


async def test_the_agent_routes_are_in_the_document(client: TestClient[web.Request, web.Application]) -> None:
    paths = (await _document(client))["paths"]
    base = "/api/v1/accounts/{account_id}"
    assert set(paths[f"{base}/agents"]) == {"get", "post"}
    assert set(paths[f"{base}/agents/{{id}}"]) == {"patch", "delete"}
    assert set(paths[f"{base}/inbox_members"]) == {"post", "patch", "delete"}
    assert set(paths[f"{base}/teams/{{id}}/team_members"]) == {"get", "post", "patch", "delete"}
    assert "204" in paths[f"{base}/agents/{{id}}"]["delete"]["responses"]


async def test_path_and_query_parameters_are_declared(client: TestClient[web.Request, web.Application]) -> None:
    document = await _document(client)
    for endpoint in _endpoints(client):
        operation = _operation(document, endpoint)
        declared = {(p["name"], p["in"]) for p in operation["parameters"]}
        for name in _PARAM.findall(endpoint.path):
            assert (name, "path") in declared, (endpoint.path, name)
        if endpoint.query is not None:
            for name, field in endpoint.query.model_fields.items():
                assert (field.alias or name, "query") in declared, (endpoint.path, name)


async def test_request_bodies_reference_the_pydantic_schemas(client: TestClient[web.Request, web.Application]) -> None:
    document = await _document(client)
    with_body = [e for e in _endpoints(client) if e.body is not None]
    assert with_body
    for endpoint in with_body:
        assert isinstance(endpoint.body, type)
        assert issubclass(endpoint.body, BaseModel)
        operation = _operation(document, endpoint)
        assert operation["requestBody"]["required"] is True
        schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]
        schema = _resolve(document, schema_ref["$ref"])
        expected = endpoint.body.model_json_schema()
        assert schema.get("title") == expected.get("title"), endpoint.path
        assert set(schema.get("properties", {})) == set(expected.get("properties", {})), endpoint.path
        assert set(schema.get("required", [])) == set(expected.get("required", [])), endpoint.path
    without_body = [e for e in _endpoints(client) if e.body is None]
    for endpoint in without_body:
        assert "requestBody" not in _operation(document, endpoint)


async def test_agent_create_schema_requires_name_email_and_role(
    client: TestClient[web.Request, web.Application],
) -> None:
    document = await _document(client)
    operation = document["paths"]["/api/v1/accounts/{account_id}/agents"]["post"]
    schema = _resolve(document, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert set(schema["required"]) == {"name", "email", "role"}
    assert schema["properties"]["availability_status"]["anyOf"][0]["enum"] == ["available", "online", "busy", "offline"]


async def test_every_reference_resolves(client: TestClient[web.Request, web.Application]) -> None:
    document = await _document(client)
    refs = _refs(document["paths"]) + _refs(document["components"])
    assert refs
    for ref in refs:
        _resolve(document, ref)


async def test_security_follows_the_declared_auth(client: TestClient[web.Request, web.Application]) -> None:
    document = await _document(client)
    for endpoint in _endpoints(client):
        if endpoint.surface != "native":
            continue
        operation = _operation(document, endpoint)
        if endpoint.auth == "public":
            assert "security" not in operation, endpoint.path
        else:
            assert operation["security"] == [{"api_access_token": []}, {"bearer": []}], endpoint.path


def test_same_named_models_get_their_own_schemas() -> None:
    def first() -> type[BaseModel]:
        class Body(BaseModel):
            name: str

        return Body

    def second() -> type[BaseModel]:
        class Body(BaseModel):
            count: int

        return Body

    async def create(request: web.Request) -> web.Response:
        raise AssertionError("never called")

    async def update(request: web.Request) -> web.Response:
        raise AssertionError("never called")

    router = Router("native", "Test")
    router.post("/things", summary="Create", body=first())(create)
    router.patch("/things/{id}", summary="Update", body=second())(update)
    app = web.Application()
    registry: dict[object, Endpoint] = {}
    app[appkeys.ENDPOINTS] = registry
    install(app, [router], registry)
    document = build_openapi(app)
    created = document["paths"]["/things"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    updated = document["paths"]["/things/{id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert created != updated
    assert set(_resolve(document, created["$ref"])["properties"]) == {"name"}
    assert set(_resolve(document, updated["$ref"])["properties"]) == {"count"}
    assert document["paths"]["/things/{id}"]["patch"]["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
