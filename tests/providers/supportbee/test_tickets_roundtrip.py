"""Generated tickets created through ``POST /tickets`` read back through ``GET /tickets/{id}`` as they were sent:
subject, requester, cc/bcc, content text and html, and attachments."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bridge.settings import Settings
from tests.providers.supportbee import tickets_support as t
from tests.providers.supportbee.conftest import SBDesk

# Any text but NUL (PostgreSQL refuses it; the route answers 400) with something that is not blank.
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40).filter(
    lambda value: value.strip() != ""
)
# Display names as "Name <email>" carries them: letters, single inner spaces.
names = st.from_regex(r"[^\W\d_]{1,10}( [^\W\d_]{1,10}){0,2}", fullmatch=True)
people = st.lists(st.none() | names, max_size=4)
files = st.lists(
    st.tuples(st.from_regex(r"[a-z0-9_-]{1,12}\.(txt|png|pdf)", fullmatch=True), st.binary(max_size=64)), max_size=2
)
tickets = st.fixed_dictionaries(
    {
        "subject": texts,
        "requester_name": names,
        "text": texts,
        "html": st.none() | texts,
        "cc": people,
        "bcc": people,
        "files": files,
        "cc_as_string": st.booleans(),
    }
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"supportbee_create_per_minute": 10_000, "supportbee_public_create_per_hour": 10_000}
    )


def generated(count: int) -> list[dict[str, Any]]:
    """Draw ``count`` tickets from the strategy (the HTTP calls run afterwards, on the test's event loop)."""
    drawn: list[dict[str, Any]] = []

    @hypothesis_settings(max_examples=count, database=None, deadline=None)
    @given(tickets)
    def draw(ticket: dict[str, Any]) -> None:
        drawn.append(ticket)

    draw()
    return drawn


def addresses(names: list[str | None], tag: str) -> list[tuple[str | None, str]]:
    return [(name, f"{tag}{index}-{uuid.uuid4().hex[:6]}@customer.example") for index, name in enumerate(names)]


async def test_generated_tickets_read_back_as_sent(desk: SBDesk) -> None:
    for sample in generated(30):
        uploads = [await t.upload(desk, name, data, "application/octet-stream") for name, data in sample["files"]]
        cc = addresses(sample["cc"], "cc")
        bcc = addresses(sample["bcc"], "bcc")
        wire_cc = [f"{name} <{email}>" if name else email for name, email in cc]
        content: dict[str, Any] = {"text": sample["text"], "attachment_ids": uploads}
        if sample["html"] is not None:
            content["html"] = sample["html"]
        sent = {
            "subject": sample["subject"],
            "requester_name": sample["requester_name"],
            "requester_email": f"req-{uuid.uuid4().hex[:8]}@customer.example",
            "cc": ", ".join(wire_cc) if sample["cc_as_string"] else wire_cc,
            "bcc": [f"{name} <{email}>" if name else email for name, email in bcc],
            "content": content,
        }
        status, data = await desk.call("POST", "/tickets", json={"ticket": sent}, token=None)
        assert status == 201, (sample, data)
        back = await t.ticket(desk, data["ticket"]["id"])
        assert back == data["ticket"], sample
        assert back["subject"] == sample["subject"], sample
        assert (back["requester"]["name"], back["requester"]["email"]) == (
            sample["requester_name"],
            sent["requester_email"],
        )
        for shown, wanted in ((back["cc"], cc), (back["bcc"], bcc)):
            assert [user["email"] for user in shown] == [email for _, email in wanted], sample
            assert [user["name"] for user in shown] == [name or email.split("@")[0] for name, email in wanted], sample
        assert (back["content"]["text"], back["content"]["html"]) == (sample["text"], sample["html"]), sample
        assert [(a["id"], a["filename"]) for a in back["content"]["attachments"]] == [
            (upload, name) for upload, (name, _) in zip(uploads, sample["files"], strict=True)
        ], sample
