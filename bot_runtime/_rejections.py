"""An alert when a rising share of a webhook's callbacks is refused (RELIABILITY row 51).

A host clock that drifts past the ±300 s timestamp window starts refusing real WeChat traffic; a
forger or a misconfigured provider does the same to the counters. Widening the window silently would
hide both, so the webhook counts what it answers: when, within `window` seconds, at least
`min_refused` callbacks were refused and they are at least `share` of all, it logs one ALERT line
(per window) naming the reasons, the most common first ("stale timestamp" points at the clock).
Per process, in memory; standard library only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable

logger = logging.getLogger(__name__)


class RejectionMeter:
    def __init__(
        self,
        channel: str,
        *,
        window: float = 60.0,
        min_refused: int = 20,
        share: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self.window = window
        self.min_refused = min_refused
        self.share = share
        self._clock = clock
        self._seen: deque[tuple[float, str | None]] = deque()
        self._alerted_at = float("-inf")
        self._lock = threading.Lock()

    def accepted(self) -> None:
        self._note(None)

    def refused(self, reason: str) -> bool:
        """Count a refusal; True when this one raised the alert."""
        return self._note(reason)

    def _note(self, reason: str | None) -> bool:
        now = self._clock()
        with self._lock:
            self._seen.append((now, reason))
            while self._seen and self._seen[0][0] < now - self.window:
                self._seen.popleft()
            if reason is None or now - self._alerted_at < self.window:
                return False
            reasons = Counter(r for _, r in self._seen if r is not None)
            refused = sum(reasons.values())
            if refused < self.min_refused or refused < self.share * len(self._seen):
                return False
            self._alerted_at = now
        summary = ", ".join(f"{why} {count}" for why, count in reasons.most_common(3))
        logger.error(
            "ALERT %s: %s of %s callbacks refused in the last %.0f s (%s): check the host clock (NTP), "
            "the platform's settings, or who is calling",
            self.channel, refused, len(self._seen), self.window, summary,
        )  # fmt: skip
        return True
