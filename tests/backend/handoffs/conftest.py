"""Fixtures for the hand-off tests: the backend's (tests/backend/conftest.py) with people answering
around the clock (service hours from 00:00 to 00:00), and staff who sign in through the API.

- `staff`: `Staff(client, admin_headers, session_factory)`; `staff.hire("lin", role="agent")`
  creates a person through the admin API and signs them in (a `Person` whose `headers` carry the
  session cookie and the CSRF token); `staff.on_duty(person)` marks their console open, as its
  live stream does every 20 s.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.core.db import transaction
from backend.staff import service as staff_service
from backend.staff.access import COOKIE_NAME, CSRF_HEADER
from backend.staff.models import StaffSession
from tests.backend.conftest import TOKENS


@pytest.fixture
def settings(db_url: str) -> Settings:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    return Settings(  # type: ignore[arg-type]
        database_url=db_url,
        redis_url=redis_url,
        handoff_hours_start=time(0, 0),
        handoff_hours_end=time(0, 0),
        **TOKENS,
    )


@dataclass
class Person:
    username: str
    name: str
    password: str
    session_id: int
    headers: dict[str, str]


def sign_in(client: TestClient, username: str, password: str) -> tuple[str, str]:
    """Sign in through the API; returns the session cookie's token and the CSRF token."""
    answer = client.post("/api/v1/staff/sessions", json={"username": username, "password": password})
    assert answer.status_code == 201, answer.text
    token = answer.cookies[COOKIE_NAME]
    client.cookies.clear()  # each person's requests carry their own cookie
    return token, answer.json()["csrf_token"]


@dataclass
class Staff:
    client: TestClient
    admin_headers: dict[str, str]
    factory: sessionmaker[Session]
    people: list[Person] = field(default_factory=list)

    def hire(self, username: str, *, role: str = "agent", name: str | None = None, **extra: Any) -> Person:
        password = f"password-{username}"
        body = {"username": username, "name": name or username, "role": role, "password": password, **extra}
        answer = self.client.post("/api/v1/staff", json=body, headers=self.admin_headers)
        assert answer.status_code == 201, answer.text
        token, csrf = sign_in(self.client, username, password)
        with self.factory() as session:
            session_id = session.scalar(
                select(StaffSession.id).where(StaffSession.token_hash == staff_service.token_hash(token))
            )
        person = Person(
            username, body["name"], password, session_id, {"Cookie": f"{COOKIE_NAME}={token}", CSRF_HEADER: csrf}
        )
        self.people.append(person)
        return person

    def on_duty(self, *people: Person) -> None:
        """Their consoles are open: what the live stream records every 20 s."""
        with transaction(self.factory) as session:
            for person in people:
                staff_service.touch_seen(session, person.session_id)


@pytest.fixture
def staff(client: TestClient, admin_headers: dict[str, str], session_factory: sessionmaker[Session]) -> Staff:
    return Staff(client, admin_headers, session_factory)


def line(sender: str, text: str, at: str = "2026-11-22T10:00:00+08:00") -> dict[str, str]:
    return {"from": sender, "text": text, "at": at}
