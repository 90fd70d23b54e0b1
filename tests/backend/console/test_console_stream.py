"""The console's live stream over a real HTTP server: whole states as server-sent events when they
change, presence (an open console is an agent online), and `signed_out` when the session ends."""

from __future__ import annotations

import json
import os
import threading
import time as clock_time
from collections.abc import Iterator
from datetime import time
from queue import Empty, Queue
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.main import create_app
from backend.staff.access import COOKIE_NAME, CSRF_HEADER
from backend.staff.models import StaffSession
from tests.backend.conftest import TOKENS, bearer
from tests.support.servers import serve


@pytest.fixture
def backend(db_url: str) -> Iterator[str]:
    settings = Settings(  # type: ignore[arg-type]
        database_url=db_url, redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        handoff_hours_start=time(0), handoff_hours_end=time(0), console_stream_poll_seconds=0.2, **TOKENS,
    )  # fmt: skip
    with serve(create_app(settings)) as url:
        yield url


def person(backend: str, username: str, role: str = "agent") -> dict[str, str]:
    body = {"username": username, "name": username, "role": role, "password": f"password-{username}"}
    httpx.post(f"{backend}/api/v1/staff", json=body, headers=bearer(TOKENS["powerdesk_admin_token"])).raise_for_status()
    answer = httpx.post(f"{backend}/api/v1/staff/sessions", json={"username": username, "password": body["password"]})
    answer.raise_for_status()
    return {"Cookie": f"{COOKIE_NAME}={answer.cookies[COOKIE_NAME]}", CSRF_HEADER: answer.json()["csrf_token"]}


class Events:
    """The events of one stream, read in a thread."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.queue: Queue[tuple[str, Any]] = Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", url, headers=headers, timeout=30) as answer:
            self.queue.put(("status", answer.status_code))
            name = None
            for raw in answer.iter_lines():
                if self._stop.is_set():
                    return
                if raw.startswith("event: "):
                    name = raw[len("event: ") :]
                elif raw.startswith("data: ") and name:
                    self.queue.put((name, json.loads(raw[len("data: ") :])))
                    if name == "signed_out":
                        return

    def next(self, name: str, timeout: float = 10.0) -> Any:
        deadline = clock_time.monotonic() + timeout
        while True:
            try:
                got, data = self.queue.get(timeout=max(0.01, deadline - clock_time.monotonic()))
            except Empty:
                raise AssertionError(f"no {name} event within {timeout} s") from None
            if got == name:
                return data

    def close(self) -> None:
        self._stop.set()


def test_the_queue_arrives_live_and_an_open_console_counts_as_online(
    backend: str, session_factory: sessionmaker[Session]
) -> None:
    headers = person(backend, "lin")
    actions = bearer(TOKENS["powerdesk_actions_token"])
    events = Events(f"{backend}/api/v1/console/stream?topics=queue,overview", headers)
    try:
        assert events.next("status") == 200
        assert events.next("queue") == []
        assert events.next("overview")["agents_online"] == 1  # the stream marked the agent present
        body = {"channel": "sms", "sender_id": "13800000009", "reason": "咨询电费"}
        handoff = httpx.post(f"{backend}/api/v1/handoffs", json=body, headers=actions).json()
        assert (handoff["status"], handoff["agents_online"]) == ("waiting", 1)
        (item,) = events.next("queue")
        assert (item["id"], item["reason"], item["queue_position"]) == (handoff["id"], "咨询电费", 1)
        waiting = events.next("overview")
        assert waiting["waiting"] == 1

        with session_factory() as session, session.begin():
            session.execute(update(StaffSession).values(expires_at=StaffSession.created_at))
        assert events.next("signed_out") == {}
    finally:
        events.close()


def test_a_stream_needs_a_person_allowed_to_watch_known_topics(backend: str) -> None:
    agent = person(backend, "lin")
    admin = bearer(TOKENS["powerdesk_admin_token"])
    for headers, topics, status in (
        (admin, "queue", 403),  # the admin token is not a login
        ({}, "queue", 401),
        (agent, "queue,nothing", 422),
        (agent, "handoff:abc", 422),
        (agent, "live", 403),  # the command centre's live view is the dispatchers'
    ):
        answer = httpx.get(f"{backend}/api/v1/console/stream", params={"topics": topics}, headers=headers)
        assert answer.status_code == status, (topics, answer.text)


def test_the_dispatchers_live_view_arrives_and_follows_the_grid(backend: str) -> None:
    """The `live` topic carries the overview (`backend/live/service.py`) to a dispatcher, and sends it
    again when what it shows changes (here a feeder added to the grid)."""
    dispatcher = person(backend, "zheng", role="dispatcher")
    admin = bearer(TOKENS["powerdesk_admin_token"])
    events = Events(f"{backend}/api/v1/console/stream?topics=live", dispatcher)
    try:
        assert events.next("status") == 200
        first = events.next("live")
        assert first["tickets"]["open"] == 0 and first["storm"]["storm"] is False and "grid" in first
        httpx.post(f"{backend}/api/v1/feeders", json={"code": "F9", "name": "九号线"}, headers=admin).raise_for_status()
        deadline = clock_time.monotonic() + 10
        while clock_time.monotonic() < deadline:
            if [f["name"] for f in events.next("live")["grid"]] == ["九号线"]:
                break
        else:
            raise AssertionError("the new feeder never reached the live view")
    finally:
        events.close()
