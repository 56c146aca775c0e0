"""``Writer.import_conversations``: the set-based write imports use, seen through the native API.

Fixtures are built here (a generated handful of conversations), not taken from a spec example.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.dialects import sqlite

from bridge.errors import Unprocessable
from bridge.models import Conversation, UTCDateTime
from bridge.schemas import AttachmentData, ConversationData, MessageData
from bridge.store import ConversationImport, bulk
from tests.conftest import Tenant

T0 = dt.datetime(2015, 3, 1, 9, 0, tzinfo=dt.UTC)


def minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


async def _people(tenant: Tenant) -> tuple[int, int]:
    inbox_id = await tenant.inbox()
    contact_id = await tenant.contact(email=f"{uuid.uuid4().hex[:8]}@example.com")
    return inbox_id, contact_id


def _item(inbox_id: int, contact_id: int, agent_id: int, display_id: int | None, **extra: object) -> ConversationImport:
    return ConversationImport(
        conversation=ConversationData(
            inbox_id=inbox_id, contact_id=contact_id, display_id=display_id, created_at=minutes(0), **extra
        ),
        messages=[
            MessageData(content="Hi", message_type="incoming", sender_type="contact", sender_id=contact_id,
                        created_at=minutes(0)),
            MessageData(content="Hello!", message_type="outgoing", sender_type="agent", sender_id=agent_id,
                        created_at=minutes(5)),
            MessageData(content="note", message_type="outgoing", private=True, sender_type="agent",
                        sender_id=agent_id, created_at=minutes(7)),
            MessageData(content="Thanks", message_type="incoming", sender_type="contact", sender_id=contact_id,
                        created_at=minutes(9)),
        ],
    )  # fmt: skip


async def test_imported_conversations_read_back_with_original_times_authors_and_labels(tenant: Tenant) -> None:
    inbox_id, contact_id = await _people(tenant)
    async with tenant.store.writer(tenant.account_id, import_mode=True) as w:
        written = await w.import_conversations(
            [
                _item(inbox_id, contact_id, tenant.user_id, 4001, labels=["billing", "VIP"], status="resolved"),
                _item(inbox_id, contact_id, tenant.user_id, 4002),
            ]
        )
    assert [row.display_id for row in written] == [4001, 4002]
    assert [len(row.message_ids) for row in written] == [4, 4]
    _, shown = await tenant.call("GET", "/conversations/4001", expect=200)
    assert shown["status"] == "resolved"
    assert sorted(shown["labels"]) == ["billing", "vip"]
    # What create_message would have done, message by message: the first public agent reply, the last public
    # activity, and waiting since the customer's last word.
    assert shown["first_reply_created_at"] == int(minutes(5).timestamp())
    assert shown["last_activity_at"] == int(minutes(9).timestamp())
    assert shown["created_at"] == int(minutes(0).timestamp())
    _, messages = await tenant.call("GET", "/conversations/4001/messages", expect=200)
    payload = messages["payload"]
    assert [m["content"] for m in payload] == ["Hi", "Hello!", "note", "Thanks"]
    assert [m["created_at"] for m in payload] == [int(minutes(n).timestamp()) for n in (0, 5, 7, 9)]
    senders = [(m["sender_type"], m["sender_id"]) for m in payload]
    assert senders[:2] == [("contact", contact_id), ("agent", tenant.user_id)]
    assert [m["private"] for m in payload] == [False, False, True, False]
    _, labels = await tenant.call("GET", "/labels", expect=200)
    assert {"billing", "vip"} <= {label["title"] for label in labels["payload"]}


async def test_authors_given_beside_the_messages_are_the_ones_stored(tenant: Tenant) -> None:
    # An importer names each message's author beside it (sender_ids) rather than copying every message; those
    # authors win over the messages' own sender_id.
    inbox_id, contact_id = await _people(tenant)
    other = await tenant.contact(email=f"{uuid.uuid4().hex[:8]}@example.com")
    item = _item(inbox_id, contact_id, tenant.user_id, None)
    item = ConversationImport(
        conversation=item.conversation, messages=item.messages, sender_ids=[other, tenant.user_id, None, contact_id]
    )
    async with tenant.store.writer(tenant.account_id, import_mode=True) as w:
        (row,) = await w.import_conversations([item])
    _, messages = await tenant.call("GET", f"/conversations/{row.display_id}/messages", expect=200)
    senders = [m["sender_id"] for m in messages["payload"]]
    assert senders == [other, tenant.user_id, None, contact_id]


async def test_wanted_display_ids_are_kept_where_free_and_native_ids_continue_after_an_imported_run(
    tenant: Tenant,
) -> None:
    inbox_id, contact_id = await _people(tenant)
    taken = await tenant.conversation(inbox_id=inbox_id, contact_id=contact_id)
    assert taken == 1
    wanted: list[int | None] = [1, 2, 2, None, *range(3, 40)]
    async with tenant.store.writer(tenant.account_id, import_mode=True) as w:
        written = await w.import_conversations([_item(inbox_id, contact_id, tenant.user_id, n) for n in wanted])
    ids = [row.display_id for row in written]
    assert len(set(ids)) == len(ids), "display ids are unique"
    assert 1 not in ids, "a taken id is not reused"
    assert ids[1] == 2, "a free wanted id is kept"
    assert ids[4:] == list(range(3, 40)), "free wanted ids are kept"
    assert all(n >= 40 for n in (ids[0], ids[2], ids[3])), "the rest come after the run of imported ids"
    # A conversation created natively afterwards takes the next free id rather than colliding.
    fresh = await tenant.conversation(inbox_id=inbox_id, contact_id=contact_id)
    assert fresh not in ids
    assert fresh > 1
    _, listing = await tenant.call("GET", "/conversations", params={"status": "all"}, expect=200)
    assert listing["data"]["meta"]["all_count"] == len(wanted) + 2


async def test_attachments_are_stored_and_served(tenant: Tenant) -> None:
    inbox_id, contact_id = await _people(tenant)
    item = _item(inbox_id, contact_id, tenant.user_id, None)
    with_file = item.messages[0].model_copy(
        update={"attachments": [AttachmentData(file_name="log.txt", content_type="text/plain", data=b"line\n" * 3)]}
    )
    item = ConversationImport(conversation=item.conversation, messages=[with_file, *item.messages[1:]])
    async with tenant.store.writer(tenant.account_id, import_mode=True) as w:
        (row,) = await w.import_conversations([item])
    assert len(row.attachment_ids[0]) == 1
    assert row.attachment_ids[1:] == [[], [], []]
    _, messages = await tenant.call("GET", f"/conversations/{row.display_id}/messages", expect=200)
    (attachment,) = messages["payload"][0]["attachments"]
    assert attachment["file_size"] == 15
    path = "/" + attachment["data_url"].split("/", 3)[3]
    async with tenant.client.get(path, headers=tenant.headers) as response:
        assert response.status == 200
        assert await response.read() == b"line\n" * 3


async def test_a_blank_message_refuses_the_whole_write(tenant: Tenant) -> None:
    inbox_id, contact_id = await _people(tenant)
    item = _item(inbox_id, contact_id, tenant.user_id, 777)
    blank = ConversationImport(conversation=item.conversation, messages=[MessageData(content="  ", created_at=T0)])
    with pytest.raises(Unprocessable):
        async with tenant.store.writer(tenant.account_id, import_mode=True) as w:
            await w.import_conversations([blank])
    await tenant.call("GET", "/conversations/777", expect=404)


async def test_only_imports_write_in_bulk(tenant: Tenant) -> None:
    inbox_id, contact_id = await _people(tenant)
    with pytest.raises(RuntimeError):
        async with tenant.store.writer(tenant.account_id) as w:
            await w.import_conversations([_item(inbox_id, contact_id, tenant.user_id, None)])


async def test_times_in_any_zone_and_repeated_ones_are_stored_as_the_same_instants(tenant: Tenant) -> None:
    # A bulk insert converts each distinct time once and reuses it: equal instants written in other zones, naive
    # times (taken as UTC) and repeats must still land on their own instants, message by message.
    inbox_id, contact_id = await _people(tenant)
    tokyo = dt.timezone(dt.timedelta(hours=9))
    times = [
        minutes(1),
        minutes(1).astimezone(tokyo),  # the same instant, written in Tokyo
        minutes(2).replace(tzinfo=None),  # naive: UTC
        minutes(1),
        minutes(3).astimezone(tokyo),
    ]
    item = ConversationImport(
        conversation=ConversationData(inbox_id=inbox_id, contact_id=contact_id, display_id=5001, created_at=T0),
        messages=[
            MessageData(content=f"m{n}", message_type="incoming", sender_type="contact", sender_id=contact_id,
                        created_at=at, content_attributes={} if n % 2 else {"n": n})
            for n, at in enumerate(times)
        ],
    )  # fmt: skip
    async with tenant.store.writer(tenant.account_id, import_mode=True) as w:
        await w.import_conversations([item])
    _, messages = await tenant.call("GET", "/conversations/5001/messages", expect=200)
    stored = {m["content"]: (m["created_at"], m["content_attributes"]) for m in messages["payload"]}
    assert stored == {
        "m0": (int(minutes(1).timestamp()), {"n": 0}),
        "m1": (int(minutes(1).timestamp()), {}),
        "m2": (int(minutes(2).timestamp()), {"n": 2}),
        "m3": (int(minutes(1).timestamp()), {}),
        "m4": (int(minutes(3).timestamp()), {"n": 4}),
    }


async def test_bulk_written_times_are_stored_as_the_orm_stores_them(tenant: Tenant) -> None:
    # SQLite keeps times as text and compares them as text: an imported message at a whole second must be stored
    # in the same form as one the ORM writes ("…:34.000000", not "…:34"), or range filters and ordering across
    # imported and native messages go wrong at equal instants. (On PostgreSQL both are the same timestamptz.)
    inbox_id, contact_id = await _people(tenant)
    at = minutes(3)
    item = ConversationImport(
        conversation=ConversationData(inbox_id=inbox_id, contact_id=contact_id, display_id=5101, created_at=T0),
        messages=[MessageData(content="bulk", message_type="incoming", sender_type="contact", created_at=at)],
    )
    async with tenant.store.writer(tenant.account_id, import_mode=True) as w:
        (row,) = await w.import_conversations([item])
        conversation = await w.get_row(Conversation, row.id)
        await w.create_message(
            conversation, MessageData(content="orm", message_type="incoming", sender_type="contact", created_at=at)
        )
    async with tenant.store.writer(tenant.account_id) as w:
        found = await w.session.execute(
            text("SELECT content, created_at FROM messages WHERE conversation_id = :c"), {"c": row.id}
        )
        stored = {content: created for content, created in found}
    assert stored["bulk"] == stored["orm"]


@given(
    st.datetimes(
        # hypothesis bounds are naive (the zones come from ``timezones``)
        min_value=dt.datetime(1, 1, 2),  # noqa: DTZ001
        max_value=dt.datetime(9999, 12, 30),  # noqa: DTZ001
        timezones=st.one_of(st.none(), st.just(dt.UTC), st.timezones()),
    )
)
def test_the_bulk_sqlite_time_text_is_sqlalchemys_for_any_time(moment: dt.datetime) -> None:
    # Bulk inserts bind SQLite times with one isoformat instead of SQLAlchemy's two Python-level steps: the text
    # must be the ORM's exactly (SQLite compares times as text), in any zone, naive ones taken as UTC.
    dialect = sqlite.dialect()
    orm = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    fast = bulk._processor(UTCDateTime(), dialect)
    assert orm is not None
    assert fast is bulk._sqlite_time_text
    assert fast(moment) == orm(moment)
