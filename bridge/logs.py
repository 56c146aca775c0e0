"""Structured JSON logs with secrets redacted before any line is written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(
    r"(token|password|passwd|secret|credential|authorization|api[_-]?key|cookie|auth)", re.IGNORECASE
)
# key=value pairs inside free text (query strings, URLs, messages).
_SECRET_IN_TEXT = re.compile(
    r"((?:[a-z_]*token|password|secret|api[_-]?key|auth_token|credentials?)=)([^&\s\"']+)", re.IGNORECASE
)
_BEARER = re.compile(r"(bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)


def redact_text(text: str) -> str:
    """Blank out ``token=…``-style pairs and bearer tokens inside free text."""
    return _BEARER.sub(r"\1" + REDACTED, _SECRET_IN_TEXT.sub(r"\1" + REDACTED, text))


def redact_value(key: str | None, value: Any) -> Any:
    """Redact a value whose key names a secret; walk containers; scrub strings."""
    if key is not None and _SECRET_KEY.search(key) and value not in (None, "", False):
        if isinstance(value, Mapping | list | tuple):
            return REDACTED if not isinstance(value, Mapping) else {k: REDACTED for k in value}
        return REDACTED
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(None, v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: no token, password or credential reaches a log line."""
    for key in list(event_dict):
        event_dict[key] = redact_value(key if key != "event" else None, event_dict[key])
    return event_dict


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    redact_processor,
]


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    """Configure structlog for JSON lines on stderr at ``level``."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            *SHARED_PROCESSORS,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
