"""Fixtures shared by both environments' tests (standard library only).

- `redis_url`: a real Redis: REDIS_URL when set (CI points it at db 15 of the machine's Redis),
  else a private memory-only redis-server on a free port for this test session.
- `live_stack`: the running PowerDesk stack (backend, action server, rasa server with the trained
  model, simulator and notifier) on free ports, a fresh SQLite database with the demo data, fresh
  secrets, and a Redis namespace of its own (`POWERDESK_NAMESPACE`: its inbound queue, conversations
  and transcripts start empty whatever earlier runs left in the tests' Redis); stopped after the session. Slow to start
  (~1 min): only the end-to-end and channel tests use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts.stack import MODEL, Stack, base_env, dev_secrets, free_port


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    stack = Stack(base_env({}), tmp_path_factory.mktemp("redis-log"))
    try:
        yield stack.start_redis(free_port(), tmp_path_factory.mktemp("redis-data"))
    finally:
        stack.stop()


@dataclass
class LiveStack:
    env: dict[str, str]
    backend_url: str
    rasa_url: str
    actions_url: str
    simulator_url: str
    database_url: str
    log_dir: Path
    stack: Stack
    ports: dict[str, int]

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['POWERDESK_ADMIN_TOKEN']}"}

    @property
    def rasa_headers(self) -> dict[str, str]:
        """Rasa's HTTP API and REST channel take the API token in this header only."""
        return {"Authorization": f"Bearer {self.env['RASA_API_TOKEN']}"}


@contextmanager
def running_stack(redis_url: str, work: Path, **overrides: str) -> Iterator[LiveStack]:
    """The whole stack on free ports, a fresh SQLite database with the demo data, fresh secrets,
    its own Redis namespace."""
    if not MODEL.exists():
        raise RuntimeError(f"no trained model at {MODEL}: run `make model` (make test does it first)")
    ports = {name: free_port() for name in ("backend", "actions", "rasa", "gateway", "simulator")}
    simulator_url = f"http://127.0.0.1:{ports['simulator']}"
    settings = (
        dev_secrets()
        | {
            "DATABASE_URL": f"sqlite:///{work / 'powerdesk.db'}",
            "REDIS_URL": redis_url,
            # The stack's own queue and conversations, whatever else shares the tests' Redis.
            "POWERDESK_NAMESPACE": f"pd{ports['rasa']}",
            "BACKEND_URL": f"http://127.0.0.1:{ports['backend']}",
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
            "RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
            "GATEWAY_URL": f"http://127.0.0.1:{ports['gateway']}",
            "WECHAT_API_BASE_URL": simulator_url,
            "WECOM_API_BASE_URL": simulator_url,
            "SMS_PROVIDER": "aliyun",
            "SMS_API_BASE_URL": simulator_url,
            "POWERDESK_VAR_DIR": str(work),
            # No quiet hours: the end-to-end pushes must not depend on the time of day the tests run
            # (quiet hours have their own tests in tests/backend/notifications).
            "QUIET_HOURS_START": "00:00",
            "QUIET_HOURS_END": "00:00",
            # People answer around the clock, for the same reason (service hours: tests/backend/handoffs).
            "HANDOFF_HOURS_START": "00:00",
            "HANDOFF_HOURS_END": "00:00",
            # No arrears reminders or 业扩 stage-limit checks: whether a customer's overdue bill is
            # reminded of depends on the day of the month, and the reminder would then land between
            # a customer's message and its reply at a random moment (tests/notifier/test_periodic.py
            # and tests/backend/test_reminders.py test those jobs).
            "NOTIFIER_REMINDER_SECONDS": "0",
        }
        | overrides
    )
    stack = Stack(base_env(settings), work / "log", rest_channel=True)
    try:
        stack.start_all(ports)
        yield LiveStack(
            env=stack.env,
            backend_url=settings["BACKEND_URL"],
            rasa_url=settings["RASA_URL"],
            actions_url=f"http://127.0.0.1:{ports['actions']}",
            simulator_url=simulator_url,
            database_url=settings["DATABASE_URL"],
            log_dir=work / "log",
            stack=stack,
            ports=ports,
        )
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def live_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with running_stack(redis_url, tmp_path_factory.mktemp("stack")) as live:
        yield live
