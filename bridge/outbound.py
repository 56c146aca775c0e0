"""Shared machinery for pulling data out of a legacy helpdesk's API: declared streams, retries, rate limits.

A provider client declares each legacy collection once as a :class:`Stream` (path, record key, parameters,
pagination) and reads it through one :class:`OutboundClient`, which owns everything the providers share:
the auth injector, the URL policy (``bridge.net``), a concurrency bound that adapts to 429s, retries with
exponential backoff and jitter honouring ``Retry-After``, bounded binary downloads, and errors named by what
the caller should do next (:class:`FatalSourceError`, :class:`RetriableSourceError`,
:class:`SkippableRecordError`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
import orjson
from yarl import URL

from bridge.logs import get_logger
from bridge.net import UnsafeURL, check_outbound_url

log = get_logger(__name__)

JSON = dict[str, Any]
ParamValue = str | int | bool
T = TypeVar("T")

# Constant log event names, so operators and tests can rely on them.
EVENT_RETRY = "outbound_retry"
EVENT_THROTTLED = "outbound_throttled"
EVENT_RECOVERED = "outbound_rate_recovered"
EVENT_STREAM_UNREADABLE = "outbound_stream_unreadable"

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


# -- errors ---------------------------------------------------------------------------------------------------


class SourceError(Exception):
    """A legacy API call failed; the subclass says what to do next."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.path = path
        self.retry_after = retry_after


class FatalSourceError(SourceError):
    """Stop: retrying cannot help (bad credentials, wrong base URL, refused address, unexpected shape)."""


class RetriableSourceError(SourceError):
    """Try again later: the source stayed unavailable or throttled past the retry budget."""


class SkippableRecordError(SourceError):
    """Skip this one record, log and count it, and go on with the rest."""


# -- declarations ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """One legacy collection: where it lives, which envelope key holds its records, how it paginates."""

    name: str
    path: str
    record_key: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    primary_key: str = "id"
    paginated: bool = False
    page_size: int | None = None
    page_param: str = "page"
    page_size_param: str = "per_page"
    total_pages_key: str = "total_pages"
    # Statuses that mean "this collection is not readable with these credentials": empty, with a warning.
    tolerate: frozenset[int] = frozenset()

    def format_path(self, path_params: Mapping[str, ParamValue] | None = None) -> str:
        """Fill ``{placeholders}`` of the path."""
        return self.path.format(**(path_params or {}))


@dataclass(frozen=True)
class Page:
    """One page of a stream's records as the source returned it."""

    stream: str
    number: int
    total_pages: int
    records: list[JSON]
    total: int | None = None


@dataclass(frozen=True)
class Download:
    """A downloaded file: in memory (``data``) or spooled to ``path``."""

    size: int
    content_type: str | None
    data: bytes | None = None
    path: Path | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry: exponential backoff with full jitter, ``Retry-After`` honoured."""

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    # A source asking to wait longer than this is not waited for: the job should resume later.
    max_retry_after: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Return the delay before retry number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


class Auth(Protocol):
    """Puts credentials on a request to the source's own origin."""

    def apply(self, *, params: dict[str, str], headers: dict[str, str]) -> None: ...


class QueryTokenAuth:
    """Send the API token as a query parameter (SupportBee's ``auth_token``)."""

    def __init__(self, token: str, *, param: str = "auth_token") -> None:
        self._token = token
        self.param = param

    def apply(self, *, params: dict[str, str], headers: dict[str, str]) -> None:
        params[self.param] = self._token

    def __repr__(self) -> str:
        return f"QueryTokenAuth(param={self.param!r}, token=[REDACTED])"


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Read ``Retry-After`` as delta-seconds or an HTTP date; ``None`` when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# -- rate limiting ---------------------------------------------------------------------------------------------


