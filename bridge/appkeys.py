"""Typed keys for everything the app and its requests carry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import ClientSession, web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bridge.settings import Settings

if TYPE_CHECKING:
    from bridge.auth import Principal
    from bridge.migration.jobs import MigrationWorker
    from bridge.ratelimit import SlidingWindowLimiter
    from bridge.routing import Endpoint
    from bridge.store import Store
    from bridge.webhooks import WebhookDispatcher

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
HTTP = web.AppKey("http", ClientSession)
SURFACE = web.AppKey("surface", str)
STORE: web.AppKey[Store] = web.AppKey("store")
LIMITER: web.AppKey[SlidingWindowLimiter] = web.AppKey("limiter")
WEBHOOKS: web.AppKey[WebhookDispatcher] = web.AppKey("webhooks")
MIGRATIONS: web.AppKey[MigrationWorker] = web.AppKey("migrations")
ENDPOINTS: web.AppKey[dict[object, Endpoint]] = web.AppKey("endpoints")

PRINCIPAL: web.RequestKey[Principal] = web.RequestKey("principal")
REQUEST_ID = web.RequestKey("request_id", str)
