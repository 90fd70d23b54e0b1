"""Delivery reports queued by the webhook gateways, handed to the backend (no rasa).

`POST {BACKEND_URL}/api/v1/notifications/delivery-reports` `{"reports": [...]}` with the channels'
bearer token, up to 100 at a time; the backend marks each push delivered, or sends it again by
another channel when the SMS did not arrive (backend/notifications/service.py). Reports are consumed
like inbound messages (bot_runtime/inbound_queue.py: each gateway leases its share of the partitions,
and takes over those of a gateway that died), so two gateways never hand over the same one; while
the backend is down they stay unfinished in the queue and are tried again with a growing pause (up
to a minute).
"""

from __future__ import annotations

import asyncio
import logging

from bot_runtime.inbound_queue import Entry, InboundQueue, PartitionShare, new_owner
from bot_runtime.sms_webhook import REPORTS
from clients.backend import BackendClient, BackendError

logger = logging.getLogger(__name__)

BATCH = 100
POLL_SECONDS = 1.0
MAX_PAUSE_SECONDS = 60.0
#: a batch of 100 reports may take the backend longer than a chat call
REPORTS_TIMEOUT_SECONDS = 10.0


class ReportForwarder:
    def __init__(self, queue: InboundQueue, backend: BackendClient) -> None:
        self.queue = queue
        self.owner = new_owner()
        self.share = PartitionShare(queue, REPORTS, self.owner)
        self.backend = backend
        self._failures = 0

    def _due(self) -> list[Entry]:
        """The reports due now, at most a batch. Blocking: call it in a thread."""
        self.share.held, _ = self.share.upkeep(busy=lambda _: False)
        taken = [e for p in self.share.held for e in self.queue.unfinished(REPORTS, p, self.owner)]
        if len(taken) < BATCH:
            taken += self.queue.read(REPORTS, self.share.held, self.owner, block_ms=None, count=BATCH - len(taken))
        return taken[:BATCH]  # the rest stay unfinished: the next round takes them

    def _finish(self, entries: list[Entry]) -> None:
        for entry in entries:
            self.queue.done(entry)

    async def forward_due(self) -> int:
        """Hand over the reports due now; how many the backend took."""
        taken = await asyncio.to_thread(self._due)
        if not taken:
            return 0
        try:
            await self.backend.delivery_reports([e.payload for e in taken])
        except BackendError as exc:
            self._failures += 1
            logger.warning("%s delivery reports wait for the backend (%s)", len(taken), exc)
            return 0
        self._failures = 0
        await asyncio.to_thread(self._finish, taken)
        return len(taken)

    def pause(self) -> float:
        """Seconds before the next round: longer while the backend keeps failing."""
        return POLL_SECONDS if not self._failures else min(MAX_PAUSE_SECONDS, 2.0**self._failures)

    async def run(self) -> None:
        while True:
            try:
                await self.forward_due()
            except Exception:
                logger.exception("ALERT delivery reports could not be read from the queue")
            await asyncio.sleep(self.pause())
