"""`python -m bench.device_bench [--customers N] [--meters M] [--seconds S]`: the device storm (issue 18).

On a fresh SQLite file, and also on PostgreSQL when DATABASE_URL points to one (in a private schema
dropped afterwards): migrate, seed N customers (default 7,000, so that a feeder has 2,000 and more),
start the backend as `make run` does with `--workers` processes and a notifier (which applies the
stored events), then play the metering and distribution-automation systems through
`POST /device-events`:

1. M meters (default 2,000) of one feeder's customers lose power within S seconds (default 10),
   sent by 8 concurrent senders at an even pace, while a prober asks the outage pool for random
   customers (`GET /outages?account_no=`, 50 a second; also for 5 s before the storm, as the
   baseline): the backend's lookup during the storm;
2. then the feeder's own `power_lost`;
3. once every event is applied: what the storm produced, from the database: outages, notices per
   customer of the feeder, per-customer tickets, fault tickets, pushes by template, WeCom messages;
4. then the feeder's `power_restored`: restored pushes per customer.

Targets (issue 18): one outage, one notice per customer of the feeder (exactly once), 0
per-customer tickets, lookup p99 < 10 ms during the storm.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psutil
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import ROOT
from backend.core.db import get_engine, session_factory
from backend.customers.models import Customer
from backend.devices.models import DeviceEvent
from backend.notifications.models import OutboxMessage
from backend.outages.models import Outage, OutageScope
from backend.seed import seed
from backend.tickets.models import Ticket
from backend.topology.models import Feeder, Transformer
from bench.backend_bench import TOKEN, backend_server, migrate, postgres_database, sqlite_database
from bench.measure import latency_line, percentile

SENDERS = 8
PROBES_PER_SECOND = 50


def quiet_feeder(factory: sessionmaker[Session]) -> tuple[int, str, list[str]]:
    """The feeder with the most customers among those no seeded outage touches: id, code, accounts."""
    with factory() as session:
        touched = set(
            session.scalars(
                select(Transformer.feeder_id).join(OutageScope, OutageScope.transformer_id == Transformer.id)
            )
        )
        sizes = session.execute(
            select(Transformer.feeder_id, func.count(Customer.id))
            .join(Customer, Customer.transformer_id == Transformer.id)
            .group_by(Transformer.feeder_id)
        ).all()
        feeder_id = max((size, fid) for fid, size in sizes if fid not in touched)[1]
        code = session.execute(select(Feeder.code).where(Feeder.id == feeder_id)).scalar_one()
        accounts = list(
            session.scalars(
                select(Customer.account_no)
                .join(Transformer, Transformer.id == Customer.transformer_id)
                .where(Transformer.feeder_id == feeder_id)
                .order_by(Customer.account_no)
            )
        )
    return feeder_id, code, accounts


@contextmanager
def notifier_process(url: str) -> Iterator[psutil.Process]:
    """The notifier, which applies the stored device events (and would deliver the pushes: no platform
    is configured here, so it records them undeliverable)."""
    env = os.environ | {
        "DATABASE_URL": url,
        "POWERDESK_ADMIN_TOKEN": TOKEN + "-admin",
        "POWERDESK_ACTIONS_TOKEN": TOKEN,
        "POWERDESK_WORKER_TOKEN": TOKEN + "-worker",
        "NOTIFIER_ESCALATION_SECONDS": "0",
        "NOTIFIER_REMINDER_SECONDS": "0",
    }
    for name in ("SMS_API_BASE_URL", "WECHAT_APP_ID", "WECOM_CORP_ID"):
        env.pop(name, None)
    process = subprocess.Popen([sys.executable, "-m", "backend.notifications.worker"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def post_event(http: httpx.Client, kind: str, scope: str, code: str) -> None:
    body = {"event_id": uuid.uuid4().hex, "kind": kind, "scope": scope, "code": code,
            "occurred_at": datetime.now(UTC).isoformat()}  # fmt: skip
    response = http.post("/api/v1/device-events", json=body)
    if response.status_code != 202:
        raise RuntimeError(f"device event refused: {response.status_code} {response.text[:300]}")


def wait_applied(factory: sessionmaker[Session], timeout: float) -> float:
    """Seconds until no stored event is left to apply."""
    started = time.perf_counter()
    while True:
        with factory() as session:
            left = session.scalar(
                select(func.count(DeviceEvent.id)).where(DeviceEvent.status.in_(("pending", "processing")))
            )
        if not left:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{left} device events still not applied after {timeout:.0f} s")
        time.sleep(0.1)


class Prober(threading.Thread):
    """Asks the outage pool for random customers, `PROBES_PER_SECOND` lookups a second from one
    connection (customers asking when power comes back), until stopped; keeps the latencies."""

    def __init__(self, base: str, accounts: list[str]) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        self.accounts = accounts
        self.seconds: list[float] = []
        self.stop = threading.Event()
        self.rng = random.Random(11)

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            response = self.http.get("/api/v1/outages", params={"account_no": self.rng.choice(self.accounts)})
            self.seconds.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise RuntimeError(f"lookup failed: {response.status_code}")
            self.stop.wait(max(0.0, 1 / PROBES_PER_SECOND - (time.perf_counter() - started)))
        self.http.close()


def quiet_lookups(base: str, accounts: list[str], seconds: float) -> list[float]:
    """The prober's latencies with nothing else going on: the baseline of the storm's."""
    prober = Prober(base, accounts)
    prober.start()
    time.sleep(seconds)
    prober.stop.set()
    prober.join()
    return prober.seconds


@dataclass
class Produced:
    pushes: Counter[str]
    wecom: int
    tickets: Counter[str]
    outages: list[tuple[str, str]]


def produced(factory: sessionmaker[Session], since_push: int, since: datetime) -> Produced:
    """What the storm wrote: pushes by template, those to workers (WeCom), tickets by kind, outages."""
    with factory() as session:
        pushes = Counter(
            dict(
                session.execute(
                    select(OutboxMessage.template, func.count(OutboxMessage.id))
                    .where(OutboxMessage.id > since_push)
                    .group_by(OutboxMessage.template)
                ).all()
            )
        )
        to_workers = session.scalar(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.id > since_push,
                (OutboxMessage.worker_id.is_not(None)) | (OutboxMessage.wecom_user_id.is_not(None)),
            )
        )
        tickets = Counter(
            dict(
                session.execute(
                    select(Ticket.kind, func.count(Ticket.id)).where(Ticket.created_at >= since).group_by(Ticket.kind)
                ).all()
            )
        )
        outages = session.execute(select(Outage.source, Outage.status).where(Outage.created_at >= since)).all()
    return Produced(pushes, int(to_workers or 0), tickets, [(source, status) for source, status in outages])


def per_customer(factory: sessionmaker[Session], template: str, since_push: int, accounts: list[str]) -> Counter[int]:
    """How many customers of `accounts` got 0, 1, 2 … pushes of the template."""
    with factory() as session:
        counts = dict(
            session.execute(
                select(Customer.account_no, func.count(OutboxMessage.id))
                .join(OutboxMessage, OutboxMessage.customer_id == Customer.id)
                .where(OutboxMessage.id > since_push, OutboxMessage.template == template)
                .group_by(Customer.account_no)
            ).all()
        )
    return Counter(counts.get(account, 0) for account in accounts)


def last_push(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0)


def run(url: str, label: str, customers: int, meters: int, seconds: float, workers: int) -> None:
    migrate(url)
    factory = session_factory(get_engine(url))
    started = time.perf_counter()
    with factory() as session, session.begin():
        seed(session, customers)
    _, feeder, accounts = quiet_feeder(factory)
    dark = accounts[:meters]
    print(f"[{label}] seeded {customers:,} customers in {time.perf_counter() - started:.0f} s; feeder {feeder}: "
          f"{len(accounts):,} customers, {len(dark):,} meters go dark")  # fmt: skip
    get_engine(url).dispose()
    admin = {"Authorization": f"Bearer {TOKEN}-admin"}
    with backend_server(url, workers) as (base, pid), notifier_process(url) as notifier:
        server = psutil.Process(pid)
        processes = [server, *server.children(recursive=True)]

        def server_cpu() -> float:
            """CPU seconds of uvicorn and its worker processes (user + system)."""
            return sum(float(sum(p.cpu_times()[:2])) for p in processes)

        quiet = quiet_lookups(base, accounts, 5.0)
        since_push, since = last_push(factory), datetime.now(UTC)
        prober = Prober(base, accounts)
        clients = [httpx.Client(base_url=base, headers=admin, timeout=30) for _ in range(SENDERS)]
        pace = seconds / max(1, len(dark))
        posted: list[float] = []

        def send(n: int) -> Callable[[], None]:
            def call() -> None:
                delay = storm_start + n * pace - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                begun = time.perf_counter()
                post_event(clients[n % SENDERS], "power_lost", "meter", dark[n])
                posted.append(time.perf_counter() - begun)

            return call

        prober.start()
        cpu_before, notifier_before = server_cpu(), sum(notifier.cpu_times()[:2])
        storm_start = time.perf_counter()
        with ThreadPoolExecutor(SENDERS) as pool:
            list(pool.map(lambda call: call(), [send(n) for n in range(len(dark))]))
        sent_in = time.perf_counter() - storm_start
        post_event(clients[0], "power_lost", "feeder", feeder)
        applied_after = wait_applied(factory, timeout=300)
        prober.stop.set()
        prober.join()
        cpu, notifier_cpu = server_cpu() - cpu_before, sum(notifier.cpu_times()[:2]) - notifier_before
        storm = produced(factory, since_push, since)
        notices = per_customer(factory, "outage_detected", since_push, accounts)
        rate = len(dark) / sent_in
        print(f"[{label}] {len(dark):,} meter events sent in {sent_in:.1f} s ({rate:.0f}/s), then the "
              f"feeder's; all applied {applied_after:.1f} s after the last")  # fmt: skip
        print(f"[{label}]   " + latency_line("device event answer (202)", posted))
        per_event = 1000 * notifier_cpu / (len(dark) + 1)
        print(f"[{label}]   backend CPU {cpu:.1f} s for the storm, the prober's lookups included; notifier "
              f"CPU {notifier_cpu:.1f} s ({per_event:.1f} ms an event applied)")  # fmt: skip
        print(f"[{label}]   " + latency_line("outage lookup before the storm", quiet))
        print(f"[{label}]   " + latency_line("outage lookup during the storm", prober.seconds))
        outages, tickets, pushes = storm.outages, storm.tickets, storm.pushes
        print(f"[{label}]   outages {len(outages)} {sorted(set(outages))}; tickets {dict(tickets) or 0} "
              f"(per-customer {tickets['repair'] + tickets['hazard']}, fault {tickets['fault']})")  # fmt: skip
        print(f"[{label}]   notices per customer of the feeder: {dict(sorted(notices.items()))} (count: customers)")
        print(f"[{label}]   pushes {sum(pushes.values()):,} {dict(pushes.most_common())}; "
              f"WeCom messages {storm.wecom}")  # fmt: skip

        since_restore = last_push(factory)
        post_event(clients[0], "power_restored", "feeder", feeder)
        restored_after = wait_applied(factory, timeout=300)
        restored = per_customer(factory, "outage_restored", since_restore, accounts)
        asked = per_customer(factory, "outage_restored_check", since_restore, accounts)
        print(f"[{label}]   feeder restored: applied in {restored_after:.1f} s; restored pushes per customer "
              f"{dict(sorted(restored.items()))}, restore questions {dict(sorted(asked.items()))}")  # fmt: skip
        for http in clients:
            http.close()
        verdicts = [
            ("one outage", len(outages) == 1),
            ("one notice per customer", set(notices) == {1}),
            ("0 per-customer tickets", tickets["repair"] + tickets["hazard"] == 0),
            ("lookup p99 < 10 ms", percentile(prober.seconds, 99) < 0.010),
            ("one restored push per customer", set(restored) == {1}),
        ]
        print(f"[{label}] targets: " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in verdicts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=7_000)
    parser.add_argument("--meters", type=int, default=2_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="backend processes (BACKEND_WORKERS)")
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL (DATABASE_URL)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"backend: uvicorn with {args.workers} worker process(es), HTTP on loopback")  # fmt: skip
    if not args.skip_sqlite:
        with sqlite_database() as url:
            run(url, "sqlite", args.customers, args.meters, args.seconds, args.workers)
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgresql", "postgres")):
        with postgres_database(database_url) as url:
            run(url, "postgresql", args.customers, args.meters, args.seconds, args.workers)
    else:
        print("[postgresql] skipped: DATABASE_URL does not point to PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
