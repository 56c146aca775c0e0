"""Property: any valid ticket with replies, comments, labels, cc/bcc and attachments written through the
SupportBee compat routes reads back equal, field by field (hypothesis, with shrinking).

The app runs on an event loop this module owns, so hypothesis drives each generated example synchronously
against one running server; every example writes a new ticket into the same desk.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bridge import appkeys
from bridge.app import create_app
from bridge.schemas import LabelData
from bridge.settings import Settings
from tests.conftest import make_tenant

texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30).filter(
    lambda value: value.strip() != "" and value == value.strip()
)
names = st.from_regex(r"[^\W\d_]{1,8}( [^\W\d_]{1,8}){0,2}", fullmatch=True)
files = st.lists(
    st.tuples(st.from_regex(r"[a-z0-9_-]{1,10}\.(txt|png|pdf)", fullmatch=True), st.binary(min_size=1, max_size=64)),
    max_size=2,
)
contents = st.fixed_dictionaries({"text": texts, "html": st.none() | texts, "files": files})
LABELS = ["billing", "vip", "refund", "bug"]
PLURAL = {"reply": "replies", "comment": "comments"}
tickets = st.fixed_dictionaries(
    {
        "subject": texts,
        "requester_name": names,
        "content": contents,
        "cc": st.lists(st.none() | names, max_size=3),
        "bcc": st.lists(st.none() | names, max_size=3),
        "labels": st.lists(st.sampled_from(LABELS), unique=True, max_size=3),
        "thread": st.lists(st.tuples(st.sampled_from(["reply", "comment"]), contents), max_size=4),
    }
)


@dataclass
class Live:
    loop: asyncio.AbstractEventLoop
    client: TestClient[Any, Any]
    company: str
    token: str

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        params = {"auth_token": self.token, **kwargs.pop("params", {})}
        async with self.client.request(method, f"/supportbee/{self.company}{path}", params=params, **kwargs) as r:
            body = await r.json() if r.content_type == "application/json" else await r.read()
            assert r.status == expect, (method, path, r.status, body)
            return body


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[Live]:
    settings = Settings(
        database_url=database_url,
        auto_migrate=False,
        allow_private_urls=True,
        attachments_dir=tmp_path / "attachments",
        rate_limit=1_000_000,
        supportbee_create_per_minute=1_000_000,
        supportbee_public_create_per_hour=1_000_000,
    )
    loop = asyncio.new_event_loop()
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings)), loop=loop)
    loop.run_until_complete(client.start_server())
    try:

        async def set_up() -> Live:
            tenant = await make_tenant(client, "Property desk")
            company = f"prop{uuid.uuid4().hex[:8]}"
            await tenant.call("POST", "/legacy_tenants", json={"provider": "supportbee", "name": company}, expect=201)
            async with client.app[appkeys.STORE].writer(tenant.account_id) as w:
                for title in LABELS:
                    await w.create_label(LabelData(title=title))
            return Live(loop, client, company, tenant.token)

        yield loop.run_until_complete(set_up())
    finally:
        loop.run_until_complete(client.close())
        loop.close()


async def _upload(live: Live, name: str, data: bytes) -> int:
    form = aiohttp.FormData()
    form.add_field("files[]", data, filename=name, content_type="application/octet-stream")
    body = await live.call("POST", "/attachments", 201, data=form)
    return int(body["attachment"]["id"])


async def _content(live: Live, content: dict[str, Any]) -> dict[str, Any]:
    sent: dict[str, Any] = {"text": content["text"]}
    if content["html"] is not None:
        sent["html"] = content["html"]
    sent["attachment_ids"] = [await _upload(live, name, data) for name, data in content["files"]]
    return sent


def _addresses(people: list[str | None], tag: str) -> list[tuple[str | None, str]]:
    return [(name, f"{tag}{index}-{uuid.uuid4().hex[:6]}@customer.example") for index, name in enumerate(people)]


async def _check_content(live: Live, shown: dict[str, Any], wanted: dict[str, Any]) -> None:
    assert shown["text"] == wanted["text"]
    assert shown["html"] == wanted["html"]
    assert [a["filename"] for a in shown["attachments"]] == [name for name, _ in wanted["files"]]
    for attachment, (_, data) in zip(shown["attachments"], wanted["files"], strict=True):
        path = attachment["url"]["original"].split(f"/supportbee/{live.company}", 1)[1]
        assert await live.call("GET", path, 200) == data


async def _scenario(live: Live, sample: dict[str, Any]) -> None:
    cc = _addresses(sample["cc"], "cc")
    bcc = _addresses(sample["bcc"], "bcc")
    requester = f"req-{uuid.uuid4().hex[:8]}@customer.example"
    created = await live.call(
        "POST",
        "/tickets",
        201,
        json={
            "ticket": {
                "subject": sample["subject"],
                "requester_name": sample["requester_name"],
                "requester_email": requester,
                "cc": [f"{name} <{email}>" if name else email for name, email in cc],
                "bcc": [f"{name} <{email}>" if name else email for name, email in bcc],
                "content": await _content(live, sample["content"]),
            }
        },
    )
    ticket_id = created["ticket"]["id"]
    for label in sample["labels"]:
        await live.call("POST", f"/tickets/{ticket_id}/labels/{label}", 201)
    for kind, content in sample["thread"]:
        await live.call(
            "POST", f"/tickets/{ticket_id}/{PLURAL[kind]}", 201, json={kind: {"content": await _content(live, content)}}
        )

    back = (await live.call("GET", f"/tickets/{ticket_id}", 200))["ticket"]
    assert back["subject"] == sample["subject"]
    assert (back["requester"]["email"], back["requester"]["name"]) == (requester, sample["requester_name"])
    for shown, wanted in ((back["cc"], cc), (back["bcc"], bcc)):
        assert [user["email"] for user in shown] == [email for _, email in wanted]
        assert [user["name"] for user in shown] == [name or email.split("@")[0] for name, email in wanted]
    await _check_content(live, back["content"], sample["content"])
    assert sorted(label["name"] for label in back["labels"]) == sorted(sample["labels"])
    replies = [content for kind, content in sample["thread"] if kind == "reply"]
    comments = [content for kind, content in sample["thread"] if kind == "comment"]
    assert (back["replies_count"], back["comments_count"]) == (len(replies), len(comments))
    shown_replies = (await live.call("GET", f"/tickets/{ticket_id}/replies", 200))["replies"]
    shown_comments = (await live.call("GET", f"/tickets/{ticket_id}/comments", 200))["comments"]
    assert len(shown_replies) == len(replies)
    assert len(shown_comments) == len(comments)
    for shown, wanted in zip(shown_replies, replies, strict=True):
        await _check_content(live, shown["content"], wanted)
    for shown, wanted in zip(shown_comments, comments, strict=True):
        await _check_content(live, shown["content"], wanted)
    assert back["unanswered"] is (not replies)


# Shrinking a failure replays many examples through HTTP: give it time to find the smallest one.
@pytest.mark.timeout(900)
@hypothesis_settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sample=tickets)
def test_any_ticket_written_through_the_routes_reads_back_equal(live: Live, sample: dict[str, Any]) -> None:
    live.run(_scenario(live, sample))
