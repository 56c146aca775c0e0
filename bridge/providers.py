"""The registry of legacy providers, listed explicitly, and how each is installed into the app."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from aiohttp import web

from bridge import appkeys
from bridge.routing import Endpoint, Router


@dataclass(frozen=True)
class Provider:
    """A legacy helpdesk: its package has ``routes``, ``auth``, ``errors`` and ``client`` modules."""

    name: str
    package: str
    path_prefix: str
    title: str

    def module(self, part: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{part}")


PROVIDERS: tuple[Provider, ...] = (
    Provider("supportbee", "providers.supportbee", "/supportbee/{company}", "SupportBee"),
)
PARTS = ("routes", "auth", "errors", "client")


def path_variants(path: str) -> list[str]:
    """Legacy clients call every path plain, with a ``.json`` suffix, or with a trailing slash."""
    if not path:
        return ["", ".json", "/"]
    return [path, f"{path}.json", f"{path}/"]


def install_surface(
    app: web.Application,
    router: Router,
    registry: dict[object, Endpoint],
    *,
    prefix: str,
    host_pattern: str | None,
) -> web.Application | None:
    """Serve ``router`` at ``prefix`` and, when given, on hosts matching ``host_pattern`` at the root."""
    host_app: web.Application | None = None
    if host_pattern:
        host_app = web.Application()
        host_app[appkeys.ENDPOINTS] = registry
        host_app[appkeys.SURFACE] = router.surface
    for endpoint in router.endpoints:
        registry[endpoint.handler] = endpoint
        for variant in path_variants(endpoint.path):
            app.router.add_route(endpoint.method, prefix + variant, endpoint.handler)
            if host_app is not None and variant:
                host_app.router.add_route(endpoint.method, variant, endpoint.handler)
    if host_app is not None and host_pattern:
        app.add_domain(host_pattern, host_app)
    return host_app
