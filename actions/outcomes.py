"""Conversation events for the reports, sent in batches off the customer's path.

The dialogue notes on each turn the events the reports count (dialogue/outcomes.py); the action
hands them to `batcher`, which only appends them to a buffer in memory. A background task on the
action server's loop sends what is buffered, one POST a batch (`/conversation-events/batch`), every
`FLUSH_SECONDS`, or at once when `BATCH` events wait. A batch the backend cannot take (down, slow,
5xx) goes back to the front of the buffer and is sent with the next; the buffer keeps at most `KEEP`
events and drops the oldest beyond that. A batch the backend refuses (4xx) would be refused again:
it is dropped with an error in the log. When the action server stops, what is left is sent once.

These are best-effort statistics: the events still buffered when the process dies (the last
seconds', or everything since the backend went away, up to `KEEP`) are lost. They never delay or
fail a customer's turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from clients.backend import JSON, BackendClient, BackendRejected, BackendUnavailable

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 2.0
BATCH = 100
KEEP = 1000
#: how long the last send, when the action server stops, may take
LAST_FLUSH_SECONDS = 3.0


class OutcomeBatcher:
    """One per action-server process: a bounded buffer of events and the task that sends them."""

    def __init__(
        self,
        client: Callable[[], BackendClient] = BackendClient.from_env,
        *,
        every: float = FLUSH_SECONDS,
        batch: int = BATCH,
        keep: int = KEEP,
    ) -> None:
        self._client = client
        self._every, self._batch, self._keep = every, batch, keep
        self._pending: list[JSON] = []
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        #: events dropped since the process started (buffer full while the backend was away)
        self.dropped = 0

    @property
    def pending(self) -> list[JSON]:
        """The events waiting to be sent (not those of a batch being sent), oldest first."""
        return list(self._pending)

    def add(self, events: list[JSON]) -> None:
        """Buffer a turn's events and return at once: sending them is the background task's."""
        if not events:
            return
        self._pending.extend(events)
        self._trim()
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(self._wake))
        if len(self._pending) >= self._batch and self._wake is not None:
            self._wake.set()

    async def flush(self) -> None:
        """Send what is buffered, a batch a request, until it is empty or the backend cannot take one."""
        while self._pending:
            batch, self._pending = self._pending[: self._batch], self._pending[self._batch :]
            try:
                await self._client().conversation_events(batch)
            except asyncio.CancelledError:  # the process is stopping: `close` sends it once more
                self._pending = batch + self._pending
                raise
            except BackendUnavailable as exc:
                self._pending = batch + self._pending
                self._trim()
                logger.info("conversation events: %s kept for the next batch (%s)", len(self._pending), exc)
                return
            except BackendRejected as exc:
                logger.error("conversation events: a batch of %s refused and dropped: %s", len(batch), exc)

    async def close(self) -> None:
        """Stop the task and send what is left once, within `LAST_FLUSH_SECONDS` (the process is stopping)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await asyncio.wait_for(self.flush(), LAST_FLUSH_SECONDS)
        except asyncio.TimeoutError:
            logger.warning("conversation events: %s not sent before the action server stopped", len(self._pending))

    def _trim(self) -> None:
        excess = len(self._pending) - self._keep
        if excess > 0:
            del self._pending[:excess]
            self.dropped += excess
            logger.warning("conversation events: %s oldest dropped, the buffer is full (%s)", excess, self._keep)

    async def _run(self, wake: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(wake.wait(), self._every)
            except asyncio.TimeoutError:
                pass
            wake.clear()
            try:
                await self.flush()
            except Exception:  # the sender must survive anything and try again at its next round
                logger.exception("conversation events: a flush failed")


batcher = OutcomeBatcher()
