"""Provider-agnostic outbound machinery: streams, error classes, Retry-After, adaptive limits, downloads, URL policy."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from bridge import outbound
from bridge.net import UnsafeURL
from bridge.outbound import (
    AdaptiveLimiter,
    FatalSourceError,
    OutboundClient,
    QueryTokenAuth,
    ReadAhead,
    RetriableSourceError,
    RetryPolicy,
    SkippableRecordError,
    Stream,
    gather_or_cancel,
    parse_retry_after,
    read_ahead,
)

TOKEN = "s3cret-token"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ITEMS = Stream("items", "/items", "items", paginated=True, page_size=2)


class FakeClock:
    """A clock whose ``sleep`` returns at once and moves time forward, recording each wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Source:
    """A tiny legacy API: ``/items`` paginated, plus routes a test can script."""

    def __init__(self, items: int = 5) -> None:
        self.items = [{"id": n} for n in range(1, items + 1)]
        self.seen: list[web.Request] = []
        self.routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}
        # Sees every request first: an answer of its own, or None for the usual one.
        self.intercept: Callable[[web.Request], Awaitable[web.StreamResponse | None]] | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request)
        if self.intercept is not None and (answer := await self.intercept(request)) is not None:
            return answer
        custom = self.routes.get(request.path)
        if custom is not None:
            return await custom(request)
        if request.path != "/items":
            raise web.HTTPNotFound()
        if request.query.get("auth_token") != TOKEN:
            return web.json_response({"error": "bad token"}, status=401)
        page, per_page = int(request.query["page"]), int(request.query["per_page"])
        window = self.items[(page - 1) * per_page : page * per_page]
        pages = -(-len(self.items) // per_page)
        return web.json_response({"total": len(self.items), "total_pages": pages, "items": window})


@pytest.fixture
async def source() -> AsyncIterator[tuple[Source, str]]:
    api = Source()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield api, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_client(http: aiohttp.ClientSession, base_url: str, **options: Any) -> OutboundClient:
    options.setdefault("allow_private_urls", True)
    options.setdefault("rng", random.Random(3))
    return OutboundClient(http, base_url=base_url, auth=QueryTokenAuth(TOKEN), **options)


# -- pure pieces -----------------------------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120", now=NOW) == 120.0
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=45), usegmt=True), now=NOW) == 45.0
    assert parse_retry_after(format_datetime(NOW - timedelta(seconds=45), usegmt=True), now=NOW) == 0.0
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None


def test_backoff_grows_exponentially_with_jitter_up_to_a_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    delays = {attempt: [policy.backoff(attempt, rng) for _ in range(200)] for attempt in (1, 2, 3, 4, 6)}
    assert max(delays[1]) <= 1.0
    assert max(delays[2]) <= 2.0
    assert max(delays[3]) <= 4.0
    assert max(delays[4]) > 4.0, "the ceiling doubles"
    assert max(delays[6]) <= 8.0, "and stops at max_delay"
    assert len({round(d, 6) for d in delays[3]}) > 100, "jittered, not lockstep"


async def test_limiter_halves_on_429_and_recovers_slowly() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(8, clock=clock.monotonic, sleep=clock.sleep, recover_after=3)

    limiter.on_throttled(2.0)
    limiter.on_throttled(2.0)
    assert (limiter.limit, limiter.interval) == (2, 0.2)
    async with limiter.slot():
        pass
    assert clock.sleeps == [2.0], "everyone waits out the pause"

    for _ in range(3):
        limiter.on_success()
    assert (limiter.limit, limiter.interval) == (3, 0.1)
    for _ in range(3 * 8):
        limiter.on_success()
    assert (limiter.limit, limiter.interval) == (8, 0.0)


async def test_limiter_never_exceeds_its_bound() -> None:
    limiter = AdaptiveLimiter(3, clock=lambda: 0.0, sleep=asyncio.sleep)
    peak = 0

    async def work() -> None:
        nonlocal peak
        async with limiter.slot():
            peak = max(peak, limiter.in_flight)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(work() for _ in range(12)))
    assert peak == 3


