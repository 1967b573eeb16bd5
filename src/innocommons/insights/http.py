"""HTTP plumbing of the open-data API: conditional GET (ETag → 304), Cache-Control, and a
fixed-window rate limit for anonymous clients.

The rate limit counts requests per client address and window in Django's cache. With the
default per-process LocMemCache each server process counts on its own, so N processes
allow up to N × the limit; a deployment with several processes or hosts that wants one
limit configures a shared cache (Redis, Memcached or the database cache) as `default`.
Signed-in users and API tokens are not limited.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import wraps
from typing import Any

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from pydantic import BaseModel

from innocommons.core.apiutils import current_user, error_body

# Anonymous requests per window and the window in seconds (settings may override).
DEFAULT_RATE = (120, 60)
PUBLIC_MAX_AGE = 60


def rate() -> tuple[int, int]:
    limit, window = getattr(settings, "INSIGHTS_ANON_RATE", DEFAULT_RATE)
    return int(limit), int(window)


def too_many(request: HttpRequest) -> HttpResponse | None:
    """A 429 response when this anonymous client used up its window, else None."""
    limit, window = rate()
    now = time.time()
    bucket = int(now // window)
    ip = get_client_ip_address(request) or "unknown"
    key = f"insights:rate:{ip}:{bucket}"
    if cache.add(key, 1, timeout=window + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window + 1)
            count = 1
    if count <= limit:
        return None
    retry_after = max(1, int(window - (now % window)) + 1)
    body = error_body(
        _("Too many requests: at most %(limit)s per %(window)s seconds without signing in.")
        % {"limit": limit, "window": window}
    )
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=429, content_type="application/json"
    )
    response["Retry-After"] = str(retry_after)
    return response


def _etag(payload: bytes) -> str:
    return '"' + hashlib.sha256(payload).hexdigest()[:40] + '"'


def _matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


def conditional(request: HttpRequest, payload: bytes, *, private: bool) -> HttpResponse:
    """200 with the JSON body and its ETag, or 304 when the client holds the same one."""
    etag = _etag(payload)
    if _matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(payload, content_type="application/json")
    response["ETag"] = etag
    if private:
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Authorization, Cookie"
    else:
        # Public figures are the same for everyone, in both languages (names come in
        # Chinese and English), so shared caches may keep them for a minute.
        response["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    return response


def _plain(value: Any) -> Any:
    if isinstance(value, (date, Decimal)):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")


def dump(data: dict[str, Any]) -> bytes:
    """The JSON body. Handlers build plain dicts shaped like their response schema, which
    `open_data` checks under tests and DEBUG; in production validating ~1,000 links per
    request would cost more than the query."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_plain).encode()


def open_data(
    schema: type[BaseModel], *, private: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a ninja handler that returns its data: anonymous rate limit first, then the
    body (shaped like `schema`, which documents it in OpenAPI) with an ETag and
    Cache-Control."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def handler(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = current_user(request)
            if not getattr(user, "is_authenticated", False):
                limited = too_many(request)
                if limited is not None:
                    return limited
            data = fn(request, *args, **kwargs)
            if isinstance(data, HttpResponse):
                return data
            payload = dump(data)
            if getattr(settings, "TESTING", False) or settings.DEBUG:
                schema.model_validate(json.loads(payload))  # the body matches its schema
            return conditional(request, payload, private=private)

        # ninja reads the parameters from the signature and resolves string annotations in
        # the function's own module, so hand it the resolved signature of `fn`.
        handler.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
        return handler

    return decorate
