"""Log lines of the app-env processes: text by default, JSON objects one a line with LOG_FORMAT=json,
each carrying the request id (`X-Request-ID`) of what it is about.

The request id comes in with a request (or is made for it), goes back in the answer's header, is
stored with every push the request causes (the outbox's `trace_id`) and is set again by the notifier
while it delivers that push: one id follows a message from the backend to the platform.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.core.config import ROOT

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode()
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ROOT / ".env", extra="ignore", env_ignore_empty=True)

    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (`%(request_id)s`, "-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "process": self.process,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(process: str, settings: LogSettings | None = None) -> None:
    """Set the root logger up for an entry point: LOG_FORMAT (text or json) and LOG_LEVEL."""
    settings = settings or LogSettings()
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(process))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())


def new_id() -> str:
    return uuid.uuid4().hex


class RequestIds:
    """ASGI middleware: the request's `X-Request-ID` (a well-formed one it brings, else a new one) is
    the current request id while it is handled, and is sent back in the answer's header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == _HEADER_KEY), "")
        current = given if _VALID.match(given) else new_id()
        token = request_id.set(current)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((_HEADER_KEY, current.encode()))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            request_id.reset(token)
