"""SupportBee wire details: Rails-style form keys, the spec's date formats, cc/bcc address lists."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.errors import BadRequest
from providers.supportbee.wire import format_time, parse_addresses, parse_date, parse_rails_form, truthy

UTC = dt.UTC


def test_rails_form_keys_nest_into_dicts_and_lists() -> None:
    form = [
        ("ticket[subject]", "Help"),
        ("ticket[content][text]", "body"),
        ("ticket[cc][]", "A <a@example.com>"),
        ("ticket[cc][]", "b@example.com"),
        ("auth_token", "t"),
    ]
    assert parse_rails_form(form) == {
        "ticket": {"subject": "Help", "content": {"text": "body"}, "cc": ["A <a@example.com>", "b@example.com"]},
        "auth_token": "t",
    }


def test_rails_form_conflicting_keys_are_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        parse_rails_form([("ticket", "x"), ("ticket[subject]", "y")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001-02-15T04:05:06+07:00", dt.datetime(2001, 2, 14, 21, 5, 6, tzinfo=UTC)),
        ("20010215T040506+0700", dt.datetime(2001, 2, 14, 21, 5, 6, tzinfo=UTC)),
        ("15th Feb 2001 04:05:06 PM", dt.datetime(2001, 2, 15, 16, 5, 6, tzinfo=UTC)),
        ("2001-02-15", dt.datetime(2001, 2, 15, tzinfo=UTC)),
        ("20010215", dt.datetime(2001, 2, 15, tzinfo=UTC)),
        ("2012-01-18T15:17:33Z", dt.datetime(2012, 1, 18, 15, 17, 33, tzinfo=UTC)),
    ],
)
def test_every_date_format_of_the_spec(text: str, expected: dt.datetime) -> None:
    assert parse_date(text, field="since") == expected


def test_unparseable_date_names_the_field() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_date("next tuesday", field="since")
    assert caught.value.field == "since"


def test_addresses_from_list_or_comma_string() -> None:
    assert parse_addresses(["Test1 <T1@example.com>", "t2@example.com"], field="cc") == [
        ("Test1", "t1@example.com"),
        ("", "t2@example.com"),
    ]
    assert parse_addresses("a@example.com, B <b@example.com>", field="cc") == [
        ("", "a@example.com"),
        ("B", "b@example.com"),
    ]
    assert parse_addresses(None, field="cc") == []


def test_addresses_are_capped_at_25_and_must_be_emails() -> None:
    with pytest.raises(BadRequest):
        parse_addresses([f"u{i}@example.com" for i in range(26)], field="cc")
    with pytest.raises(BadRequest):
        parse_addresses(["not an email"], field="bcc")
    with pytest.raises(BadRequest):
        parse_addresses([1, 2], field="cc")


def test_booleans_and_time_format() -> None:
    assert [truthy(v) for v in ("true", "1", "yes", True, "false", "0", "", None)] == [
        True, True, True, True, False, False, False, False,
    ]
    assert format_time(dt.datetime(2012, 1, 18, 15, 17, 33, 999, tzinfo=UTC)) == "2012-01-18T15:17:33Z"
