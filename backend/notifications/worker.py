"""The notifier: `python -m backend.notifications.worker` (several may run).

Each round claims due outbox rows (claims.py), delivers them from a thread pool (channels.py) and
records the outcome: sent; deferred (quiet hours, rate limits: no failure counted); retried with
exponential backoff and jitter; dead after `notifier_max_attempts` tries or when every channel
refused for good. A row taken over from a notifier that died holding it is first reconciled with
the SMS provider (did it accept `pd<id>` already?) so that a crash mid-send does not send twice.
Between rounds it waits on the Redis wake-up list, or just polls when Redis is down. It also runs
the domains' periodic jobs (`backend/scheduled.py`: escalation of tasks not accepted in time, the
service standards, arrears reminders, the outage lifecycle (announced outages starting, overrun
estimates asked anew), the device events the backend stored (it wakes the notifier when it stores
one), the duty supervisor's alert of customers waiting too long for a person), each at the interval
its notifier setting gives. Several notifiers may run them at once: a job writes only rows with a
unique key (the outbox's dedup keys, the standards' events) or holds the rows it acts on
(`core/db.py` `skip_locked`), so two overlapping runs never do one thing twice.
"""

from __future__ import annotations

import logging
import math
import random
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import get_settings
from backend.core.db import get_engine, session_factory
from backend.core.errors import DomainError
from backend.core.logs import configure_logging, request_id
from backend.core.metrics import JOB_RUNS, PUSH_SECONDS, PUSHES, serve
from backend.core.redis import connect
from backend.core.scheduling import Job
from backend.monitoring import DatabaseCollector
from backend.notifications import claims, failures, outbox, service
from backend.notifications.channels import SMS, Outcome, Senders, deliver, not_planned, plan
from backend.notifications.enums import OutboxStatus
from backend.notifications.models import OutboxMessage, PushContact
from backend.notifications.outbox import WAKEUP_KEY
from backend.notifications.providers.aliyun import AliyunSms
from backend.notifications.providers.tencent import TencentSms
from backend.notifications.recipients import Recipient, resolve_all
from backend.notifications.settings import NotifierSettings, get_notifier_settings
from backend.notifications.templates import Rendered, render
from backend.scheduled import JOBS
from platforms import log_masking
from platforms.sms.client import SmsClient, SmsProvider
from platforms.sms.errors import SmsError
from platforms.sms.limits import PhoneLimiter
from platforms.wechat.client import WeChatClient
from platforms.wechat.customer_service import CustomerService
from platforms.wechat.window import CustomerServiceWindow
from platforms.wecom.client import WeComClient

logger = logging.getLogger(__name__)

# A worker's waiting messages of these templates go out as one digest (WeCom drops what exceeds 30 a
# minute per member silently).
WORKER_TASKS = (
    "worker_task_assigned",
    "worker_task_escalated",
    "worker_task_reminded",
    "worker_task_withdrawn",
    "worker_fault_assigned",
    "worker_tasks_merged",
    "worker_fault_widened",
    "worker_fault_dismissed",
    "worker_hazard_alert",
)
# A push is started only in the first half of its claim's lease; the second half (a minute by
# default) is left for it to finish over all its channels (each client gives up within seconds),
# so that no push is still on its way when its row can be claimed by another notifier.
SEND_WINDOW_SHARE = 0.5


def in_quiet_hours(moment: datetime, start: Any, end: Any) -> bool:
    local = moment.astimezone(clock.LOCAL_ZONE).time()
    return (local >= start or local < end) if start > end else start <= local < end


