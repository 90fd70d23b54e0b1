"""A running rasa server with the WeChat and WeCom channels, for the channel tests.

Processes and servers, all on loopback: the rasa server (bot env, a real process) with a tiny
fixture bot (`fixture_bot/`, trained once per session in seconds, so the tests exercise the
channel, not the NLU); the simulator (in-process) as the WeChat/WeCom API and platform side;
a small action server whose one action answers after a configurable delay (a slow turn); and a
stand-in for the backend's `POST /api/v1/notifications`, `PUT …/wechat-followers/{openid}` and
`POST /api/v1/handoffs/wechat-kf-events` that records the pushes (with their `X-Request-ID`),
follow changes and kf session events it is given.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot_runtime.inbound_queue import InboundQueue, connect
from scripts.stack import BOT_BIN, ROOT, Stack, base_env
from simulator.app import create_app
from simulator.settings import SimulatorSettings
from tests.support.keys import new_aes_key
from tests.support.servers import free_port, serve

FIXTURE_BOT = Path(__file__).parent / "fixture_bot"
BOT_ENDPOINTS = ROOT / "bot" / "endpoints.yml"
ACTIONS_TOKEN = "channel-tests-actions-token"
RASA_API_TOKEN = "channel-tests-rasa-api-token"
#: a message journalled (acked) before a "crash", whose turn never ran: replayed at startup
REPLAY_USER = "o_replay_user_01"


def seed_queue(queue: InboundQueue, settings: SimulatorSettings) -> None:
    """One message acked while no rasa server ran: the first to start must answer it."""
    fields = {"ToUserName": "gh", "FromUserName": REPLAY_USER, "CreateTime": str(int(time.time())),
              "MsgType": "text", "Content": "电费", "MsgId": "900000001"}  # fmt: skip
    queue.accept(f"wx:{settings.wechat_app_id}:900000001", "wechat", REPLAY_USER, fields)


@dataclass
class Recorded:
    pushes: list[dict[str, Any]] = field(default_factory=list)
    push_auth: list[str] = field(default_factory=list)
    #: each push's `X-Request-ID`, by its dedup key
    push_request_ids: dict[str, str | None] = field(default_factory=dict)
    follows: list[tuple[str, bool]] = field(default_factory=list)
    kf_events: list[dict[str, Any]] = field(default_factory=list)
    action_delay: float = 0.0


def backend_app(recorded: Recorded) -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/notifications")
    async def notifications(request: Request) -> JSONResponse:
        recorded.push_auth.append(request.headers.get("authorization", ""))
        push = await request.json()
        recorded.push_request_ids[push["dedup_key"]] = request.headers.get("x-request-id")
        recorded.pushes.append(push)
        return JSONResponse({"id": len(recorded.pushes), "status": "pending"}, status_code=201)

    @app.put("/api/v1/notifications/wechat-followers/{openid}", status_code=204)
    async def follow(openid: str, request: Request) -> None:
        recorded.follows.append((openid, (await request.json())["following"]))

    @app.post("/api/v1/handoffs/wechat-kf-events", status_code=204)
    async def kf_event(request: Request) -> None:
        recorded.kf_events.append(await request.json())

    return app


def action_app(recorded: Recorded) -> FastAPI:
    app = FastAPI()

    @app.post("/webhook")
    async def webhook(request: Request) -> dict[str, Any]:
        await request.json()
        await asyncio.sleep(recorded.action_delay)
        return {"events": [], "responses": [{"text": "您的工单正在处理中，维修人员已出发。"}]}

    return app


def train_fixture_model(out: Path) -> Path:
    subprocess.run(
        [str(BOT_BIN / "rasa"), "train", "--config", str(FIXTURE_BOT / "config.yml"),
         "--domain", str(FIXTURE_BOT / "domain.yml"), "--data", str(FIXTURE_BOT / "data"),
         "--out", str(out), "--fixed-model-name", "fixture"],
        cwd=ROOT, env=base_env({"RASA_TELEMETRY_ENABLED": "false"}), check=True, capture_output=True,
    )  # fmt: skip
    return out / "fixture.tar.gz"


@dataclass
class ChannelStack:
    rasa_url: str
    simulator_url: str
    simulator_app: Any
    settings: SimulatorSettings
    recorded: Recorded
    #: the stack's inbound queue (its own namespace in the tests' Redis)
    queue: InboundQueue
    log: Path

    @property
    def state(self) -> Any:
        return self.simulator_app.state.platform

    @property
    def wechat_peer(self) -> Any:
        return self.simulator_app.state.wechat_peer

    @property
    def wecom_peer(self) -> Any:
        return self.simulator_app.state.wecom_peer

    def records(self, api: str, to: str) -> list[dict[str, Any]]:
        return [r for r in self.state.records if r.get("api") == api and r.get("to") == to]

    def wait_for(self, api: str, to: str, count: int = 1, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.records(api, to)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} {api} to {to} expected, got {self.records(api, to)}\n{self.tail()}")

    def pushes_for(self, recipient: dict[str, str]) -> list[dict[str, Any]]:
        return [p for p in self.recorded.pushes if p["recipient"] == recipient]

    @property
    def rasa_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {RASA_API_TOKEN}"}

    def tracker(self, sender: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.rasa_url}/conversations/{sender}/tracker", headers=self.rasa_headers, timeout=10)
        answer.raise_for_status()
        tracker: dict[str, Any] = answer.json()
        return tracker

    def user_events(self, sender: str) -> list[dict[str, Any]]:
        return [e for e in self.tracker(sender)["events"] if e["event"] == "user"]

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:]) if self.log.exists() else ""


def start_channel_stack(work: Path, redis_url: str, ready_path: str = "/webhooks/wechat/") -> Iterator[ChannelStack]:
    """Start everything (after queueing one message for the rasa server to find)."""
    model = train_fixture_model(work / "model")
    recorded = Recorded()
    rasa_port = free_port()
    settings = SimulatorSettings(
        wechat_app_id="wx" + secrets.token_hex(8),
        wechat_app_secret=new_aes_key()[:32],
        wechat_token="tok" + str(rasa_port),
        wechat_aes_key=new_aes_key(),
        wecom_corp_id="ww" + secrets.token_hex(8),
        wecom_agent_id="1000002",
        wecom_secret=new_aes_key()[:32],
        wecom_token="wecomtok" + str(rasa_port),
        wecom_aes_key=new_aes_key(),
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        delivery_timeout=2.0,
    )
    var_dir = work / "var"
    var_dir.mkdir()
    namespace = f"pdtest{rasa_port}"
    queue = InboundQueue(connect(redis_url, timeout=2), namespace_=namespace)
    if queue.unreachable() is None:
        seed_queue(queue, settings)
    simulator = create_app(settings)
    with ExitStack() as stack:
        simulator_url = stack.enter_context(serve(simulator))
        backend_url = stack.enter_context(serve(backend_app(recorded)))
        actions_url = stack.enter_context(serve(action_app(recorded)))
        credentials = work / "credentials.yml"
        credentials.write_text(
            "bot_runtime.channels.wechat.WeChatInput:\nbot_runtime.channels.wecom.WeComInput:\n", encoding="utf-8"
        )
        endpoints = work / "endpoints.yml"
        # the fixture action server, and the real lock store: Rasa's, in the stack's Redis
        lock_store = BOT_ENDPOINTS.read_text(encoding="utf-8").split("\nlock_store:", 1)[1]
        endpoints.write_text(
            f"action_endpoint:\n  url: {actions_url}/webhook\nlock_store:{lock_store}", encoding="utf-8"
        )
        env = base_env({
            "WECHAT_APP_ID": settings.wechat_app_id, "WECHAT_APP_SECRET": settings.wechat_app_secret,
            "WECHAT_TOKEN": settings.wechat_token, "WECHAT_AES_KEY": settings.wechat_aes_key,
            "WECHAT_API_BASE_URL": simulator_url,
            "WECOM_CORP_ID": settings.wecom_corp_id, "WECOM_AGENT_ID": settings.wecom_agent_id,
            "WECOM_SECRET": settings.wecom_secret, "WECOM_TOKEN": settings.wecom_token,
            "WECOM_AES_KEY": settings.wecom_aes_key, "WECOM_API_BASE_URL": simulator_url,
            "REDIS_URL": redis_url, "BACKEND_URL": backend_url, "POWERDESK_ACTIONS_TOKEN": ACTIONS_TOKEN,
            "POWERDESK_VAR_DIR": str(var_dir), "POWERDESK_NAMESPACE": namespace, "RASA_TELEMETRY_ENABLED": "false",
            "RASA_API_TOKEN": RASA_API_TOKEN,
        })  # fmt: skip
        processes = Stack(env, work / "log")
        stack.callback(processes.stop)
        cmd = [str(BOT_BIN / "python"), "-m", "bot_runtime.rasa_server", "--port", str(rasa_port),
               "--model", str(model), "--credentials", str(credentials), "--endpoints", str(endpoints)]  # fmt: skip
        processes.start("rasa", cmd, f"http://127.0.0.1:{rasa_port}{ready_path}", timeout=180)
        yield ChannelStack(
            f"http://127.0.0.1:{rasa_port}",
            simulator_url,
            simulator,
            settings,
            recorded,
            queue,
            work / "log" / "rasa.log",
        )
