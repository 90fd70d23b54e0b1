"""A write is committed before its answer leaves the backend: a client that reads right after a 2xx
sees what it wrote, and a commit that fails can never follow a success already sent.

The in-process test client returns only when the whole request is over, so it cannot see the
order; this test drives the ASGI app directly and records when the answer starts to go out and
when the request's transaction commits.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session


def test_the_transaction_commits_before_the_answer_is_sent(client: TestClient, admin_headers: dict) -> None:
    order: list[str] = []

    def committed(_session: Session) -> None:
        order.append("commit")

    body = json.dumps({"code": "F-TX", "name": "10kV事务线"}).encode()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/feeders",
        "raw_path": b"/api/v1/feeders",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in admin_headers.items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            order.append(f"answer {message['status']}")

    event.listen(Session, "after_commit", committed)
    try:
        asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    finally:
        event.remove(Session, "after_commit", committed)
    assert "answer 201" in order
    assert order[-1] == "answer 201", f"a commit ran after the answer was sent: {order}"
    feeders = client.get("/api/v1/feeders", headers=admin_headers).json()
    assert [f["name"] for f in feeders if f["code"] == "F-TX"] == ["10kV事务线"]
