"""SupportBee outbound API client used by migrations (spec: shared/specs/supportbee-api.txt).

Declares each collection of a SupportBee desk once — "Fetching Users and Customer Groups", "Fetching Members
of a Customer Group", "Fetching Teams", "Fetching Labels", "Fetching Snippets", "Fetching Emails", "Fetch
Tickets", "Fetching Replies", "Fetching Comments" — and reads them through :class:`bridge.outbound.
OutboundClient`: ``auth_token`` in the query string with JSON ``Accept``/``Content-Type`` ("Authentication"),
page numbers up to ``total_pages``, ``Retry-After``, backoff and a concurrency bound. Records are the parsed
JSON objects as SupportBee sent them; ``mappings.supportbee`` turns them into canonical models.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bridge.logs import get_logger
from bridge.outbound import (
    JSON,
    Download,
    FatalSourceError,
    OutboundClient,
    ParamValue,
    QueryTokenAuth,
    RetryPolicy,
    SkippableRecordError,
    Stream,
    gather_or_cancel,
)

log = get_logger(__name__)

PROVIDER = "supportbee"
EVENT_THREAD_SKIPPED = "supportbee_ticket_thread_skipped"

# "per_page … Must be less than 100."
MAX_PAGE_SIZE = 99
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
_COMPANY = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

USERS = Stream(
    "users",
    "/users",
    "users",
    params={"with_invited": True, "with_roles": "admin,agent,collaborator"},
)
CUSTOMERS = Stream("customers", "/users", "users", params={"with_roles": "customer"})
CUSTOMER_GROUPS = Stream("customer_groups", "/users", "users", params={"type": "customer_group"})
CUSTOMER_GROUP_MEMBERS = Stream("customer_group_members", "/users/{group_id}/members", "users")
TEAMS = Stream("teams", "/teams", "teams")
# "with_users: If true, retrieves only the teams with users" (and their members): read both, merge by id.
TEAMS_WITH_USERS = Stream("teams_with_users", "/teams", "teams", params={"with_users": True})
LABELS = Stream("labels", "/labels", "labels", primary_key="name")
SNIPPETS = Stream("snippets", "/snippets", "snippets")
EMAILS = Stream("emails", "/emails", "forwarding_addresses")
# Not in the public spec and admin-only where it exists: an unreadable list is empty, with a warning.
FILTERS = Stream("filters", "/filters", "filters", tolerate=frozenset({403, 404}))
# Sorting by creation time keeps pages stable while agents keep working: a reply moves a ticket to the top
# of the last-activity order, which would let it slip past the page cursor.
TICKETS = Stream(
    "tickets",
    "/tickets",
    "tickets",
    params={"archived": "any", "sort_by": "creation_time"},
    paginated=True,
    page_size=MAX_PAGE_SIZE,
)
REPLIES = Stream("replies", "/tickets/{ticket_id}/replies", "replies")
COMMENTS = Stream("comments", "/tickets/{ticket_id}/comments", "comments")

# "Only tickets that are not archived are returned": archived=any, then the spam and trash folders.
TICKET_PASSES: tuple[Mapping[str, ParamValue], ...] = ({}, {"spam": True}, {"trash": True})
LISTING_PAGES_AHEAD = 2

STREAMS: tuple[Stream, ...] = (
    USERS,
    CUSTOMERS,
    CUSTOMER_GROUPS,
    CUSTOMER_GROUP_MEMBERS,
    TEAMS,
    TEAMS_WITH_USERS,
    LABELS,
    SNIPPETS,
    EMAILS,
    FILTERS,
    TICKETS,
    REPLIES,
    COMMENTS,
)


@dataclass(frozen=True)
class TicketPage:
    """The tickets of a listing page not yielded before, and how many the page listed."""

    tickets: list[JSON]
    listed: int


@dataclass(frozen=True)
class TicketThread:
    """A ticket with its replies and comments."""

    ticket: JSON
    replies: list[JSON] = field(default_factory=list)
    comments: list[JSON] = field(default_factory=list)

    def attachments(self) -> list[JSON]:
        """Every attachment of the ticket, its replies and its comments."""
        return [*attachments_of(self.ticket), *(a for r in [*self.replies, *self.comments] for a in attachments_of(r))]


def attachments_of(item: Mapping[str, Any]) -> list[JSON]:
    """The ``content.attachments`` of a ticket, reply or comment."""
    content = item.get("content")
    found = content.get("attachments") if isinstance(content, Mapping) else None
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def format_since(moment: datetime | str) -> str:
    """Render a delta cursor the way the API returns dates (``2012-01-18T15:17:33Z``)."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def desk_url(company: str) -> str:
    """Return ``https://{company}.supportbee.com`` for a valid subdomain."""
    slug = company.strip().lower()
    if not _COMPANY.match(slug):
        raise FatalSourceError(f"{company!r} is not a SupportBee company subdomain")
    return f"https://{slug}.supportbee.com"


