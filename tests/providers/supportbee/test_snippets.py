"""SupportBee snippets ⇄ canned responses (spec "Fetching Snippets", "Create Snippet", "Update Snippet",
"Delete Snippet")."""

from __future__ import annotations

from typing import Any

from tests.providers.supportbee import desk_helpers as h
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error

SNIPPET_KEYS = h.keys(h.spec("snippets_list")["snippets"][0])


async def canned(desk: SBDesk) -> list[dict[str, Any]]:
    _, data = await desk.tenant.call("GET", "/canned_responses", expect=200)
    assert isinstance(data, list)
    return data


async def test_create_snippet_from_the_spec_example(desk: SBDesk) -> None:
    _, agent_token = await desk.agent()
    status, data = await desk.call("POST", "/snippets", token=agent_token, json=h.spec("snippet_create_request"))
    assert status == 201, data
    example = h.spec("snippet_create")
    assert h.keys(data) == h.keys(example)
    snippet = data["snippet"]
    assert h.keys(snippet) == h.keys(example["snippet"])
    assert {key: snippet[key] for key in ("name", "tags", "content")} == {
        key: example["snippet"][key] for key in ("name", "tags", "content")
    }
    assert snippet["created_at"].endswith("Z")
    assert [(item["short_code"], item["content"]) for item in await canned(desk)] == [("Facebook Link", "Facebook")]
    _, listed = await desk.call("GET", "/snippets", token=agent_token, expect=200)
    assert h.keys(listed) == h.keys(h.spec("snippets_list"))
    assert listed["snippets"] == [snippet]


async def test_snippet_with_html_only_and_by_form(desk: SBDesk) -> None:
    form = {"snippet[name]": "Refunds", "snippet[content][html]": "<p>Within <b>30 days</b>.</p>"}
    _, data = await desk.call("POST", "/snippets", data=form, expect=201)
    assert data["snippet"]["content"] == {"text": "Within 30 days.", "html": "<p>Within <b>30 days</b>.</p>"}
    assert data["snippet"]["tags"] is None
    assert h.keys(data["snippet"]) == SNIPPET_KEYS


async def test_create_snippet_with_the_token_in_a_json_body(desk: SBDesk) -> None:
    body = {"auth_token": desk.token, "snippet": {"name": "Thanks", "content": {"text": "Thank you!"}}}
    _, data = await desk.call("POST", "/snippets/", token=None, json=body, expect=201)
    assert (data["snippet"]["name"], data["snippet"]["content"]["text"]) == ("Thanks", "Thank you!")
    status, data = await desk.call("POST", "/snippets", token=None, json={"snippet": body["snippet"]})
    assert_sb_error(status, data, 401)


async def test_canned_responses_made_natively_are_snippets(desk: SBDesk) -> None:
    await desk.tenant.call("POST", "/canned_responses", json={"short_code": "hello", "content": "Hi there"}, expect=200)
    _, listed = await desk.call("GET", "/snippets", expect=200)
    snippet = listed["snippets"][0]
    assert h.keys(snippet) == SNIPPET_KEYS
    assert (snippet["name"], snippet["tags"], snippet["content"]) == ("hello", None, {"text": "Hi there", "html": None})


async def test_create_snippet_bad_input_is_400(desk: SBDesk) -> None:
    for body, field in (
        ({"snippet": {"content": {"text": "x"}}}, "snippet.name"),
        ({"snippet": {"name": "  ", "content": {"text": "x"}}}, "snippet.name"),
        ({"snippet": {"name": "Empty"}}, "snippet.content"),
        ({"snippet": {"name": "Blank", "content": {"text": " ", "html": ""}}}, "snippet.content"),
        ({"snippet": {"name": "Tags", "content": {"text": "x"}, "tags": ["a"]}}, "snippet.tags"),
        ({"name": "Unwrapped"}, "snippet"),
    ):
        status, data = await desk.call("POST", "/snippets", json=body)
        assert_sb_error(status, data, 400)
        assert field in data["errors"], (body, data)
    await desk.call("POST", "/snippets", json={"snippet": {"name": "Once", "content": {"text": "x"}}}, expect=201)
    status, data = await desk.call("POST", "/snippets", json={"snippet": {"name": "Once", "content": {"text": "y"}}})
    assert_sb_error(status, data, 400)
    assert "snippet.name" in data["errors"]
    assert [item["short_code"] for item in await canned(desk)] == ["Once"]


