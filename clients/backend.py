"""Typed async client for the PowerDesk backend API (`/api/v1`, see docs/contracts.md).

Every call has a short total timeout (a few seconds, far below Rasa's 60 s conversation lock) and
raises one of the exceptions below instead of returning error payloads:

- `BackendUnavailable`: connection refused, timeout, or a 5xx answer. The caller may retry later.
- `BackendRejected`: a 4xx answer; `status`, the backend's stable `code` and its `details` tell why.

A client made `for_sender(channel, sender_id)` sends `X-PowerDesk-Sender: <channel>:<sender_id>`
with every request: the backend answers personal data (bills, tickets, applications) only for
accounts that sender owns or has verified (docs/contracts.md, "Access to personal data"). A client
made `with_request_id(request_id)` sends `X-Request-ID: <request_id>` with every request, and so do
the clients it makes for a sender (clients/request_ids.py: the message being answered).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any
from urllib.parse import quote

import aiohttp

from clients import request_ids

logger = logging.getLogger(__name__)

DEFAULT_BACKEND_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_SECONDS = 4.0
SENDER_HEADER = "X-PowerDesk-Sender"

JSON = dict[str, Any]


class BackendError(Exception):
    """Any failure talking to the backend."""


class BackendUnavailable(BackendError):
    """The backend could not be reached or failed (timeout, refused connection, 5xx)."""


class BackendRejected(BackendError):
    """The backend answered with a 4xx error."""

    def __init__(self, status: int, code: str, message: str, details: JSON | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.details = details or {}


class BackendClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        sender: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self._root = base_url.rstrip("/")
        self._base = self._root + "/api/v1"
        self._token = token
        self._sender = sender
        self._request_id = request_id
        self._headers = {"Authorization": f"Bearer {token}", **request_ids.headers(request_id)}
        if sender:
            self._headers[SENDER_HEADER] = sender
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 2.0))

    @classmethod
    def from_env(cls) -> BackendClient:
        return cls(
            os.environ.get("BACKEND_URL", DEFAULT_BACKEND_URL),
            os.environ.get("POWERDESK_ACTIONS_TOKEN", ""),
        )

    def for_sender(self, channel: str, sender_id: str) -> BackendClient:
        """The same client, speaking for one customer (or worker) of one channel."""
        return BackendClient(self._root, self._token, self._timeout.total or DEFAULT_TIMEOUT_SECONDS,
                             sender=f"{channel}:{sender_id}", request_id=self._request_id)  # fmt: skip

    def with_request_id(self, request_id: str | None) -> BackendClient:
        """The same client, sending `request_id` as `X-Request-ID` (none: the backend makes one)."""
        return BackendClient(self._root, self._token, self._timeout.total or DEFAULT_TIMEOUT_SECONDS,
                             sender=self._sender, request_id=request_id)  # fmt: skip

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: JSON | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        headers = dict(self._headers)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in (params or {}).items() if v is not None}
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.request(method, self._base + path, params=query, json=body, headers=headers) as response,
            ):
                if response.status >= 500:
                    raise BackendUnavailable(f"{method} {path}: HTTP {response.status}")
                if response.status == 204:
                    return None
                payload = await response.json(content_type=None)
                if response.status >= 400:
                    payload = payload if isinstance(payload, dict) else {}
                    details = payload.get("details")
                    raise BackendRejected(
                        response.status,
                        str(payload.get("code", "error")),
                        str(payload.get("message", "")),
                        details if isinstance(details, dict) else None,
                    )
                return payload
        # asyncio.TimeoutError: aiohttp's timeout; on Python 3.10 (the bot env) it is not TimeoutError
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise BackendUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        except ValueError as exc:
            raise BackendUnavailable(f"{method} {path}: invalid JSON") from exc

    # identity and bindings
    async def identity(self, **lookup: str) -> JSON:
        result: JSON = await self._request("GET", "/identity", params=lookup)
        return result

    async def send_bind_code(self, wechat_openid: str, account_no: str) -> JSON:
        body = {"wechat_openid": wechat_openid, "account_no": account_no}
        result: JSON = await self._request("POST", "/identity/bind-codes", body=body)
        return result

    async def bind(self, wechat_openid: str, account_no: str, code: str) -> JSON:
        body = {"wechat_openid": wechat_openid, "account_no": account_no, "code": code}
        result: JSON = await self._request("POST", "/identity/bind", body=body)
        return result

    async def unbind(self, wechat_openid: str, account_no: str) -> None:
        body = {"wechat_openid": wechat_openid, "account_no": account_no}
        await self._request("POST", "/identity/unbind", body=body)

    # access to personal data typed by number
    async def verify(self, document: str, phone_last4: str) -> JSON:
        body = {"document": document, "phone_last4": phone_last4}
        result: JSON = await self._request("POST", "/verifications", body=body)
        return result

    # places, outages and repair reports
    async def place(self, **where: Any) -> JSON:
        """What the backend knows of a place (account_no, phone, address, or latitude+longitude):
        whether it is found, a label safe to show, and the outages covering it."""
        result: JSON = await self._request("GET", "/places", params=where)
        return result

    async def outages(self, account_no: str) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "/outages", params={"account_no": account_no})
        return result

    async def create_repair_report(self, report: JSON, idempotency_key: str) -> JSON:
        result: JSON = await self._request("POST", "/repair-reports", body=report, idempotency_key=idempotency_key)
        return result

    async def confirm_outage(self, outage_id: int, cause: str, estimated_restore_at: str, worker_code: str) -> JSON:
        body = {"cause": cause, "estimated_restore_at": estimated_restore_at, "worker_code": worker_code}
        result: JSON = await self._request("POST", f"/outages/{outage_id}/confirm", body=body)
        return result

    async def dismiss_outage(self, outage_id: int, reason: str, worker_code: str) -> JSON:
        body = {"reason": reason, "worker_code": worker_code}
        result: JSON = await self._request("POST", f"/outages/{outage_id}/dismiss", body=body)
        return result

    async def estimate_outage(self, outage_id: int, estimated_restore_at: str, worker_code: str) -> JSON:
        body = {"estimated_restore_at": estimated_restore_at, "worker_code": worker_code}
        result: JSON = await self._request("POST", f"/outages/{outage_id}/estimate", body=body)
        return result

    # questions asked by pushes
    async def prompts(self, channel: str, sender_id: str) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "/prompts", params={"channel": channel, "sender_id": sender_id})
        return result

    async def answer_prompt(self, prompt_id: int, answer: JSON, idempotency_key: str) -> JSON:
        path = f"/prompts/{prompt_id}/answer"
        result: JSON = await self._request("POST", path, body=answer, idempotency_key=idempotency_key)
        return result

    # tickets
    async def create_complaint(self, complaint: JSON, idempotency_key: str) -> JSON:
        body = {"kind": "complaint", **complaint}
        result: JSON = await self._request("POST", "/tickets", body=body, idempotency_key=idempotency_key)
        return result

    async def tickets(self, account_no: str, *, open_only: bool = False) -> list[JSON]:
        params = {"account_no": account_no, "open": True if open_only else None}
        result: list[JSON] = await self._request("GET", "/tickets", params=params)
        return result

    async def ticket(self, ticket_no: str) -> JSON:
        result: JSON = await self._request("GET", f"/tickets/{ticket_no}")
        return result

    async def ticket_event(self, ticket_no: str, event: JSON) -> JSON:
        result: JSON = await self._request("POST", f"/tickets/{ticket_no}/events", body=event)
        return result

    async def praise_ticket(self, ticket_no: str, text: str) -> JSON:
        result: JSON = await self._request("POST", f"/tickets/{ticket_no}/praise", body={"text": text})
        return result

    async def withdraw_ticket(self, ticket_no: str, reason: str) -> JSON:
        result: JSON = await self._request("POST", f"/tickets/{ticket_no}/withdrawal", body={"reason": reason})
        return result

    async def rate_ticket(self, ticket_no: str, score: int, comment: str | None = None) -> JSON:
        body: JSON = {"score": score}
        if comment:
            body["comment"] = comment
        result: JSON = await self._request("POST", f"/tickets/{ticket_no}/rating", body=body)
        return result

    async def worker_tickets(self, worker_code: str, *, open_only: bool = True) -> list[JSON]:
        path = f"/workers/{worker_code}/tickets"
        result: list[JSON] = await self._request("GET", path, params={"open": open_only})
        return result

    # applications
    async def application(self, application_no: str) -> JSON:
        result: JSON = await self._request("GET", f"/applications/{application_no}")
        return result

    async def applications(self, account_no: str) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "/applications", params={"account_no": account_no})
        return result

    # bills
    async def bills(self, account_no: str, months: int = 12) -> list[JSON]:
        params = {"account_no": account_no, "months": months}
        result: list[JSON] = await self._request("GET", "/bills", params=params)
        return result

    async def tariff(self) -> JSON:
        result: JSON = await self._request("GET", "/tariff")
        return result

    async def comparison(self, account_no: str) -> JSON:
        result: JSON = await self._request("GET", "/bills/comparison", params={"account_no": account_no})
        return result

    # grid workers
    async def grid_worker(self, **where: Any) -> JSON:
        """The grid cell and its workers of an account, an address or a location."""
        result: JSON = await self._request("GET", "/grid-workers", params=where)
        return result

    # notifications
    async def notify(self, notification: JSON) -> JSON:
        result: JSON = await self._request("POST", "/notifications", body=notification)
        return result

    # what the channels tell the backend
    async def push_reply(self, recipient: JSON, text: str, dedup_key: str) -> None:
        """Hand a chat reply that cannot go out in the chat to the push pipeline (template `chat_reply`:
        the notifier tries a template message, then SMS). One already handed over under `dedup_key`
        (409) counts as handed over."""
        body = {"recipient": recipient, "template": "chat_reply", "params": {"text": text}, "dedup_key": dedup_key}
        try:
            await self.notify(body)
        except BackendRejected as exc:
            if exc.status != 409:
                raise

    async def wechat_follow_changed(self, openid: str, following: bool) -> None:
        """A WeChat user followed or unfollowed the official account: pushes skip WeChat while they are gone."""
        path = f"/notifications/wechat-followers/{quote(openid, safe='')}"
        await self._request("PUT", path, body={"following": following})

    async def wechat_kf_event(self, event: JSON) -> None:
        """A WeChat customer-service (kf) session was created, switched or closed."""
        await self._request("POST", "/handoffs/wechat-kf-events", body=event)

    async def sms_opt_out(self, phone: str) -> None:
        """The number replied TD: no more SMS but the notices owed by law (docs/adr/0006-sms-consent.md)."""
        await self._request("POST", "/notifications/opt-outs", body={"phone": phone})

    async def sms_opt_in(self, phone: str) -> None:
        await self._request("DELETE", f"/notifications/opt-outs/{quote(phone, safe='')}")

    async def delivery_reports(self, reports: list[JSON]) -> None:
        """The SMS providers' delivery reports, up to 100 at a time."""
        await self._request("POST", "/notifications/delivery-reports", body={"reports": reports})

    # conversation outcomes, for the reports
    async def conversation_events(self, events: list[JSON]) -> JSON:
        """Record a batch of conversation events (at most 500); `{recorded, duplicates}`."""
        result: JSON = await self._request("POST", "/conversation-events/batch", body={"events": events})
        return result

    # handoffs
    async def create_handoff(self, handoff: JSON) -> JSON:
        result: JSON = await self._request("POST", "/handoffs", body=handoff)
        return result

    async def handoff_message(self, handoff_id: int, text: str, at: str) -> JSON:
        """Pass a customer's message to the person handling (or about to handle) the conversation."""
        body = {"text": text, "at": at}
        result: JSON = await self._request("POST", f"/handoffs/{handoff_id}/customer-messages", body=body)
        return result

    async def cancel_handoff(self, handoff_id: int) -> None:
        await self._request("POST", f"/handoffs/{handoff_id}/cancel")

    async def create_callback(self, callback: JSON) -> JSON:
        result: JSON = await self._request("POST", "/callbacks", body=callback)
        return result
