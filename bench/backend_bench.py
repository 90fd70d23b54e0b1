"""`python -m bench.backend_bench [--customers N] [--outages M]`: backend latency on a county-sized database.

On a fresh SQLite file, and also on PostgreSQL when DATABASE_URL points to one (in a private schema
that is dropped afterwards): migrate, seed N customers (default 100,000) with 12 months of bills,
add M active or upcoming outages (default 1,000), start the backend as `make run` does, with
`--workers` processes (BACKEND_WORKERS; default 2, one per core of the reference machine), and
measure through its HTTP API on loopback (keep-alive client, bearer auth, JSON):

- outage-pool lookup for one customer, `GET /outages?account_no=` (target p99 < 5 ms);
- repair report on the ticket path, `POST /repair-reports` (target p99 < 30 ms, ≥ 200/s with
  8 concurrent clients);
- bill lookup `GET /bills?account_no=` and application lookup `GET /applications/{no}`
  (target p99 < 10 ms).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
from sqlalchemy import create_engine, select, text

from backend.applications.models import Application
from backend.core import clock
from backend.core.config import ROOT
from backend.core.db import get_engine, normalize_url, session_factory
from backend.customers.models import Customer
from backend.outages.models import Outage, OutageScope
from backend.outages.service import affected_customer_ids
from backend.seed import bulk, seed
from backend.topology.models import Feeder, Transformer
from bench.measure import latency_line, percentile

TOKEN = "bench-token-" + uuid.uuid4().hex


def migrate(url: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(ROOT / "backend" / "alembic.ini"),
            "-x",
            f"url={url}",
            "upgrade",
            "head",
        ],
        cwd=ROOT,
        check=True,
    )


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pd-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        yield url
        get_engine(url).dispose()


@contextmanager
def postgres_database(base: str) -> Iterator[str]:
    schema = f"pd_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(base))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def add_outages(url: str, count: int, rng: random.Random) -> None:
    """`count` outages, half in progress and half announced, on accounts, transformers and feeders."""
    factory = session_factory(get_engine(url))
    now = clock.now()
    with factory() as session, session.begin():
        customer_ids = list(session.scalars(select(Customer.id)))
        transformer_ids = list(session.scalars(select(Transformer.id)))
        feeder_ids = list(session.scalars(select(Feeder.id)))
        first = (session.scalar(select(Outage.id).order_by(Outage.id.desc()).limit(1)) or 0) + 1
        outages, scopes = [], []
        for n in range(count):
            active = n % 2 == 0
            starts = now - timedelta(hours=1) if active else now + timedelta(days=rng.randint(1, 14))
            outages.append(
                {
                    "id": first + n,
                    "kind": "fault" if active else "planned",
                    "cause": "基准测试停电",
                    "status": "active" if active else "announced",
                    "starts_at": starts,
                    "estimated_restore_at": starts + timedelta(hours=4),
                    "restored_at": None,
                    "estimate_version": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            roll = n % 100
            scope: dict[str, int | None] = {"feeder_id": None, "transformer_id": None, "customer_id": None}
            if roll < 2 and not active:
                scope["feeder_id"] = rng.choice(feeder_ids)
            elif roll < 40:
                scope["transformer_id"] = rng.choice(transformer_ids)
            else:
                scope["customer_id"] = rng.choice(customer_ids)
            scopes.append({"outage_id": first + n, **scope})
        bulk(session, Outage, outages)
        bulk(session, OutageScope, scopes)
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT setval(pg_get_serial_sequence('outage', 'id'), (SELECT MAX(id) FROM outage))"))
            session.execute(text("ANALYZE"))


def uncovered_accounts(url: str, rng: random.Random, count: int) -> list[str]:
    """Accounts no outage covers now, so their reports take the ticket path."""
    factory = session_factory(get_engine(url))
    with factory() as session:
        covered: set[int] = set()
        for outage_id in session.scalars(select(Outage.id).where(Outage.status == "active")):
            covered.update(affected_customer_ids(session, outage_id))
        rows = session.execute(select(Customer.id, Customer.account_no)).all()
    free = [account for cid, account in rows if cid not in covered]
    return rng.sample(free, count)


def timed(calls: list[Callable[[], None]]) -> list[float]:
    seconds = []
    for call in calls:
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def check(response: object) -> None:
    status = getattr(response, "status_code", 0)
    if status != 200:
        raise RuntimeError(f"unexpected answer {status}: {getattr(response, 'text', '')[:300]}")


@contextmanager
def backend_server(url: str, workers: int) -> Iterator[tuple[str, int]]:
    """The backend as `make run` starts it, with BACKEND_WORKERS = `workers`, on a free loopback
    port; (url, pid of uvicorn)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {
        "DATABASE_URL": url,
        "POWERDESK_ADMIN_TOKEN": TOKEN + "-admin",
        "POWERDESK_ACTIONS_TOKEN": TOKEN,
        "POWERDESK_WORKER_TOKEN": TOKEN + "-worker",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "backend.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]
    server = subprocess.Popen(cmd, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the backend did not start")
            time.sleep(0.2)
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=20)


def run(url: str, label: str, customers: int, outages: int, samples: int, workers: int) -> None:
    rng = random.Random(7)
    migrate(url)
    started = time.perf_counter()
    factory = session_factory(get_engine(url))
    with factory() as session, session.begin():
        seed(session, customers)
    seeded = time.perf_counter() - started
    add_outages(url, outages, rng)
    print(f"[{label}] seeded {customers:,} customers, 12 months of bills, in {seeded:.0f} s; {outages:,} outages")
    with factory() as session:
        accounts = list(session.scalars(select(Customer.account_no)))
        applications = list(session.scalars(select(Application.application_no)))
    free = uncovered_accounts(url, rng, samples * 3)
    get_engine(url).dispose()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with (
        backend_server(url, workers) as (base, pid),
        httpx.Client(base_url=base, headers=headers, timeout=30) as client,
    ):
        server = psutil.Process(pid)
        processes = [server, *server.children(recursive=True)]

        def server_cpu() -> float:
            """CPU seconds of uvicorn and its worker processes."""
            return sum(float(sum(p.cpu_times()[:2])) for p in processes)  # user + system

        def measure(name: str, calls: list[Callable[[], None]]) -> list[float]:
            """Latencies, printed with the server's CPU time per request (robust to a busy machine)."""
            before = server_cpu()
            seconds = timed(calls)
            cpu_ms = 1000 * (server_cpu() - before) / len(calls)
            print(f"[{label}] {latency_line(name, seconds)}; server CPU {cpu_ms:.1f} ms/request")
            return seconds

        def get(path: str, **params: str) -> Callable[[], None]:
            return lambda: check(client.get(path, params=params))

        def report(http: httpx.Client, account: str) -> Callable[[], None]:
            body = {
                "account_no": account,
                "channel": "wechat",
                "sender_id": "bench",
                "description": "家里停电了",
            }
            key = {"Idempotency-Key": uuid.uuid4().hex}
            return lambda: check(http.post("/api/v1/repair-reports", json=body, headers=key))

        timed([get("/api/v1/outages", account_no=a) for a in rng.sample(accounts, 100)])  # warm-up
        lookups = measure(
            "outage lookup", [get("/api/v1/outages", account_no=a) for a in rng.sample(accounts, samples)]
        )
        bills = measure("bill lookup", [get("/api/v1/bills", account_no=a) for a in rng.sample(accounts, samples)])
        apps = measure(
            "application lookup",
            [get(f"/api/v1/applications/{rng.choice(applications)}") for _ in range(samples)],
        )
        reports = measure("repair report (ticket path)", [report(client, a) for a in free[:samples]])

        burst = free[samples:]
        clients = [httpx.Client(base_url=base, headers=headers, timeout=30) for _ in range(8)]
        calls = [report(clients[n % len(clients)], a) for n, a in enumerate(burst)]
        before = server_cpu()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            list(pool.map(lambda call: call(), calls))
        elapsed = time.perf_counter() - started
        for http in clients:
            http.close()
        rate = len(burst) / elapsed
        cpu_ms = 1000 * (server_cpu() - before) / len(burst)
        print(
            f"[{label}] repair reports, 8 concurrent clients: {len(burst)} in {elapsed:.1f} s = "
            f"{rate:.0f}/s; server CPU {cpu_ms:.1f} ms/report"
        )
        verdicts = [
            ("outage lookup p99 < 5 ms", percentile(lookups, 99) < 0.005),
            ("repair report p99 < 30 ms", percentile(reports, 99) < 0.030),
            ("repair reports >= 200/s", rate >= 200),
            ("bill and application p99 < 10 ms", max(percentile(bills, 99), percentile(apps, 99)) < 0.010),
        ]
        print(f"[{label}] targets: " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in verdicts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--outages", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=1_000, help="requests per measured operation")
    parser.add_argument("--skip-sqlite", action="store_true", help="only PostgreSQL (DATABASE_URL)")
    parser.add_argument("--workers", type=int, default=2, help="backend processes (BACKEND_WORKERS), one per core")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"backend: uvicorn with {args.workers} worker process(es), HTTP on loopback"
    )
    if not args.skip_sqlite:
        with sqlite_database() as url:
            run(url, "sqlite", args.customers, args.outages, args.samples, args.workers)
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgresql", "postgres")):
        with postgres_database(database_url) as url:
            run(url, "postgresql", args.customers, args.outages, args.samples, args.workers)
    else:
        print("[postgresql] skipped: DATABASE_URL does not point to PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
