"""Delivery reports queued by the webhook gateways, handed to the backend (no rasa).

`POST {BACKEND_URL}/api/v1/notifications/delivery-reports` `{"reports": [...]}` with the channels'
bearer token, up to 100 at a time; the backend marks each push delivered, or sends it again by
another channel when the SMS did not arrive (backend/notifications/service.py). Reports are consumed
like inbound messages (connectors/inbound_queue.py: each gateway leases its share of the partitions,
and takes over those of a gateway that died), so two gateways never hand over the same one; while
the backend is down they stay unfinished in the queue and are tried again with a growing pause (up
to a minute).
"""

from __future__ import annotations

import asyncio
import logging

import requests

from connectors.inbound_queue import InboundQueue, PartitionShare, new_owner
from connectors.sms.webhook import REPORTS

logger = logging.getLogger(__name__)

BATCH = 100
POLL_SECONDS = 1.0
MAX_PAUSE_SECONDS = 60.0


class ReportForwarder:
    def __init__(
        self, queue: InboundQueue, backend_url: str, token: str, *, timeout: tuple[float, float] = (2.0, 10.0)
    ) -> None:
        self.queue = queue
        self.owner = new_owner()
        self.share = PartitionShare(queue, REPORTS, self.owner)
        self._url = backend_url.rstrip("/") + "/api/v1/notifications/delivery-reports"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout
        self._session = requests.Session()
        self._failures = 0

    def forward_due(self) -> int:
        """Hand over the reports due now; how many the backend took. Blocking: call it in a thread."""
        self.share.held, _ = self.share.upkeep(busy=lambda _: False)
        taken = [e for p in self.share.held for e in self.queue.unfinished(REPORTS, p, self.owner)]
        if len(taken) < BATCH:
            taken += self.queue.read(REPORTS, self.share.held, self.owner, block_ms=None, count=BATCH - len(taken))
        taken = taken[:BATCH]  # the rest stay unfinished: the next round takes them
        if not taken:
            return 0
        try:
            answer = self._session.post(
                self._url, json={"reports": [e.payload for e in taken]}, headers=self._headers, timeout=self._timeout
            )
            failure = None if answer.status_code < 300 else f"HTTP {answer.status_code}"
        except requests.RequestException as exc:
            failure = type(exc).__name__
        if failure is not None:
            self._failures += 1
            logger.warning("%s delivery reports wait for the backend (%s)", len(taken), failure)
            return 0
        self._failures = 0
        for entry in taken:
            self.queue.done(entry)
        return len(taken)

    def pause(self) -> float:
        """Seconds before the next round: longer while the backend keeps failing."""
        return POLL_SECONDS if not self._failures else min(MAX_PAUSE_SECONDS, 2.0**self._failures)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.forward_due)
            except Exception:
                logger.exception("ALERT delivery reports could not be read from the queue")
            await asyncio.sleep(self.pause())
