"""The WeCom (企业微信) app API client for grid workers.

    client = WeComClient(corp_id, agent_id, secret, base_url, redis)
    client.send_text_card(user_id, title, description, url, button="详情")  # new task
    client.send_text(user_id, "…")
    client.send_markdown(user_id, "…")

Every send first takes a slot of the per-member limits (30/min, 1000/h; see limits.py); when none
is free it raises `MemberRateLimited(retry_after)` *without sending* (WeCom would drop it silently),
so the caller can merge the waiting items into one digest. Every send asks WeCom's duplicate check
(`enable_duplicate_check`, 4 h, longer than any retry horizon) so a retried send never doubles.
Synchronous, like the WeChat client: call it from a thread. Errors: `platforms.wechat.errors`.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from platforms.wechat.errors import InvalidCredential, InvalidOpenId, MemberRateLimited
from platforms.wechat.http import DEFAULT_TIMEOUT, call_json
from platforms.wechat.token import TokenCache
from platforms.wecom.limits import MemberRateLimiter

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
DUPLICATE_CHECK_SECONDS = 4 * 3600
CARD_TITLE_MAX_BYTES = 128
CARD_DESCRIPTION_MAX_BYTES = 512
TEXT_MAX_BYTES = 2048


def cut_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary, with "…" when cut."""
    if len(text.encode()) <= limit:
        return text
    budget = limit - len("…".encode())
    return text.encode()[:budget].decode(errors="ignore") + "…"


class WeComClient:
    def __init__(
        self,
        corp_id: str,
        agent_id: str | int,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        redis: Any = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        if redis is None:
            raise ValueError("WeComClient needs a Redis client: the token is shared by all processes")
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self._secret = secret
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._session = session or requests.Session()
        # One token per app secret (as wechatpy's session key does).
        self.tokens = TokenCache(redis, f"pd:wecom:token:{corp_id}:{self.agent_id}", self._fetch_token)
        self.limiter = MemberRateLimiter(redis, corp_id, str(self.agent_id))

    def send_text(self, user_id: str, text: str) -> str:
        return self._send(user_id, "text", {"content": cut_bytes(text, TEXT_MAX_BYTES)})

    def send_markdown(self, user_id: str, content: str) -> str:
        return self._send(user_id, "markdown", {"content": cut_bytes(content, TEXT_MAX_BYTES)})

    def send_text_card(self, user_id: str, title: str, description: str, url: str, button: str = "详情") -> str:
        """A text card (title ≤ 128 bytes, description ≤ 512 bytes, cut if longer)."""
        card = {
            "title": cut_bytes(title, CARD_TITLE_MAX_BYTES),
            "description": cut_bytes(description, CARD_DESCRIPTION_MAX_BYTES),
            "url": url,
            "btntxt": button,
        }
        return self._send(user_id, "textcard", card)

    # --- plumbing ----------------------------------------------------------------------------

    def _send(self, user_id: str, msgtype: str, content: dict[str, Any]) -> str:
        wait = self.limiter.reserve(user_id)
        if wait:
            raise MemberRateLimited(wait)
        body = {
            "touser": user_id,
            "msgtype": msgtype,
            "agentid": self.agent_id,
            msgtype: content,
            "enable_duplicate_check": 1,
            "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
        }
        answer = self._call("/cgi-bin/message/send", body)
        if user_id in str(answer.get("invaliduser", "")).split("|"):
            raise InvalidOpenId("invaliduser", 40003)
        return str(answer.get("msgid", ""))

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = self.tokens.get()
        for attempt in (1, 2):
            try:
                return call_json(
                    self._session, "POST", self._base + path,
                    params={"access_token": token}, body=body, timeout=self._timeout,
                )  # fmt: skip
            except InvalidCredential:
                if attempt == 2:
                    raise
                logger.info("%s refused the WeCom token, refreshing once", path)
                token = self.tokens.refresh(rejected=token)
        raise AssertionError("unreachable")

    def _fetch_token(self, force_refresh: bool) -> tuple[str, int]:
        # gettoken has no force flag: a rejected token is simply fetched again.
        answer = call_json(
            self._session, "GET", self._base + "/cgi-bin/gettoken",
            params={"corpid": self.corp_id, "corpsecret": self._secret}, timeout=self._timeout,
        )  # fmt: skip
        return str(answer["access_token"]), int(answer.get("expires_in", 7200))
