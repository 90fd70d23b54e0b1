"""What can go wrong when sending an SMS, as exceptions the notifier can act on.

`retryable` errors leave the outbox row pending (backoff and jitter); `SmsRateLimited` defers it
without counting a failure (RELIABILITY row 37); the others are permanent for this number or this
message: no retries, the next channel is tried (rows 39-40).
"""

from __future__ import annotations


class SmsError(Exception):
    retryable: bool = False

    def __init__(self, message: str = "", code: str = "") -> None:
        self.code = code
        super().__init__(f"{code} {message}".strip())


class SmsUnavailable(SmsError):
    """Timeout, connection error, 5xx, or a provider-side state such as an empty balance."""

    retryable = True


class SmsRateLimited(SmsError):
    """Our limiter or the provider's frequency control refused: wait `retry_after` seconds."""

    retryable = True

    def __init__(self, retry_after: float, code: str = "rate_limited") -> None:
        self.retry_after = retry_after
        super().__init__(f"retry after {retry_after:.0f} s", code)


class SmsOptedOut(SmsError):
    """The number replied TD/退订 or is on the provider's blacklist: never SMS it again."""


class SmsInvalidNumber(SmsError):
    """Not a mobile number the provider accepts."""


class SmsRejected(SmsError):
    """The template, signature or content is refused: a configuration problem, not this number's."""
