"""Channel choice and delivery of one rendered push (DESIGN flow 4, RELIABILITY rows 25-41).

Customers: a WeChat customer-service message inside the 48 h / 5 window, else a WeChat template
message, else SMS; a preferred channel goes first. Workers: WeCom, else SMS. A permanent error
(unfollowed, refused, bad id, opted out, invalid number) marks that channel unreachable and the
next one is tried at once; a temporary error also moves on, and the row is retried only when no
channel took it; a rate limit stops and defers the row (it is not a failure).

`deliver` only talks to the platforms; what it learnt comes back in `Outcome` for the caller to
store. Synchronous (the clients are): call it from a worker thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from backend.notifications import failures
from backend.notifications.recipients import Recipient
from backend.notifications.templates import Rendered
from platforms.sms.client import SmsClient, mask_phone
from platforms.sms.errors import SmsError, SmsInvalidNumber, SmsOptedOut, SmsRateLimited
from platforms.wechat.client import WeChatClient, mask_id
from platforms.wechat.customer_service import CustomerService
from platforms.wechat.errors import (
    InvalidOpenId,
    MemberRateLimited,
    OutsideWindow,
    PlatformError,
    QuotaExceeded,
    TokenQuotaExhausted,
    Unfollowed,
    UserRefused,
)
from platforms.wecom.client import WeComClient

logger = logging.getLogger(__name__)

WECHAT_CS = "wechat_cs"
WECHAT_TEMPLATE = "wechat_template"
WECOM = "wecom"
SMS = "sms"


@dataclass
class Senders:
    """The outside systems; a channel whose client is None is not configured and is skipped."""

    sms: SmsClient | None = None
    wechat: WeChatClient | None = None
    #: customer-service messages inside the user's window (the same policy as the bot's replies)
    customer_service: CustomerService | None = None
    wechat_template_id: str = ""
    wecom: WeComClient | None = None


@dataclass
class Outcome:
    status: Literal["sent", "retry", "defer", "failed"]
    channel: str | None = None
    provider_msg_id: str | None = None
    error: str | None = None
    retry_after: float = 0.0
    #: channels found unreachable for good: channel → reason
    unreachable: dict[str, str] = field(default_factory=dict)
    #: the phone must never get SMS again: "opt_out" | "invalid"
    sms_block: str | None = None
    #: the WeChat customer-service window had no slot or was closed by the platform
    window_closed: bool = False


def plan(recipient: Recipient, *, unreachable: dict[str, str], sms_blocked: bool, preferred: str | None) -> list[str]:
    """The channels to try, in order."""
    if recipient.is_worker:
        order = [WECOM] if recipient.wecom_user_id else []
    else:
        order = [WECHAT_CS, WECHAT_TEMPLATE] if recipient.wechat_openid else []
    if recipient.phone and not sms_blocked:
        order.append(SMS)
    if preferred == SMS and SMS in order:
        order.remove(SMS)
        order.insert(0, SMS)
    return [channel for channel in order if channel not in unreachable]


def not_planned(recipient: Recipient, *, unreachable: dict[str, str], sms_block: str | None) -> dict[str, str]:
    """Why `plan` leaves out the recipient's channels (causes of `failures.CAUSES`), named in the
    `last_error` of a push that no channel takes."""
    causes = {channel: failures.cause_of(text) for channel, text in unreachable.items()}
    # SMS is remembered unreachable (by `deliver`) only for an opt-out or an invalid number.
    if recipient.phone and (sms_block is not None or causes.get(SMS) == "rejected"):
        causes[SMS] = "invalid_number" if sms_block == "invalid" else "opted_out"
    if not (recipient.phone or recipient.wechat_openid or recipient.wecom_user_id):
        causes["none"] = "no_address"
    return causes


def deliver(
    senders: Senders,
    recipient: Recipient,
    rendered: Rendered,
    channels: list[str],
    out_id: str,
    ruled_out: dict[str, str] | None = None,
) -> Outcome:
    """Try `channels` in order; `ruled_out` (channel → cause) says why the others were not planned,
    for the `last_error` of a push that none took."""
    outcome = Outcome("failed")
    temporary: list[str] = []
    causes = dict(ruled_out or {})  # why each channel did not take the push, tried or not
    for channel in channels:
        try:
            msg_id = _send(senders, channel, recipient, rendered, out_id, outcome)
        except (MemberRateLimited, SmsRateLimited) as exc:
            return _merge(outcome, Outcome("defer", channel, error=f"rate_limited: {exc}", retry_after=exc.retry_after))
        except (OutsideWindow, QuotaExceeded) as exc:
            outcome.window_closed = True
            causes[channel] = "outside_window"
            logger.info("%s to %s refused (%s): next channel", channel, _who(recipient), exc.errcode)
            continue
        except (Unfollowed, InvalidOpenId) as exc:
            for lost in (WECOM,) if channel == WECOM else (WECHAT_CS, WECHAT_TEMPLATE):
                outcome.unreachable[lost] = str(exc)
            causes[channel] = failures.cause_of(str(exc))
            logger.info("%s: %s unreachable (%s)", channel, _who(recipient), exc.errcode)
            continue
        except UserRefused as exc:
            outcome.unreachable[channel] = str(exc)
            causes[channel] = "refused"
            continue
        except TokenQuotaExhausted as exc:
            logger.error("ALERT WeChat daily API quota used up (%s): sending by SMS", exc)
            temporary.append(f"{channel}: {exc}")
            continue
        except (SmsOptedOut, SmsInvalidNumber) as exc:
            outcome.sms_block = "opt_out" if isinstance(exc, SmsOptedOut) else "invalid"
            outcome.unreachable[SMS] = str(exc)
            causes[SMS] = "opted_out" if isinstance(exc, SmsOptedOut) else "invalid_number"
            continue
        except (PlatformError, SmsError) as exc:
            if getattr(exc, "retryable", False):
                temporary.append(f"{channel}: {exc}")
            else:
                causes[channel] = "rejected"
                logger.warning("%s refused the push to %s for good: %s", channel, _who(recipient), exc)
            continue
        if msg_id is None:
            causes[channel] = "outside_window" if channel == WECHAT_CS and outcome.window_closed else "not_configured"
            continue
        return _merge(outcome, Outcome("sent", channel, provider_msg_id=msg_id))
    if temporary:
        return _merge(outcome, Outcome("retry", error="; ".join(temporary)[:500]))
    outcome.error = failures.unreachable(causes)
    return outcome


def _send(
    senders: Senders, channel: str, recipient: Recipient, rendered: Rendered, out_id: str, outcome: Outcome
) -> str | None:
    """The provider's message id, or None when the channel cannot be used for this push."""
    if channel == WECHAT_CS and senders.customer_service and recipient.wechat_openid:
        if not senders.customer_service.send(recipient.wechat_openid, rendered.text):
            outcome.window_closed = True
            return None
        return ""
    if channel == WECHAT_TEMPLATE and senders.wechat and senders.wechat_template_id and recipient.wechat_openid:
        msgid = senders.wechat.send_template(
            recipient.wechat_openid, senders.wechat_template_id, rendered.template_data
        )
        return str(msgid)
    if channel == WECOM and senders.wecom and recipient.wecom_user_id:
        return senders.wecom.send_text(recipient.wecom_user_id, rendered.text)
    if channel == SMS and senders.sms and recipient.phone:
        return senders.sms.send(
            recipient.phone, rendered.template.key, rendered.sms_params, rendered.sms_text, out_id=out_id
        )
    return None


def _merge(learnt: Outcome, result: Outcome) -> Outcome:
    result.unreachable = learnt.unreachable
    result.sms_block = learnt.sms_block
    result.window_closed = learnt.window_closed
    return result


def _who(recipient: Recipient) -> str:
    if recipient.wechat_openid:
        return mask_id(recipient.wechat_openid)
    if recipient.wecom_user_id:
        return mask_id(recipient.wecom_user_id)
    return mask_phone(recipient.phone or "")