class SupportBeeClient:
    """Pull every collection of a SupportBee desk, one page at a time."""

    provider = PROVIDER

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        base_url: str | None = None,
        company: str | None = None,
        auth_token: str,
        allow_private_urls: bool = False,
        concurrency: int = 4,
        page_size: int = MAX_PAGE_SIZE,
        retry: RetryPolicy | None = None,
        **outbound: Any,
    ) -> None:
        if base_url is None:
            if company is None:
                raise FatalSourceError("a SupportBee base URL or company subdomain is required")
            base_url = desk_url(company)
        if not auth_token:
            raise FatalSourceError("a SupportBee auth_token is required")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self.page_size = page_size
        self.api = OutboundClient(
            http,
            base_url=base_url,
            auth=QueryTokenAuth(auth_token),
            headers=JSON_HEADERS,
            allow_private_urls=allow_private_urls,
            concurrency=concurrency,
            retry=retry,
            name=PROVIDER,
            **outbound,
        )
        self.skipped = 0

    @property
    def base_url(self) -> str:
        return str(self.api.base_url)

    # -- checks ---------------------------------------------------------------------------------------------

    async def verify_credentials(self) -> None:
        """Make one cheap authenticated call; raise :class:`FatalSourceError` saying what to fix."""
        try:
            await self.api.get_json("/tickets", {"total_only": True, "per_page": 1})
        except FatalSourceError as err:
            if err.status == 401:
                raise FatalSourceError(
                    "SupportBee rejected the auth_token (HTTP 401): copy it again from the desk's profile menu, "
                    "API Token",
                    status=401,
                    path=err.path,
                ) from err
            if err.status == 403:
                raise FatalSourceError(
                    "SupportBee denied access with this auth_token (HTTP 403): use an admin's API token",
                    status=403,
                    path=err.path,
                ) from err
            raise
        except SkippableRecordError as err:
            raise FatalSourceError(
                f"no SupportBee desk answers at {self.base_url} (HTTP {err.status}): check the company or base URL",
                status=err.status,
                path=err.path,
            ) from err

    async def count_tickets(
        self, *, since: datetime | str | None = None, spam: bool = False, trash: bool = False
    ) -> int:
        """Return how many tickets one pass would read, using ``total_only``."""
        params: dict[str, ParamValue] = {"archived": "any", "total_only": True}
        if spam:
            params["spam"] = True
        if trash:
            params["trash"] = True
        if since is not None:
            params["since"] = format_since(since)
        body = await self.api.get_json("/tickets", params)
        total = body.get("total")
        if not isinstance(total, int) or isinstance(total, bool):
            raise FatalSourceError("SupportBee answered total_only without an integer total", path="/tickets")
        return total

    # -- people and settings --------------------------------------------------------------------------------

    def users(self) -> AsyncIterator[JSON]:
        """Agents, admins and collaborators, invited ones included."""
        return self.api.records(USERS)

    def customers(self) -> AsyncIterator[JSON]:
        """Users with the customer role (requesters also arrive embedded in tickets)."""
        return self.api.records(CUSTOMERS)

    def customer_groups(self) -> AsyncIterator[JSON]:
        return self.api.records(CUSTOMER_GROUPS)

    async def customer_group_members(self, group_id: int) -> list[JSON]:
        return await self.api.collect(CUSTOMER_GROUP_MEMBERS, path_params={"group_id": group_id})

    async def teams(self) -> AsyncIterator[JSON]:
        """Every team, each with ``users`` (its members; empty when it has none)."""
        members: dict[Any, list[JSON]] = {}
        async for team in self.api.records(TEAMS_WITH_USERS):
            users = team.get("users")
            members[team.get("id")] = list(users) if isinstance(users, list) else []
        async for team in self.api.records(TEAMS):
            yield {**team, "users": members.get(team.get("id"), team.get("users") or [])}

    def labels(self) -> AsyncIterator[JSON]:
        return self.api.records(LABELS)

    def snippets(self) -> AsyncIterator[JSON]:
        return self.api.records(SNIPPETS)

    def emails(self) -> AsyncIterator[JSON]:
        """Forwarding addresses."""
        return self.api.records(EMAILS)

    def filters(self) -> AsyncIterator[JSON]:
        """Filters (rule + consequence) where the token may read them; otherwise nothing, with a warning."""
        return self.api.records(FILTERS)

    # -- tickets --------------------------------------------------------------------------------------------

    async def ticket_pages(self, *, since: datetime | str | None = None) -> AsyncIterator[list[JSON]]:
        """Yield pages of tickets: archived or not, then spam, then trash, each ticket once."""
        async for page in self.ticket_listing(since=since):
            yield page.tickets

    async def ticket_listing(self, *, since: datetime | str | None = None) -> AsyncIterator[TicketPage]:
        """:meth:`ticket_pages`, saying how many tickets each page listed (the spam and trash passes list the
        tickets of the first pass again: their pages are mostly tickets already yielded)."""
        seen: set[Any] = set()
        base: dict[str, ParamValue] = {TICKETS.page_size_param: self.page_size}
        if since is not None:
            base["since"] = format_since(since)
        for extra in TICKET_PASSES:
            # The spam and trash passes list the desk again, mostly tickets already yielded: a page ahead is on
            # its way while one is sifted, rather than one round trip after another.
            async for page in self.api.pages(TICKETS, params={**base, **extra}, ahead=LISTING_PAGES_AHEAD):
                fresh = [t for t in page.records if t.get("id") not in seen]
                seen.update(t.get("id") for t in fresh)
                if fresh:
                    yield TicketPage(fresh, len(page.records))

    async def tickets(self, *, since: datetime | str | None = None) -> AsyncIterator[JSON]:
        """Yield every ticket once (``since``: only those with activity after it)."""
        async for page in self.ticket_pages(since=since):
            for ticket in page:
                yield ticket

    async def replies(self, ticket_id: int) -> list[JSON]:
        """A ticket's replies; a ticket deleted meanwhile raises :class:`SkippableRecordError`."""
        return await self.api.collect(REPLIES, path_params={"ticket_id": ticket_id})

    async def comments(self, ticket_id: int) -> list[JSON]:
        return await self.api.collect(COMMENTS, path_params={"ticket_id": ticket_id})

    async def ticket_threads(self, *, since: datetime | str | None = None) -> AsyncIterator[TicketThread]:
        """Yield each ticket with its replies and comments, fetched concurrently a page at a time.

        A ticket whose replies or comments are gone (deleted between the list and the fetch) is skipped,
        logged as ``supportbee_ticket_thread_skipped`` and counted in :attr:`skipped`.
        """
        async for page in self.ticket_pages(since=since):
            threads = await gather_or_cancel(*(self._thread(ticket) for ticket in page))
            for thread in threads:
                if thread is not None:
                    yield thread

    async def _thread(self, ticket: JSON) -> TicketThread | None:
        ticket_id = ticket.get("id")
        if not isinstance(ticket_id, int):
            raise FatalSourceError("SupportBee sent a ticket without an integer id", path="/tickets")
        replies: list[JSON] = []
        comments: list[JSON] = []
        try:
            # The counts in the ticket save a request per empty list; without them, ask.
            if ticket.get("replies_count", 1):
                replies = await self.replies(ticket_id)
            if ticket.get("comments_count", 1):
                comments = await self.comments(ticket_id)
        except SkippableRecordError as err:
            self.skipped += 1
            log.warning(
                EVENT_THREAD_SKIPPED, provider=PROVIDER, external_id=ticket_id, status=err.status, reason=err.message
            )
            return None
        return TicketThread(ticket, replies, comments)

    # -- files ----------------------------------------------------------------------------------------------

    async def download_attachment(
        self, attachment: Mapping[str, Any], *, max_bytes: int, to_path: Path | None = None
    ) -> Download:
        """Download an attachment's file from its ``url.original``, refusing files over ``max_bytes``."""
        url = attachment.get("url")
        original = url.get("original") if isinstance(url, Mapping) else None
        if not isinstance(original, str) or not original:
            raise SkippableRecordError(f"attachment {attachment.get('id')} has no url.original")
        return await self.api.download(original, max_bytes=max_bytes, to_path=to_path)