async def test_limiter_serves_waiters_in_order_and_a_cancelled_waiter_keeps_no_slot() -> None:
    limiter = AdaptiveLimiter(1, clock=lambda: 0.0, sleep=asyncio.sleep)
    order: list[str] = []
    release = asyncio.Event()

    async def work(name: str, hold: asyncio.Event | None = None) -> None:
        async with limiter.slot():
            order.append(name)
            if hold is not None:
                await hold.wait()

    first = asyncio.create_task(work("first", release))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(work(name)) for name in ("b", "c", "d")]
    await asyncio.sleep(0)
    waiting[1].cancel()  # "c" gives up while waiting
    release.set()
    await asyncio.gather(first, waiting[0], waiting[2])
    assert order == ["first", "b", "d"]
    assert limiter.in_flight == 0


async def test_limiter_hands_on_a_slot_granted_to_a_waiter_cancelled_before_it_ran() -> None:
    limiter = AdaptiveLimiter(1, clock=lambda: 0.0, sleep=asyncio.sleep)
    done: list[str] = []

    async def work(name: str) -> None:
        async with limiter.slot():
            done.append(name)

    held = limiter.slot()
    await held.__aenter__()
    granted, later = asyncio.create_task(work("granted")), asyncio.create_task(work("later"))
    await asyncio.sleep(0)  # both wait
    await held.__aexit__(None, None, None)  # grants the slot to "granted" without letting it run
    granted.cancel()
    await asyncio.wait_for(later, 1)
    assert done == ["later"]
    assert limiter.in_flight == 0


async def test_a_limit_lowered_while_requests_are_out_holds_new_ones_back() -> None:
    limiter = AdaptiveLimiter(4, clock=lambda: 0.0, sleep=asyncio.sleep)
    out = [limiter.slot() for _ in range(4)]
    for held in out:
        await held.__aenter__()
    limiter.on_throttled(0.0)  # limit 4 -> 2 while 4 are out
    newcomer = limiter.slot()
    entering = asyncio.create_task(newcomer.__aenter__())
    for held in out[:2]:
        await held.__aexit__(None, None, None)
        await asyncio.sleep(0)
        assert not entering.done(), "still at the lowered limit"
    await out[2].__aexit__(None, None, None)
    await asyncio.wait_for(entering, 1)
    assert limiter.in_flight == 2
    for held in (out[3], newcomer):
        await held.__aexit__(None, None, None)
    assert limiter.in_flight == 0


async def test_gather_or_cancel_cancels_the_rest_on_first_error() -> None:
    finished: list[int] = []

    async def slow() -> int:
        await asyncio.sleep(5)
        finished.append(1)
        return 1

    async def failing() -> int:
        raise SkippableRecordError("gone")

    with pytest.raises(SkippableRecordError):
        await gather_or_cancel(slow(), failing())
    await asyncio.sleep(0)
    assert finished == []


# -- streams ---------------------------------------------------------------------------------------------------


async def test_stream_pages_until_total_pages(source: tuple[Source, str], http: aiohttp.ClientSession) -> None:
    api, url = source
    client = make_client(http, url)

    pages = [page async for page in client.pages(ITEMS)]

    assert [[r["id"] for r in p.records] for p in pages] == [[1, 2], [3, 4], [5]]
    assert [p.total_pages for p in pages] == [3, 3, 3]
    assert [r.query["page"] for r in api.seen] == ["1", "2", "3"]


async def test_pages_requested_ahead_come_in_order_and_ahead_of_the_reader(
    source: tuple[Source, str], http: aiohttp.ClientSession
) -> None:
    api, url = source
    api.items = [{"id": n} for n in range(1, 10)]  # five pages of two
    client = make_client(http, url)
    pages = client.pages(ITEMS, ahead=2)

    first = await anext(pages)
    for _ in range(200):  # pages 2 and 3 are asked for while the caller still holds page 1
        if len(api.seen) == 3:
            break
        await asyncio.sleep(0.01)
    assert sorted(r.query["page"] for r in api.seen) == ["1", "2", "3"]
    rest = [page async for page in pages]

    assert [[r["id"] for r in p.records] for p in [first, *rest]] == [[1, 2], [3, 4], [5, 6], [7, 8], [9]]
    assert sorted(r.query["page"] for r in api.seen) == ["1", "2", "3", "4", "5"], "each page once, none past the end"


