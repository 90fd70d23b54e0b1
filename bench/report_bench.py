"""`python -m bench.report_bench [--customers N] [--tickets M]`: the command centre's reports over a
county-sized month.

On a fresh SQLite file, and also on PostgreSQL when DATABASE_URL points to one (a private schema,
dropped afterwards): migrate, seed N customers (default 100,000), then write last month's M tickets
(default 50,000: repairs with their timeline, 2 % complaints, ratings on a third), their pushes,
service-standard breaches, outages and 业扩 stages in bulk, and build each report once, as the
backend does for `GET /api/v1/reports/...` (targets: daily < 2 s, monthly workbook < 30 s). Also
times the live view's overview (`GET /api/v1/live/overview`) on the same data.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from backend.core import clock
from backend.core.config import Settings
from backend.core.db import get_engine, session_factory
from backend.customers.models import Customer
from backend.live.service import Overview
from backend.notifications.models import OutboxMessage
from backend.outages.models import Outage, OutageScope
from backend.reports import periods, service
from backend.reports.service import topics
from backend.reports.workbook import build_workbook
from backend.seed import bulk, fix_sequences, seed
from backend.sla.models import SlaEvent
from backend.tickets.models import Ticket, TicketEvent
from backend.topology.models import Transformer, Worker
from bench.backend_bench import migrate, postgres_database, sqlite_database

TOKENS = {
    name: "bench-token-0123456789"
    for name in ("powerdesk_admin_token", "powerdesk_actions_token", "powerdesk_worker_token")
}
COMPLAINTS = [
    "抢修人员迟到两个小时",
    "停电太频繁了",
    "电费比上月高很多",
    "客服电话打不通",
    "电压不稳灯一直闪",
    "抢修师傅态度不好",
]


def last_month() -> tuple[date, date]:
    first_this = clock.local_today().replace(day=1)
    last = first_this - timedelta(days=1)
    return last.replace(day=1), last


def write_month(url: str, tickets: int, rng: random.Random) -> None:
    """Last month's tickets with their timelines, pushes, breaches and outages, in bulk."""
    first, last = last_month()
    factory = session_factory(get_engine(url))
    start = datetime.combine(first, datetime.min.time(), tzinfo=clock.LOCAL_ZONE)
    seconds = int((last - first).days + 1) * 86_400
    with factory() as session, session.begin():
        customers = session.execute(select(Customer.id, Customer.area_type, Customer.transformer_id)).all()
        workers = {cell: ids for cell, ids in _workers_by_cell(session).items()}
        cell_of = dict(session.execute(select(Transformer.id, Transformer.grid_cell_id)).all())
        rows, events, pushes, breaches = [], [], [], []
        for n in range(tickets):
            customer_id, area, transformer_id = rng.choice(customers)
            cell = cell_of[transformer_id]
            worker_id = rng.choice(workers[cell])
            created = start + timedelta(seconds=rng.randrange(seconds))
            complaint = rng.random() < 0.02
            limit = {"urban": 45, "rural": 90}.get(area, 120)
            arrival_deadline = created + timedelta(minutes=limit)
            arrived = created + timedelta(minutes=rng.gauss(limit * 0.7, limit * 0.3))
            resolved = arrived + timedelta(minutes=abs(rng.gauss(120, 60)))
            restore_deadline = arrived + timedelta(hours=3 if area == "urban" else 4)
            number = f"QB{n:012d}"
            rows.append(
                {
                    "id": n + 1,
                    "ticket_no": number,
                    "kind": "complaint" if complaint else "repair",
                    "priority": "normal",
                    "status": "closed",
                    "customer_id": customer_id,
                    "channel": "wechat",
                    "sender_id": f"o_{customer_id}",
                    "callback_phone": None,
                    "description": rng.choice(COMPLAINTS) if complaint else "家里停电了",
                    "address": None,
                    "latitude": None,
                    "longitude": None,
                    "outage_id": None,
                    "worker_id": worker_id,
                    "backup_worker_id": None,
                    "created_at": created,
                    "dispatched_at": created,
                    "escalated_at": None,
                    "arrival_deadline": None if complaint else arrival_deadline,
                    "restore_deadline": None if complaint else restore_deadline,
                    "contact_deadline": created + timedelta(hours=24) if complaint else None,
                    "answer_deadline": created + timedelta(days=6) if complaint else None,
                    "resolution": "已修复",
                    "rating": rng.randint(1, 5) if rng.random() < 0.33 else None,
                    "rating_comment": None,
                    "updated_at": resolved,
                }
            )
            for kind, at in (
                ("created", created),
                ("dispatched", created),
                ("arrived", arrived),
                ("resolved", resolved),
            ):
                events.append({"ticket_id": n + 1, "type": kind, "at": at, "actor": "bench", "note": None})
            for step, at, channel in (("dispatched", created, "wechat_cs"), ("arrived", arrived, "sms")):
                pushes.append(
                    {
                        "dedup_key": f"ticket:{number}:{step}",
                        "template": "ticket_dispatched",
                        "params": {},
                        "customer_id": customer_id,
                        "worker_id": None,
                        "urgent": False,
                        "status": "sent" if rng.random() < 0.99 else "dead",
                        "attempts": 1,
                        "next_attempt_at": at,
                        "channel": channel,
                        "created_at": at,
                        "sent_at": at,
                        "recipient_key": f"c:{customer_id}",
                    }
                )
            if not complaint and arrived > arrival_deadline:
                breaches.append(
                    {
                        "standard": "arrival",
                        "subject": number,
                        "stage": "",
                        "step": "breach",
                        "deadline": arrival_deadline,
                        "at": arrival_deadline,
                        "grid_cell_id": cell,
                        "worker_id": worker_id,
                    }
                )
        bulk(session, Ticket, rows)
        bulk(session, TicketEvent, events)
        bulk(session, OutboxMessage, pushes)
        bulk(session, SlaEvent, breaches)
        transformers = [t for (t,) in session.execute(select(Transformer.id))]
        outages, scopes = [], []
        for n in range(300):  # faults over the month, half of them on 40 weak transformers (频繁停电)
            starts = start + timedelta(seconds=rng.randrange(seconds))
            outages.append(
                {
                    "id": 10_000 + n,
                    "kind": "fault",
                    "cause": "线路故障",
                    "status": "restored",
                    "starts_at": starts,
                    "estimated_restore_at": starts + timedelta(hours=2),
                    "restored_at": starts + timedelta(hours=2),
                    "estimate_version": 0,
                    "created_at": starts,
                    "updated_at": starts,
                }
            )
            scopes.append(
                {
                    "outage_id": 10_000 + n,
                    "transformer_id": rng.choice(transformers[:100]),
                    "feeder_id": None,
                    "customer_id": None,
                }
            )
        bulk(session, Outage, outages)
        bulk(session, OutageScope, scopes)
        fix_sequences(session, ["ticket", "outage"])
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("ANALYZE"))