class AdaptiveLimiter:
    """Bound in-flight requests and pace them; halve on 429, recover one slot at a time.

    A plain ``asyncio.Semaphore`` cannot shrink while permits are out, so this keeps the same contract
    (never more than ``max_concurrency`` in flight) with a limit that 429s lower and successes restore.
    """

    def __init__(
        self,
        max_concurrency: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        recover_after: int = 20,
        max_interval: float = 5.0,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.max_concurrency = max_concurrency
        self.limit = max_concurrency
        self.in_flight = 0
        self.interval = 0.0
        self._clock = clock
        self._sleep = sleep
        self._recover_after = recover_after
        self._max_interval = max_interval
        self._successes = 0
        self._resume_at = 0.0
        self._next_start = 0.0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one request slot, waiting for a free one (first come, first served) and for any throttling pause."""
        await self._acquire()
        try:
            await self._pace()
            yield
        finally:
            self._release()

    async def _acquire(self) -> None:
        # One event loop, no await between the test and the count: no lock is needed (a Condition's lock and
        # wake-ups were a tenth of a request's CPU in an import).
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # _wake counted the slot before resolving it
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release()  # granted, then cancelled before it ran: hand the slot on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        """Give free slots to the longest waiting (the limit may have shrunk, then nobody is woken)."""
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    async def _pace(self) -> None:
        now = self._clock()
        start = max(now, self._resume_at, self._next_start)
        self._next_start = start + self.interval
        if start > now:
            await self._sleep(start - now)

    def on_throttled(self, pause: float) -> None:
        """The source answered 429: pause everyone for ``pause`` seconds, halve the limit, space requests."""
        self._successes = 0
        self._resume_at = max(self._resume_at, self._clock() + pause)
        self.limit = max(1, self.limit // 2)
        self.interval = min(self._max_interval, max(0.1, self.interval * 2))

    def on_success(self) -> bool:
        """Count a success; after enough in a row, give back one slot and halve the spacing."""
        if self.limit >= self.max_concurrency and self.interval == 0.0:
            return False
        self._successes += 1
        if self._successes < self._recover_after:
            return False
        self._successes = 0
        self.interval = 0.0 if self.interval < 0.05 else self.interval / 2
        if self.limit < self.max_concurrency:
            self.limit += 1
            self._wake()
        return True


# -- the client ------------------------------------------------------------------------------------------------


def _now_utc() -> datetime:
    return datetime.now(UTC)


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return (url.scheme, url.host, url.port)


@dataclass
class _Outcome:
    """What one attempt ended with when it did not return."""

    delay: float
    status: int | None = None
    reason: str = ""
    error: BaseException | None = None
    retry_after: float | None = None


class OutboundClient:
    """Read declared streams from one legacy API over a shared ``aiohttp.ClientSession``."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        base_url: str,
        auth: Auth | None = None,
        headers: Mapping[str, str] | None = None,
        allow_private_urls: bool = False,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        download_timeout: float = 600.0,
        name: str = "outbound",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _now_utc,
        rng: random.Random | None = None,
    ) -> None:
        self.http = http
        self.base_url = URL(base_url.rstrip("/"))
        self.name = name
        self.allow_private_urls = allow_private_urls
        self.retry = retry or RetryPolicy()
        self.limiter = AdaptiveLimiter(concurrency, clock=clock, sleep=sleep)
        self._auth = auth
        self._headers = dict(headers or {})
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._download_timeout = aiohttp.ClientTimeout(total=download_timeout)
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._rng = rng or random.Random()
        # Origins already checked against the URL policy, so a page loop resolves the host once.
        self._allowed_origins: set[tuple[str, str | None, int | None]] = set()

    # -- public API -------------------------------------------------------------------------------------------

    def url_for(self, path: str) -> URL:
        """Join a path to the base URL (keeping any path prefix of the base)."""
        return self.base_url.with_path(self.base_url.path.rstrip("/") + "/" + path.lstrip("/"))

    async def get_json(
        self,
        path: str,
        params: Mapping[str, ParamValue] | None = None,
    ) -> JSON:
        """GET ``path`` on the source and return its JSON object."""
        return await self._request(self.url_for(path), _encode(params), refusal=FatalSourceError, consume=_read_json)

    async def pages(
        self,
        stream: Stream,
        *,
        path_params: Mapping[str, ParamValue] | None = None,
        params: Mapping[str, ParamValue] | None = None,
        ahead: int = 0,
    ) -> AsyncGenerator[Page, None]:
        """Yield the stream's pages in order (page numbers up to ``total_pages``).

        ``ahead``: once the first page told how many there are, up to that many of the following pages are
        requested while the current one is handled (a listing the caller skims, such as a pass of tickets mostly
        seen before, is not one round trip per page). An error of a page requested ahead is raised in its turn;
        closing the iterator cancels the requests still out."""
        path = stream.format_path(path_params)
        query: dict[str, ParamValue] = {**stream.params, **(params or {})}
        if stream.paginated and stream.page_size is not None:
            query.setdefault(stream.page_size_param, stream.page_size)

        def fetch(number: int) -> Awaitable[JSON]:
            return self.get_json(path, {**query, stream.page_param: number} if stream.paginated else query)

        requested: dict[int, asyncio.Future[JSON]] = {}
        number = 1
        try:
            while True:
                try:
                    body = await (requested.pop(number) if number in requested else fetch(number))
                except (FatalSourceError, SkippableRecordError) as err:
                    if number == 1 and err.status in stream.tolerate:
                        log.warning(
                            EVENT_STREAM_UNREADABLE, client=self.name, stream=stream.name, path=path, status=err.status
                        )
                        return
                    raise
                records = body.get(stream.record_key)
                if not isinstance(records, list):
                    raise FatalSourceError(
                        f"{stream.name}: the response has no {stream.record_key!r} list; is the base URL right?",
                        path=path,
                    )
                total_pages = _as_int(body.get(stream.total_pages_key)) if stream.paginated else None
                total_pages = max(total_pages or 1, number)
                if stream.paginated and records:
                    for following in range(number + 1, min(number + ahead, total_pages) + 1):
                        if following not in requested:
                            requested[following] = asyncio.ensure_future(fetch(following))
                yield Page(stream.name, number, total_pages, records, _as_int(body.get("total")))
                if not stream.paginated or number >= total_pages or not records:
                    return
                number += 1
        finally:
            for pending in requested.values():
                pending.cancel()
            await asyncio.gather(*requested.values(), return_exceptions=True)

    async def records(
        self,
        stream: Stream,
        *,
        path_params: Mapping[str, ParamValue] | None = None,
        params: Mapping[str, ParamValue] | None = None,
    ) -> AsyncIterator[JSON]:
        """Yield the stream's records, reading one page at a time."""
        async for page in self.pages(stream, path_params=path_params, params=params):
            for record in page.records:
                yield record

    async def collect(
        self,
        stream: Stream,
        *,
        path_params: Mapping[str, ParamValue] | None = None,
        params: Mapping[str, ParamValue] | None = None,
    ) -> list[JSON]:
        """Return all records of a small stream (one ticket's replies, the labels)."""
        return [r async for r in self.records(stream, path_params=path_params, params=params)]

    async def download(self, url: str, *, max_bytes: int, to_path: Path | None = None) -> Download:
        """Fetch a file of at most ``max_bytes``, into memory or streamed to ``to_path``.

        Over the cap (by ``Content-Length`` or while streaming) is a :class:`SkippableRecordError`;
        so is a URL the policy refuses: a file link inside legacy data is one record, not the whole job.
        """
        target = self._resolve(url)

        async def consume(response: aiohttp.ClientResponse) -> Download:
            return await _read_capped(response, max_bytes=max_bytes, to_path=to_path, path=target.path)

        return await self._request(
            target, {}, refusal=SkippableRecordError, consume=consume, client_timeout=self._download_timeout
        )

    # -- request machinery ------------------------------------------------------------------------------------

    def _resolve(self, url: str) -> URL:
        parsed = URL(url)
        return parsed if parsed.is_absolute() else self.url_for(url)

    async def _check(self, url: URL, refusal: type[SourceError]) -> None:
        origin = _origin(url)
        if origin in self._allowed_origins:
            return
        try:
            await check_outbound_url(str(url.with_query(None)), allow_private=self.allow_private_urls)
        except UnsafeURL as err:
            raise refusal(f"refused to call {url.host}: {err.message}", path=url.path) from err
        self._allowed_origins.add(origin)

    def _prepare(self, url: URL, params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
        query = dict(params)
        headers = dict(self._headers)
        # Credentials go to the source's own origin only, never to a file host or a redirect target.
        if self._auth is not None and _origin(url) == _origin(self.base_url):
            self._auth.apply(params=query, headers=headers)
        return query, headers

    async def _request(
        self,
        url: URL,
        params: dict[str, str],
        *,
        refusal: type[SourceError],
        consume: Callable[[aiohttp.ClientResponse], Awaitable[T]],
        client_timeout: aiohttp.ClientTimeout | None = None,
    ) -> T:
        last: _Outcome | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                async with self.limiter.slot():
                    result = await self._attempt(
                        url,
                        params,
                        refusal=refusal,
                        consume=consume,
                        client_timeout=client_timeout or self._timeout,
                        attempt=attempt,
                    )
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, TimeoutError) as err:
                last = _Outcome(self.retry.backoff(attempt, self._rng), reason=type(err).__name__, error=err)
            else:
                if not isinstance(result, _Outcome):
                    if self.limiter.on_success():
                        log.info(
                            EVENT_RECOVERED,
                            client=self.name,
                            concurrency=self.limiter.limit,
                            interval=self.limiter.interval,
                        )
                    return result
                last = result
            if attempt < self.retry.max_attempts:
                log.warning(
                    EVENT_RETRY,
                    client=self.name,
                    path=url.path,
                    attempt=attempt,
                    status=last.status,
                    reason=last.reason,
                    delay=round(last.delay, 3),
                )
                await self._sleep(last.delay)
        assert last is not None
        message = f"{url.path}: gave up after {self.retry.max_attempts} attempts ({last.reason or last.status})"
        raise RetriableSourceError(
            message, status=last.status, path=url.path, retry_after=last.retry_after
        ) from last.error

    async def _attempt(
        self,
        url: URL,
        params: dict[str, str],
        *,
        refusal: type[SourceError],
        consume: Callable[[aiohttp.ClientResponse], Awaitable[T]],
        client_timeout: aiohttp.ClientTimeout,
        attempt: int,
    ) -> T | _Outcome:
        target, query = url, params
        for _hop in range(MAX_REDIRECTS + 1):
            await self._check(target, refusal)
            send_query, headers = self._prepare(target, query)
            async with self.http.get(
                target, params=send_query, headers=headers, allow_redirects=False, timeout=client_timeout
            ) as response:
                status = response.status
                if status in REDIRECT_STATUSES and "Location" in response.headers:
                    target = target.join(URL(response.headers["Location"]))
                    query = {}
                    continue
                if 200 <= status < 300:
                    return await consume(response)
                return self._failure(response, path=url.path, attempt=attempt)
        raise refusal(f"{url.path}: more than {MAX_REDIRECTS} redirects", path=url.path)

    def _failure(self, response: aiohttp.ClientResponse, *, path: str, attempt: int) -> _Outcome:
        """Turn a non-2xx answer into a retry plan, or raise the error that says what to do."""
        status = response.status
        if status == 401:
            raise FatalSourceError(f"{path}: the source rejected the credentials (HTTP 401)", status=status, path=path)
        if status == 403:
            raise FatalSourceError(f"{path}: access denied with these credentials (HTTP 403)", status=status, path=path)
        if status in (404, 410):
            raise SkippableRecordError(f"{path}: not found (HTTP {status})", status=status, path=path)
        if status not in RETRY_STATUSES and status < 500:
            raise FatalSourceError(f"{path}: the source refused the request (HTTP {status})", status=status, path=path)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock())
        if retry_after is not None and retry_after > self.retry.max_retry_after:
            raise RetriableSourceError(
                f"{path}: the source asks to wait {retry_after:.0f}s (HTTP {status}); resume later",
                status=status,
                path=path,
                retry_after=retry_after,
            )
        if retry_after is not None:
            # Honour the server's wait, plus a little jitter so parallel workers do not return in lockstep.
            delay = retry_after + self._rng.uniform(0, min(1.0, self.retry.base_delay))
        else:
            delay = self.retry.backoff(attempt, self._rng)
        if status == 429:
            self.limiter.on_throttled(delay)
            log.warning(
                EVENT_THROTTLED,
                client=self.name,
                path=path,
                retry_after=retry_after,
                concurrency=self.limiter.limit,
                interval=self.limiter.interval,
            )
        return _Outcome(delay, status=status, reason=f"HTTP {status}", retry_after=retry_after)


