"""The fake qyapi.weixin.qq.com: `gettoken` and the app `message/send`.

Like WeCom, a message over 30 a minute or 1000 an hour to one member is answered `ok` and then
silently dropped (the record marks it `dropped`), and `enable_duplicate_check` suppresses an
identical message to the same member within `duplicate_check_interval` (default 1800 s).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from fastapi import APIRouter, Request

from simulator.common import api_context, api_error, summarize, token_error_answer
from simulator.state import TOKEN_SECONDS

router = APIRouter(prefix="/cgi-bin")


@router.get("/gettoken")
def gettoken(request: Request, corpid: str = "", corpsecret: str = "") -> dict[str, Any]:
    state, settings = api_context(request)
    state.token_calls["gettoken"] += 1
    if corpid != settings.wecom_corp_id:
        return api_error(40013, "invalid corpid")
    if corpsecret != settings.wecom_secret:
        return api_error(40001, "invalid secret")
    if state.wecom_token is None or state.token_error(state.wecom_token):
        state.wecom_token = state.issue_token()
    return {"errcode": 0, "errmsg": "ok", "access_token": state.wecom_token, "expires_in": TOKEN_SECONDS}


@router.post("/message/send")
async def message_send(request: Request) -> dict[str, Any]:
    state, settings = api_context(request)
    body = await request.json()
    error = token_error_answer(state, request)
    if error is None and str(body.get("agentid", "")) != settings.wecom_agent_id:
        error = api_error(40056, "invalid agentid")
    users = [u for u in str(body.get("touser", "")).split("|") if u]
    if error is None and not users:
        error = api_error(81013, "user & party & tag all invalid")
    if error:
        state.record(platform="wecom", api="message_send", to=body.get("touser"), errcode=error["errcode"])
        return error
    content = summarize(body)
    fingerprint = json.dumps({k: body.get(k) for k in ("msgtype", body.get("msgtype"))}, sort_keys=True)
    interval = int(body.get("duplicate_check_interval", 1800))
    for user in users:
        if body.get("enable_duplicate_check") and state.wecom_duplicate(user, fingerprint, interval):
            status = "duplicate"
        elif not state.wecom_admit(user):
            status = "dropped"
        else:
            status = "delivered"
        state.record(platform="wecom", api="message_send", to=user, msgtype=body.get("msgtype"),
                     content=content, status=status, errcode=0)  # fmt: skip
    return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": secrets.token_hex(8)}
