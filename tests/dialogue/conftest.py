"""The dialogue (dialogue/) against a real backend process, without the NLU: each message is given
with the intent and entities the NLU would give, so that a test names the dialogue behaviour it
proves. (Whole conversations with the real NLU are in tests/conversations/.)

- `backend`: the backend on a fresh SQLite database with the small demo seed, once per session.
- `place`: a fresh grid cell, worker, transformer and bound resident for one test (`Place`).
- `Chat`: one customer's conversation: `chat.say(text, intent, **entities)` runs a turn and returns
  what the bot said, as (response, values) pairs; `chat.state` is what it remembers, `chat.outcomes`
  the conversation events its turns left for the reports.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from clients.backend import BackendClient
from dialogue import engine
from dialogue.context import Say
from dialogue.message import Message
from dialogue.state import State
from scripts.stack import Stack, base_env, dev_secrets, free_port


@dataclass
class Backend:
    url: str
    env: dict[str, str]

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/v1{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={
                "Authorization": f"Bearer {self.env['POWERDESK_ADMIN_TOKEN']}",
                "Content-Type": "application/json",
                **headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read().decode()}") from exc

    def client(self) -> BackendClient:
        return BackendClient(self.url, self.env["POWERDESK_ACTIONS_TOKEN"])


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    work = tmp_path_factory.mktemp("backend")
    port = free_port()
    env = base_env(dev_secrets() | {"DATABASE_URL": f"sqlite:///{work / 'test.db'}", "POWERDESK_VAR_DIR": str(work)})
    env.pop("REDIS_URL", None)
    stack = Stack(env, work / "log")
    try:
        stack.migrate()
        stack.seed("--customers", "30")
        stack.start_backend(port)
        yield Backend(f"http://127.0.0.1:{port}", env)
    finally:
        stack.stop()


@dataclass
class Place:
    """A grid cell with its worker, a transformer, and a resident (bound to `openid`) on it."""

    openid: str
    account_no: str
    phone: str
    address: str
    worker_code: str
    worker_wecom_id: str
    transformer_code: str
    cell_code: str


@pytest.fixture
def place(backend: Backend) -> Place:
    tag = secrets.token_hex(3).upper()
    number = int(tag, 16) % 10**6
    cell, transformer, feeder = f"G{tag}", f"T{tag}", f"F{tag}"
    backend.admin("POST", "/feeders", {"code": feeder, "name": f"10kV测试{tag}线"})
    backend.admin("POST", "/grid-cells", {"code": cell, "name": f"阳光社区网格{tag}"})
    backend.admin(
        "POST",
        "/transformers",
        {"code": transformer, "name": f"阳光小区{tag}号配变", "feeder_code": feeder, "grid_cell_code": cell},
    )
    worker_code, wecom_id = f"W{tag}", f"wk{tag.lower()}"
    backend.admin(
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
    openid, account_no, phone = f"o{tag.lower()}test", f"32{number:06d}01", f"139{number:06d}78"
    address = f"阳光小区{tag}栋2单元501"
    backend.admin(
        "POST",
        "/customers",
        {
            "account_no": account_no,
            "name": "张三",
            "phone": phone,
            "address": address,
            "customer_type": "resident",
            "area_type": "urban",
            "transformer_code": transformer,
            "wechat_openid": openid,
        },
    )
    return Place(openid, account_no, phone, address, worker_code, wecom_id, transformer, cell)


def fault_outage(backend: Backend, place: Place) -> None:
    """A 10千伏线路故障 on the place's transformer since an hour ago, restored in two hours."""
    now = datetime.now(timezone(timedelta(hours=8)))
    backend.admin(
        "POST",
        "/outages",
        {
            "kind": "fault",
            "cause": "10千伏线路故障",
            "transformer_codes": [place.transformer_code],
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "estimated_restore_at": (now + timedelta(hours=2)).isoformat(),
        },
    )


class KeptWrites:
    """The dialogue's journal of promised writes, kept in memory for the test to look at."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, dict[str, Any], str]] = []

    def keep(self, kind: str, payload: dict[str, Any], key: str) -> None:
        self.kept.append((kind, payload, key))


@dataclass
class Chat:
    """One customer's conversation with the dialogue engine."""

    client: BackendClient
    sender_id: str
    channel: str = "wechat"
    state: State = field(default_factory=State)
    journal: KeptWrites = field(default_factory=KeptWrites)
    turns: int = 0
    outcomes: list[dict[str, str]] = field(default_factory=list)

    def say(self, text: str, intent: str = "inform", confidence: float = 0.95, **entities: str) -> list[Say]:
        self.turns += 1
        metadata = {"message_key": f"test:{self.sender_id}:{self.turns}:{secrets.token_hex(3)}"}
        message = Message(
            text=text,
            intent=intent,
            confidence=confidence,
            entities=entities,
            metadata=metadata,
            channel=self.channel,
            sender_id=self.sender_id,
        )
        turn = asyncio.run(engine.respond(self.state, message, self.client, self.journal))
        self.state = turn.state
        self.outcomes.extend(turn.outcomes)
        return turn.replies

    def said(self, text: str, intent: str = "inform", **entities: str) -> list[str]:
        """The response names of one turn."""
        return [s.response for s in self.say(text, intent, **entities)]


@pytest.fixture
def chat(backend: Backend, place: Place) -> Chat:
    return Chat(backend.client(), place.openid)


def names(replies: list[Say]) -> list[str]:
    return [s.response for s in replies]


def values(replies: list[Say], response: str) -> dict[str, Any]:
    return next(s.params for s in replies if s.response == response)


DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
