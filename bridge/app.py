"""The application factory: one aiohttp app serving the native API (and, later, the legacy surfaces)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bridge import appkeys, db
from bridge.api import ROUTERS
from bridge.logs import get_logger
from bridge.middleware import ERROR_DIALECTS, SURFACE_PREFIXES, authenticate, errors, request_log
from bridge.migration.jobs import MigrationWorker
from bridge.providers import PROVIDERS, install_surface
from bridge.ratelimit import SlidingWindowLimiter
from bridge.routing import Endpoint, install
from bridge.settings import Settings
from bridge.store import Store
from bridge.webhooks import WebhookDispatcher

log = get_logger(__name__)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    if settings.auto_migrate:
        await db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    app[appkeys.ENGINE] = engine
    app[appkeys.SESSIONS] = db.make_session_factory(engine)
    yield
    await engine.dispose()


async def _http(app: web.Application) -> AsyncIterator[None]:
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    app[appkeys.HTTP] = session
    yield
    await session.close()


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    dispatcher = WebhookDispatcher(
        app[appkeys.SESSIONS],
        app[appkeys.HTTP],
        allow_private_urls=settings.allow_private_urls,
        max_attempts=settings.webhook_max_attempts,
        backoff_seconds=settings.webhook_backoff_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
    )
    app[appkeys.WEBHOOKS] = dispatcher
    settings.attachments_dir.mkdir(parents=True, exist_ok=True)
    app[appkeys.STORE] = Store(
        app[appkeys.SESSIONS],
        attachments_dir=settings.attachments_dir,
        max_attachment_bytes=settings.max_attachment_bytes,
        on_events=dispatcher.notify,
    )
    dispatcher.start()
    migrations = MigrationWorker(app[appkeys.STORE], app[appkeys.HTTP], settings)
    app[appkeys.MIGRATIONS] = migrations
    migrations.start()
    yield
    await migrations.stop()
    await dispatcher.stop()


def create_app(settings: Settings | None = None) -> web.Application:
    """Build the app; resources are made and closed in ``cleanup_ctx`` in dependency order."""
    settings = settings or Settings.from_env()
    provider_middlewares = [provider.module("auth").middleware for provider in PROVIDERS]
    app = web.Application(
        middlewares=[request_log, errors, authenticate, *provider_middlewares],
        client_max_size=settings.max_attachment_bytes + 1024 * 1024,
    )
    app[appkeys.SETTINGS] = settings
    app[appkeys.LIMITER] = SlidingWindowLimiter(settings.rate_limit, settings.rate_limit_window_seconds)
    registry: dict[object, Endpoint] = {}
    app[appkeys.ENDPOINTS] = registry
    install(app, list(ROUTERS), registry)
    for provider in PROVIDERS:
        ERROR_DIALECTS[provider.name] = provider.module("errors").render_error
        prefix = provider.path_prefix.split("{", 1)[0]
        if (prefix, provider.name) not in SURFACE_PREFIXES:
            SURFACE_PREFIXES.append((prefix, provider.name))
        suffix = getattr(settings, f"{provider.name}_host_suffix", None)
        install_surface(
            app,
            provider.module("routes").router,
            registry,
            prefix=provider.path_prefix,
            host_pattern=f"*.{suffix}" if suffix else None,
        )
    app.cleanup_ctx.extend([_database, _http, _services])
    return app