def _workers_by_cell(session: Any) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for worker_id, cell in session.execute(
        select(Worker.id, Worker.grid_cell_id).where(Worker.is_supervisor.is_(False))
    ):
        found.setdefault(cell, []).append(worker_id)
    return found


def timed(name: str, work: Any) -> Any:
    started = time.perf_counter()
    result = work()
    print(f"  {name}: {time.perf_counter() - started:.2f} s")
    return result


def run(url: str, label: str, customers: int, tickets: int) -> None:
    print(f"[{label}] {customers:,} customers, {tickets:,} tickets last month")
    migrate(url)
    factory = session_factory(get_engine(url))
    started = time.perf_counter()
    with factory() as session, session.begin():
        seed(session, customers)
    write_month(url, tickets, random.Random(21))
    with factory() as session:
        count = session.scalar(select(func.count(Ticket.id)))
    print(f"  data written in {time.perf_counter() - started:.0f} s ({count:,} tickets)")
    settings = Settings(database_url=url, **TOKENS)  # type: ignore[arg-type]
    first = last_month()[0]
    busiest = first + timedelta(days=14)
    timed("jieba dictionary, once per backend process", lambda: topics(["停电太频繁"]))
    with factory() as session:
        daily = timed(
            f"daily report {busiest} (JSON, target < 2 s)",
            lambda: service.build(session, settings, periods.day(busiest.isoformat())),
        )
        timed("daily workbook", lambda: build_workbook(daily))
        timed(
            "weekly report and workbook (周通报)",
            lambda: build_workbook(service.build(session, settings, periods.week(busiest.isoformat()))),
        )
        monthly = timed(
            f"monthly report {first:%Y-%m} (JSON)",
            lambda: service.build(session, settings, periods.month(f"{first:%Y-%m}")),
        )
    started = time.perf_counter()
    with factory() as session:
        book = build_workbook(service.build(session, settings, periods.month(f"{first:%Y-%m}")))
    print(
        f"  monthly workbook (月考评, target < 30 s): {time.perf_counter() - started:.2f} s, {len(book) / 1024:.0f} KiB"
    )
    overall = monthly["overall"]
    print(
        f"  month: received {overall['received']:,}, arrival on time {overall['arrival_on_time_pct']} %, "
        f"restoration on time {overall['restoration_on_time_pct']} %, complaints {overall['complaints']:,} "
        f"({overall['complaints_per_10k']} per 10,000: {'、'.join(overall['complaint_topics'])}), "
        f"repeat-outage customers {overall['repeat_outage_customers']:,}, "
        f"arrival breaches {overall['breaches']['arrival']:,}"
    )
    live = Overview(factory)
    timed("live overview (GET /live/overview, recomputed at most every 2 s)", live.get)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL (DATABASE_URL)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; reports built in-process")
    if not args.skip_sqlite:
        with sqlite_database() as url:
            run(url, "sqlite", args.customers, args.tickets)
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgresql", "postgres")):
        with postgres_database(database_url) as url:
            run(url, "postgresql", args.customers, args.tickets)
    else:
        print("[postgresql] skipped: DATABASE_URL does not point to PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
