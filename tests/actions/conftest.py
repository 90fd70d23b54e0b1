"""Action-server tests (the adapter of dialogue/ to Rasa) against a real backend process (app env)
on a fresh SQLite database.

`backend` starts the backend once per session on a database with the small demo seed (its fixed
demo customers have bills and applications); `world` creates a small topology through the
admin API (a feeder, a grid cell, a transformer, a worker and a bound customer) with codes unique
to the test, so tests do not depend on each other or on the demo seed. Every test has its own
batcher of conversation events (`outcome_batcher`), whose task ends with the test.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import outcomes
from actions.outcomes import OutcomeBatcher
from scripts.stack import ROOT, Stack, base_env, dev_secrets, free_port


@dataclass
class Backend:
    url: str
    env: dict[str, str]

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Authorization": f"Bearer {self.env['POWERDESK_ADMIN_TOKEN']}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()}") from exc


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    work = tmp_path_factory.mktemp("backend")
    port = free_port()
    # People answer in chat around the clock here: a hand-off's outcome must not depend on the hour.
    env = base_env(
        dev_secrets()
        | {
            "DATABASE_URL": f"sqlite:///{work / 'test.db'}",
            "POWERDESK_VAR_DIR": str(work),
            "HANDOFF_HOURS_START": "00:00",
            "HANDOFF_HOURS_END": "00:00",
        }
    )
    env.pop("REDIS_URL", None)
    stack = Stack(env, work / "log")
    try:
        stack.migrate()
        stack.seed("--customers", "30")
        stack.start_backend(port)
        yield Backend(f"http://127.0.0.1:{port}", env)
    finally:
        stack.stop()


@pytest.fixture(autouse=True)
async def outcome_batcher(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[OutcomeBatcher]:
    """The action server's batcher of conversation events (actions/outcomes.py) for one test: it
    sends only when asked (or at 100 events), and what is left is sent when the test ends."""
    batcher = OutcomeBatcher(every=60)
    monkeypatch.setattr(outcomes, "batcher", batcher)
    yield batcher
    await batcher.close()


@pytest.fixture
def actions_env(backend: Backend, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Backend:
    monkeypatch.setenv("BACKEND_URL", backend.url)
    monkeypatch.setenv("POWERDESK_ACTIONS_TOKEN", backend.env["POWERDESK_ACTIONS_TOKEN"])
    monkeypatch.setenv("POWERDESK_VAR_DIR", str(tmp_path))
    return backend


@dataclass
class World:
    openid: str
    account_no: str
    phone: str
    worker_code: str
    worker_wecom_id: str
    transformer_code: str


@pytest.fixture
def world(actions_env: Backend) -> World:
    tag = secrets.token_hex(3).upper()
    number = int(tag, 16) % 10**6
    account_no = f"32{number:06d}01"
    phone = f"139{number:06d}78"
    feeder, cell, transformer = f"F{tag}", f"G{tag}", f"T{tag}"
    actions_env.admin("POST", "/feeders", {"code": feeder, "name": f"10kV测试{tag}线"})
    actions_env.admin("POST", "/grid-cells", {"code": cell, "name": f"阳光社区网格{tag}"})
    actions_env.admin(
        "POST",
        "/transformers",
        {"code": transformer, "name": f"阳光小区{tag}号配变", "feeder_code": feeder, "grid_cell_code": cell},
    )
    worker_code, wecom_id = f"W{tag}", f"wk{tag.lower()}"
    actions_env.admin(
        "POST",
        "/workers",
        {
            "code": worker_code,
            "name": "王师傅",
            "phone": f"137{number:06d}12",
            "grid_cell_code": cell,
            "wecom_user_id": wecom_id,
        },
    )
    openid = f"o{tag.lower()}test"
    actions_env.admin(
        "POST",
        "/customers",
        {
            "account_no": account_no,
            "name": "张三",
            "phone": phone,
            "address": f"阳光小区{tag}栋2单元501",
            "customer_type": "resident",
            "area_type": "urban",
            "transformer_code": transformer,
            "wechat_openid": openid,
        },
    )
    return World(openid, account_no, phone, worker_code, wecom_id, transformer)


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return Domain.load(str(ROOT / "bot" / "domain")).as_dict()


def make_tracker(
    sender_id: str,
    text: str = "",
    intent: str = "inform",
    entities: list[dict[str, Any]] | None = None,
    conversation: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    channel: str = "wechat",
    ranking: list[dict[str, Any]] | None = None,
    history: list[dict[str, Any]] | None = None,
    message_id: str | None = None,
) -> Tracker:
    """A tracker as the rasa server sends it to the action server for one user message."""
    latest = {
        "message_id": message_id or secrets.token_hex(16),
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": ranking or [{"name": intent, "confidence": 1.0}],
        "entities": entities or [],
        "metadata": metadata or {"message_key": f"test:{secrets.token_hex(6)}"},
    }
    events = [
        *(history or []),
        {"event": "user", "text": text, "parse_data": latest, "input_channel": channel, "timestamp": time.time()},
    ]
    slots = {"conversation": conversation} if conversation is not None else {}
    return Tracker(sender_id, slots, latest, events, False, None, {}, "action_listen")


def ent(name: str, value: str) -> dict[str, Any]:
    return {"entity": name, "value": value}


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]
