"""The notifications service: pushes asked for through the API, opt-outs, and what the notifier
remembers about recipients (preferred channel, channels found unreachable, numbers not to SMS,
WeChat users who unfollowed)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.errors import Conflict, Invalid
from backend.core.masking import mask_phone
from backend.customers import service as customers
from backend.notifications import outbox
from backend.notifications.enums import OutboxStatus
from backend.notifications.models import OutboxMessage, PushContact, SmsBlock
from backend.notifications.outbox import enqueue, recipient_key
from backend.notifications.templates import TEMPLATES
from platforms.wechat.client import mask_id

logger = logging.getLogger(__name__)


def request_push(
    session: Session,
    *,
    recipient: dict[str, str],
    template: str,
    params: dict[str, Any],
    dedup_key: str,
    urgent: bool = False,
) -> OutboxMessage:
    """Enqueue a push for `POST /notifications`; 409 `duplicate` when the key was used before."""
    if template not in TEMPLATES:
        raise Invalid(f"未知的推送模板 {template}", code="unknown_template")
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedup_key == dedup_key)) is not None:
        raise Conflict("该推送已受理", code="duplicate")
    address: dict[str, Any] = {}
    if "account_no" in recipient:
        address["customer_id"] = customers.get_customer(session, recipient["account_no"]).id
    else:
        address = {name: recipient[name] for name in ("phone", "wechat_openid", "wecom_user_id") if name in recipient}
    row = enqueue(session, dedup_key=dedup_key, template=template, params=params, urgent=urgent, **address)
    session.flush()
    return row


def rows_by_status(session: Session, *, status: str, limit: int) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == status).order_by(OutboxMessage.id.desc()).limit(limit)
        )
    )


def unblock_sms(session: Session, phone: str) -> bool:
    """The number replied 订阅: SMS again. Only an opt-out is undone (an invalid number or the
    provider's blacklist stay); True when there was one."""
    row = session.scalar(select(SmsBlock).where(SmsBlock.phone == phone, SmsBlock.reason == "opt_out"))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    logger.info("SMS to %s allowed again: subscribed", mask_phone(phone))
    return True


def block_sms(session: Session, phone: str, reason: str) -> None:
    """Never SMS `phone` again (TD/退订 reply, provider blacklist, invalid number)."""
    if session.scalar(select(SmsBlock.id).where(SmsBlock.phone == phone)) is None:
        session.add(SmsBlock(phone=phone, reason=reason, created_at=clock.now()))
        session.flush()
        logger.info("SMS to %s blocked: %s", mask_phone(phone), reason)


def sms_blocks(session: Session, phones: Collection[str]) -> dict[str, str]:
    """Those of `phones` that are blocked, with why (opt_out | blacklist | invalid)."""
    if not phones:
        return {}
    query = select(SmsBlock.phone, SmsBlock.reason).where(SmsBlock.phone.in_(phones))
    return {phone: reason for phone, reason in session.execute(query)}


def sms_allowed(reason: str | None, *, urgent: bool) -> bool:
    """Whether a push may go by SMS to a number blocked for `reason` (None: not blocked).

    An opt-out (TD/退订) stops everything but the urgent notices the utility owes by law: an outage
    that has started and its restoration, a hazard (《电力供应与使用条例》第二十八条); the 《通信短信息
    服务管理规定》 (MIIT order 31) lets a user refuse commercial SMS, which these are not. A planned
    outage is also announced publicly, so its notice respects the opt-out. An invalid number or the
    provider's blacklist stops everything (docs/adr/0006-sms-consent.md).
    """
    return reason is None or (reason == "opt_out" and urgent)


def record_deliveries(session: Session, reports: Sequence[Any], *, now: datetime | None = None) -> tuple[int, int, int]:
    """Apply providers' delivery reports to the pushes they are about: (applied, resent, unknown).

    A delivered SMS gets `delivered_at`. An SMS that did not arrive is sent again, at once, by the
    recipient's other channels (a WeChat template message when they follow the account): the row goes
    back to pending with `avoid_channel = "sms"`; with no other channel it ends dead. A push whose
    secret params were masked once it was sent (a bind code) cannot go out again: it ends dead at
    once, and the customer asks for a new code. Repeated and late reports change nothing (a push is
    re-sent once)."""
    moment = now or clock.now()
    applied = resent = unknown = 0
    for report in reports:
        row = _push_of(session, report)
        if row is None:
            unknown += 1
            continue
        if report.delivered:
            if row.delivered_at is None and row.delivery_error is None:
                row.delivered_at = moment
                applied += 1
            continue
        if row.status != OutboxStatus.sent.value or row.channel != "sms" or row.avoid_channel is not None:
            continue
        applied += 1
        if not outbox.send_again_avoiding(row, "sms", code=report.code, at=moment):
            logger.warning("push %s: SMS to %s not delivered (%s), not sent again: its secret is masked",
                           row.dedup_key, mask_phone(report.phone), report.code)  # fmt: skip
            continue
        resent += 1
        logger.warning("push %s: SMS to %s not delivered (%s), sent again by another channel",
                       row.dedup_key, mask_phone(report.phone), report.code)  # fmt: skip
    session.flush()
    return applied, resent, unknown


def _push_of(session: Session, report: Any) -> OutboxMessage | None:
    """The SMS push a report is about: by the provider's id, else by our `pd<id>`."""
    query = select(OutboxMessage).where(OutboxMessage.channel == "sms")
    row = session.scalar(query.where(OutboxMessage.provider_msg_id == report.msg_id).limit(1))
    if row is None and report.out_id.startswith("pd") and report.out_id[2:].isdigit():
        row = session.scalar(query.where(OutboxMessage.id == int(report.out_id[2:])))
    return row


def contact(session: Session, recipient_key: str) -> PushContact | None:
    return session.scalar(select(PushContact).where(PushContact.recipient_key == recipient_key))


def contacts(session: Session, recipient_keys: Collection[str]) -> dict[str, PushContact]:
    """What is known about each of `recipient_keys` (keys never seen are left out)."""
    if not recipient_keys:
        return {}
    query = select(PushContact).where(PushContact.recipient_key.in_(recipient_keys))
    return {row.recipient_key: row for row in session.scalars(query)}


def remember(
    session: Session,
    recipient_key: str,
    known: PushContact | None,
    *,
    sent_by: str | None = None,
    unreachable: dict[str, str] | None = None,
) -> bool:
    """Store the channels that failed for good, and the channel that worked once something is known
    about the recipient (a first push that simply worked writes nothing). True when it wrote.
    `known` is what was read before sending, possibly in another session (when it is None, the row
    is looked for again: an earlier push of the same batch to the same recipient may have written it)."""
    new_losses = set(unreachable or {}) - set(known.unreachable or {} if known else {})
    if not new_losses and (known is None or not sent_by or known.last_channel == sent_by):
        return False
    row = session.get(PushContact, known.id) if known is not None else contact(session, recipient_key)
    if row is None:
        row = PushContact(recipient_key=recipient_key, unreachable={})
        session.add(row)
    if sent_by:
        row.last_channel = sent_by
    if new_losses:
        row.unreachable = {**(row.unreachable or {}), **(unreachable or {})}
    row.updated_at = clock.now()
    session.flush()
    return True


WECHAT_CHANNELS = ("wechat_cs", "wechat_template")


def set_wechat_following(session: Session, openid: str, following: bool) -> None:
    """The user unfollowed (or followed again) the official account: WeChat pushes to the openid,
    and to the customers bound to it, stop (or may be tried again)."""
    keys = [recipient_key(wechat_openid=openid)]
    keys += [recipient_key(customer_id=customer.id) for customer in customers.find_by_openid(session, openid)]
    for key in keys:
        row = contact(session, key)
        if following:
            if row is not None and any(channel in (row.unreachable or {}) for channel in WECHAT_CHANNELS):
                row.unreachable = {k: v for k, v in row.unreachable.items() if k not in WECHAT_CHANNELS}
                row.updated_at = clock.now()
            continue
        if row is None:
            row = PushContact(recipient_key=key, unreachable={})
            session.add(row)
        row.unreachable = {**(row.unreachable or {}), **dict.fromkeys(WECHAT_CHANNELS, "unsubscribed")}
        row.updated_at = clock.now()
    session.flush()
    logger.info("wechat user %s %s", mask_id(openid), "followed" if following else "unfollowed")


def set_preferred_channel(session: Session, account_no: str, channel: str | None) -> PushContact:
    """The customer asked to be told by SMS (or WeChat first again, with None / "wechat")."""
    key = recipient_key(customer_id=customers.get_customer(session, account_no).id)
    row = contact(session, key)
    if row is None:
        row = PushContact(recipient_key=key, unreachable={})
        session.add(row)
    row.preferred_channel = channel
    row.updated_at = clock.now()
    session.flush()
    return row
