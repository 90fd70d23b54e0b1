"""The fake official account's own customer service (多客服): accounts, sessions and their events.

- `GET /cgi-bin/customservice/getkflist`, `GET /cgi-bin/customservice/getonlinekflist`;
- `POST /customservice/kfsession/create` and `/close`, `GET /customservice/kfsession/getsession`,
  `/getsessionlist`, `/getwaitcase`, with the platform's errors (65401 not a usable account (also
  for an account offline: the documented list has no code of its own for it), 65413 no such
  session, 65414 the user is with another account, 40003 bad openid);
- a session created or closed here is reported to the official account's callback URL as WeChat
  does (`kf_create_session`, `kf_close_session` events, signed and encrypted by the peer);
- while a session holds, the user's messages go to the customer-service account
  (`console.wechat_send` records them as `kf_inbound`), not to the callback URL; after 30 minutes
  without activity the session lapses and they reach the callback URL again.

Steering (`/sim/wechat/kf/...`): put an account online or offline, let its agent reply to the user
(a customer-service message sent as that account) or close the session.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel

from simulator.common import api_context, api_error, token_error_answer
from simulator.peer import CallbackPeer, platform_xml
from simulator.settings import SimulatorSettings
from simulator.state import KfAccount, KfSession, PlatformState

api_router = APIRouter()
sim_router = APIRouter(prefix="/sim/wechat/kf")

_OPENID = re.compile(r"^[A-Za-z0-9_\-]{6,64}$")


def default_accounts(settings: SimulatorSettings) -> dict[str, KfAccount]:
    """Two accounts, online: 客服小林 and 客服小黄 (`kf2001@`, `kf2002@` the account's original id)."""
    return {
        f"kf{2000 + n}@{settings.wechat_account}": KfAccount(f"kf{2000 + n}@{settings.wechat_account}", nick, 1000 + n)
        for n, nick in ((1, "客服小林"), (2, "客服小黄"))
    }


def _report(request: Request, openid: str, event: str, account: str) -> None:
    """Post the session event to the official account's callback URL, in the background."""
    state, settings = api_context(request)
    peer: CallbackPeer = request.app.state.wechat_peer
    fields: dict[str, str | int | float] = {
        "ToUserName": settings.wechat_account, "FromUserName": openid, "CreateTime": int(state.now()),
        "MsgType": "event", "Event": event, "KfAccount": account,
    }  # fmt: skip

    async def deliver() -> None:
        client: aiohttp.ClientSession = request.app.state.http
        delivery = await peer.deliver(client, platform_xml(fields))
        state.record(platform="wechat", api="callback", sender=openid, msg_type="event", content=event,
                     status=delivery.status, attempts=delivery.attempts, answer=delivery.body[:200])  # fmt: skip

    task = asyncio.create_task(deliver())
    tasks: set[asyncio.Task[None]] = request.app.state.tasks
    tasks.add(task)
    task.add_done_callback(tasks.discard)


@api_router.get("/cgi-bin/customservice/getkflist")
def kf_list(request: Request) -> dict[str, Any]:
    state, _ = api_context(request)
    error = token_error_answer(state, request)
    if error:
        return error
    accounts = state.kf_accounts.values()
    return {"kf_list": [{"kf_account": a.account, "kf_nick": a.nickname, "kf_id": a.kf_id} for a in accounts]}


@api_router.get("/cgi-bin/customservice/getonlinekflist")
def kf_online_list(request: Request) -> dict[str, Any]:
    state, _ = api_context(request)
    error = token_error_answer(state, request)
    if error:
        return error
    online = [a for a in state.kf_accounts.values() if a.online]
    return {
        "kf_online_list": [
            {"kf_account": a.account, "status": 1, "kf_id": a.kf_id, "accepted_case": state.kf_accepted(a.account)}
            for a in online
        ]
    }


@api_router.post("/customservice/kfsession/create")
async def kf_session_create(request: Request) -> dict[str, Any]:
    state, _ = api_context(request)
    body = await request.json()
    account, openid = str(body.get("kf_account", "")), str(body.get("openid", ""))
    error = token_error_answer(state, request)
    if error is None and not _OPENID.match(openid):
        error = api_error(40003, "invalid openid")
    kf = state.kf_accounts.get(account)
    if error is None and (kf is None or not kf.online):
        error = api_error(65401, "invalid custom service account")
    current = state.kf_session(openid) if error is None else None
    if error is None and current is not None and current.account != account:
        error = api_error(65414, "customer is being served by another custom service")
    state.record(platform="wechat", api="kfsession_create", to=openid, kf_account=account,
                 content=str(body.get("text", "")), errcode=error["errcode"] if error else 0)  # fmt: skip
    if error is not None:
        return error
    if current is None:
        state.kf_sessions[openid] = KfSession(account, state.now(), state.now())
        _report(request, openid, "kf_create_session", account)
    return api_error(0, "ok")


def close_session(request: Request, openid: str, account: str) -> dict[str, Any]:
    state, _ = api_context(request)
    current = state.kf_session(openid)
    if current is None or current.account != account:
        error = api_error(65413, "customer does not have a session with this custom service")
        state.record(platform="wechat", api="kfsession_close", to=openid, kf_account=account, errcode=65413)
        return error
    del state.kf_sessions[openid]
    state.record(platform="wechat", api="kfsession_close", to=openid, kf_account=account, errcode=0)
    _report(request, openid, "kf_close_session", account)
    return api_error(0, "ok")


@api_router.post("/customservice/kfsession/close")
async def kf_session_close(request: Request) -> dict[str, Any]:
    state, _ = api_context(request)
    error = token_error_answer(state, request)
    if error:
        return error
    body = await request.json()
    return close_session(request, str(body.get("openid", "")), str(body.get("kf_account", "")))


@api_router.get("/customservice/kfsession/getsession")
def kf_session_get(request: Request, openid: str = "") -> dict[str, Any]:
    state, _ = api_context(request)
    error = token_error_answer(state, request)
    if error:
        return error
    current = state.kf_session(openid)
    if current is None:
        return {"createtime": 0, "kf_account": ""}
    return {"createtime": int(current.created), "kf_account": current.account}


@api_router.get("/customservice/kfsession/getsessionlist")
def kf_session_list(request: Request, kf_account: str = "") -> dict[str, Any]:
    state, _ = api_context(request)
    error = token_error_answer(state, request)
    if error:
        return error
    sessions = [
        {"createtime": int(s.created), "openid": openid}
        for openid in list(state.kf_sessions)
        if (s := state.kf_session(openid)) is not None and s.account == kf_account
    ]
    return {"sessionlist": sessions}


@api_router.get("/customservice/kfsession/getwaitcase")
def kf_wait_case(request: Request) -> dict[str, Any]:
    """Users waiting without an account: only a passive `transfer_customer_service` reply puts them
    there, which PowerDesk never sends, so the list is empty."""
    state, _ = api_context(request)
    return token_error_answer(state, request) or {"count": 0, "waitcaselist": []}


# --- steering -----------------------------------------------------------------------------------


def _account(request: Request, account: str) -> KfAccount:
    state: PlatformState = request.app.state.platform
    found = state.kf_accounts.get(account)
    if found is None:
        raise HTTPException(404, "no such customer-service account")
    return found


class KfSetting(BaseModel):
    online: bool


@sim_router.put("/{account}")
def set_account(request: Request, account: str, setting: KfSetting) -> dict[str, Any]:
    found = _account(request, account)
    found.online = setting.online
    return vars(found)


class KfReply(BaseModel):
    openid: str
    content: str


@sim_router.post("/{account}/reply")
def agent_reply(request: Request, account: str, reply: KfReply) -> dict[str, Any]:
    """The account's agent writes to the user from WeChat's customer-service client."""
    state, _ = api_context(request)
    _account(request, account)
    current = state.kf_session(reply.openid)
    if current is None or current.account != account:
        raise HTTPException(409, "no session of this account with the user")
    current.last_activity = state.now()
    return state.record(platform="wechat", api="custom_send", to=reply.openid, content=reply.content,
                        kf_account=account, errcode=0)  # fmt: skip


@sim_router.post("/{account}/close")
async def agent_close(request: Request, account: str, openid: str) -> dict[str, Any]:
    """The account's agent ends the session (WeChat then reports `kf_close_session`)."""
    _account(request, account)
    return close_session(request, openid, account)
