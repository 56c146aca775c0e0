"""Outbound URL policy: user-supplied URLs must not reach loopback or private networks."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from bridge.errors import Unprocessable


class UnsafeURL(Unprocessable):
    code = "unsafe_url"


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


def parse_http_url(url: str, *, field: str = "url") -> tuple[str, int]:
    """Check ``url`` is an absolute http(s) URL and return its host and port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise UnsafeURL("is not a valid URL", field=field, code="invalid") from err
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeURL("must be an absolute http or https URL", field=field, code="invalid")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_outbound_url(url: str, *, allow_private: bool, field: str = "url") -> None:
    """Refuse ``url`` unless every address its host resolves to is public (or private is allowed)."""
    host, port = parse_http_url(url, field=field)
    if allow_private:
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise UnsafeURL(f"host {host!r} does not resolve", field=field, code="unresolvable") from err
    for info in infos:
        if _is_private(str(info[4][0])):
            raise UnsafeURL(
                "points at a loopback or private address; set ALLOW_PRIVATE_URLS=true to allow it",
                field=field,
            )
