"""A cap on request bodies, before anything reads them (authentication included): ASGI middleware.

A declared `Content-Length` over the cap is answered 413 at once, without reading the body; a body
sent in chunks is counted as the application reads it: the moment it passes the cap the 413 is
sent and the application is told the client went away (what it then tries to answer is dropped).
The answer has the shape of every error (`backend/core/errors.py`): `{"code": "payload_too_large",
"message": ...}`. Used by the backend (`BACKEND_MAX_BODY_BYTES`, default 1 MiB) and the simulator.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_ANSWER = json.dumps({"code": "payload_too_large", "message": "请求内容过大"}, ensure_ascii=False).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(send)
            return
        seen = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    refused = True
                    await _refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, tracked_send)


async def _refuse(send: Send) -> None:
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(_ANSWER)).encode()),
                          (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": _ANSWER})
