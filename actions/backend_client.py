"""Typed async client for the PowerDesk backend API (`/api/v1`, see docs/contracts.md).

Every call has a short total timeout (a few seconds, far below Rasa's 60 s conversation lock) and
raises one of the exceptions below instead of returning error payloads:

- `BackendUnavailable`: connection refused, timeout, or a 5xx answer. The caller may retry later.
- `BackendRejected`: a 4xx answer; `status` and the backend's stable `code` tell why.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

DEFAULT_BACKEND_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_SECONDS = 4.0

JSON = dict[str, Any]


class BackendError(Exception):
    """Any failure talking to the backend."""


class BackendUnavailable(BackendError):
    """The backend could not be reached or failed (timeout, refused connection, 5xx)."""


class BackendRejected(BackendError):
    """The backend answered with a 4xx error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class BackendClient:
    def __init__(self, base_url: str, token: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self._base = base_url.rstrip("/") + "/api/v1"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 2.0))

    @classmethod
    def from_env(cls) -> BackendClient:
        return cls(
            os.environ.get("BACKEND_URL", DEFAULT_BACKEND_URL),
            os.environ.get("POWERDESK_ACTIONS_TOKEN", ""),
        )

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
        query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in (params or {}).items()}
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as session,
                session.request(method, self._base + path, params=query, json=body, headers=headers) as response,
            ):
                if response.status >= 500:
                    raise BackendUnavailable(f"{method} {path}: HTTP {response.status}")
                payload = await response.json(content_type=None)
                if response.status >= 400:
                    payload = payload if isinstance(payload, dict) else {}
                    raise BackendRejected(
                        response.status, str(payload.get("code", "error")), str(payload.get("message", ""))
                    )
                return payload
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BackendUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        except ValueError as exc:
            raise BackendUnavailable(f"{method} {path}: invalid JSON") from exc

    # identity
    async def identity(self, **lookup: str) -> JSON:
        result: JSON = await self._request("GET", "/identity", params=lookup)
        return result

    async def bind(self, wechat_openid: str, account_no: str, phone_last4: str) -> JSON:
        body = {"wechat_openid": wechat_openid, "account_no": account_no, "phone_last4": phone_last4}
        result: JSON = await self._request("POST", "/identity/bind", body=body)
        return result

    # outages and repair reports
    async def outages(self, account_no: str) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "/outages", params={"account_no": account_no})
        return result

    async def create_repair_report(self, report: JSON, idempotency_key: str) -> JSON:
        result: JSON = await self._request("POST", "/repair-reports", body=report, idempotency_key=idempotency_key)
        return result

    # tickets
    async def create_complaint(self, complaint: JSON, idempotency_key: str) -> JSON:
        body = {"kind": "complaint", **complaint}
        result: JSON = await self._request("POST", "/tickets", body=body, idempotency_key=idempotency_key)
        return result

    async def open_tickets(self, account_no: str) -> list[JSON]:
        params = {"account_no": account_no, "open": True}
        result: list[JSON] = await self._request("GET", "/tickets", params=params)
        return result

    async def tickets(self, account_no: str) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "/tickets", params={"account_no": account_no})
        return result

    async def ticket(self, ticket_no: str) -> JSON:
        result: JSON = await self._request("GET", f"/tickets/{ticket_no}")
        return result

    async def ticket_event(self, ticket_no: str, event: JSON) -> JSON:
        result: JSON = await self._request("POST", f"/tickets/{ticket_no}/events", body=event)
        return result

    async def rate_ticket(self, ticket_no: str, score: int, comment: str | None = None) -> JSON:
        body: JSON = {"score": score}
        if comment:
            body["comment"] = comment
        result: JSON = await self._request("POST", f"/tickets/{ticket_no}/rating", body=body)
        return result

    async def worker_tickets(self, worker_code: str) -> list[JSON]:
        path = f"/workers/{worker_code}/tickets"
        result: list[JSON] = await self._request("GET", path, params={"open": True})
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

    async def comparison(self, account_no: str) -> JSON:
        result: JSON = await self._request("GET", "/bills/comparison", params={"account_no": account_no})
        return result

    # grid workers
    async def grid_worker(self, account_no: str) -> JSON:
        result: JSON = await self._request("GET", "/grid-workers", params={"account_no": account_no})
        return result

    # notifications
    async def notify(self, notification: JSON) -> JSON:
        result: JSON = await self._request("POST", "/notifications", body=notification)
        return result

    # handoffs
    async def create_handoff(self, handoff: JSON) -> JSON:
        result: JSON = await self._request("POST", "/handoffs", body=handoff)
        return result

    async def active_handoffs(self, sender_id: str) -> list[JSON]:
        params = {"sender_id": sender_id, "active": True}
        result: list[JSON] = await self._request("GET", "/handoffs", params=params)
        return result
