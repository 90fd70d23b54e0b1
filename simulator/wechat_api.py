"""The fake api.weixin.qq.com: tokens, customer-service and template messages, media upload.

Errors as the real platform gives them: 40013/40125 bad appid/secret, 40001 unknown token, 42001
expired token, 45009 daily token quota used up, 40003 bad openid, 43004 not following, 43101 user
refused the template, 45015 outside the 48 h window, 45047 window quota used up (5 messages after
a user message, 3 within a minute after an event).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile

from simulator.common import api_context, api_error, summarize, token_error_answer
from simulator.settings import SimulatorSettings
from simulator.state import TOKEN_SECONDS, PlatformState

router = APIRouter(prefix="/cgi-bin")

_OPENID = re.compile(r"^[A-Za-z0-9_\-]{6,64}$")
MAX_MEDIA_BYTES = 2 * 1024 * 1024


def _credentials_error(settings: SimulatorSettings, appid: str, secret: str) -> dict[str, Any] | None:
    if appid != settings.wechat_app_id:
        return api_error(40013, "invalid appid")
    if secret != settings.wechat_app_secret:
        return api_error(40125, "invalid appsecret")
    return None


@router.get("/token")
def token(request: Request, appid: str = "", secret: str = "", grant_type: str = "") -> dict[str, Any]:
    state, settings = api_context(request)
    state.token_calls["token"] += 1
    error = _credentials_error(settings, appid, secret)
    if error:
        return error
    if state.token_calls["token"] > settings.token_daily_quota:
        return api_error(45009, "reach max api daily quota limit")
    previous = max(state.tokens, key=state.tokens.__getitem__, default=None)
    return {"access_token": state.issue_token(replace=previous), "expires_in": TOKEN_SECONDS}


@router.post("/stable_token")
async def stable_token(request: Request) -> dict[str, Any]:
    state, settings = api_context(request)
    state.token_calls["stable_token"] += 1
    body = await request.json()
    error = _credentials_error(settings, str(body.get("appid", "")), str(body.get("secret", "")))
    if error:
        return error
    current = state.stable_token
    if body.get("force_refresh") or current is None or state.token_error(current):
        current = state.issue_token(replace=current)
        state.stable_token = current
    return {"access_token": current, "expires_in": int(state.tokens[current] - state.now())}


def _recipient_error(state: PlatformState, openid: str) -> dict[str, Any] | None:
    if not _OPENID.match(openid):
        return api_error(40003, "invalid openid")
    if openid in state.unfollowed:
        return api_error(43004, "require subscribe")
    return None


@router.post("/message/custom/send")
async def custom_send(request: Request) -> dict[str, Any]:
    state, _ = api_context(request)
    body = await request.json()
    openid = str(body.get("touser", ""))
    content = summarize(body)
    error = token_error_answer(state, request) or _recipient_error(state, openid)
    if error is None:
        code = state.consume_window(openid)
        if code == 45015:
            error = api_error(45015, "response out of time limit or subscription is canceled")
        elif code == 45047:
            error = api_error(45047, "out of response count limit")
    state.record(platform="wechat", api="custom_send", to=openid, content=content,
                 errcode=error["errcode"] if error else 0)  # fmt: skip
    return error or api_error(0, "ok")


@router.post("/message/template/send")
async def template_send(request: Request) -> dict[str, Any]:
    state, _ = api_context(request)
    body = await request.json()
    openid = str(body.get("touser", ""))
    error = token_error_answer(state, request) or _recipient_error(state, openid)
    if error is None and openid in state.refused_templates:
        error = api_error(43101, "user refuse to accept the msg")
    msgid = secrets.randbelow(10**12) if error is None else None
    state.record(platform="wechat", api="template_send", to=openid, template_id=body.get("template_id"),
                 content=summarize(body), url=body.get("url"), msgid=msgid,
                 errcode=error["errcode"] if error else 0)  # fmt: skip
    return error or {"errcode": 0, "errmsg": "ok", "msgid": msgid}


@router.post("/media/upload")
async def media_upload(request: Request, type: str = "image", media: UploadFile = File(...)) -> dict[str, Any]:
    state, _ = api_context(request)
    error = token_error_answer(state, request)
    if error:
        return error
    content = await media.read(MAX_MEDIA_BYTES + 1)
    if len(content) > MAX_MEDIA_BYTES:
        return api_error(40006, "invalid media size")
    media_id = "media_" + secrets.token_urlsafe(16)
    state.media[media_id] = (media.content_type or "application/octet-stream", content)
    state.record(platform="wechat", api="media_upload", media_id=media_id, type=type, errcode=0)
    return {"type": type, "media_id": media_id, "created_at": int(state.now())}
