"""A circuit breaker per SMS provider (RELIABILITY row 39).

When a provider fails `threshold` times in a row (timeouts, 5xx, an empty balance: `SmsUnavailable`),
calls to it stop for `cooldown` seconds: each is refused at once with `SmsUnavailable("circuit_open")`,
so the outbox rows stay pending and the notifier uses WeChat where it can, instead of every push
waiting out a timeout. Opening logs one ALERT. After the cooldown one call is let through: its
success closes the circuit, its failure opens it again. A refusal of one message (bad number,
template, rate limit) is an answer, not a failure. In the process (each notifier keeps its own).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from platforms.sms.errors import SmsUnavailable

logger = logging.getLogger(__name__)


class CircuitBreaker:
    def __init__(
        self, provider: str, *, threshold: int = 5, cooldown: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.provider = provider
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: float | None = None
        self._trial = False

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def before_call(self) -> None:
        """Raise SmsUnavailable while the circuit is open (but for the one trial call after the cooldown)."""
        with self._lock:
            if self._open_until is None:
                return
            if self._clock() < self._open_until or self._trial:
                raise SmsUnavailable(f"{self.provider} paused after repeated failures", "circuit_open")
            self._trial = True

    def succeeded(self) -> None:
        with self._lock:
            if self._open_until is not None:
                logger.info("SMS provider %s answers again: circuit closed", self.provider)
            self._failures, self._open_until, self._trial = 0, None, False

    def failed(self, error: SmsUnavailable) -> None:
        with self._lock:
            self._failures += 1
            reopen = self._trial
            self._trial = False
            if not reopen and (self._open_until is not None or self._failures < self.threshold):
                return
            self._open_until = self._clock() + self.cooldown
        logger.error(
            "ALERT SMS provider %s failed %s times in a row (%s): circuit open for %.0f s, pushes wait or go by WeChat",
            self.provider, self._failures, error.code, self.cooldown,
        )  # fmt: skip
