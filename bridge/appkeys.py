"""Typed keys for everything the app and its requests carry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import ClientSession, web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bridge.settings import Settings

if TYPE_CHECKING:
    pass

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
HTTP = web.AppKey("http", ClientSession)
STORE = web.AppKey("store", "Store")
LIMITER = web.AppKey("limiter", "SlidingWindowLimiter")
WEBHOOKS = web.AppKey("webhooks", "WebhookDispatcher")
ENDPOINTS = web.AppKey("endpoints", "dict[object, Endpoint]")

PRINCIPAL = web.RequestKey("principal", "Principal")
REQUEST_ID = web.RequestKey("request_id", str)
