"""Delivery reports journalled by the webhook gateway, handed to the backend (no rasa).

`POST {BACKEND_URL}/api/v1/notifications/delivery-reports` `{"reports": [...]}` with the channels'
bearer token, up to 100 at a time; the backend marks each push delivered, or sends it again by
another channel when the SMS did not arrive (backend/notifications/service.py). Reports are claimed
like inbound messages (connectors/_journal.py), so two gateways never hand over the same one; while
the backend is down they wait in the journal and are tried again with a growing pause (up to a minute).
"""

from __future__ import annotations

import asyncio
import logging

import requests

from connectors._journal import Journal, new_owner
from connectors.sms.webhook import REPORTS

logger = logging.getLogger(__name__)

BATCH = 100
LEASE_SECONDS = 60.0
POLL_SECONDS = 1.0
MAX_PAUSE_SECONDS = 60.0


class ReportForwarder:
    def __init__(
        self, journal: Journal, backend_url: str, token: str, *, timeout: tuple[float, float] = (2.0, 10.0)
    ) -> None:
        self.journal = journal
        self.owner = new_owner()
        self._url = backend_url.rstrip("/") + "/api/v1/notifications/delivery-reports"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout
        self._session = requests.Session()

    def forward_due(self) -> int:
        """Hand over the reports due now; how many the backend took. Blocking: call it in a thread."""
        claimed = []
        for key, _sender, dead_holder in self.journal.due(REPORTS, self.owner)[:BATCH]:
            entry = self.journal.claim(key, self.owner, LEASE_SECONDS, seen_owner=dead_holder)
            if entry is not None:
                claimed.append(entry)
        if not claimed:
            return 0
        try:
            answer = self._session.post(
                self._url, json={"reports": [e.payload for e in claimed]}, headers=self._headers, timeout=self._timeout
            )
            failure = None if answer.status_code < 300 else f"HTTP {answer.status_code}"
        except requests.RequestException as exc:
            failure = type(exc).__name__
        if failure is not None:
            pause = min(MAX_PAUSE_SECONDS, 2.0 ** claimed[0].failures)
            for entry in claimed:
                self.journal.release(entry.key, self.owner, retry_in=pause, counted=False)
            logger.warning("%s delivery reports wait for the backend (%s), next try in %.0f s", len(claimed), failure,
                           pause)  # fmt: skip
            return 0
        for entry in claimed:
            self.journal.done(entry.key)
        return len(claimed)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.forward_due)
            except Exception:
                logger.exception("ALERT delivery reports could not be read from the journal")
            await asyncio.sleep(POLL_SECONDS)
