"""API keys, the loopback rule and JSON logs.

* Keys come from ``FLAME_API_KEYS`` (comma-separated) and arrive as ``Authorization: Bearer KEY``. They are
  compared as SHA-256 digests with `hmac.compare_digest`, against every configured key, so neither the
  length nor the position of a match shows in the response time.
* With no key configured the server is open, so it binds loopback only (`check_bind`) and says why.
* Logs are one JSON object per line; request logs carry sizes and timings, the judged texts only when the
  operator asks (``--log-texts``).

The request-body limit lives in `flame.serve.app`: a declared Content-Length over the limit is refused before
the body is read, and a streamed body is counted as it arrives (a client may lie in, or omit, the header).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import sys
import time
from collections.abc import Iterable

from flame.errors import FlameError

API_KEYS_ENV = "FLAME_API_KEYS"


class BindError(FlameError, ValueError):
    """Refusing to serve an open (keyless) API on a non-loopback address."""


def parse_api_keys(value: str | None) -> tuple[str, ...]:
    """``"k1, k2"`` → ("k1", "k2"); blanks are dropped (``FLAME_API_KEYS=""`` means no keys)."""
    return tuple(k.strip() for k in (value or "").split(",") if k.strip())


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_keys: Iterable[str]) -> None:
    """Raise `BindError` when ``host`` is not loopback and no API key protects the service."""
    if not tuple(api_keys) and not is_loopback(host):
        raise BindError(
            f"refusing to bind {host}: no API key is configured, so anyone who can reach that address could "
            f"use the rater. Set {API_KEYS_ENV}=KEY1[,KEY2] (clients send 'Authorization: Bearer KEY'), "
            "or bind 127.0.0.1."
        )


class KeyChecker:
    def __init__(self, keys: Iterable[str]):
        self._digests = [hashlib.sha256(k.encode("utf-8")).digest() for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries a configured key (always True with no keys)."""
        if not self._digests:
            return True
        scheme, _, token = (authorization or "").partition(" ")
        given = hashlib.sha256(token.strip().encode("utf-8", "surrogateescape")).digest()
        ok = False
        for d in self._digests:  # no early exit: the time does not depend on which key matched
            ok |= hmac.compare_digest(given, d)
        return ok and scheme.lower() == "bearer"


# ------------------------------------------------------------------------------------------ logs


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's ``fields`` dict."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}) or {})
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and message go to the log (never to the client); the traceback too.
            out["error"] = f"{record.exc_info[0].__name__}: {record.exc_info[1]}"
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


LOGGER_NAME = "flame.serve"


def setup_logging(level: str = "info", stream=None) -> logging.Logger:
    """Route the service's logger (and uvicorn's error logger) through `JsonFormatter`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in (LOGGER_NAME, "uvicorn.error"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(level.upper())
        log.propagate = False
    return logging.getLogger(LOGGER_NAME)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, exc_info=None, **fields) -> None:
    logger.log(level, event, extra={"fields": fields}, exc_info=exc_info)
