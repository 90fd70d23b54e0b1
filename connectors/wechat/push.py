"""Hand a chat reply that cannot go out as a customer-service message to the push pipeline, and
tell the backend who unfollowed the official account and how WeChat's own customer-service
sessions (kf) change.

`POST {BACKEND_URL}/api/v1/notifications` with template `chat_reply` (docs/contracts.md): the
notifier then tries a template message and SMS. Synchronous; call it from a thread (one started
with `asyncio.to_thread`, so that the request id of the message being handled, `request_ids.current`,
goes with each call as `X-Request-ID`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import requests

from clients import request_ids

logger = logging.getLogger(__name__)


class PushFailed(Exception):
    """The backend did not accept the push: the reply is lost unless the caller keeps it."""


class PushPipeline:
    def __init__(self, backend_url: str, token: str, *, timeout: tuple[float, float] = (2.0, 5.0)) -> None:
        self._url = backend_url.rstrip("/") + "/api/v1/notifications"
        self._followers_url = self._url + "/wechat-followers/"
        self._kf_events_url = backend_url.rstrip("/") + "/api/v1/handoffs/wechat-kf-events"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout
        self._session = requests.Session()

    def _headers_now(self) -> dict[str, str]:
        return self._headers | request_ids.headers(request_ids.current.get())

    def enqueue_reply(self, recipient: dict[str, str], text: str, dedup_key: str) -> None:
        body: dict[str, Any] = {
            "recipient": recipient,
            "template": "chat_reply",
            "params": {"text": text},
            "dedup_key": dedup_key,
        }
        try:
            response = self._session.post(self._url, json=body, headers=self._headers_now(), timeout=self._timeout)
        except requests.RequestException as exc:
            raise PushFailed(type(exc).__name__) from exc
        if response.status_code == 409:  # already enqueued under this dedup key
            return
        if response.status_code >= 300:
            raise PushFailed(f"HTTP {response.status_code}")
        logger.info("reply handed to the push pipeline (%s)", dedup_key)

    def follow_changed(self, openid: str, following: bool) -> None:
        """Tell the backend the user followed or unfollowed, so pushes skip WeChat while they are gone."""
        url = self._followers_url + quote(openid, safe="")
        try:
            response = self._session.put(
                url, json={"following": following}, headers=self._headers_now(), timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise PushFailed(type(exc).__name__) from exc
        if response.status_code >= 300:
            raise PushFailed(f"HTTP {response.status_code}")

    def kf_session_changed(self, openid: str, fields: dict[str, str]) -> None:
        """Report a kf session event (kf_create_session, kf_close_session, kf_switch_session): a
        closed session hands the customer back to the assistant (`POST /handoffs/wechat-kf-events`)."""
        event = fields.get("Event", "").lower()
        body = {"event": event, "openid": openid}
        if event == "kf_switch_session":
            body |= {"kf_account": fields.get("FromKfAccount", ""), "to_kf_account": fields.get("ToKfAccount", "")}
        else:
            body["kf_account"] = fields.get("KfAccount", "")
        try:
            response = self._session.post(
                self._kf_events_url, json=body, headers=self._headers_now(), timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise PushFailed(type(exc).__name__) from exc
        if response.status_code >= 300:
            raise PushFailed(f"HTTP {response.status_code}")
