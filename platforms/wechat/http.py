"""The JSON-over-HTTP call both platforms' clients make: explicit timeouts, errcode mapping.

Synchronous (`requests`): call it from a worker thread or `run_in_executor`, never on an event loop.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import requests

from platforms.wechat.errors import PlatformUnavailable, raise_for_errcode

logger = logging.getLogger(__name__)

_SECRET_PARAM = re.compile(r"((?:access_token|corpsecret|secret)=)[^&\s\"]+")


class _RedactSecrets(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string (our access token) included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_SECRET_PARAM.sub(r"\1***", a) if isinstance(a, str) else a for a in args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactSecrets())

#: (connect, read) seconds: WeChat answers in well under a second when healthy.
DEFAULT_TIMEOUT = (3.05, 5.0)


def call_json(
    session: requests.Session,
    method: str,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Call the API and return its JSON answer; raise the mapped PlatformError when errcode != 0.

    `params` may hold the access token: it is never logged (only the path is).
    """
    path = url.split("?", 1)[0]
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
    try:
        response = session.request(method, url, params=params, data=data, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        logger.warning("%s %s failed: %s", method, path, type(exc).__name__)
        raise PlatformUnavailable(type(exc).__name__) from exc
    if response.status_code >= 500 or response.status_code == 429:
        logger.warning("%s %s answered HTTP %s", method, path, response.status_code)
        raise PlatformUnavailable(f"HTTP {response.status_code}")
    try:
        payload = response.json()
    except ValueError as exc:
        raise PlatformUnavailable(f"HTTP {response.status_code}, not JSON") from exc
    if not isinstance(payload, dict):
        raise PlatformUnavailable("answer is not a JSON object")
    raise_for_errcode(payload)
    return payload
