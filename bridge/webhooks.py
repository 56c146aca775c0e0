"""Webhook delivery: drain the outbox in the background, with retries and exponential backoff.

The store writes one ``webhook_deliveries`` row per event and subscribed webhook in the same
transaction as the change, so a slow, failing or absent receiver never delays or loses a write, and
pending deliveries survive a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

import aiohttp
import orjson
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bridge.logs import get_logger
from bridge.models import Webhook, WebhookDelivery, utcnow
from bridge.net import UnsafeURL, check_outbound_url

log = get_logger(__name__)

CLAIM_SECONDS = 120
BATCH = 50


class WebhookDispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        http: aiohttp.ClientSession,
        *,
        allow_private_urls: bool,
        max_attempts: int = 6,
        backoff_seconds: float = 2.0,
        timeout_seconds: float = 10.0,
        concurrency: int = 8,
    ) -> None:
        self.sessions = sessions
        self.http = http
        self.allow_private_urls = allow_private_urls
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._wake = asyncio.Event()
        self.poll_seconds = min(1.0, max(0.05, backoff_seconds))
        self._limit = asyncio.Semaphore(concurrency)
        # Claim no more than can be sent well within the claim's lease.
        self._max_inflight = concurrency * 4
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._inflight: set[asyncio.Task[None]] = set()

    def notify(self) -> None:
        """Wake the worker: new deliveries were committed."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Let the current poll finish (never cancel a query mid-flight), then stop; cancel in-flight sends."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5.0)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._inflight:
            # Give sends a moment to finish and record their outcome; a stuck receiver is cut off.
            _, pending = await asyncio.wait(list(self._inflight), timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                due = await self.drain_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook_poll_failed")
                due = 0
            if due or self._stopping:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def drain_once(self) -> int:
        """Claim due deliveries and start sending them; return how many were claimed."""
        room = self._max_inflight - len(self._inflight)
        if room <= 0:
            return 0
        now = utcnow()
        async with self.sessions() as session, session.begin():
            rows = (
                (
                    await session.execute(
                        select(WebhookDelivery.id)
                        .where(
                            or_(WebhookDelivery.status == "pending", WebhookDelivery.status == "sending"),
                            WebhookDelivery.next_attempt_at <= now,
                        )
                        .order_by(WebhookDelivery.id)
                        .limit(min(BATCH, room))
                    )
                )
                .scalars()
                .all()
            )
            claimed: list[int] = []
            for delivery_id in rows:
                # A claim is a conditional update, so several processes never send one delivery twice.
                result = await session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id, WebhookDelivery.next_attempt_at <= now)
                    .values(status="sending", next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS))
                )
                if result.rowcount:  # type: ignore[attr-defined]
                    claimed.append(delivery_id)
        for delivery_id in claimed:
            task = asyncio.create_task(self._deliver(delivery_id))
            self._inflight.add(task)
            task.add_done_callback(self._finished)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook_delivery_crashed", error=repr(task.exception()))
        self._wake.set()

    async def _deliver(self, delivery_id: int) -> None:
        async with self._limit:
            async with self.sessions() as session:
                found = (
                    await session.execute(
                        select(WebhookDelivery, Webhook.url)
                        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                        .where(WebhookDelivery.id == delivery_id)
                    )
                ).first()
            if found is None:
                return
            delivery, url = found
            status, error = await self._post(url, delivery.payload)
            await self._record(delivery, status, error)

    async def _post(self, url: str, payload: dict[str, Any]) -> tuple[int | None, str | None]:
        try:
            await check_outbound_url(url, allow_private=self.allow_private_urls)
            async with self.http.post(
                url,
                data=orjson.dumps(payload),
                headers={"Content-Type": "application/json", "User-Agent": "supportly-bridge-webhooks"},
                timeout=self.timeout,
                allow_redirects=False,
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return response.status, None
                return response.status, f"receiver answered {response.status}"
        except UnsafeURL as err:
            return None, err.message
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            return None, f"{type(err).__name__}: {err}"

    async def _record(self, delivery: WebhookDelivery, status: int | None, error: str | None) -> None:
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "response_status": status, "last_error": error}
        if error is None:
            values.update(status="delivered", delivered_at=utcnow())
            log.info(
                "webhook_delivered",
                delivery_id=delivery.id,
                webhook_id=delivery.webhook_id,
                webhook_event=delivery.event,
            )
        elif attempts >= self.max_attempts:
            values.update(status="failed")
            log.warning("webhook_failed", delivery_id=delivery.id, attempts=attempts, error=error)
        else:
            delay = self.backoff_seconds * (2 ** (attempts - 1))
            values.update(status="pending", next_attempt_at=utcnow() + dt.timedelta(seconds=delay))
            log.info("webhook_retry_scheduled", delivery_id=delivery.id, attempts=attempts, delay=delay, error=error)
        async with self.sessions() as session, session.begin():
            await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))
