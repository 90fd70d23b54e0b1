"""The simulator's own routes (`/sim/...`): act as a user, inspect and steer the fake platforms.

- `POST /sim/wechat/users/{openid}/send`, `POST /sim/wecom/users/{user_id}/send`: a user's
  message or event, delivered to the channel like the platform does (`wait=true` waits for the
  deliveries and returns them); the WeChat window and follow state change as on the platform; a
  WeChat user in a customer-service (kf) session writes to that account instead (`wechat_kf.py`).
- `GET /sim/records?since=&platform=&to=&api=`: everything the fake APIs received and delivered.
- `PUT/GET/DELETE /sim/faults`: the fault switch; `POST /sim/tokens/expire`; `GET /sim/token-calls`.
- `PUT /sim/wechat/users/{openid}/window`: set a user's window (e.g. last message 49 h ago);
  `PUT /sim/wechat/users/{openid}/refuse-templates`.
- `POST /sim/media` (multipart): upload a photo as the user's phone does; `GET /sim/media/{id}`.
- `GET /sim/demo`: the demo customers (with their phones) and workers offered by the page
  (`SIMULATOR_DEMO_CUSTOMERS`, `SIMULATOR_DEMO_WORKERS`: `id:label[:phone]`, comma-separated).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

import aiohttp
from fastapi import APIRouter, File, HTTPException, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from simulator.messages import UserAction, wechat_xml, wecom_xml
from simulator.peer import CallbackPeer, Delivery
from simulator.settings import SimulatorSettings
from simulator.state import Faults, PlatformState, Window

router = APIRouter(prefix="/sim")

# the demo identities of backend/seed.py: id:label[:phone] (the phone shows the SMS pushes too)
DEFAULT_DEMO_CUSTOMERS = (
    "o_demo_resident_01:张伟（居民，已绑定）:13800138001,o_demo_resident_02:李秀英（停电区域内）:13800138002,"
    "o_demo_resident_03:王建国（农村，下周计划停电）:13800138003,o_demo_business_01:鑫源超市（企业客户）:13800138004,"
    "o_demo_visitor_01:新关注用户（未绑定，可绑定户号3100000005）:13800138005"
)
DEFAULT_DEMO_WORKERS = (
    "wg_demo_worker_01:赵磊（网格员）,wg_demo_worker_02:孙浩（网格员）,wg_demo_supervisor_01:周静（网格长）,"
    "kf_demo_supervisor_01:吴倩（坐席值班长）,wg_demo_manager_01:陈思远（客户经理）"
)


def _state(request: Request) -> PlatformState:
    state: PlatformState = request.app.state.platform
    return state


def _settings(request: Request) -> SimulatorSettings:
    settings: SimulatorSettings = request.app.state.settings
    return settings


async def _deliver(request: Request, peer: CallbackPeer, xml: str, sender: str, action: UserAction,
                   platform: str) -> Delivery:  # fmt: skip
    client: aiohttp.ClientSession = request.app.state.http
    delivery = await peer.deliver(client, xml)
    _state(request).record(
        platform=platform, api="callback", sender=sender, msg_type=action.type,
        content=action.content or action.recognition or action.label or action.event_key or action.event,
        status=delivery.status, attempts=delivery.attempts, answer=delivery.body[:200],
    )  # fmt: skip
    return delivery


async def _dispatch(request: Request, peer: CallbackPeer, xml: str, sender: str, action: UserAction,
                    platform: str, wait: bool) -> dict[str, Any]:  # fmt: skip
    if wait:
        delivery = await _deliver(request, peer, xml, sender, action, platform)
        return {"status": delivery.status, "attempts": delivery.attempts, "answer": delivery.body}
    task = asyncio.create_task(_deliver(request, peer, xml, sender, action, platform))
    tasks: set[asyncio.Task[Delivery]] = request.app.state.tasks
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return {"status": "queued"}


@router.post("/wechat/users/{openid}/send")
async def wechat_send(request: Request, openid: str, action: UserAction, wait: bool = False) -> dict[str, Any]:
    state, settings = _state(request), _settings(request)
    if action.type == "event" and action.event == "unsubscribe":
        state.unfollowed.add(openid)
        state.windows.pop(openid, None)
    elif action.type != "event" or action.event in ("subscribe", "CLICK", "SCAN"):
        state.user_acted(openid, by_message=action.type != "event")
    kf_session = state.kf_session(openid) if action.type != "event" else None
    if kf_session is not None:  # WeChat forwards it to the customer-service account, not to us
        kf_session.last_activity = state.now()
        state.record(platform="wechat", api="kf_inbound", sender=openid, to=kf_session.account,
                     msg_type=action.type, content=action.content or action.recognition or action.label)  # fmt: skip
        return {"status": "to_kf", "kf_account": kf_session.account}
    xml = wechat_xml(action, openid, settings.wechat_account)
    return await _dispatch(request, request.app.state.wechat_peer, xml, openid, action, "wechat", wait)


@router.post("/wecom/users/{user_id}/send")
async def wecom_send(request: Request, user_id: str, action: UserAction, wait: bool = False) -> dict[str, Any]:
    settings = _settings(request)
    peer: CallbackPeer | None = request.app.state.wecom_peer
    if peer is None:
        raise HTTPException(409, "WECOM_AES_KEY is not set: WeCom callbacks are always encrypted")
    xml = wecom_xml(action, user_id, settings.wecom_corp_id, settings.wecom_agent_id)
    return await _dispatch(request, peer, xml, user_id, action, "wecom", wait)


@router.get("/records")
def records(
    request: Request,
    since: int = 0,
    platform: str | None = None,
    to: str | None = None,
    api: str | None = None,
) -> list[dict[str, Any]]:
    return [
        r for r in _state(request).records[since:]
        if (platform is None or r.get("platform") == platform)
        and (to is None or r.get("to") == to or r.get("sender") == to)
        and (api is None or r.get("api") == api)
    ]  # fmt: skip


class FaultSwitch(BaseModel):
    mode: str = "none"
    delay: float = 0.0
    errcode: int = 0
    count: int | None = None
    path_prefix: str = "/cgi-bin"


@router.put("/faults")
def set_faults(request: Request, switch: FaultSwitch) -> dict[str, Any]:
    if switch.mode not in ("none", "slow", "fail", "errcode"):
        raise HTTPException(422, "mode is one of none, slow, fail, errcode")
    _state(request).faults = Faults(**switch.model_dump())
    return switch.model_dump()


@router.get("/faults")
def get_faults(request: Request) -> dict[str, Any]:
    return vars(_state(request).faults)


@router.delete("/faults")
def clear_faults(request: Request) -> dict[str, Any]:
    _state(request).faults = Faults()
    return {"mode": "none"}


@router.post("/tokens/expire")
def expire_tokens(request: Request) -> dict[str, str]:
    _state(request).expire_tokens()
    return {"status": "expired"}


@router.get("/token-calls")
def token_calls(request: Request) -> dict[str, int]:
    return dict(_state(request).token_calls)


class WindowSetting(BaseModel):
    last_message_hours_ago: float = 0.0
    used: int = 0


@router.put("/wechat/users/{openid}/window")
def set_window(request: Request, openid: str, setting: WindowSetting) -> dict[str, Any]:
    state = _state(request)
    expires = state.now() - setting.last_message_hours_ago * 3600 + 48 * 3600
    state.windows[openid] = Window("message", expires, 5, setting.used)
    return vars(state.windows[openid])


@router.put("/wechat/users/{openid}/refuse-templates")
def refuse_templates(request: Request, openid: str) -> dict[str, str]:
    _state(request).refused_templates.add(openid)
    return {"status": "refused"}


@router.post("/media")
async def upload_photo(request: Request, media: UploadFile = File(...)) -> dict[str, str]:
    content = await media.read(2 * 1024 * 1024 + 1)
    if len(content) > 2 * 1024 * 1024:
        raise HTTPException(413, "photo over 2 MB")
    media_id = "media_" + secrets.token_urlsafe(16)
    _state(request).media[media_id] = (media.content_type or "image/jpeg", content)
    return {"media_id": media_id, "pic_url": str(request.url_for("media", media_id=media_id))}


@router.get("/media/{media_id}", name="media")
def media(request: Request, media_id: str) -> Response:
    found = _state(request).media.get(media_id)
    if found is None:
        raise HTTPException(404, "no such media")
    return Response(found[1], media_type=found[0])


def _people(raw: str) -> list[dict[str, str]]:
    people = []
    for item in raw.split(","):
        ident, label, phone = ([*item.strip().split(":"), "", ""])[:3]
        if ident:
            people.append({"id": ident, "label": label or ident, "phone": phone})
    return people


@router.get("/demo")
def demo() -> dict[str, list[dict[str, str]]]:
    return {
        "customers": _people(os.environ.get("SIMULATOR_DEMO_CUSTOMERS", DEFAULT_DEMO_CUSTOMERS)),
        "workers": _people(os.environ.get("SIMULATOR_DEMO_WORKERS", DEFAULT_DEMO_WORKERS)),
    }