async def test_an_error_of_a_page_requested_ahead_is_raised_in_its_turn(
    source: tuple[Source, str], http: aiohttp.ClientSession
) -> None:
    api, url = source
    api.items = [{"id": n} for n in range(1, 10)]

    async def third_page_gone(request: web.Request) -> web.StreamResponse | None:
        return web.json_response({"error": "gone"}, status=404) if request.query.get("page") == "3" else None

    api.intercept = third_page_gone
    client = make_client(http, url)
    got: list[int] = []

    async def read_all() -> None:
        async for page in client.pages(ITEMS, ahead=3):
            got.extend(r["id"] for r in page.records)

    with pytest.raises(SkippableRecordError):
        await read_all()
    assert got == [1, 2, 3, 4], "the pages before the failed one are yielded first"


async def test_closing_the_pages_cancels_the_requests_ahead(
    source: tuple[Source, str], http: aiohttp.ClientSession
) -> None:
    api, url = source
    api.items = [{"id": n} for n in range(1, 10)]
    held = asyncio.Event()
    never = asyncio.Event()

    async def later_pages_hang(request: web.Request) -> web.StreamResponse | None:
        if request.query.get("page") != "1":
            held.set()
            await never.wait()
        return None

    api.intercept = later_pages_hang
    client = make_client(http, url)
    pages = client.pages(ITEMS, ahead=2)
    first = await anext(pages)
    await asyncio.wait_for(held.wait(), 5)

    await asyncio.wait_for(pages.aclose(), 5)  # returns at once although pages 2 and 3 never answer
    assert [r["id"] for r in first.records] == [1, 2]


async def test_base_url_path_prefix_is_kept(source: tuple[Source, str], http: aiohttp.ClientSession) -> None:
    api, url = source

    async def prefixed(request: web.Request) -> web.Response:
        return web.json_response({"items": [{"id": 1}]})

    api.routes["/supportbee/demo/items"] = prefixed
    client = make_client(http, url + "/supportbee/demo/")

    assert await client.collect(Stream("items", "/items", "items")) == [{"id": 1}]


async def test_unexpected_shape_is_fatal(source: tuple[Source, str], http: aiohttp.ClientSession) -> None:
    api, url = source

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>login</html>", content_type="text/html")

    async def other(request: web.Request) -> web.Response:
        return web.json_response({"data": []})

    api.routes["/html"] = html
    api.routes["/other"] = other
    client = make_client(http, url)

    with pytest.raises(FatalSourceError, match="JSON"):
        await client.collect(Stream("x", "/html", "x"))
    with pytest.raises(FatalSourceError, match="'x'"):
        await client.collect(Stream("x", "/other", "x"))


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, FatalSourceError), (403, FatalSourceError), (400, FatalSourceError), (404, SkippableRecordError)],
)
async def test_statuses_map_to_what_to_do_next(
    source: tuple[Source, str], http: aiohttp.ClientSession, status: int, error: type[Exception]
) -> None:
    api, url = source

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"error": "no"}, status=status)

    api.routes["/thing"] = answer
    client = make_client(http, url)

    with pytest.raises(error) as caught:
        await client.get_json("/thing")
    assert getattr(caught.value, "status", None) == status
    assert len(api.seen) == 1, "only throttling, 5xx and connection errors are retried"


async def test_tolerated_statuses_read_as_empty_with_a_warning(
    source: tuple[Source, str], http: aiohttp.ClientSession
) -> None:
    api, url = source

    async def denied(request: web.Request) -> web.Response:
        return web.json_response({"error": "admins only"}, status=403)

    api.routes["/rules"] = denied
    client = make_client(http, url)

    with capture_logs() as logs:
        rules = await client.collect(Stream("rules", "/rules", "rules", tolerate=frozenset({403})))
    with pytest.raises(FatalSourceError):
        await client.collect(Stream("rules", "/rules", "rules"))

    assert rules == []
    assert [(e["event"], e["stream"], e["status"]) for e in logs] == [(outbound.EVENT_STREAM_UNREADABLE, "rules", 403)]


