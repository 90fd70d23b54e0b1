"""The WeChat official-account API client (customer-service and template messages, kf sessions).

    client = WeChatClient(app_id, secret, base_url, redis)
    client.send_text(openid, "您好……")                       # customer-service message
    msgid = client.send_template(openid, template_id, {"keyword1": "QX202611220001"}, url=None)
    client.create_kf_session(openid, "kf2001@gh_account")   # hand the user to a 客服 account

Synchronous: run it in a thread (`asyncio.to_thread` / `run_in_executor`) from async code.
Errors are the typed exceptions of `platforms.wechat.errors` (OutsideWindow 45015, QuotaExceeded
45047, Unfollowed 43004, InvalidOpenId 40003, UserRefused 43101, TokenQuotaExhausted 45009,
PlatformUnavailable for timeouts/5xx, InvalidCredential when 40001/42001 survive one refresh).

The access token comes from `/cgi-bin/stable_token` through one Redis-cached `TokenCache` shared
by every process; a call refused with 40001/42001 refreshes it and is retried exactly once.
wechatpy's client (and its unbounded `auto_retry`) is not used.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests

from platforms.wechat.errors import InvalidCredential
from platforms.wechat.http import DEFAULT_TIMEOUT, call_json
from platforms.wechat.token import TokenCache

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
#: Template keyword values are cut silently at about 20 characters since 2023-05 (RELIABILITY B.2).
TEMPLATE_VALUE_MAX = 20
# Emoji and other astral-plane symbols, variation selectors, zero-width joiners: shown as "□".
_EMOJI = re.compile("[\U00010000-\U0010ffff\u2600-\u27bf\ufe0f\u200d\u20e3]")


def template_value(value: object) -> str:
    """A template keyword value that survives WeChat's rendering: no emoji, at most 20 characters."""
    text = _EMOJI.sub("", str(value)).strip()
    if len(text) > TEMPLATE_VALUE_MAX:
        text = text[: TEMPLATE_VALUE_MAX - 1] + "…"
    return text


def mask_id(value: str) -> str:
    """An OpenID/user id shortened for logs."""
    return value[:4] + "***" + value[-2:] if len(value) > 8 else "***"


class WeChatClient:
    def __init__(
        self,
        app_id: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        redis: Any = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        if redis is None:
            raise ValueError("WeChatClient needs a Redis client: the token is shared by all processes")
        self.app_id = app_id
        self._secret = secret
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._session = session or requests.Session()
        self.tokens = TokenCache(redis, f"pd:wechat:token:{app_id}", self._fetch_token)

    # --- messages ----------------------------------------------------------------------------

    def send_text(self, openid: str, text: str) -> None:
        """Send a customer-service text message (needs the 48 h window, see window.py)."""
        self._post("/cgi-bin/message/custom/send", {"touser": openid, "msgtype": "text", "text": {"content": text}})
        logger.info("custom text sent to %s (%s chars)", mask_id(openid), len(text))

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str | None = None) -> int:
        """Send a template message; `data` maps keyword names to values. Returns WeChat's msgid."""
        body: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": template_value(value)} for name, value in data.items()},
        }
        if url:
            body["url"] = url
        answer = self._post("/cgi-bin/message/template/send", body)
        msgid = int(answer.get("msgid", 0))
        logger.info("template %s sent to %s, msgid %s", template_id, mask_id(openid), msgid)
        return msgid

    # --- the official account's own customer service (多客服 kf sessions) ----------------------

    def online_kf_accounts(self) -> list[dict[str, Any]]:
        """The customer-service accounts online now: `{kf_account, status, kf_id, accepted_case}`
        each (`status` 1: online on the web client; `accepted_case`: sessions it holds)."""
        answer = self._call("GET", "/cgi-bin/customservice/getonlinekflist")
        return list(answer.get("kf_online_list") or [])

    def create_kf_session(self, openid: str, kf_account: str, text: str | None = None) -> None:
        """Hand the user to a customer-service account: their messages go to it until it closes the
        session (or 30 minutes pass without one); `text` is shown to the agent in their client."""
        body: dict[str, Any] = {"kf_account": kf_account, "openid": openid}
        if text:
            body["text"] = text
        self._call("POST", "/customservice/kfsession/create", body=body)
        logger.info("kf session created for %s", mask_id(openid))

    def kf_session_of(self, openid: str) -> str | None:
        """The customer-service account holding the user's session, None when there is none."""
        answer = self._call("GET", "/customservice/kfsession/getsession", params={"openid": openid})
        return str(answer.get("kf_account") or "") or None

    # --- plumbing ----------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", path, body=body)

    def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        token = self.tokens.get()
        for attempt in (1, 2):
            try:
                return call_json(
                    self._session, method, self._base + path,
                    params={**(params or {}), "access_token": token}, body=body, timeout=self._timeout,
                )  # fmt: skip
            except InvalidCredential:
                if attempt == 2:
                    raise
                logger.info("%s refused the access token, refreshing once", path)
                token = self.tokens.refresh(rejected=token)
        raise AssertionError("unreachable")

    def _fetch_token(self, force_refresh: bool) -> tuple[str, int]:
        answer = call_json(
            self._session, "POST", self._base + "/cgi-bin/stable_token",
            body={"grant_type": "client_credential", "appid": self.app_id, "secret": self._secret,
                  "force_refresh": force_refresh},
            timeout=self._timeout,
        )  # fmt: skip
        return str(answer["access_token"]), int(answer.get("expires_in", 7200))
