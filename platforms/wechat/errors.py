"""The platforms' error codes mapped to exceptions, in one place (WeChat and WeCom share most)."""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    """A WeChat or WeCom API call failed; `errcode` is the platform's code (0 when there was none)."""

    errcode: int = 0
    #: True when sending the same thing again later may succeed (the outbox keeps the row pending).
    retryable: bool = False

    def __init__(self, errmsg: str = "", errcode: int | None = None) -> None:
        if errcode is not None:
            self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"{self.errcode} {errmsg}".strip())


class PlatformUnavailable(PlatformError):
    """Timeout, connection error, HTTP 5xx, a non-JSON answer or the system-busy code -1."""

    retryable = True


class InvalidCredential(PlatformError):
    """40001/40014/42001 still returned after one token refresh and one retry."""

    errcode = 40001
    retryable = True


class TokenQuotaExhausted(PlatformError):
    """45009: the daily API quota is used up. Never auto-`clear_quota`; fall back to SMS."""

    errcode = 45009


class OutsideWindow(PlatformError):
    """45015: more than 48 h since the customer's last message: use a template message or SMS."""

    errcode = 45015


class QuotaExceeded(PlatformError):
    """45047: the customer-service messages allowed for this interaction are used up."""

    errcode = 45047


class Unfollowed(PlatformError):
    """43004: the user does not follow the account: the channel is unreachable."""

    errcode = 43004


class InvalidOpenId(PlatformError):
    """40003: not a valid OpenID (or WeCom user id) for this account."""

    errcode = 40003


class UserRefused(PlatformError):
    """43101: the user turned these messages off."""

    errcode = 43101


class MemberRateLimited(PlatformError):
    """WeCom 30/min or 1000/h per member and app would be exceeded: WeCom would drop it silently.

    Raised before sending; `retry_after` seconds until a slot frees. Batch into a digest instead.
    """

    errcode = 45033
    retryable = True

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"per-member limit reached, retry after {retry_after:.0f} s")


TOKEN_ERRORS = frozenset({40001, 40014, 42001})

_BY_CODE: dict[int, type[PlatformError]] = {
    -1: PlatformUnavailable,
    40003: InvalidOpenId,
    43004: Unfollowed,
    43101: UserRefused,
    45009: TokenQuotaExhausted,
    45015: OutsideWindow,
    45047: QuotaExceeded,
    # WeCom: 81013 all recipients invalid, 60111 user id not found.
    81013: InvalidOpenId,
    60111: InvalidOpenId,
}


def raise_for_errcode(payload: dict[str, Any]) -> None:
    """Raise the exception for a platform answer whose `errcode` is non-zero."""
    code = payload.get("errcode", 0)
    try:
        code = int(code or 0)
    except (TypeError, ValueError):
        raise PlatformUnavailable(f"malformed errcode {code!r}") from None
    if code == 0:
        return
    message = str(payload.get("errmsg", ""))
    if code in TOKEN_ERRORS:
        raise InvalidCredential(message, code)
    raise _BY_CODE.get(code, PlatformError)(message, code)
