"""The outbox: every push to a customer or worker is a row here, written in the transaction of its cause."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.clock import UTCDateTime
from backend.core.db import Base
from backend.notifications.enums import OutboxStatus, PromptStatus


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A retried cause writes the same key again and is dropped: e.g. "ticket:QX202611220001:accepted".
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    # Template key in backend/notifications/templates.py, e.g. "ticket_accepted".
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    # Urgent pushes (outage, hazard, restoration) ignore quiet hours.
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # enums.OutboxStatus: pending → sent | dead, or cancelled (withdrawn before it was sent).
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    channel: Mapped[str | None] = mapped_column(String(16))  # wechat_cs|wechat_template|sms|wecom
    provider_msg_id: Mapped[str | None] = mapped_column(String(128), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Added in 0002. Pushes of one recipient go out in id order: "c:<customer>", "w:<worker>",
    # "p:<phone>", "o:<openid>", "u:<wecom user>".
    recipient_key: Mapped[str | None] = mapped_column(String(80), index=True)
    # Addresses given directly (POST /notifications by phone or openid); else read from the customer.
    phone: Mapped[str | None] = mapped_column(String(20))
    wechat_openid: Mapped[str | None] = mapped_column(String(64))
    wecom_user_id: Mapped[str | None] = mapped_column(String(64))
    # The notifier that holds the row until claimed_until; its writes check it (a fencing token).
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # "unsure" when the row is claimed from a holder that never finished it: the push may have
    # reached the provider, and is reconciled (asked of the provider) before it is sent again.
    sending_channel: Mapped[str | None] = mapped_column(String(16))
    # Several SMS updates of one ticket go out as one message; the others point at it.
    merged_into_id: Mapped[int | None] = mapped_column(Integer)
    # Added in 0006, from the providers' delivery reports: when the SMS reached the phone, or the
    # provider's error when it did not; the push then goes out again avoiding that channel.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivery_error: Mapped[str | None] = mapped_column(String(64))
    avoid_channel: Mapped[str | None] = mapped_column(String(16))
    # Added in 0008 (64 characters since 0011): the id of the request that caused the push, logged
    # when it is sent.
    trace_id: Mapped[str | None] = mapped_column(String(64))


class PushContact(Base):
    """What the notifier learnt about a recipient: which channels failed for good, which one works."""

    __tablename__ = "push_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_key: Mapped[str] = mapped_column(String(80), unique=True)
    # A channel the recipient asked for ("sms" or "wechat"), tried first.
    preferred_channel: Mapped[str | None] = mapped_column(String(16))
    last_channel: Mapped[str | None] = mapped_column(String(16))
    # Channels that failed permanently (unfollowed, refused, bad id): {"wechat_cs": "43004 ..."}.
    unreachable: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class SmsBlock(Base):
    """A number never to SMS again: it replied TD/退订, the provider blacklists it, or it is invalid."""

    __tablename__ = "sms_block"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    reason: Mapped[str] = mapped_column(String(32))  # opt_out|blacklist|invalid
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class Prompt(Base):
    """A push that asked its recipient a question (回复1已来电，2仍未来电; 回复1-5打分), so that a bare
    digit they send back can be understood. Open until answered, withdrawn with its push, or too old;
    a prompt the chat asks itself (the rating after "1") has no push."""

    __tablename__ = "prompt"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # restore_check|rating
    status: Mapped[str] = mapped_column(String(16), default=PromptStatus.open.value)  # enums.PromptStatus
    # The recipient, as the push addressed them.
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    wechat_openid: Mapped[str | None] = mapped_column(String(64), index=True)
    # What the question is about.
    ticket_no: Mapped[str | None] = mapped_column(String(14))
    outage_id: Mapped[int | None] = mapped_column(Integer)
    # The push that asked it (its outbox dedup key); None when the chat asked it in a reply.
    dedup_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