def quiet_hours_end(moment: datetime, end: Any) -> datetime:
    local = moment.astimezone(clock.LOCAL_ZONE)
    target = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return target


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: between half and all of base·2^(attempts-1), capped."""
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return random.uniform(delay / 2, delay)


@dataclass(frozen=True)
class Claimed:
    """A claimed row, read with everything its delivery needs before the batch is handed to threads."""

    row: OutboxMessage
    recipient: Recipient
    known: PushContact | None
    #: why the recipient's phone may get no SMS for this push (opt_out | blacklist | invalid), None when it may
    sms_block: str | None


@dataclass(frozen=True)
class Periodic:
    """A job the notifier runs between rounds, at most every `every` seconds (0: never)."""

    name: str
    every: float
    job: Callable[[], object]


class Notifier:
    def __init__(
        self,
        factory: sessionmaker[Session],
        senders: Senders,
        settings: NotifierSettings,
        *,
        wakeups: Redis | None = None,
        periodic: Sequence[Periodic] = (),
    ) -> None:
        self.factory = factory
        self.senders = senders
        self.settings = settings
        self.wakeups = wakeups
        self.periodic = periodic
        self.stop = threading.Event()
        self._pool = ThreadPoolExecutor(settings.notifier_threads, thread_name_prefix="notifier")
        self._last_periodic = [-math.inf] * len(periodic)  # each job runs first at start

    # --- the loop --------------------------------------------------------------------------------

    def run_forever(self) -> None:
        logger.info("notifier started")
        while not self.stop.is_set():
            try:
                handled = self.run_once()
            except Exception:  # a database hiccup must not end the process
                logger.exception("notifier round failed")
                handled = 0
            self._run_periodic()
            if handled == 0:  # after a round, the rows that waited behind it may be due at once
                self._wait()
        self._pool.shutdown(wait=True)
        logger.info("notifier stopped")

    def run_once(self) -> int:
        """One round: claim a batch, read what it needs, deliver it, return how many rows were handled."""
        lease = timedelta(seconds=self.settings.notifier_claim_seconds)
        send_by = clock.now() + lease * SEND_WINDOW_SHARE  # taken before the claim, which ends later
        with self.factory() as session:
            token, ids = claims.claim_due(
                session, limit=self.settings.notifier_batch_size, lease_seconds=lease.total_seconds()
            )
            batch = self._load(session, ids, token) if ids else []
        # An urgent push may be claimed with an older one of the same recipient (it skips the line):
        # a recipient's pushes of one batch go out one after the other, in order, from one thread.
        by_recipient: dict[str, list[Claimed]] = defaultdict(list)
        for claimed in batch:
            by_recipient[claimed.recipient.key].append(claimed)
        list(self._pool.map(lambda pushes: self._process_in_order(pushes, token, send_by), by_recipient.values()))
        return len(ids)

    @staticmethod
    def _load(session: Session, ids: list[int], token: str) -> list[Claimed]:
        """The claimed rows with their recipients and what is known about them, a query per table."""
        rows = list(
            session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.claim_token == token,
                    OutboxMessage.status == OutboxStatus.pending.value,
                )
                .order_by(OutboxMessage.id)
            )
        )
        recipients = resolve_all(session, rows)
        known = service.contacts(session, {r.key for r in recipients})
        blocks = service.sms_blocks(session, {r.phone for r in recipients if r.phone})
        claimed = []
        for row, recipient in zip(rows, recipients, strict=True):
            block = blocks.get(recipient.phone or "")
            allowed = service.sms_allowed(block, urgent=row.urgent)
            claimed.append(Claimed(row, recipient, known.get(recipient.key), None if allowed else block))
        return claimed

    def _wait(self) -> None:
        timeout = self.settings.notifier_poll_seconds
        if self.wakeups is not None:
            try:
                if self.wakeups.blpop([WAKEUP_KEY], timeout=max(1, int(timeout))):
                    self.wakeups.delete(WAKEUP_KEY)
                return
            except RedisError as exc:
                logger.debug("wake-up list unavailable (%s), polling", exc)
        self.stop.wait(timeout)

    def _run_periodic(self) -> None:
        for n, periodic in enumerate(self.periodic):
            if periodic.every <= 0 or time.monotonic() - self._last_periodic[n] < periodic.every:
                continue
            self._last_periodic[n] = time.monotonic()
            try:
                periodic.job()
            except Exception:  # one failing job must not hold up the others
                JOB_RUNS.labels(periodic.name, "failed").inc()
                logger.exception("periodic job %s failed", periodic.name)
            else:
                JOB_RUNS.labels(periodic.name, "done").inc()

    # --- one row ---------------------------------------------------------------------------------

    def _process_in_order(self, pushes: list[Claimed], token: str, send_by: datetime) -> None:
        for claimed in pushes:
            self.process(claimed, token, send_by)

    def process(self, claimed: Claimed, token: str, send_by: datetime) -> None:
        # The log lines of this push carry the id of the request that caused it.
        trace = request_id.set(claimed.row.trace_id or f"push-{claimed.row.id}")
        try:
            with self.factory() as session:
                self._process(session, claimed, token, send_by)
        except Exception:
            logger.exception("push %s failed unexpectedly", claimed.row.id)
        finally:
            request_id.reset(trace)

    def _process(self, session: Session, claimed: Claimed, token: str, send_by: datetime) -> None:
        row, recipient, known = claimed.row, claimed.recipient, claimed.known
        now = clock.now()
        if now >= send_by:  # the batch outlasted the first half of the lease: the row goes back in line
            claims.finish(session, row.id, token)
            logger.warning("push %s released unsent: its claim was running out", row.dedup_key)
            return
        quiet = (self.settings.quiet_hours_start, self.settings.quiet_hours_end)
        if not row.urgent and in_quiet_hours(now, *quiet):
            claims.finish(session, row.id, token, next_attempt_at=quiet_hours_end(now, quiet[1]))
            return
        try:
            rendered, merged = self._compose(session, row)
        except (DomainError, KeyError, ValueError) as exc:
            logger.error("push %s cannot be composed: %s", row.dedup_key, exc)
            outbox.dead(session, row, token, error=f"{failures.COMPOSE}: {exc}"[:500])
            return
        unreachable = dict(known.unreachable or {}) if known else {}
        if row.avoid_channel:  # a delivery report said it did not arrive that way
            unreachable[row.avoid_channel] = f"not delivered: {row.delivery_error}"
        channels = plan(
            recipient,
            unreachable=unreachable,
            sms_blocked=claimed.sms_block is not None,
            preferred=known.preferred_channel if known else None,
        )
        ruled_out = not_planned(recipient, unreachable=unreachable, sms_block=claimed.sms_block)
        if not channels:
            why = failures.unreachable(ruled_out)
            outbox.dead(session, row, token, error=why)
            logger.warning("push %s dead: %s", row.dedup_key, why)
            return
        out_id = f"pd{row.id}"
        if row.sending_channel is not None:  # an earlier holder died mid-send: did it reach the provider?
            found = self._reconcile(row, recipient.phone, channels, out_id)
            if found is not None:
                self._record(session, row, token, found, merged, recipient.phone, now, known)
                return
        outcome = deliver(self.senders, recipient, rendered, channels, out_id=out_id, ruled_out=ruled_out)
        self._record(session, row, token, outcome, merged, recipient.phone, now, known)

    def _reconcile(self, row: OutboxMessage, phone: str | None, channels: list[str], out_id: str) -> Outcome | None:
        """Ask the SMS provider whether it already accepted this row; an Outcome when that settles it."""
        if self.senders.sms is None or phone is None or SMS not in channels:
            return None
        try:
            msg_id = self.senders.sms.already_sent(phone, out_id, row.created_at)
        except SmsError as exc:
            return Outcome("retry", error=f"reconcile: {exc}")
        if msg_id is None:
            return None
        logger.info("push %s had reached the SMS provider before a restart: not sent again", row.dedup_key)
        return Outcome("sent", SMS, provider_msg_id=msg_id)

    def _compose(self, session: Session, row: OutboxMessage) -> tuple[Rendered, list[OutboxMessage]]:
        """The message for `row`, merged with the rows waiting behind it when that is due."""
        if row.template in WORKER_TASKS:
            waiting = claims.followers(session, row, templates=WORKER_TASKS)
            if waiting:
                items = [render(r.template, r.params).text for r in (row, *waiting)]
                numbered = "\n".join(f"{i}. {text}" for i, text in enumerate(items, 1))
                return render("worker_task_digest", {"count": len(items), "items": numbered}), waiting
        elif (row.last_error or "").startswith("rate_limited") and row.dedup_key.startswith("ticket:"):
            prefix = ":".join(row.dedup_key.split(":")[:2]) + ":"
            waiting = claims.followers(session, row, dedup_prefix=prefix)
            if waiting:
                latest = render(waiting[-1].template, waiting[-1].params).sms_text
                params = {
                    "ticket_no": row.dedup_key.split(":")[1],
                    "count": len(waiting) + 1,
                    "latest": latest,
                }
                return render("ticket_updates_coalesced", params), waiting
        return render(row.template, row.params), []

    def _record(
        self, session: Session, row: OutboxMessage, token: str, outcome: Outcome,
        merged: list[OutboxMessage], phone: str | None, now: datetime, known: PushContact | None,
    ) -> None:  # fmt: skip
        learnt = service.remember(
            session, row.recipient_key or "", known, sent_by=outcome.channel if outcome.status == "sent" else None,
            unreachable=outcome.unreachable,
        )  # fmt: skip
        if outcome.sms_block and phone:
            service.block_sms(session, phone, outcome.sms_block)
            learnt = True
        if learnt:
            session.commit()
        PUSHES.labels(outcome.channel or "none", outcome.status).inc()
        if outcome.status == "sent":
            moment = clock.now()
            PUSH_SECONDS.labels(outcome.channel or "none").observe(
                max((moment - row.next_attempt_at).total_seconds(), 0)
            )
            logger.info("push %s sent by %s", row.dedup_key, outcome.channel)
            written = outbox.sent(
                session, row, token, channel=outcome.channel, provider_msg_id=outcome.provider_msg_id, at=moment,
                merged=merged,
            )  # fmt: skip
            if not written:
                logger.warning("push %s was sent after its claim lapsed", row.dedup_key)
            return
        if outcome.status == "defer":
            wait = timedelta(seconds=max(outcome.retry_after, 1.0))
            claims.finish(session, row.id, token, next_attempt_at=now + wait, last_error=outcome.error)
            return
        attempts = row.attempts + 1
        if outcome.status == "failed" or attempts >= self.settings.notifier_max_attempts:
            outbox.dead(session, row, token, error=outcome.error, attempts=attempts)
            logger.error("ALERT push %s dead after %s attempt(s): %s", row.dedup_key, attempts, outcome.error)
            return
        delay = backoff_seconds(
            attempts, self.settings.notifier_backoff_base_seconds, self.settings.notifier_backoff_max_seconds
        )
        claims.finish(
            session, row.id, token, attempts=attempts, last_error=outcome.error,
            next_attempt_at=now + timedelta(seconds=delay),
        )  # fmt: skip
        logger.info("push %s retry %s in %.0f s: %s", row.dedup_key, attempts, delay, outcome.error)


def build_senders(settings: NotifierSettings, redis: Redis) -> Senders:
    """The clients for the configured platforms (a platform without credentials is skipped)."""
    senders = Senders(wechat_template_id=settings.wechat_notice_template_id)
    if settings.sms_api_base_url and settings.sms_access_key_id:
        senders.sms = SmsClient(
            _sms_provider(settings),
            PhoneLimiter(redis, settings.sms_provider, per_day=settings.sms_daily_limit),
            settings.sms_template_codes,
        )
    if settings.wechat_app_id and settings.wechat_app_secret:
        senders.wechat = WeChatClient(
            settings.wechat_app_id, settings.wechat_app_secret, settings.wechat_api_base_url, redis
        )
        senders.customer_service = CustomerService(senders.wechat, CustomerServiceWindow(redis, settings.wechat_app_id))
    if settings.wecom_corp_id and settings.wecom_secret:
        senders.wecom = WeComClient(
            settings.wecom_corp_id,
            settings.wecom_agent_id,
            settings.wecom_secret,
            settings.wecom_api_base_url,
            redis,
        )
    return senders


def _sms_provider(settings: NotifierSettings) -> SmsProvider:
    if settings.sms_provider == "tencent":
        return TencentSms(
            settings.sms_access_key_id, settings.sms_access_key_secret, settings.sms_api_base_url,
            settings.sms_sign_name, settings.sms_sdk_app_id, region=settings.sms_region,
        )  # fmt: skip
    return AliyunSms(
        settings.sms_access_key_id,
        settings.sms_access_key_secret,
        settings.sms_api_base_url,
        settings.sms_sign_name,
    )


def periodic_jobs(settings: NotifierSettings, factory: sessionmaker[Session]) -> list[Periodic]:
    """The domains' jobs (`backend/scheduled.py`), each at the interval of its notifier setting; the
    backend's settings are read when a job runs."""

    def runner(job: Job) -> Callable[[], object]:
        return lambda: job.run(factory, get_settings(), settings.notifier_batch_size)

    return [Periodic(job.name, float(getattr(settings, job.every)), runner(job)) for job in JOBS]


def main() -> None:
    configure_logging("notifier")
    log_masking.install()
    settings = get_notifier_settings()
    redis = connect(settings.redis_url, timeout=1.0)
    wakeups = connect(settings.redis_url, timeout=settings.notifier_poll_seconds + 2)
    factory = session_factory(get_engine(settings.database_url))
    if settings.notifier_metrics_port:
        serve(settings.notifier_metrics_port, DatabaseCollector(factory), settings.notifier_metrics_host)
        logger.info("metrics at http://%s:%s/metrics", settings.notifier_metrics_host, settings.notifier_metrics_port)
    notifier = Notifier(
        factory, build_senders(settings, redis), settings, wakeups=wakeups, periodic=periodic_jobs(settings, factory)
    )

    def _stop(signum: int, _frame: object) -> None:
        logger.info("signal %s: finishing the current round", signum)
        notifier.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    notifier.run_forever()


if __name__ == "__main__":
    main()
