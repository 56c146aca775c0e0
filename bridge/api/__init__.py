"""The native Supportly API: one router per spec section, listed explicitly."""

from __future__ import annotations

from bridge.api import account, agents, catalog, companies, contacts, conversations, legacy, meta, migrations
from bridge.routing import Router

ROUTERS: tuple[Router, ...] = (
    meta.router,
    account.router,
    agents.router,
    contacts.router,
    companies.router,
    conversations.router,
    catalog.router,
    legacy.router,
    migrations.router,
)