async def test_update_snippet_at_both_paths(desk: SBDesk) -> None:
    _, created = await desk.call("POST", "/snippets", json=h.spec("snippet_create_request"), expect=201)
    snippet_id = created["snippet"]["id"]
    _, data = await desk.call("PUT", f"/snippet/{snippet_id}", json={"snippet": {"tags": "social"}}, expect=200)
    assert h.keys(data) == h.keys(h.spec("snippet_create"))
    assert data["snippet"] == {**created["snippet"], "tags": "social"}
    _, data = await desk.call(
        "PUT",
        f"/snippets/{snippet_id}.json",
        json={"snippet": {"name": "Twitter Link", "content": {"text": "Twitter"}}},
        host=True,
        expect=200,
    )
    assert (data["snippet"]["name"], data["snippet"]["tags"], data["snippet"]["content"]) == (
        "Twitter Link",
        "social",
        {"text": "Twitter", "html": None},
    )
    assert [(item["short_code"], item["content"]) for item in await canned(desk)] == [("Twitter Link", "Twitter")]
    _, listed = await desk.call("GET", "/snippets", expect=200)
    assert listed["snippets"] == [data["snippet"]]


async def test_update_snippet_bad_input_and_unknown_ids(desk: SBDesk, other_desk: SBDesk) -> None:
    _, first = await desk.call("POST", "/snippets", json={"snippet": {"name": "First", "content": {"text": "1"}}})
    _, second = await desk.call("POST", "/snippets", json={"snippet": {"name": "Second", "content": {"text": "2"}}})
    second_id = second["snippet"]["id"]
    for body, field in (
        ({"snippet": {"name": ""}}, "snippet.name"),
        ({"snippet": {"name": "First"}}, "snippet.name"),
        ({"snippet": {"content": {}}}, "snippet.content"),
    ):
        status, data = await desk.call("PUT", f"/snippets/{second_id}", json=body)
        assert_sb_error(status, data, 400)
        assert field in data["errors"], (body, data)
    status, data = await desk.call("PUT", "/snippets/999999", json={"snippet": {"tags": "x"}})
    assert_sb_error(status, data, 404)
    _, foreign = await other_desk.call(
        "POST", "/snippets", json={"snippet": {"name": "Globex", "content": {"text": "g"}}}
    )
    status, data = await desk.call("PUT", f"/snippet/{foreign['snippet']['id']}", json={"snippet": {"tags": "x"}})
    assert_sb_error(status, data, 404)
    status, data = await desk.call("DELETE", f"/snippets/{foreign['snippet']['id']}")
    assert_sb_error(status, data, 404)
    _, listed = await other_desk.call("GET", "/snippets", expect=200)
    assert listed["snippets"] == [foreign["snippet"]]
    assert first


async def test_delete_snippet(desk: SBDesk) -> None:
    _, created = await desk.call("POST", "/snippets", json=h.spec("snippet_create_request"), expect=201)
    snippet_id = created["snippet"]["id"]
    assert await h.kept_of(desk, "canned_response", snippet_id) == {
        "set": {"tags": "facebook, link"},
        "shadow": {
            "content": {"wire": {"text": "Facebook", "html": "<p>Facebook</p>"}, "canonical": "Facebook"},
        },
    }
    _, agent_token = await desk.agent()
    status, data = await desk.call("DELETE", f"/snippets/{snippet_id}", token=agent_token)
    assert (status, data) == (204, None)
    assert await canned(desk) == []
    assert await h.kept_of(desk, "canned_response", snippet_id) is None
    status, data = await desk.call("DELETE", f"/snippets/{snippet_id}")
    assert_sb_error(status, data, 404)


async def test_an_imported_snippet_keeps_its_id_tags_and_html(desk: SBDesk) -> None:
    _, native = await desk.tenant.call(
        "POST", "/canned_responses", json={"short_code": "Refund policy", "content": "Refunds are possible."}
    )
    kept = {"set": {"tags": "billing, refund"}}
    await h.legacy_ref(desk, "canned_response", "41", native["id"], kept=kept)
    _, listed = await desk.call("GET", "/snippets", expect=200)
    assert [(item["id"], item["tags"]) for item in listed["snippets"]] == [(41, "billing, refund")]
    _, data = await desk.call("PUT", "/snippets/41", json={"snippet": {"name": "Refunds"}}, expect=200)
    assert (data["snippet"]["id"], data["snippet"]["name"], data["snippet"]["tags"]) == (
        41,
        "Refunds",
        "billing, refund",
    )
    await desk.call("DELETE", "/snippets/41", expect=204)
    _, listed = await desk.call("GET", "/snippets", expect=200)
    assert listed == {"snippets": []}
