"""SupportBee auth and tenancy dialect: token placement, aliases, companies by path and by Host."""

from __future__ import annotations

import aiohttp

from tests.providers.supportbee.conftest import SBDesk, assert_sb_error


async def _upload(desk: SBDesk) -> dict[str, object]:
    form = aiohttp.FormData()
    form.add_field("files[]", b"hello", filename="hello.txt", content_type="text/plain")
    _, data = await desk.call("POST", "/attachments", data=form, expect=201)
    return data["attachment"]  # type: ignore[no-any-return]


async def test_token_appended_to_a_url_with_a_query_still_authenticates(desk: SBDesk) -> None:
    attachment = await _upload(desk)
    thumb = str(attachment["url"]["thumb"])  # type: ignore[index]
    path = thumb.split(str(desk.client.server.port), 1)[1]
    async with desk.client.get(f"{path}?auth_token={desk.token}") as response:
        assert response.status == 200
        assert await response.read() == b"hello"


async def test_unknown_company_is_not_found_by_path_and_by_host(desk: SBDesk) -> None:
    async with desk.client.get("/supportbee/nosuchdesk/tickets", params={"auth_token": desk.token}) as response:
        assert_sb_error(response.status, await response.json(), 404)
    headers = {"Host": "nosuchdesk.supportbee.localhost"}
    async with desk.client.get("/tickets", params={"auth_token": desk.token}, headers=headers) as response:
        assert_sb_error(response.status, await response.json(), 404)


async def test_missing_and_foreign_tokens_are_refused(desk: SBDesk, other_desk: SBDesk) -> None:
    status, data = await desk.call("GET", "/labels", token=None)
    assert_sb_error(status, data, 401)
    status, data = await desk.call("GET", "/labels", token=other_desk.token)
    assert_sb_error(status, data, 401)
    status, data = await desk.call("GET", "/labels", token="nonsense")
    assert_sb_error(status, data, 401)


async def test_a_registered_alias_works_here_but_not_on_the_native_api(desk: SBDesk) -> None:
    agent_id, _ = await desk.agent()
    await desk.tenant.call(
        "POST", f"/agents/{agent_id}/legacy_tokens", json={"provider": "supportbee", "token": "legacy-sb-token"},
        expect=201,
    )
    await desk.call("GET", "/labels", token="legacy-sb-token", expect=200)
    status, _ = await desk.tenant.call("GET", "", token="legacy-sb-token")
    assert status == 401


async def test_token_in_json_body_and_form_field(desk: SBDesk) -> None:
    status, _ = await desk.call(
        "POST", "/tickets/999999/star", token=None, json={"auth_token": desk.token}
    )
    assert status == 404  # authenticated (not 401), the ticket just does not exist
    form = aiohttp.FormData()
    form.add_field("auth_token", desk.token)
    form.add_field("files[]", b"x", filename="x.txt", content_type="text/plain")
    await desk.call("POST", "/attachments", token=None, data=form, expect=201)


async def test_unknown_paths_speak_the_supportbee_dialect(desk: SBDesk) -> None:
    status, data = await desk.call("GET", "/no/such/path")
    assert_sb_error(status, data, 404)
    status, data = await desk.call("GET", "/no/such/path", host=True)
    assert_sb_error(status, data, 404)
