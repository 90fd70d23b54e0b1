"""Personal data (bills, tickets, applications) is read by its owner, or by whoever proved they may.

The assistant calls on behalf of one sender (`X-PowerDesk-Sender: <channel>:<sender_id>`). A sender
owns an account when their WeChat openid is bound to it, or when they write by SMS from its
registered phone; the reporter of a ticket may read that ticket. Anyone else may read a document
(an account, a QX ticket, a YK application) after giving the last four digits of its registered
phone: a grant for `GRANT_MINUTES`. Failed checks count against the sender and the document over
the last day, and `MAX_FAILURES` of either locks further checks (no refusal says whether a number
exists or which digits were wrong). The admin token reads everything; worker reads are scoped by
their own rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.access.models import AccessAttempt, AccessGrant
from backend.access.schemas import VerificationRead
from backend.applications import service as applications
from backend.applications.models import Application
from backend.core import clock
from backend.core.deps import Role
from backend.core.errors import DomainError, Forbidden, NotFound, TooMany
from backend.core.masking import mask_id
from backend.customers import service as customers
from backend.customers.models import Customer
from backend.tickets import service as tickets
from backend.tickets.models import Ticket

logger = logging.getLogger(__name__)

GRANT_MINUTES = 30
MAX_FAILURES = 5
WINDOW = timedelta(days=1)
CHANNELS = ("wechat", "sms", "wecom", "rest")


@dataclass(frozen=True)
class Sender:
    channel: str
    sender_id: str

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.sender_id}"


def parse_sender(header: str | None) -> Sender | None:
    """`wechat:o_abc` → Sender; anything malformed → None."""
    if not header:
        return None
    channel, _, sender_id = header.partition(":")
    if channel not in CHANNELS or not sender_id or len(sender_id) > 64:
        return None
    return Sender(channel, sender_id)


@dataclass(frozen=True)
class Reader:
    """Who reads: a role, and for the assistant the sender it speaks for."""

    role: Role
    sender: Sender | None

    @property
    def checked(self) -> bool:
        """Reads of the assistant are checked; the admin's and the workers' integrations are not here."""
        return self.role is Role.actions


NEEDS_CHECK = "verification_required"
NEEDS_CHECK_MESSAGE = "查询前需要核对身份：请提供登记手机号的后4位，或先绑定户号"


def owns(session: Session, sender: Sender, customer: Customer) -> bool:
    if sender.channel == "sms":
        return customer.phone == sender.sender_id
    if sender.channel in ("wechat", "rest"):
        return customers.is_bound(session, sender.sender_id, customer)
    return False


def granted(session: Session, sender: Sender, *documents: str | None) -> bool:
    wanted = [d for d in documents if d]
    if not wanted:
        return False
    query = select(AccessGrant.id).where(
        AccessGrant.sender == sender.key, AccessGrant.document.in_(wanted), AccessGrant.expires_at > clock.now()
    )
    return session.scalar(query.limit(1)) is not None


def _refuse(reader: Reader) -> DomainError:
    if reader.sender is None:
        return Forbidden("请求需要说明代表哪位客户（X-PowerDesk-Sender）", code="sender_required")
    return Forbidden(NEEDS_CHECK_MESSAGE, code=NEEDS_CHECK)


def require_customer(session: Session, reader: Reader, customer: Customer) -> None:
    if not reader.checked:
        return
    sender = reader.sender
    if sender is None or not (owns(session, sender, customer) or granted(session, sender, customer.account_no)):
        raise _refuse(reader)


def may_read_customer(session: Session, reader: Reader, customer: Customer) -> bool:
    try:
        require_customer(session, reader, customer)
    except DomainError:
        return False
    return True


def require_ticket(session: Session, reader: Reader, ticket: Ticket) -> None:
    if not reader.checked:
        return
    sender = reader.sender
    if sender is None:
        raise _refuse(reader)
    if ticket.channel == sender.channel and ticket.sender_id == sender.sender_id:
        return  # the reporter
    customer = customers.customer_by_id(session, ticket.customer_id) if ticket.customer_id else None
    account_no = customer.account_no if customer else None
    if customer is not None and owns(session, sender, customer):
        return
    if not granted(session, sender, ticket.ticket_no, account_no):
        raise _refuse(reader)


def require_application(session: Session, reader: Reader, application: Application) -> None:
    if not reader.checked:
        return
    sender = reader.sender
    if sender is None:
        raise _refuse(reader)
    customer = customers.customer_by_id(session, application.customer_id) if application.customer_id else None
    if customer is not None and owns(session, sender, customer):
        return
    if not granted(session, sender, application.application_no, customer.account_no if customer else None):
        raise _refuse(reader)


# --- checks with their attempts -------------------------------------------------------------------


def failures(session: Session, purpose: str, *, sender: str | None = None, subject: str | None = None) -> int:
    query = select(func.count(AccessAttempt.id)).where(
        AccessAttempt.purpose == purpose, AccessAttempt.at > clock.now() - WINDOW
    )
    if sender is not None:
        query = query.where(AccessAttempt.sender == sender)
    if subject is not None:
        query = query.where(AccessAttempt.subject == subject)
    return int(session.scalar(query) or 0)


def attempts_left(session: Session, purpose: str, sender: str, subject: str) -> int:
    used = max(failures(session, purpose, sender=sender), failures(session, purpose, subject=subject))
    return max(MAX_FAILURES - used, 0)


def record_failure(session: Session, purpose: str, sender: str, subject: str) -> None:
    session.add(AccessAttempt(purpose=purpose, sender=sender, subject=subject, at=clock.now()))
    session.flush()


def locked(purpose: str) -> TooMany:
    return TooMany("尝试次数过多，今天暂时不能再试", code=f"{purpose}_locked")


def _phones_of(session: Session, document: str) -> list[str]:
    """The phones whose last four digits prove a document; none when it does not exist."""
    try:
        if document.startswith("QX"):
            ticket = tickets.get_ticket(session, document)
            phones = [ticket.callback_phone]
            if ticket.customer_id:
                phones.append(customers.customer_by_id(session, ticket.customer_id).phone)
            return [p for p in phones if p]
        if document.startswith("YK"):
            application = applications.get_application(session, document)
            if application.customer_id is None:
                return []
            return [customers.customer_by_id(session, application.customer_id).phone]
        return [customers.get_customer(session, document).phone]
    except NotFound:
        return []


def verify(session: Session, sender: Sender, document: str, phone_last4: str) -> VerificationRead | DomainError:
    """Grant `sender` the document when the digits match. A failure is returned, not raised: it is
    recorded in the same transaction, which must commit."""
    if attempts_left(session, "verify", sender.key, document) == 0:
        return locked("verification")
    if any(phone[-4:] == phone_last4 for phone in _phones_of(session, document)):
        moment = clock.now()
        grant = AccessGrant(
            sender=sender.key,
            document=document,
            created_at=moment,
            expires_at=moment + timedelta(minutes=GRANT_MINUTES),
        )
        session.add(grant)
        session.flush()
        return VerificationRead(document=document, expires_at=clock.to_local(grant.expires_at))  # type: ignore[arg-type]
    record_failure(session, "verify", sender.key, document)
    left = attempts_left(session, "verify", sender.key, document)
    logger.info("verification failed for %s by %s (%s left)", document[:4], mask_id(sender.sender_id), left)
    if left == 0:
        return locked("verification")
    return Forbidden("手机号后4位核对不一致", code="verification_failed", details={"attempts_left": left})
