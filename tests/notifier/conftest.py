"""Notifier process tests: a migrated SQLite file, the simulator, and `python -m
backend.notifications.worker` processes started and killed by the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.db import get_engine, session_factory
from backend.notifications.models import OutboxMessage
from backend.notifications.outbox import enqueue
from scripts.stack import ROOT
from tests.backend.conftest import TOKENS, migrate
from tests.notifier.harness import Simulator, simulator


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with simulator() as running:
        yield running


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    url = f"sqlite:///{tmp_path / 'notifier.db'}"
    migrate(url)
    yield url, session_factory(get_engine(url))
    get_engine(url).dispose()


@dataclass
class Notifiers:
    env: dict[str, str]
    log_dir: Path
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, **overrides: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"notifier-{len(self.running)}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.notifications.worker"],
            cwd=ROOT, env=self.env | overrides, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("notifier-*.log")))


@pytest.fixture
def notifiers(
    db: tuple[str, sessionmaker[Session]], sim: Simulator, redis_url: str, tmp_path: Path
) -> Iterator[Notifiers]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMS_", "WECHAT_", "WECOM_", "NOTIFIER_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": db[0],
        "REDIS_URL": redis_url,
        "SMS_PROVIDER": "aliyun",
        "SMS_API_BASE_URL": sim.url,
        "SMS_ACCESS_KEY_ID": "test-access-key",
        "SMS_ACCESS_KEY_SECRET": "test-access-secret",
        "QUIET_HOURS_START": "00:00",
        "QUIET_HOURS_END": "00:00",
        "NOTIFIER_POLL_SECONDS": "0.5",
        "NOTIFIER_CLAIM_SECONDS": "5",
        **{name.upper(): value for name, value in TOKENS.items()},
    }
    running = Notifiers(env, tmp_path)
    yield running
    running.stop_all()


def enqueue_sms(factory: sessionmaker[Session], count: int, *, start: int = 0) -> None:
    with factory() as session, session.begin():
        for n in range(start, start + count):
            params = {"ticket_no": f"QX2026112{n:05d}", "deadline": "2026-11-22T16:30:00+08:00"}
            enqueue(
                session,
                dedup_key=f"test:{n}",
                template="ticket_dispatched",
                phone=f"139{n:08d}",
                params=params,
            )


def sent_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).where(OutboxMessage.status == "sent")) or 0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def gateway_stats(sim: Simulator) -> dict[str, int]:
    return httpx.get(f"{sim.url}/sim/sms/stats").json()
