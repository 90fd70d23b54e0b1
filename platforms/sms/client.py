"""The SMS client the notifier uses: approved templates only, per-phone limits before the provider's,
segment accounting, a circuit breaker on the provider (breaker.py), and one provider behind an
interface (`SMS_PROVIDER` = aliyun | tencent).

    client = SmsClient(AliyunSms(...), PhoneLimiter(redis, "aliyun"), template_codes={...})
    client.send("13800001111", "ticket_accepted", {"ticket_no": ...}, text, out_id="outbox:42")

`text` is the rendered message, used for the segment count and Tencent's same-content rule; the
provider renders its approved template from the variables. Synchronous (the SDKs are): the
notifier calls it from worker threads.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from platforms.sms.breaker import CircuitBreaker
from platforms.sms.errors import SmsInvalidNumber, SmsRateLimited, SmsUnavailable
from platforms.sms.limits import PhoneLimiter
from platforms.sms.segments import MAX_CHARS, count_segments, signed_length

logger = logging.getLogger(__name__)

_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
ALERT_SEGMENTS = 3
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


class SmsProvider(Protocol):
    name: str
    sign_name: str

    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str) -> str:
        """Submit one templated SMS; returns the provider's id. Raises `platforms.sms.errors`."""
        ...

    def find(self, phone: str, out_id: str, sent_on: date) -> str | None:
        """The id of a message submitted under `out_id` (from `sent_on` on), or None."""
        ...


def normalize_phone(phone: str) -> str:
    """The 11-digit mainland mobile number, or SmsInvalidNumber."""
    match = _MOBILE.match(phone.strip().replace(" ", "").replace("-", ""))
    if not match:
        raise SmsInvalidNumber("not a mainland mobile number", "invalid_number")
    return match.group(1)


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 11 else "****"


class SmsClient:
    def __init__(
        self,
        provider: SmsProvider,
        limiter: PhoneLimiter,
        template_codes: dict[str, str] | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.provider = provider
        self.limiter = limiter
        self._codes = template_codes or {}
        self.breaker = breaker or CircuitBreaker(provider.name)

    def template_code(self, template: str) -> str:
        """The provider's approved template for our template key (the key itself unless mapped)."""
        return self._codes.get(template, template)

    def send(self, phone: str, template: str, params: dict[str, str], text: str, *, out_id: str) -> str:
        number = normalize_phone(phone)
        code = self.template_code(template)
        if signed_length(text, self.provider.sign_name) > MAX_CHARS:
            raise ValueError(f"SMS for {template} is longer than {MAX_CHARS} characters")
        self.breaker.before_call()
        wait = self.limiter.reserve(number, code, text)
        if wait:
            logger.info("SMS to %s held by the per-phone limit for %.0f s", mask_phone(number), wait)
            raise SmsRateLimited(wait)
        segments = count_segments(text, self.provider.sign_name)
        if segments >= ALERT_SEGMENTS:
            logger.warning("ALERT SMS %s to %s takes %s segments", template, mask_phone(number), segments)
        try:
            msg_id = self.provider.send(number, code, params, out_id)
        except SmsUnavailable as exc:
            self.breaker.failed(exc)
            raise
        self.breaker.succeeded()
        logger.info(
            "SMS %s sent to %s by %s (%s segment(s), id %s)",
            template, mask_phone(number), self.provider.name, segments, msg_id,
        )  # fmt: skip
        return msg_id

    def already_sent(self, phone: str, out_id: str, since: datetime) -> str | None:
        """After a crash mid-send: the provider's id when it accepted `out_id` before, else None."""
        return self.provider.find(normalize_phone(phone), out_id, since.astimezone(LOCAL_ZONE).date())
