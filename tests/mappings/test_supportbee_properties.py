"""Property: any valid SupportBee ticket, with replies, comments, labels, cc/bcc and attachments, maps to the
Supportly model and back equal, field by field."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from mappings import supportbee as sb
from tests.mappings.supportbee_desk import SimulatedDesk

Json = dict[str, Any]
START = dt.datetime(2015, 6, 1, tzinfo=dt.UTC)
EMBEDDED_KEYS = ("id", "email", "first_name", "last_name", "name", "role", "agent", "picture")

texts = st.text(st.characters(codec="utf-8"), max_size=24)
optional_texts = st.none() | texts
emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,8}", fullmatch=True),
    st.sampled_from(["example.com", "Example.ORG", "mail.example.net"]),
)
colours = st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True) | st.from_regex(r"#[0-9a-f]{3}", fullmatch=True)
label_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_ ]{0,12}", fullmatch=True)
minutes = st.integers(min_value=0, max_value=5_000_000)


def at(minute: int) -> str:
    return (START + dt.timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def pictures(draw: st.DrawFn, email: str) -> Json:
    if draw(st.booleans()):
        return sb.user_picture(sb.gravatar_url(email)).to_wire()
    base = draw(st.sampled_from(["https://cdn.example.com/a/", "/images/avatars/x-"]))
    return {f"thumb{size}": f"{base}{size}.png" for size in (20, 24, 32, 48, 64, 128)}


@st.composite
def people(draw: st.DrawFn, *, user_id: int, agent: bool, teams: list[Json]) -> Json:
    """A user as GET /users shows it."""
    email = draw(emails)
    name = draw(optional_texts)
    first, _, last = (name or "").partition(" ")
    if draw(st.booleans()):
        first_name, last_name = (first or None, last or None) if name else (None, None)
    else:
        first_name, last_name = draw(optional_texts), draw(optional_texts)
    return {
        "id": user_id,
        "type": "user",
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "name": name,
        "role": draw(st.sampled_from(["admin", "agent", "collaborator"])) if agent else "customer",
        "agent": agent,
        "two_factor_authentication_enabled": draw(st.booleans()),
        "picture": draw(pictures(email)),
        "can_members_access_group_tickets": None,
        "email_domains": [],
        "members_count": 0,
        "active_tickets_count": draw(st.integers(min_value=0, max_value=50)),
        "teams": draw(st.lists(st.sampled_from(teams), unique_by=lambda team: team["id"])) if teams and agent else [],
    }


def embedded(user: Json) -> Json:
    return {key: user[key] for key in EMBEDDED_KEYS}


@st.composite
def attachment_lists(draw: st.DrawFn, ids: itertools.count[int]) -> list[Json]:
    items = []
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        attachment_id = next(ids)
        original = f"https://acme.supportbee.example/attachments/{attachment_id}"
        thumb = draw(st.sampled_from([f"{original}?version=thumb", f"{original}/thumb.png"]))
        items.append(
            {
                "id": attachment_id,
                "created_at": at(draw(minutes)),
                "filename": draw(texts),
                "content_type": draw(st.sampled_from(["image/png", "application/pdf; name=x.pdf", " text/plain "])),
                "url": {"original": original, "thumb": thumb},
            }
        )
    return items


@st.composite
def contents(draw: st.DrawFn, ids: itertools.count[int]) -> Json:
    return {"text": draw(optional_texts), "html": draw(optional_texts), "attachments": draw(attachment_lists(ids))}


@st.composite
def desks(draw: st.DrawFn) -> tuple[list[Json], list[Json], list[Json], Json, list[Json], list[Json]]:
    """Teams, agents, labels, one ticket, its replies and its comments, all consistent with each other."""
    attachment_ids = itertools.count(4000)
    teams = [
        {
            "id": team_id,
            "name": draw(texts),
            "picture": draw(st.sampled_from([sb.team_picture().to_wire(), {"thumb20": "/t/20.png"}])),
        }
        for team_id in range(1, draw(st.integers(min_value=0, max_value=2)) + 1)
    ]
    agents = [
        draw(people(user_id=user_id, agent=True, teams=teams))
        for user_id in range(1, draw(st.integers(min_value=1, max_value=3)) + 1)
    ]
    customers = [
        draw(people(user_id=user_id, agent=False, teams=[]))
        for user_id in range(100, 100 + draw(st.integers(min_value=1, max_value=4)))
    ]
    labels = draw(
        st.lists(
            st.fixed_dictionaries({"name": label_names, "color": colours}),
            max_size=4,
            unique_by=lambda label: sb.label_title(label["name"]),
        )
    )
    everyone = [*agents, *customers]
    created = draw(minutes)
    reply_times = sorted(draw(st.lists(minutes, max_size=3)))
    comment_times = sorted(draw(st.lists(minutes, max_size=3)))
    replies = [
        {
            "id": 2000 + index,
            "created_at": at(created + offset),
            "summary": draw(texts),
            "cc": [embedded(user) for user in draw(st.lists(st.sampled_from(everyone), max_size=2))],
            "bcc": [embedded(user) for user in draw(st.lists(st.sampled_from(everyone), max_size=1))],
            "ticket": {},
            "replier": embedded(draw(st.sampled_from(everyone))),
            "content": draw(contents(attachment_ids)),
            **draw(st.sampled_from([{}, {"via": "email"}])),
        }
        for index, offset in enumerate(reply_times)
    ]
    comments = [
        {
            "id": 3000 + index,
            "created_at": at(created + offset),
            "ticket": {},
            "commenter": embedded(draw(st.sampled_from(agents))),
            "content": draw(contents(attachment_ids)),
        }
        for index, offset in enumerate(comment_times)
    ]
    counts = {"replies_count": len(replies), "comments_count": len(comments)}
    for part in [*replies, *comments]:
        part["ticket"] = counts
    ticket_content = draw(contents(attachment_ids))
    derived_summary = " ".join((ticket_content["text"] or "").split())
    assignee = draw(st.none() | st.sampled_from(agents))
    team = draw(st.none() | st.sampled_from(teams)) if teams else None
    ticket = {
        "id": draw(st.integers(min_value=1, max_value=10**9)),
        "subject": draw(optional_texts),
        **counts,
        "last_activity_at": at(created + max([0, *reply_times, *comment_times])),
        "created_at": at(created),
        "unanswered": draw(st.booleans()),
        "archived": draw(st.booleans()),
        "spam": draw(st.booleans()),
        "trash": draw(st.booleans()),
        "starred": draw(st.booleans()),
        "summary": draw(st.sampled_from([derived_summary, "A summary of its own"])),
        "source": {"email": draw(st.none() | emails)},
        "cc": [embedded(user) for user in draw(st.lists(st.sampled_from(everyone), max_size=3))],
        "bcc": [embedded(user) for user in draw(st.lists(st.sampled_from(everyone), max_size=2))],
        "labels": draw(st.lists(st.sampled_from(labels), unique_by=lambda label: label["name"])) if labels else [],
        "current_user_assignee": None if assignee is None else {"user": embedded(assignee)},
        "current_team_assignee": None if team is None else {"team": team},
        "requester": embedded(draw(st.sampled_from(everyone))),
        "content": ticket_content,
        **draw(st.sampled_from([{}, {"priority_flag": True}])),
    }
    return teams, agents, labels, ticket, replies, comments


def assert_same_fields(back: Json, wire: Json, where: str) -> None:
    assert list(back) == list(wire), where
    for key, value in wire.items():
        assert back[key] == value, f"{where}.{key}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(desks())
def test_any_ticket_maps_to_canonical_and_back_field_by_field(
    desk_data: tuple[list[Json], list[Json], list[Json], Json, list[Json], list[Json]],
) -> None:
    teams, agents, labels, ticket, replies, comments = desk_data
    with capture_logs():
        desk = SimulatedDesk(viewer_external_id=str(agents[0]["id"]))
        for team in teams:
            desk.add_team(sb.team_to_canonical(team=sb.SBTeam.model_validate(team)))
        for agent in agents:
            desk.add_agent(sb.user_to_agent(user=sb.SBUser.model_validate(agent)))
        for label in labels:
            desk.add_label(sb.label_to_canonical(label=sb.SBLabel.model_validate(label)))
        conversation_id = desk.add_ticket(sb.SBTicket.model_validate(ticket))
        desk.add_replies(conversation_id, [sb.SBReply.model_validate(reply) for reply in replies])
        desk.add_comments(conversation_id, [sb.SBComment.model_validate(comment) for comment in comments])

        assert_same_fields(desk.ticket(conversation_id).to_wire(), ticket, "ticket")
        back_replies = [reply.to_wire() for reply in desk.replies(conversation_id)]
        back_comments = [comment.to_wire() for comment in desk.comments(conversation_id)]
    assert len(back_replies) == len(replies)
    for index, (back, wire) in enumerate(zip(back_replies, replies, strict=True)):
        assert_same_fields(back, wire, f"replies[{index}]")
    assert len(back_comments) == len(comments)
    for index, (back, wire) in enumerate(zip(back_comments, comments, strict=True)):
        assert_same_fields(back, wire, f"comments[{index}]")
    for team in teams:
        team_id = desk.internal("team", str(team["id"]))
        assert team_id is not None
        assert sb.team_to_legacy(team=desk.teams[team_id], legacy=desk.legacy).to_wire() == team
    for agent in agents:
        agent_id = desk.internal("agent", str(agent["id"]))
        assert agent_id is not None
        assert sb.agent_to_user(agent=desk.agents[agent_id], legacy=desk.legacy).to_wire() == agent


# Texts made of words and the whitespace real texts have: spaces, paragraph breaks, lone newlines, tabs, NBSP.
summary_texts = st.lists(
    st.sampled_from(["word", "Word.", "é", "--", " ", "  ", "\n", "\n\n", "\n\n\n", "\t", "\u00a0", "\r\n"]),
    max_size=12,
).map("".join)


@given(summary_texts, st.sampled_from(["summarized", "breaks as spaces", "other"]), texts)
def test_the_summary_check_agrees_with_summarizing_the_text(text: str, kind: str, other: str) -> None:
    # The mapping keeps a wire summary only when it is not the text's own summary; the quick check must agree
    # with building the summary in every case, including the ones its fast path rejects.
    summary = {"summarized": sb.summarize(text), "breaks as spaces": text.replace("\n\n", " "), "other": other}[kind]
    assert sb.is_summary_of(summary, text) == (summary == sb.summarize(text))
    assert sb.is_summary_of(None, text) is False


def test_a_message_s_text_is_stripped_of_every_character_pydantic_strips() -> None:
    # A text is stripped as MessageData strips it; the mapping skips pydantic when the text's first and last
    # characters are not str.isspace. Every character pydantic strips must be one of those, at either end.
    stripped = sb._STRIPPED.validate_python
    for code in itertools.chain(range(0xD800), range(0xE000, 0x110000)):
        char = chr(code)
        for text in (f"{char}a", f"a{char}"):
            assert sb._stripped(text) == stripped(text), hex(code)
    assert sb._stripped(" \u3000text\n\n") == "text"
    assert sb._stripped("") == ""
