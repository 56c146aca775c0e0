"""Structured JSON logs with secrets redacted before any line is written."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[REDACTED]"
# Keys whose values are secrets. ``auth`` only as a whole word part, so ``author_id`` stays readable.
_SECRET_KEY = re.compile(
    r"token|password|passwd|pwd|secret|credential|authorization|api[_-]?key|cookie|private[_-]?key"
    r"|(?:^|[_-])auth(?:$|[_-])",
    re.IGNORECASE,
)
# ``key=value`` / ``key: value`` / ``"key": "value"`` pairs inside free text (query strings, headers, reprs).
_SECRET_IN_TEXT = re.compile(
    r"""(["']?[\w-]*(?:token|password|passwd|secret|api[_-]?key|credentials?|authorization)["']?\s*[:=]\s*["']?"""
    r"""(?:(?:bearer|basic|token)\s+)?)([^&\s"',;}]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
# ``scheme://user:password@host`` (database and webhook URLs).
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s/]+)(@)", re.IGNORECASE)


def redact_text(text: str) -> str:
    """Blank out ``token=…``-style pairs, bearer tokens and URL passwords inside free text."""
    text = _URL_PASSWORD.sub(r"\1" + REDACTED + r"\3", text)
    text = _SECRET_IN_TEXT.sub(r"\1" + REDACTED, text)
    return _BEARER.sub(r"\1" + REDACTED, text)


def redact_value(key: str | None, value: Any) -> Any:
    """Redact a value whose key names a secret; walk containers; scrub strings."""
    if key is not None and _SECRET_KEY.search(key) and value not in (None, "", False):
        if isinstance(value, Mapping):
            return {k: REDACTED for k in value}
        return REDACTED
    if isinstance(value, Mapping):
        return {k: redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(None, v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_processor(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no token, password or credential reaches a log line."""
    for key in list(event_dict):
        if key.startswith("_"):  # structlog's own bookkeeping (e.g. the stdlib ``_record``)
            continue
        event_dict[key] = redact_value(key if key != "event" else None, event_dict[key])
    return event_dict


# Tracebacks are rendered to text *before* redaction, so a secret inside an exception message is caught too.
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.format_exc_info,
    redact_processor,
]

_HANDLER_NAME = "bridge.logs"


def configure_logging(level: str = "info", *, json: bool = True, stream: TextIO | None = None) -> None:
    """Send structlog and stdlib logging (aiohttp, alembic…) through redaction to ``stream`` (stderr) at ``level``."""
    out = stream or sys.stderr
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    numeric = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[*SHARED_PROCESSORS, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *SHARED_PROCESSORS],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
