"""SupportBee attachments ("Create Attachment" and the ``url.original`` it answers), and replies and comments
that carry them: upload, download on both the path-prefix and Host-routed bases, tenancy, bad input."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from aiohttp import FormData

from bridge import appkeys
from tests.providers.supportbee.conftest import SBDesk, assert_sb_error
from tests.providers.supportbee.test_threads import TIME, assert_spec_keys, make_ticket, spec

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def files(*items: tuple[str, bytes, str | None]) -> FormData:
    form = FormData(quote_fields=False)  # raw UTF-8 file names, as browsers and rest-client send them
    for name, content, content_type in items:
        form.add_field("files[]", content, filename=name, content_type=content_type)
    return form


async def upload(desk: SBDesk, *items: tuple[str, bytes, str | None], host: bool = False) -> dict[str, Any]:
    status, data = await desk.call("POST", "/attachments", data=files(*items), host=host)
    assert status == 201, data
    return dict(data)


async def fetch(desk: SBDesk, url: str, *, token: str | None = "admin") -> tuple[int, bytes, dict[str, str]]:
    """GET an attachment URL as printed: the path-prefix form directly, the Host form with its Host header."""
    parts = urlsplit(url)
    params = {} if token is None else {"auth_token": desk.token if token == "admin" else token}
    headers = {}
    if parts.hostname and parts.hostname.endswith(".supportbee.localhost"):
        headers["Host"] = parts.netloc
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    async with desk.client.request("GET", path, params=params, headers=headers) as response:
        return response.status, await response.read(), dict(response.headers)


# -- upload ------------------------------------------------------------------------------------------
async def test_upload_answers_the_spec_shape(desk: SBDesk) -> None:
    data = await upload(desk, ("wow.jpeg", b"\xff\xd8\xff jpeg bytes", "image/jpeg"))
    assert set(data) == {"attachment"}
    assert_spec_keys(data, spec("attachment_create"))
    attachment = data["attachment"]
    assert isinstance(attachment["id"], int)
    assert TIME.match(attachment["created_at"])
    assert (attachment["filename"], attachment["content_type"]) == ("wow.jpeg", "image/jpeg")
    base = f"http://{desk.client.host}:{desk.client.port}/supportbee/{desk.company}"
    assert attachment["url"] == {
        "original": f"{base}/attachments/{attachment['id']}",
        "thumb": f"{base}/attachments/{attachment['id']}?version=thumb",
    }


async def test_upload_several_files(desk: SBDesk) -> None:
    data = await upload(desk, ("a.txt", b"alpha", "text/plain"), ("b.pdf", b"%PDF-1.4", None))
    assert set(data) == {"attachment", "attachments"}
    assert data["attachment"] == data["attachments"][0]
    assert [(item["filename"], item["content_type"]) for item in data["attachments"]] == [
        ("a.txt", "text/plain"),
        ("b.pdf", "application/pdf"),
    ]
    for item, content in zip(data["attachments"], (b"alpha", b"%PDF-1.4"), strict=True):
        status, body, _ = await fetch(desk, item["url"]["original"])
        assert (status, body) == (200, content)


async def test_bad_uploads(desk: SBDesk) -> None:
    status, data = await desk.call("POST", "/attachments", json={"files": ["x"]})
    assert_sb_error(status, data, 400)
    assert "files" in data["errors"]
    form = FormData()
    form.add_field("files[]", "just a string")
    form.add_field("other", b"bytes", filename="x.bin")
    status, data = await desk.call("POST", "/attachments", data=form)
    assert_sb_error(status, data, 400)
    assert "files" in data["errors"]
    status, data = await desk.call("POST", "/attachments", data=files(("a.txt", b"a", "text/plain")), token=None)
    assert_sb_error(status, data, 401)


async def test_an_unusable_content_type_is_guessed_from_the_name(desk: SBDesk) -> None:
    data = await upload(desk, ("notes.txt", b"n", "garbage"), ("blob", b"b", "a/" + "b" * 300))
    assert [item["content_type"] for item in data["attachments"]] == ["text/plain", "application/octet-stream"]
    status, _, headers = await fetch(desk, data["attachments"][1]["url"]["original"])
    assert (status, headers["Content-Type"]) == (200, "application/octet-stream")


async def test_a_file_over_the_size_cap_is_too_large(desk: SBDesk) -> None:
    desk.client.app[appkeys.STORE].max_attachment_bytes = 16
    status, data = await desk.call("POST", "/attachments", data=files(("big.bin", b"x" * 17, None)))
    assert_sb_error(status, data, 413)
    status, data = await desk.call("POST", "/attachments", data=files(("ok.bin", b"x" * 16, None)))
    assert status == 201, data


async def test_long_and_pathy_file_names_are_kept_readable(desk: SBDesk) -> None:
    name = "C:\\Users\\me\\" + "n" * 300 + ".pdf"
    data = await upload(desk, (name, b"%PDF", "application/pdf"), ('ümlaut "quoted".txt', b"u", "text/plain"))
    first, second = data["attachments"]
    assert first["filename"].endswith(".pdf")
    assert len(first["filename"]) == 255
    assert "\\" not in first["filename"]
    status, body, headers = await fetch(desk, second["url"]["original"])
    assert (status, body) == (200, b"u")
    assert second["filename"] == 'ümlaut "quoted".txt'
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"_mlaut quoted.txt\"; filename*=UTF-8''%C3%BCmlaut%20%22quoted%22.txt"
    )


# -- download ----------------------------------------------------------------------------------------
async def test_download_streams_the_file_with_its_type(desk: SBDesk) -> None:
    attachment = (await upload(desk, ("logo.png", PNG, "image/png")))["attachment"]
    status, body, headers = await fetch(desk, attachment["url"]["original"])
    assert (status, body) == (200, PNG)
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"].startswith('attachment; filename="logo.png"')
    status, thumb, _ = await fetch(desk, attachment["url"]["thumb"])
    assert (status, thumb) == (200, PNG)
    # the way exporters call it: the URL as printed with "?auth_token=" appended
    async with desk.client.session.get(f"{attachment['url']['original']}?auth_token={desk.token}") as response:
        assert (response.status, await response.read()) == (200, PNG)
    _, agent_token = await desk.agent()
    status, body, _ = await fetch(desk, attachment["url"]["original"] + ".json", token=agent_token)
    assert (status, body) == (200, PNG)


async def test_download_needs_a_token(desk: SBDesk) -> None:
    attachment = (await upload(desk, ("a.txt", b"secret", "text/plain")))["attachment"]
    status, body, _ = await fetch(desk, attachment["url"]["original"], token=None)
    assert status == 401
    assert b"secret" not in body


async def test_another_companys_attachment_is_not_found(desk: SBDesk, other_desk: SBDesk) -> None:
    theirs = (await upload(other_desk, ("theirs.txt", b"theirs", "text/plain")))["attachment"]
    for attachment_id in (theirs["id"], 99999999, 10**12):
        status, data = await desk.call("GET", f"/attachments/{attachment_id}")
        assert_sb_error(status, data, 404)
    ticket_id = await make_ticket(desk)
    body = {"reply": {"content": {"text": "stolen", "attachment_ids": [theirs["id"]]}}}
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body)
    assert_sb_error(status, data, 400)
    assert "attachment_ids" in data["errors"]
    status, content, _ = await fetch(other_desk, theirs["url"]["original"])
    assert (status, content) == (200, b"theirs")


async def test_host_routed_upload_and_download_round_trip(desk: SBDesk) -> None:
    data = await upload(desk, ("host.png", PNG, "image/png"), host=True)
    original = data["attachment"]["url"]["original"]
    parts = urlsplit(original)
    assert parts.netloc == f"{desk.company}.supportbee.localhost"
    assert re.fullmatch(r"/attachments/\d+", parts.path)
    status, body, headers = await fetch(desk, original)
    assert (status, body, headers["Content-Type"]) == (200, PNG, "image/png")
    status, body, _ = await fetch(desk, data["attachment"]["url"]["thumb"])
    assert (status, body) == (200, PNG)


async def test_upload_with_the_token_in_the_form(desk: SBDesk) -> None:
    form = files(("form.txt", b"form", "text/plain"))
    form.add_field("auth_token", desk.token)
    status, data = await desk.call("POST", "/attachments.json", data=form, token=None)
    assert status == 201, data
    status, body, _ = await fetch(desk, data["attachment"]["url"]["original"])
    assert (status, body) == (200, b"form")


# -- replies and comments that carry attachments -----------------------------------------------------
async def test_a_reply_with_attachments_reads_back_equal(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    uploaded = (await upload(desk, ("one.png", PNG, "image/png"), ("two.txt", b"two", "text/plain")))["attachments"]
    body = {
        "reply": {
            "cc": "Dan <dan@example.com>, erin@example.com",
            "bcc": ["Boss <boss@example.com>"],
            "content": {
                "text": "See attached",
                "html": "<p>See attached</p>",
                "attachment_ids": [item["id"] for item in uploaded],
            },
        }
    }
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body)
    assert status == 201, data
    created = data["reply"]
    assert created["content"]["attachments"] == uploaded
    assert [user["email"] for user in created["cc"]] == ["dan@example.com", "erin@example.com"]
    assert [user["email"] for user in created["bcc"]] == ["boss@example.com"]
    _, listed = await desk.call("GET", f"/tickets/{ticket_id}/replies", expect=200)
    _, shown = await desk.call("GET", f"/tickets/{ticket_id}/replies/{created['id']}", expect=200)
    assert listed == {"replies": [created]}
    assert shown == {"reply": created}
    for item, content in zip(created["content"]["attachments"], (PNG, b"two"), strict=True):
        status, file_body, _ = await fetch(desk, item["url"]["original"])
        assert (status, file_body) == (200, content)
    # an attachment belongs to one message only
    again = {"reply": {"content": {"text": "again", "attachment_ids": [uploaded[0]["id"]]}}}
    status, error = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=again)
    assert_sb_error(status, error, 400)
    assert "attachment_ids" in error["errors"]


async def test_a_form_encoded_comment_with_attachments(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    first, second = (await upload(desk, ("a.txt", b"a", "text/plain"), ("b.txt", b"b", "text/plain")))["attachments"]
    form = [
        ("comment[content][text]", "Logs attached"),
        ("comment[content][attachment_ids][]", str(first["id"])),
        ("comment[content][attachment_ids][]", str(second["id"])),
    ]
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/comments", data=form, host=True)
    assert status == 201, data
    assert [item["id"] for item in data["comment"]["content"]["attachments"]] == [first["id"], second["id"]]
    assert all(
        urlsplit(item["url"]["original"]).netloc == f"{desk.company}.supportbee.localhost"
        for item in data["comment"]["content"]["attachments"]
    )
    _, listed = await desk.call("GET", f"/tickets/{ticket_id}/comments", expect=200)
    (noted,) = listed["comments"]
    assert [item["filename"] for item in noted["content"]["attachments"]] == ["a.txt", "b.txt"]
    assert noted["content"]["attachments"][0]["url"]["original"].endswith(
        f"/supportbee/{desk.company}/attachments/{first['id']}"
    )


async def test_attachment_ids_as_supportbees_own_clients_send_them(desk: SBDesk) -> None:
    ticket_id = await make_ticket(desk)
    attachment = (await upload(desk, ("c.txt", b"c", "text/plain")))["attachment"]
    body = {"reply": {"content_attributes": {"body": "Here", "attachment_ids": str(attachment["id"])}}}
    status, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body)
    assert status == 201, data
    assert [item["id"] for item in data["reply"]["content"]["attachments"]] == [attachment["id"]]


async def test_a_ticket_created_with_an_upload_serves_it(desk: SBDesk) -> None:
    attachment = (await upload(desk, ("screen.png", PNG, "image/png")))["attachment"]
    body = {
        "ticket": {
            "subject": "Broken",
            "requester_name": "Carol",
            "requester_email": "carol@example.com",
            "content": {"text": "See screenshot", "attachment_ids": [attachment["id"]]},
        }
    }
    status, data = await desk.call("POST", "/tickets", json=body)
    assert status == 201, data
    ticket = data["ticket"]
    assert ticket["content"]["attachments"] == [attachment]
    status, content, _ = await fetch(desk, ticket["content"]["attachments"][0]["url"]["original"])
    assert (status, content) == (200, PNG)
    _, replies = await desk.call("GET", f"/tickets/{ticket['id']}/replies", expect=200)
    assert replies == {"replies": []}


async def test_imported_ids_keep_working(desk: SBDesk) -> None:
    """A reply and attachment an import recorded SupportBee ids for answer at those ids, and only there."""
    ticket_id = await make_ticket(desk)
    attachment = (await upload(desk, ("old.txt", b"old", "text/plain")))["attachment"]
    body = {"reply": {"content": {"text": "Imported", "attachment_ids": [attachment["id"]]}}}
    _, data = await desk.call("POST", f"/tickets/{ticket_id}/replies", json=body, expect=201)
    internal_reply, internal_file = data["reply"]["id"], attachment["id"]
    async with desk.tenant.store.writer(desk.tenant.account_id) as w:
        await w.record_external_ref("supportbee", "message", "900000001", internal_reply)
        await w.record_external_ref("supportbee", "attachment", "900000002", internal_file)
    _, shown = await desk.call("GET", f"/tickets/{ticket_id}/replies/900000001", expect=200)
    assert shown["reply"]["id"] == 900000001
    (served,) = shown["reply"]["content"]["attachments"]
    assert served["id"] == 900000002
    assert served["url"]["original"].endswith("/attachments/900000002")
    status, content, _ = await fetch(desk, served["url"]["original"])
    assert (status, content) == (200, b"old")
    status, error = await desk.call("GET", f"/tickets/{ticket_id}/replies/{internal_reply}")
    assert_sb_error(status, error, 404)
    status, error = await desk.call("GET", f"/attachments/{internal_file}")
    assert_sb_error(status, error, 404)
