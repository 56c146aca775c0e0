"""The ticket reader's plans (``providers/supportbee/reading.py``): a batch sends each of its agents once, and a
page of them reaches the importing process without the garbage collector walking it.

Data: the benchmark's deterministic desk (``fixtures/supportbee/generator.py``), its tickets as the API serves them.
"""

from __future__ import annotations

import gc
import pickle
from typing import Any

import orjson

from bridge.migration.collector import tuned_for_import
from fixtures.supportbee.generator import BulkDesk
from mappings import supportbee as sb
from providers.supportbee.reading import SharedUsers, TicketPlan, plan_ticket

ORIGIN = "http://desk.example"


def plans(count: int) -> list[TicketPlan]:
    desk = BulkDesk(200)

    def wire(value: Any) -> Any:  # as the reader receives it: JSON, parsed
        return orjson.loads(orjson.dumps(value))

    return [
        plan_ticket(
            {
                "ticket": wire(desk.ticket_json(i, ORIGIN)),
                "replies": wire(desk.replies_json(i, ORIGIN)),
                "comments": wire(desk.comments_json(i, ORIGIN)),
            },
            viewer_id=1,
        )
        for i in range(1, count + 1)
    ]


def test_a_batch_holds_one_object_for_each_agent_and_pickles_smaller() -> None:
    batch = plans(40)
    before = len(pickle.dumps(batch))
    users = SharedUsers()
    for plan in batch:
        users.adopt(plan)
    named = [user for plan in batch for user in [*plan.authors.values(), plan.assignee] if user is not None]
    assert len(named) > 100
    assert len({id(user) for user in named}) == len({user.id for user in named})
    assert len(pickle.dumps(batch)) < before
    # What the importer gets back is what it would have got: every plan's agents, equal to the mapped ones.
    assert [(p.authors, p.assignee) for p in pickle.loads(pickle.dumps(batch))] == [
        (p.authors, p.assignee) for p in plans(40)
    ]


def test_an_agent_is_shared_only_with_an_identical_copy() -> None:
    first = sb.SBUser.model_validate({"id": 7, "name": "Ada", "picture": {"thumb20": "a.png"}})
    differing = [
        sb.SBUser.model_validate({"id": 7, "name": "Ada", "picture": {"thumb20": "b.png"}}),
        sb.SBUser.model_validate({"id": 7, "name": "Ada", "picture": {"thumb20": "a.png", "thumb24": None}}),
        sb.SBUser.model_validate({"id": 7, "name": "Ada", "email": None, "picture": {"thumb20": "a.png"}}),
        sb.SBUser.model_validate({"id": 7, "name": "Ada", "picture": {"thumb20": "a.png"}, "title": "CEO"}),
    ]
    same = sb.SBUser.model_validate({"id": 7, "name": "Ada", "picture": {"thumb20": "a.png"}})
    batch = plans(1 + len(differing) + 1)
    for plan, user in zip(batch, [first, *differing, same], strict=True):
        plan.authors = {"7": user}
    users = SharedUsers()
    for plan in batch:
        users.adopt(plan)
    kept = [plan.authors["7"] for plan in batch]
    assert kept[0] is first
    assert [k is d for k, d in zip(kept[1:-1], differing, strict=True)] == [True] * len(differing)
    assert kept[-1] is first
    # Each differing copy still writes back exactly what SupportBee sent.
    assert [k.to_wire() for k in kept[1:-1]] == [d.to_wire() for d in differing]


def test_a_page_of_plans_arrives_without_the_collector_walking_it() -> None:
    # The importing process unpickles a page of 99 plans (about 100,000 containers that live until the page is
    # written); while a job runs, the young generation is not collected in the middle of it (bridge.migration.
    # collector). Each such collection walked the page's live objects and freed next to nothing.
    page = pickle.dumps(plans(99))
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    with tuned_for_import():
        gc.collect()
        gc.callbacks.append(count)
        try:
            arrived = pickle.loads(page)
        finally:
            gc.callbacks.remove(count)
    assert len(arrived) == 99
    assert collections == []
