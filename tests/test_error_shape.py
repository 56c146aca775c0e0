"""Every error of the native API speaks one envelope, ``{"errors": [{field, message, code}]}``, and none is a 500.

Datasette-style: the test walks the app's endpoint registry, so a route added later is covered without
being listed here. Each check collects every offending route and fails once, naming them all.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bridge import appkeys
from bridge.routing import Endpoint
from tests.conftest import Tenant, assert_error

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")
MISSING_ID = "999999999"


def _native(client: TestClient[web.Request, web.Application]) -> list[Endpoint]:
    endpoints = [e for e in client.app[appkeys.ENDPOINTS].values() if e.surface == "native"]
    assert len(endpoints) > 20
    return sorted(endpoints, key=lambda e: (e.path, e.method))


def _fill(endpoint: Endpoint, account_id: int | str, value: str) -> str:
    """The endpoint's path with its account and every other path parameter filled in."""

    def replace(match: re.Match[str]) -> str:
        return str(account_id) if match.group(1) == "account_id" else value

    return _PARAM.sub(replace, endpoint.path)


def _ids(endpoint: Endpoint) -> list[str]:
    return [name for name in _PARAM.findall(endpoint.path) if name != "account_id"]


def _envelope_problem(status: int, data: Any, allowed: set[int]) -> str | None:
    """Describe what is wrong with an error response, or None when it is a proper envelope."""
    if status not in allowed:
        return f"status {status} (wanted {sorted(allowed)}): {str(data)[:200]}"
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list) or not data["errors"]:
        return f"status {status} without the envelope: {str(data)[:200]}"
    for item in data["errors"]:
        if not isinstance(item, dict) or not {"field", "message", "code"} <= set(item) or not item["message"]:
            return f"status {status} with a malformed error item: {item!r}"
    return None