async def test_connection_errors_are_retried_then_retriable_with_the_cause(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    client = make_client(http, "http://127.0.0.1:9", retry=RetryPolicy(max_attempts=3), sleep=clock.sleep)

    with pytest.raises(RetriableSourceError) as caught:
        await client.get_json("/items")

    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectionError)
    assert len(clock.sleeps) == 2


async def test_retry_after_longer_than_the_budget_means_resume_later(
    source: tuple[Source, str], http: aiohttp.ClientSession
) -> None:
    api, url = source

    async def busy(request: web.Request) -> web.Response:
        return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "3600"})

    api.routes["/busy"] = busy
    clock = FakeClock()
    client = make_client(http, url, sleep=clock.sleep, clock=clock.monotonic)

    with pytest.raises(RetriableSourceError) as caught:
        await client.get_json("/busy")

    assert caught.value.retry_after == 3600.0
    assert clock.sleeps == [], "an hour is not slept through inside a request"


async def test_429_slows_everyone_down_then_recovers(source: tuple[Source, str], http: aiohttp.ClientSession) -> None:
    api, url = source
    answers = iter([429])

    async def flaky(request: web.Request) -> web.Response:
        status = next(answers, 200)
        headers = {"Retry-After": "2"} if status == 429 else {}
        return web.json_response({"ok": True}, status=status, headers=headers)

    api.routes["/flaky"] = flaky
    clock = FakeClock()
    client = make_client(http, url, concurrency=4, sleep=clock.sleep, clock=clock.monotonic)
    client.limiter = AdaptiveLimiter(4, clock=clock.monotonic, sleep=clock.sleep, recover_after=2)

    with capture_logs() as logs:
        await client.get_json("/flaky")
        assert client.limiter.limit == 2
        assert client.limiter.interval > 0
        for _ in range(8):
            await client.get_json("/flaky")

    assert client.limiter.limit == 4
    assert client.limiter.interval == 0.0
    assert outbound.EVENT_RECOVERED in [e["event"] for e in logs]
    assert clock.sleeps[0] >= 2.0


# -- credentials, URLs and logs --------------------------------------------------------------------------------


async def test_token_never_reaches_logs_or_errors(source: tuple[Source, str], http: aiohttp.ClientSession) -> None:
    api, url = source

    async def failing(request: web.Request) -> web.Response:
        return web.json_response({"error": "boom"}, status=503)

    api.routes["/items/boom"] = failing
    client = make_client(http, url, retry=RetryPolicy(max_attempts=2), sleep=FakeClock().sleep)

    with capture_logs() as logs, pytest.raises(RetriableSourceError) as caught:
        await client.get_json("/items/boom", {"q": "x"})

    assert api.seen[0].query["auth_token"] == TOKEN, "the token was sent"
    retries = [e for e in logs if e["event"] == outbound.EVENT_RETRY]
    assert [e["path"] for e in retries] == ["/items/boom"], "logged without the query string"
    assert TOKEN not in repr(logs) + str(caught.value) + repr(client._auth)


async def test_redirects_drop_credentials_when_leaving_the_origin(
    source: tuple[Source, str], http: aiohttp.ClientSession
) -> None:
    api, url = source
    other_origin = url.replace("127.0.0.1", "localhost")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{other_origin}/files/1")

    async def file(request: web.Request) -> web.Response:
        return web.Response(body=b"hello", content_type="application/octet-stream")

    api.routes["/download"] = moved
    api.routes["/files/1"] = file
    client = make_client(http, url)

    got = await client.download(f"{url}/download", max_bytes=100)

    assert got.data == b"hello"
    assert [(r.host.split(":")[0], "auth_token" in r.query) for r in api.seen] == [
        ("127.0.0.1", True),
        ("localhost", False),
    ]


