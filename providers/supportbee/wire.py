"""SupportBee wire details real clients depend on: Rails-style form bodies, the spec's date formats
("Date Format" section), address lists, and booleans as Rails reads them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from email.utils import getaddresses
from typing import Any

import orjson
from aiohttp import web

from bridge.errors import BadRequest
from bridge.routing import reject_nul

MAX_ADDRESSES = 25
# Ids are 32-bit on PostgreSQL; a larger number names nothing.
MAX_ID = 2**31 - 1
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_rails_form(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Nest ``ticket[subject]=…``, ``reply[content][text]=…`` and ``cc[]=…`` keys into dicts and lists."""
    result: dict[str, Any] = {}
    for raw_key, value in items:
        match = _KEY.match(raw_key)
        if match is None:
            result[raw_key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = None if last else parts[index + 1]
            if part == "":
                if not isinstance(node, list):
                    raise BadRequest(f"conflicting form keys around {raw_key!r}", field=raw_key)
                if last:
                    node.append(value)
                else:
                    child: Any = [] if following == "" else {}
                    node.append(child)
                    node = child
                continue
            if not isinstance(node, dict):
                raise BadRequest(f"conflicting form keys around {raw_key!r}", field=raw_key)
            if last:
                node[part] = value
            else:
                if part in node and not isinstance(node[part], dict | list):
                    raise BadRequest(f"conflicting form keys around {raw_key!r}", field=raw_key)
                if part not in node:
                    node[part] = [] if following == "" else {}
                node = node[part]
    return result


async def read_body(request: web.Request) -> dict[str, Any]:
    """Read a JSON, urlencoded or multipart body into nested dicts; malformed JSON is a 400."""
    data = await _read_body(request)
    reject_nul(data)
    return data


async def _read_body(request: web.Request) -> dict[str, Any]:
    if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        form = await request.post()
        return parse_rails_form((key, value) for key, value in form.items())
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise BadRequest("The request body is not valid JSON", field="body") from err
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object", field="body")
    return data


def truthy(value: Any) -> bool:
    """Read a boolean the way Rails does (``true``, ``1``, ``yes``, ``on``)."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"true", "1", "yes", "on", "t"}


_ORDINAL = re.compile(r"(\d+)(st|nd|rd|th)\b", re.IGNORECASE)


def parse_date(value: str, *, field: str) -> dt.datetime:
    """Accept every format of the spec's "Date Format" section; naive times are UTC."""
    text = value.strip()
    candidates = [text, text.replace("Z", "+00:00")]
    for candidate in candidates:
        try:
            parsed = dt.datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    cleaned = _ORDINAL.sub(r"\1", text)
    for fmt in (
        "%Y%m%dT%H%M%S%z",
        "%Y%m%dT%H%M%S",
        "%d %b %Y %I:%M:%S %p",
        "%d %B %Y %I:%M:%S %p",
        "%d %b %Y %H:%M:%S",
        "%d %b %Y",
        "%Y%m%d",
        "%Y-%m-%d",
    ):
        try:
            parsed = dt.datetime.strptime(cleaned, fmt)  # noqa: DTZ007 - the spec's naive times are UTC
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise BadRequest(f"is not a date in a supported format: {value!r}", field=field)


def parse_addresses(value: Any, *, field: str) -> list[tuple[str, str]]:
    """Read cc/bcc: a list of ``"Name <email>"`` strings or one comma-separated string (at most 25)."""
    if value in (None, "", []):
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise BadRequest("must be a list of email addresses", field=field)
    pairs = [(name.strip(), address.strip().lower()) for name, address in getaddresses(items) if address.strip()]
    for _, address in pairs:
        if "@" not in address or " " in address:
            raise BadRequest(f"contains an invalid email address: {address!r}", field=field)
    if len(pairs) > MAX_ADDRESSES:
        raise BadRequest(f"allows at most {MAX_ADDRESSES} addresses", field=field)
    return pairs


def format_time(value: dt.datetime | None) -> str | None:
    """Format as SupportBee does: ``2012-01-18T15:17:33Z``."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def attachment_ids(value: Any) -> list[int]:
    """Read ``attachment_ids``: a list (JSON or ``attachment_ids[]=``), one id, or a comma-separated string."""
    if value in (None, "", []):
        return []
    items: list[Any]
    if isinstance(value, list):
        items = value
    elif isinstance(value, str):
        items = [part for part in value.split(",") if part.strip()]
    else:
        items = [value]
    ids: list[int] = []
    for item in items:
        text = str(item).strip() if isinstance(item, int | str) and not isinstance(item, bool) else ""
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise BadRequest("must be a list of attachment ids", field="attachment_ids")
        ids.append(int(text))
    return ids


def read_content(part: Mapping[str, Any]) -> tuple[str | None, str | None, list[int]]:
    """Read a ticket's, reply's or comment's content: ``content{text|body, html}`` (or a plain string) and
    ``content_attributes{body, body_html}`` as SupportBee's own clients send it, with ``attachment_ids`` from
    any of those places. Text or html must be present."""
    merged: dict[str, Any] = {}
    ids = attachment_ids(part.get("attachment_ids"))
    attributes = part.get("content_attributes")
    if attributes is not None and not isinstance(attributes, Mapping):
        raise BadRequest("must be an object with body or body_html", field="content_attributes")
    if attributes:
        for source, target in (("body", "text"), ("text", "text"), ("body_html", "html"), ("html", "html")):
            if attributes.get(source) is not None:
                merged[target] = attributes[source]
        ids += attachment_ids(attributes.get("attachment_ids"))
    content = part.get("content")
    if isinstance(content, str):
        merged["text"] = content
    elif isinstance(content, Mapping):
        for source, target in (("body", "text"), ("text", "text"), ("html", "html")):
            if content.get(source) is not None:
                merged[target] = content[source]
        ids += attachment_ids(content.get("attachment_ids"))
    elif content is not None:
        raise BadRequest("must be an object with text or html", field="content")
    for key in ("text", "html"):
        if key in merged and not isinstance(merged[key], str):
            raise BadRequest("must be a string", field=f"content.{key}")
    text, html = merged.get("text"), merged.get("html")
    if not any(value and value.strip() for value in (text, html)):
        raise BadRequest("Either text or html must be present", field="content")
    return text, html, list(dict.fromkeys(ids))
