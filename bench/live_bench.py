"""`python -m bench.live_bench [--customers N] [--tickets M] [--storm S] [--consoles K] [--seconds T]`:
what the dispatchers' live view (调度监控) adds to a backend process's CPU during a storm.

On a fresh SQLite file, and also on PostgreSQL when DATABASE_URL points to one (a private schema,
dropped afterwards): migrate, seed N customers (default 100,000: 33 feeders, 833 transformers),
last month's M tickets (default 20,000, as `report_bench` writes them) for the usual rate, then a
storm: S repair reports (default 5,000) in the last 15 minutes, a fifth of them in the last minute,
still open and dispatched (a third past their arrival deadline), a feeder fault and 40 suspected
transformer faults. Then, in this process, as a backend process does:

1. one overview (`backend/live/service.py`), the cost of each refresh (CPU and wall time);
2. K dispatchers' consoles (default 10) watching the `live` topic for T seconds (default 20), each
   stream polling every second as `backend/console/live.py` does (session check, presence, the
   overview read again every two seconds and shared by the streams): the process's CPU time over
   the window, as a share of one core: what the live view adds, whatever else the process does.

Target (issue 21): < 5 % of one core. On PostgreSQL the database server's own CPU is not counted
(this process's share only).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from backend.console.live import Stream
from backend.console.topics import TOPICS
from backend.core import clock
from backend.core.config import Settings
from backend.core.db import get_engine, session_factory, transaction
from backend.customers.models import Customer
from backend.live.service import Overview
from backend.outages.models import Outage, OutageScope
from backend.seed import bulk, fix_sequences, seed
from backend.staff import service as staff
from backend.staff.roles import StaffRole
from backend.staff.schemas import StaffCreate
from backend.tickets.models import Ticket
from backend.topology.models import Feeder, Transformer, Worker
from bench.backend_bench import migrate, postgres_database, sqlite_database
from bench.report_bench import TOKENS, write_month

STORM_WINDOW = timedelta(minutes=15)


def write_storm(factory: Any, reports: int, rng: random.Random) -> None:
    now = clock.now()
    with factory() as session, session.begin():
        customers = session.execute(select(Customer.id, Customer.transformer_id)).all()
        workers = [w for (w,) in session.execute(select(Worker.id).where(Worker.is_supervisor.is_(False)))]
        first_id = int(session.scalar(select(func.max(Ticket.id))) or 0) + 1
        rows = []
        for n in range(reports):
            customer_id, _ = rng.choice(customers)
            recent = n < reports // 5  # a fifth in the last minute
            created = now - timedelta(seconds=rng.uniform(0, 60 if recent else STORM_WINDOW.total_seconds()))
            deadline = created + timedelta(minutes=45 if rng.random() < 0.67 else 5)
            rows.append(
                {
                    "id": first_id + n, "ticket_no": f"QS{n:012d}", "kind": "repair", "priority": "normal",
                    "status": "dispatched", "customer_id": customer_id, "channel": "wechat",
                    "sender_id": f"o_{customer_id}", "description": "家里停电了", "worker_id": rng.choice(workers),
                    "created_at": created, "dispatched_at": created, "arrival_deadline": deadline,
                    "updated_at": created,
                }
            )  # fmt: skip
        bulk(session, Ticket, rows)
        feeder = session.scalar(select(Feeder.id).order_by(Feeder.id))
        transformers = [t for (t,) in session.execute(select(Transformer.id).order_by(Transformer.id))]
        weak = transformers[len(transformers) // 8 :]
        outages, scopes = [], []
        for n in range(41):  # the feeder fault, then 40 suspected transformer faults
            outages.append(
                {
                    "id": 20_000 + n, "kind": "fault", "cause": "线路故障", "source": "reports" if n else "device",
                    "status": "suspected" if n else "active", "starts_at": now - STORM_WINDOW,
                    "estimated_restore_at": now + timedelta(hours=2), "estimate_version": 0,
                    "created_at": now, "updated_at": now,
                }
            )  # fmt: skip
            scopes.append(
                {
                    "outage_id": 20_000 + n, "feeder_id": None if n else feeder,
                    "transformer_id": rng.choice(weak) if n else None, "customer_id": None,
                }
            )  # fmt: skip
        bulk(session, Outage, outages)
        bulk(session, OutageScope, scopes)
        fix_sequences(session, ["ticket", "outage"])


def consoles(factory: Any, settings: Settings, count: int) -> list[Stream]:
    streams = []
    for n in range(count):
        username, password = f"dispatcher{n:02d}", "bench-password-0123"
        with transaction(factory) as session:
            staff.create_staff(
                session,
                StaffCreate(username=username, name=f"调度员{n}", role=StaffRole.dispatcher, password=password),
            )
        with transaction(factory) as session:
            signed, token = staff.sign_in(session, settings, username, password)
        streams.append(Stream(factory, settings, token, signed, {"live": (TOPICS["live"], "")}))
    return streams


def run(url: str, label: str, args: argparse.Namespace) -> None:
    print(f"[{label}] {args.customers:,} customers, {args.tickets:,} tickets last month, storm of {args.storm:,}")
    migrate(url)
    factory = session_factory(get_engine(url))
    with factory() as session, session.begin():
        seed(session, args.customers)
    write_month(url, args.tickets, random.Random(21))
    write_storm(factory, args.storm, random.Random(22))
    settings = Settings(database_url=url, **TOKENS)  # type: ignore[arg-type]

    overview = Overview()
    with factory() as session:
        cpu, wall = time.process_time(), time.perf_counter()
        first = overview.build(session, clock.now())
        print(
            f"[{label}]   first overview, with the usual rate (every 10 min): "
            f"{time.process_time() - cpu:.3f} s CPU, {time.perf_counter() - wall:.3f} s"
        )
        cpus, walls = [], []
        for _ in range(10):
            cpu, wall = time.process_time(), time.perf_counter()
            overview.build(session, clock.now())
            cpus.append(time.process_time() - cpu)
            walls.append(time.perf_counter() - wall)
    transformers = sum(len(f["transformers"]) for f in first["grid"])
    print(
        f"[{label}]   overview refresh: {sum(cpus) / len(cpus) * 1000:.0f} ms CPU (max {max(cpus) * 1000:.0f}), "
        f"{sum(walls) / len(walls) * 1000:.0f} ms wall; shows {first['tickets']['open']:,} open tickets, "
        f"{len(first['outages'])} outages, {len(first['grid'])} feeders / {transformers} transformers, "
        f"storm {first['storm']['storm']} ({first['storm']['reports_last_minute']:,} reports in the last minute)"
    )

    streams = consoles(factory, settings, args.consoles)
    cpu, started = time.process_time(), time.monotonic()
    polls = 0
    while time.monotonic() - started < args.seconds:
        tick = time.monotonic()
        for stream in streams:
            stream._poll()
            polls += 1
        time.sleep(max(0.0, settings.console_stream_poll_seconds - (time.monotonic() - tick)))
    elapsed = time.monotonic() - started
    share = 100 * (time.process_time() - cpu) / elapsed
    verdict = "met" if share < 5 else "MISSED"
    print(
        f"[{label}]   {args.consoles} consoles on the live view for {elapsed:.0f} s ({polls} polls): "
        f"{share:.1f} % of one core (target < 5 %: {verdict})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--storm", type=int, default=5_000)
    parser.add_argument("--consoles", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL (DATABASE_URL)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; overview built in-process")
    if not args.skip_sqlite:
        with sqlite_database() as url:
            run(url, "sqlite", args)
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgresql"):
        with postgres_database(base) as url:
            run(url, "postgresql", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