async def gather_or_cancel(*aws: Awaitable[T]) -> list[T]:
    """Await all of ``aws`` concurrently; on the first error cancel the rest and raise that error."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


class ReadAhead(Generic[T]):
    """The items of ``items``, read by a task that starts at once and keeps up to ``depth`` items ahead.

    A migration writes one page while the next is fetched, so the network and the database overlap; memory stays
    bounded by ``depth`` items. An error of the reader is raised where its item would have come. :meth:`aclose`
    stops the reader and closes ``items``: whoever makes one closes it (``contextlib.aclosing``), used or not.
    """

    def __init__(self, items: AsyncIterator[T], depth: int = 1) -> None:
        self._items = items
        self._queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue(maxsize=max(1, depth))
        self._finished = False
        self._task = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        try:
            async for item in self._items:
                await self._queue.put((True, item))
        except Exception as err:  # noqa: BLE001 - handed to the consumer, raised there
            await self._queue.put((False, err))
            return
        await self._queue.put((False, None))

    def __aiter__(self) -> ReadAhead[T]:
        return self

    async def __anext__(self) -> T:
        if self._finished:
            raise StopAsyncIteration
        more, value = await self._queue.get()
        if more:
            item: T = value
            return item
        self._finished = True
        if value is not None:
            raise value
        raise StopAsyncIteration

    async def aclose(self) -> None:
        self._finished = True
        if not self._task.done():
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        close = getattr(self._items, "aclose", None)
        if close is not None:
            await close()


async def read_ahead(items: AsyncIterator[T], depth: int = 1) -> AsyncGenerator[T, None]:
    """Yield ``items`` while a task already reads up to ``depth`` more (a :class:`ReadAhead` made when the first
    item is asked for); closing this generator stops the reader."""
    async with contextlib.aclosing(ReadAhead(items, depth)) as ahead:
        async for item in ahead:
            yield item


# -- helpers ---------------------------------------------------------------------------------------------------


def _encode(params: Mapping[str, ParamValue] | None) -> dict[str, str]:
    encoded: dict[str, str] = {}
    for key, value in (params or {}).items():
        encoded[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return encoded


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


async def _read_json(response: aiohttp.ClientResponse) -> JSON:
    raw = await response.read()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as err:
        raise FatalSourceError(f"{response.url.path}: the source did not answer JSON", path=response.url.path) from err
    if not isinstance(body, dict):
        raise FatalSourceError(f"{response.url.path}: expected a JSON object", path=response.url.path)
    return body


async def _read_capped(
    response: aiohttp.ClientResponse, *, max_bytes: int, to_path: Path | None, path: str
) -> Download:
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise SkippableRecordError(f"{path}: file of {declared} bytes is over the {max_bytes}-byte cap", path=path)
    content_type = response.headers.get("Content-Type")
    size = 0
    if to_path is None:
        chunks: list[bytes] = []
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise SkippableRecordError(f"{path}: file is over the {max_bytes}-byte cap", path=path)
            chunks.append(chunk)
        return Download(size=size, content_type=content_type, data=b"".join(chunks))
    handle = await asyncio.to_thread(to_path.open, "wb")
    complete = False
    try:
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise SkippableRecordError(f"{path}: file is over the {max_bytes}-byte cap", path=path)
            await asyncio.to_thread(handle.write, chunk)
        complete = True
    finally:
        await asyncio.to_thread(handle.close)
        if not complete:
            # A partial file must not look like a downloaded one.
            await asyncio.to_thread(to_path.unlink, True)
    return Download(size=size, content_type=content_type, path=to_path)