async def test_redirect_to_a_refused_address_is_not_followed(
    source: tuple[Source, str], http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, url = source

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data")

    api.routes["/download"] = moved
    checked: list[str] = []

    async def policy(target: str, *, allow_private: bool, field: str = "url") -> None:
        checked.append(target)
        if "169.254" in target:
            raise UnsafeURL("points at a loopback or private address", field=field)

    monkeypatch.setattr(outbound, "check_outbound_url", policy)
    client = make_client(http, url)

    with pytest.raises(SkippableRecordError, match="private"):
        await client.download(f"{url}/download", max_bytes=100)
    assert checked == [f"{url}/download", "http://169.254.169.254/latest/meta-data"]


async def test_private_base_url_is_refused_unless_allowed(
    source: tuple[Source, str], http: aiohttp.ClientSession
) -> None:
    api, url = source

    with pytest.raises(FatalSourceError, match="private") as caught:
        await make_client(http, url, allow_private_urls=False).collect(ITEMS)
    assert isinstance(caught.value.__cause__, UnsafeURL)
    assert api.seen == []

    assert len(await make_client(http, url, allow_private_urls=True).collect(ITEMS)) == 5


async def test_downloads_are_capped(source: tuple[Source, str], http: aiohttp.ClientSession, tmp_path: Path) -> None:
    api, url = source
    body = bytes(range(256)) * 40

    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/octet-stream")

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 1000):
            await response.write(body[start : start + 1000])
        await response.write_eof()
        return response

    api.routes["/declared"] = declared
    api.routes["/chunked"] = chunked
    client = make_client(http, url)

    for path in ("/declared", "/chunked"):
        assert (await client.download(path, max_bytes=len(body))).data == body
        spooled = await client.download(path, max_bytes=len(body), to_path=tmp_path / "ok")
        assert spooled.path is not None
        assert spooled.path.read_bytes() == body
        with pytest.raises(SkippableRecordError, match="cap"):
            await client.download(path, max_bytes=len(body) - 1)
        with pytest.raises(SkippableRecordError, match="cap"):
            await client.download(path, max_bytes=len(body) - 1, to_path=tmp_path / "partial")
        assert not (tmp_path / "partial").exists()


# -- reading ahead ----------------------------------------------------------------------------------------------


class Pages:
    """An async generator of pages that records what it has made and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.made: list[int] = []
        self.closed = False

    async def __call__(self) -> AsyncIterator[int]:
        try:
            for number in range(self.count):
                await asyncio.sleep(0)
                if number == self.fail_at:
                    raise SkippableRecordError(f"page {number} is gone")
                self.made.append(number)
                yield number
        finally:
            self.closed = True


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_reading_ahead_starts_at_once_and_stays_within_its_depth() -> None:
    pages = Pages(10)
    ahead = ReadAhead(pages(), depth=2)
    await settle()
    # Nothing asked yet: two pages wait in the queue and a third is made, waiting for room.
    assert pages.made == [0, 1, 2]
    assert [await anext(ahead) for _ in range(4)] == [0, 1, 2, 3]
    await settle()
    assert pages.made == [0, 1, 2, 3, 4, 5, 6]
    assert [page async for page in ahead] == [4, 5, 6, 7, 8, 9]
    await ahead.aclose()
    assert pages.closed


async def test_reading_ahead_raises_a_reading_error_where_its_page_would_have_come() -> None:
    pages = Pages(10, fail_at=3)
    ahead = ReadAhead(pages(), depth=1)
    assert [await anext(ahead) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(SkippableRecordError, match="page 3 is gone"):
        await anext(ahead)
    assert [page async for page in ahead] == []  # finished: no more pages, no wait
    await ahead.aclose()


async def test_closing_a_read_ahead_stops_its_reading_and_closes_the_pages_unused_or_halfway() -> None:
    unused = Pages(10)
    ahead = ReadAhead(unused(), depth=1)
    await settle()
    await ahead.aclose()
    assert unused.closed
    assert unused.made == [0, 1]
    assert [page async for page in ahead] == []

    halfway = Pages(10)
    async with contextlib.aclosing(read_ahead(halfway(), depth=1)) as pages:
        assert await anext(pages) == 0
    assert halfway.closed
    assert len(halfway.made) <= 3