async def _request(
    client: TestClient[web.Request, web.Application],
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    async with client.request(method, path, headers=headers or {}, data=data) as response:
        body = await response.read()
        parsed = None
        if body and response.content_type == "application/json":
            parsed = await response.json()
        elif body:
            parsed = body[:200]
        return response.status, parsed


async def _still_signed_in(tenant: Tenant) -> None:
    """The walk must not have removed the caller (a walk that did would hide every later route behind 404s)."""
    status, data = await tenant.call("GET", "")
    assert status == 200, (status, data)


def _fail_on(problems: list[str]) -> None:
    assert not problems, "\n" + "\n".join(problems)


async def test_no_token_is_401(tenant: Tenant) -> None:
    problems = []
    for endpoint in _native(tenant.client):
        if endpoint.auth == "public":
            continue
        path = _fill(endpoint, tenant.account_id, "1")
        status, data = await _request(tenant.client, endpoint.method, path)
        if problem := _envelope_problem(status, data, {401}):
            problems.append(f"{endpoint.method} {endpoint.path}: {problem}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def test_a_wrong_token_is_401(tenant: Tenant) -> None:
    problems = []
    for endpoint in _native(tenant.client):
        if endpoint.auth == "public":
            continue
        path = _fill(endpoint, tenant.account_id, "1")
        status, data = await _request(tenant.client, endpoint.method, path, headers={"api_access_token": "nope"})
        if problem := _envelope_problem(status, data, {401}):
            problems.append(f"{endpoint.method} {endpoint.path}: {problem}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def test_public_endpoints_answer_without_a_token(tenant: Tenant) -> None:
    public = [e for e in _native(tenant.client) if e.auth == "public"]
    assert {e.path for e in public} >= {"/healthz", "/openapi.json"}
    for endpoint in public:
        status, _ = await _request(tenant.client, endpoint.method, _fill(endpoint, tenant.account_id, "1"))
        assert status < 400, endpoint.path


async def test_another_accounts_id_in_the_path_is_404(tenant: Tenant, other: Tenant) -> None:
    problems = []
    for endpoint in _native(tenant.client):
        if "{account_id}" not in endpoint.path:
            continue
        for account in (other.account_id, MISSING_ID, str(2**31), str(2**40), "99999999999999999999999", "abc", "-1"):
            path = _fill(endpoint, account, "1")
            status, data = await _request(tenant.client, endpoint.method, path, headers=tenant.headers)
            if problem := _envelope_problem(status, data, {404}):
                problems.append(f"{endpoint.method} {endpoint.path} (account {account}): {problem}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def test_path_ids_that_are_not_numbers_are_404(tenant: Tenant) -> None:
    problems = []
    for endpoint in _native(tenant.client):
        if not _ids(endpoint):
            continue
        for value in ("abc", "1.5", "-1", "0x10", "1e3", "%20", str(2**31), str(2**40), "99999999999999999999999"):
            path = _fill(endpoint, tenant.account_id, value)
            status, data = await _request(tenant.client, endpoint.method, path, headers=tenant.headers)
            if problem := _envelope_problem(status, data, {404}):
                problems.append(f"{endpoint.method} {endpoint.path} (id {value!r}): {problem}")
    await _still_signed_in(tenant)
    _fail_on(problems)


def _other_digits(value: int, zero: str) -> str:
    """Write ``value`` with another script's digits (``zero`` is that script's 0)."""
    return "".join(chr(ord(zero) + int(d)) for d in str(value))


async def test_path_ids_in_non_ascii_digits_are_404(tenant: Tenant) -> None:
    problems = []
    for endpoint in _native(tenant.client):
        path = _fill(endpoint, tenant.account_id if _ids(endpoint) else "\u00b2", "\u00b2")  # superscript two
        if path == endpoint.path:
            continue
        status, data = await _request(tenant.client, endpoint.method, path, headers=tenant.headers)
        if problem := _envelope_problem(status, data, {404}):
            problems.append(f"{endpoint.method} {endpoint.path} (id '\u00b2'): {problem}")
    # An existing object named in other digits is still not found (reads only: nothing gets deleted).
    _, team = await tenant.call("POST", "/teams", json={"name": "Digits"}, expect=200)
    inbox_id = await tenant.inbox()
    for zero in ("\uff10", "\u0660"):  # fullwidth, Arabic-Indic
        for path in (
            f"/teams/{_other_digits(team['id'], zero)}",
            f"/inboxes/{_other_digits(inbox_id, zero)}",
            f"/api/v1/accounts/{_other_digits(tenant.account_id, zero)}/agents",
        ):
            url = path if path.startswith("/api/") else tenant.url(path)
            status, data = await _request(tenant.client, "GET", url, headers=tenant.headers)
            if problem := _envelope_problem(status, data, {404}):
                problems.append(f"GET {url}: {problem}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def test_path_ids_that_do_not_exist_are_404(tenant: Tenant) -> None:
    problems = []
    for endpoint in _native(tenant.client):
        if not _ids(endpoint):
            continue
        path = _fill(endpoint, tenant.account_id, MISSING_ID)
        status, data = await _request(tenant.client, endpoint.method, path, headers=tenant.headers)
        # With no body, a route that validates its body before loading the object answers 422 instead.
        allowed = {404, 422} if endpoint.body is not None else {404}
        if problem := _envelope_problem(status, data, allowed):
            problems.append(f"{endpoint.method} {endpoint.path}: {problem}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def test_a_malformed_json_body_is_400(tenant: Tenant) -> None:
    problems = []
    for endpoint in _native(tenant.client):
        if endpoint.body is None:
            continue
        path = _fill(endpoint, tenant.account_id, MISSING_ID)
        # A route may look its object up before reading the body: then the missing id wins (404).
        allowed = {400, 404} if _ids(endpoint) else {400}
        for raw in (b"{not json", b'{"name": "x",}', b"\xff\xfe", b'{"a": 1} trailing'):
            status, data = await _request(
                tenant.client,
                endpoint.method,
                path,
                headers={**tenant.headers, "Content-Type": "application/json"},
                data=raw,
            )
            if problem := _envelope_problem(status, data, allowed):
                problems.append(f"{endpoint.method} {endpoint.path} ({raw!r}): {problem}")
            elif status == 400 and data["errors"][0]["field"] != "body":
                problems.append(f"{endpoint.method} {endpoint.path} ({raw!r}): 400 not naming the body: {data}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def test_a_json_body_that_is_not_an_object_is_rejected(tenant: Tenant) -> None:
    problems = []
    for endpoint in _native(tenant.client):
        if endpoint.body is None:
            continue
        path = _fill(endpoint, tenant.account_id, MISSING_ID)
        allowed = {400, 422, 404} if _ids(endpoint) else {400, 422}
        for raw in (b"[]", b'[{"name": "x"}]', b'"text"', b"42", b"null"):
            status, data = await _request(
                tenant.client,
                endpoint.method,
                path,
                headers={**tenant.headers, "Content-Type": "application/json"},
                data=raw,
            )
            if problem := _envelope_problem(status, data, allowed):
                problems.append(f"{endpoint.method} {endpoint.path} ({raw!r}): {problem}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def test_bodies_with_huge_or_wrongly_typed_values_never_500(tenant: Tenant) -> None:
    """Every declared body field set to values a database driver would choke on: a 4xx envelope, never a 500."""
    problems = []
    nasty: list[Any] = [2**31, 2**63, 10**20, -(10**20), "x" * 5000, {"nested": [1]}, [2**40], 1.5, True, "\x00"]
    for endpoint in _native(tenant.client):
        if endpoint.body is None:
            continue
        path = _fill(endpoint, tenant.account_id, MISSING_ID)
        for value in nasty:
            body = dict.fromkeys(endpoint.body.model_fields, value)
            async with tenant.client.request(endpoint.method, path, headers=tenant.headers, json=body) as response:
                data = await response.json() if response.content_type == "application/json" else None
                if response.status >= 500:
                    problems.append(f"{endpoint.method} {endpoint.path} (every field = {value!r:.30}): {data}")
                elif response.status >= 400 and (
                    problem := _envelope_problem(response.status, data, {response.status})
                ):
                    problems.append(f"{endpoint.method} {endpoint.path} (every field = {value!r:.30}): {problem}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def _probe_queries(tenant: Tenant, values: tuple[str, ...]) -> list[str]:
    """Set each declared query parameter alone to each value; describe every 500 or non-envelope error."""
    problems = []
    for endpoint in _native(tenant.client):
        if endpoint.query is None:
            continue
        path = _fill(endpoint, tenant.account_id, MISSING_ID)
        for name, field in endpoint.query.model_fields.items():
            for value in values:
                params = {field.alias or name: value}
                async with tenant.client.request(
                    endpoint.method, path, headers=tenant.headers, params=params
                ) as response:
                    data = await response.json() if response.content_type == "application/json" else None
                    where = f"{endpoint.method} {endpoint.path}?{name}={value[:20]!r}"
                    if response.status >= 500:
                        problems.append(f"{where}: {data}")
                    elif response.status >= 400 and (
                        problem := _envelope_problem(response.status, data, {response.status})
                    ):
                        problems.append(f"{where}: {problem}")
    await _still_signed_in(tenant)
    return problems


async def test_query_ids_out_of_range_never_500(tenant: Tenant) -> None:
    _fail_on(await _probe_queries(tenant, (str(2**31), str(2**63), "9" * 30, "-1", "abc", "1.5")))


async def test_query_strings_never_500(tenant: Tenant) -> None:
    _fail_on(await _probe_queries(tenant, ("\x00", "%", "_", "'", "\\", "x" * 5000, "\u00e9\u4e2d\U0001f600")))


async def test_unknown_paths_under_the_api_are_404(tenant: Tenant) -> None:
    for path in (
        "/api/v1/nothing",
        tenant.url("/no_such_collection"),
        tenant.url("/agents/1/unknown"),
        "/api/v2/accounts/1/agents",
        "/definitely/not/here",
    ):
        status, data = await _request(tenant.client, "GET", path, headers=tenant.headers)
        assert _envelope_problem(status, data, {404}) is None, (path, status, data)


async def test_a_wrong_method_is_405_with_allow(tenant: Tenant) -> None:
    problems = []
    templates: dict[str, set[str]] = {}
    for endpoint in _native(tenant.client):
        templates.setdefault(endpoint.path, set()).add(endpoint.method)
    matchers = [(re.compile("^" + _PARAM.sub("[^/]+", t) + "$"), methods) for t, methods in templates.items()]
    for template in templates:
        path = _PARAM.sub(lambda m: str(tenant.account_id) if m.group(1) == "account_id" else "1", template)
        # Methods of every route this concrete path matches (``/contacts/search`` also matches ``/contacts/{id}``).
        served = set().union(*(methods for pattern, methods in matchers if pattern.match(path)))
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - served):
            async with tenant.client.request(method, path, headers=tenant.headers) as response:
                data = await response.json() if response.content_type == "application/json" else None
                allow = set(response.headers.get("Allow", "").replace(" ", "").split(","))
                if problem := _envelope_problem(response.status, data, {405}):
                    problems.append(f"{method} {template}: {problem}")
                elif allow != served:
                    problems.append(f"{method} {template}: Allow {sorted(allow)} != {sorted(served)}")
    await _still_signed_in(tenant)
    _fail_on(problems)


async def test_nul_characters_in_bodies_are_422_not_500(tenant: Tenant) -> None:
    """PostgreSQL cannot store NUL; every body with one is refused naming the field, on both databases."""
    conversation = await tenant.conversation()
    for path, body, field in [
        ("/contacts", {"name": "a\x00b"}, "name"),
        ("/companies", {"name": "a\x00b"}, "name"),
        ("/labels", {"title": "a\x00b"}, "title"),
        ("/canned_responses", {"short_code": "x", "content": "a\x00b"}, "content"),
        (f"/conversations/{conversation}/messages", {"content": "a\x00b"}, "content"),
        ("/contacts", {"name": "ok", "custom_attributes": {"k": ["a\x00"]}}, "custom_attributes.k.0"),
    ]:
        status, data = await tenant.call("POST", path, json=body)
        assert_error(status, data, 422, field)
