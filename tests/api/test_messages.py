"""Native API: messages — list, create (JSON and multipart with attachments), private notes, delete."""

from __future__ import annotations

import hashlib

import aiohttp

from bridge import appkeys
from tests.conftest import Tenant, assert_error


async def test_reply_note_and_incoming_message(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    _, reply = await tenant.call(
        "POST",
        f"/conversations/{display_id}/messages",
        json={"content": "Thanks for reaching out!", "message_type": "outgoing"},
        expect=200,
    )
    assert reply["conversation_id"] == display_id
    assert (reply["message_type"], reply["private"], reply["sender_type"]) == ("outgoing", False, "agent")
    _, note = await tenant.call(
        "POST", f"/conversations/{display_id}/messages", json={"content": "internal", "private": True}, expect=200
    )
    assert note["private"] is True
    _, incoming = await tenant.call(
        "POST",
        f"/conversations/{display_id}/messages",
        json={"content": "Customer says hi", "message_type": "incoming"},
        expect=200,
    )
    assert incoming["sender_type"] == "contact"
    _, listed = await tenant.call("GET", f"/conversations/{display_id}/messages", expect=200)
    assert [m["content"] for m in listed["payload"]] == ["Thanks for reaching out!", "internal", "Customer says hi"]
    assert listed["meta"]["contact"]["id"] == incoming["sender_id"]
    _, after = await tenant.call("GET", f"/conversations/{display_id}/messages?after={reply['id']}", expect=200)
    assert [m["id"] for m in after["payload"]] == [note["id"], incoming["id"]]


async def test_first_reply_and_last_activity_move_with_public_replies(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    _, before = await tenant.call("GET", f"/conversations/{display_id}", expect=200)
    assert before["first_reply_created_at"] is None
    await tenant.call("POST", f"/conversations/{display_id}/messages", json={"content": "note", "private": True})
    _, after_note = await tenant.call("GET", f"/conversations/{display_id}", expect=200)
    assert after_note["first_reply_created_at"] is None
    _, reply = await tenant.call("POST", f"/conversations/{display_id}/messages", json={"content": "reply"})
    _, after = await tenant.call("GET", f"/conversations/{display_id}", expect=200)
    assert after["first_reply_created_at"] == reply["created_at"]
    assert after["last_activity_at"] >= reply["created_at"]


async def test_multipart_message_with_attachments_downloads_the_same_bytes(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    form = aiohttp.FormData()
    form.add_field("content", "see attached")
    form.add_field("private", "true")
    form.add_field("attachments[]", png, filename="screen.png", content_type="image/png")
    form.add_field("attachments[]", b"plain text", filename="notes.txt", content_type="text/plain")
    status, message = await tenant.call("POST", f"/conversations/{display_id}/messages", data=form)
    assert status == 200, message
    assert message["private"] is True
    files = message["attachments"]
    assert [(f["file_name"], f["file_type"], f["file_size"]) for f in files] == [
        ("screen.png", "image", len(png)),
        ("notes.txt", "file", 10),
    ]
    assert files[0]["checksum"] == hashlib.sha256(png).hexdigest()
    path = files[0]["data_url"].split(str(tenant.client.server.port), 1)[1]
    async with tenant.client.get(path, headers=tenant.headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "image/png"
        assert await response.read() == png
    _, listed = await tenant.call("GET", f"/conversations/{display_id}/messages", expect=200)
    assert len(listed["payload"][0]["attachments"]) == 2


async def test_attachment_of_another_account_is_not_found(tenant: Tenant, other: Tenant) -> None:
    display_id = await other.conversation()
    form = aiohttp.FormData()
    form.add_field("attachments[]", b"secret", filename="s.txt", content_type="text/plain")
    _, message = await other.call("POST", f"/conversations/{display_id}/messages", data=form, expect=200)
    attachment_id = message["attachments"][0]["id"]
    status, data = await tenant.call("GET", f"/attachments/{attachment_id}/file")
    assert_error(status, data, 404)


async def test_message_bad_input(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    for body, field in [
        ({"content": ""}, "content"),
        ({}, "content"),
        ({"content": "x", "message_type": "shout"}, "message_type"),
        ({"content": "x", "private": "maybe"}, "private"),
        ({"content": "x", "content_attributes": []}, "content_attributes"),
    ]:
        status, data = await tenant.call("POST", f"/conversations/{display_id}/messages", json=body)
        assert_error(status, data, 422, field)
    status, data = await tenant.call(
        "POST", f"/conversations/{display_id}/messages", data=b"[1,", headers={"Content-Type": "application/json"}
    )
    assert_error(status, data, 400)


async def test_too_large_attachment_is_refused_and_nothing_is_written(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    tenant.store.max_attachment_bytes = 1000
    form = aiohttp.FormData()
    form.add_field("content", "big file")
    form.add_field("attachments[]", b"x" * 1001, filename="big.bin", content_type="application/octet-stream")
    status, data = await tenant.call("POST", f"/conversations/{display_id}/messages", data=form)
    assert_error(status, data, 413)
    _, listed = await tenant.call("GET", f"/conversations/{display_id}/messages", expect=200)
    assert listed["payload"] == []


async def test_delete_message(tenant: Tenant, other: Tenant) -> None:
    display_id = await tenant.conversation()
    _, message = await tenant.call("POST", f"/conversations/{display_id}/messages", json={"content": "oops"})
    await tenant.call("DELETE", f"/conversations/{display_id}/messages/{message['id']}", expect=200)
    _, listed = await tenant.call("GET", f"/conversations/{display_id}/messages", expect=200)
    assert listed["payload"] == []
    status, data = await tenant.call("DELETE", f"/conversations/{display_id}/messages/{message['id']}")
    assert_error(status, data, 404)
    other_display = await other.conversation()
    _, foreign = await other.call("POST", f"/conversations/{other_display}/messages", json={"content": "theirs"})
    status, data = await tenant.call("DELETE", f"/conversations/{display_id}/messages/{foreign['id']}")
    assert_error(status, data, 404)


async def test_deleting_a_message_keeps_a_file_another_message_shares(tenant: Tenant) -> None:
    display_id = await tenant.conversation()
    urls = []
    ids = []
    for _ in range(2):
        form = aiohttp.FormData()
        form.add_field("attachments[]", b"same bytes", filename="same.txt", content_type="text/plain")
        _, message = await tenant.call("POST", f"/conversations/{display_id}/messages", data=form, expect=200)
        urls.append(message["attachments"][0]["data_url"].split(str(tenant.client.server.port), 1)[1])
        ids.append(message["id"])
    await tenant.call("DELETE", f"/conversations/{display_id}/messages/{ids[0]}", expect=200)
    async with tenant.client.get(urls[1], headers=tenant.headers) as response:
        assert response.status == 200
        assert await response.read() == b"same bytes"
    await tenant.call("DELETE", f"/conversations/{display_id}/messages/{ids[1]}", expect=200)
    storage = tenant.client.app[appkeys.SETTINGS].attachments_dir
    assert not [p for p in storage.rglob("*") if p.is_file()]
