"""`python -m bench.push_bench [--customers N] [--burst M]`: the push pipeline under load.

On a fresh SQLite file, with the simulator (its SMS gateway) and a private redis-server in their
own processes, and one notifier process (`python -m backend.notifications.worker`; `--notifiers 2`
runs two, as a deployment may):

1. a planned outage published on a feeder with N customers (default 10,000) → time until the
   simulator has accepted every notice (target < 60 s), and the notifier's peak memory (target
   < 300 MB);
2. a burst of M ticket events (default 2,000: 200 customers × 10 updates) → time until all are
   delivered, and whether each customer's updates arrived in the order they were written.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import ROOT
from backend.core.db import get_engine, session_factory
from backend.customers.models import Customer
from backend.notifications.models import OutboxMessage
from backend.notifications.outbox import enqueue
from backend.outages import service as outages
from backend.outages.schemas import OutageCreate
from backend.topology import service as topology
from backend.topology.schemas import FeederCreate, GridCellCreate, TransformerCreate
from bench.measure import ProcessSampler
from scripts.stack import Stack, base_env, free_port, wait_http

TOKENS = {
    "POWERDESK_ADMIN_TOKEN": "bench-admin-token-0123456789",
    "POWERDESK_ACTIONS_TOKEN": "bench-actions-token-0123456789",
    "POWERDESK_WORKER_TOKEN": "bench-worker-token-0123456789",
}
TRANSFORMERS = 50


def migrate(url: str) -> None:
    config = Config(str(ROOT / "backend" / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.set_main_option("script_location", str(ROOT / "backend" / "alembic"))
    config.cmd_opts = type("Opts", (), {"x": [f"url={url}"]})()  # type: ignore[assignment]
    command.upgrade(config, "head")


def seed(factory: sessionmaker[Session], customers: int) -> None:
    """One feeder, 50 transformers, `customers` residents reachable by SMS only."""
    with factory() as session, session.begin():
        topology.create_feeder(session, FeederCreate(code="F-BENCH", name="压测线"))
        topology.create_grid_cell(session, GridCellCreate(code="C-BENCH", name="压测网格"))
        ids = []
        for n in range(TRANSFORMERS):
            code = f"T{n:03d}"
            data = TransformerCreate(code=code, name=f"{n}号台区", feeder_code="F-BENCH", grid_cell_code="C-BENCH")
            topology.create_transformer(session, data)
            ids.append(topology.get_transformer(session, code).id)
        now = clock.now()
        rows = [
            {"account_no": f"9{n:09d}", "name": f"客户{n}", "phone": f"137{n:08d}", "address": f"压测路{n}号",
             "customer_type": "resident", "area_type": "urban", "transformer_id": ids[n % TRANSFORMERS],
             "created_at": now}
            for n in range(customers)
        ]  # fmt: skip
        session.execute(insert(Customer), rows)


def count(factory: sessionmaker[Session], status: str) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).where(OutboxMessage.status == status)) or 0


def wait_accepted(sim_url: str, target: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if httpx.get(f"{sim_url}/sim/sms/stats").json()["accepted"] >= target:
            return time.monotonic() - started
        time.sleep(0.2)
    raise SystemExit(f"not all {target} pushes accepted within {timeout:.0f} s")


def outage_notices(factory: sessionmaker[Session], sim_url: str, customers: int) -> tuple[float, int]:
    starts = clock.now() + timedelta(days=7)
    started = time.monotonic()
    with factory() as session, session.begin():
        outages.create_outage(
            session,
            OutageCreate(kind="planned", cause="10kV线路检修", starts_at=starts,
                         estimated_restore_at=starts + timedelta(hours=8), feeder_codes=["F-BENCH"]),
        )  # fmt: skip
    enqueue_seconds = time.monotonic() - started
    seconds = wait_accepted(sim_url, customers, 120)
    print(f"outage: {customers} customers enqueued in {enqueue_seconds:.1f} s (one transaction)")
    deadline = time.monotonic() + 30  # the notifier records a push as sent just after the gateway took it
    while count(factory, "sent") < customers and time.monotonic() < deadline:
        time.sleep(0.1)
    return seconds, count(factory, "sent")


def ticket_burst(factory: sessionmaker[Session], sim_url: str, total: int, already: int) -> tuple[float, bool]:
    per_customer = 10
    with factory() as session:
        ids = list(session.scalars(select(Customer.id).order_by(Customer.id).limit(total // per_customer)))
    steps = ["dispatched", "accepted", "arrived", "resolved", "rating_request"]
    started = time.monotonic()
    # Events arrive interleaved across customers, as the backend writes them.
    for round_no in range(per_customer):
        with factory() as session, session.begin():
            for customer_id in ids:
                ticket = f"QX20261122{customer_id % 10000:04d}"
                enqueue(
                    session, dedup_key=f"ticket:{ticket}:{steps[round_no % 5]}:{round_no}", template="ticket_accepted",
                    params={"ticket_no": ticket, "worker_name": "王师傅", "worker_phone": "13900000000",
                            "deadline": (clock.now() + timedelta(minutes=45 + round_no)).isoformat()},
                    customer_id=customer_id,
                )  # fmt: skip
    wait_accepted(sim_url, already + len(ids) * per_customer, 120)
    seconds = time.monotonic() - started
    sent = httpx.get(f"{sim_url}/sim/sms/messages").json()[already:]
    by_phone: dict[str, list[int]] = defaultdict(list)
    for message in sent:
        by_phone[message["phone"]].append(int(message["out_id"].removeprefix("pd")))
    in_order = all(ids_ == sorted(ids_) for ids_ in by_phone.values()) and len(sent) == len(ids) * per_customer
    return seconds, in_order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=2_000)
    parser.add_argument("--notifiers", type=int, default=1, help="notifier processes (several may run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'bench.db'}"
        migrate(url)
        factory = session_factory(get_engine(url))
        seed(factory, args.customers)
        stack = Stack(base_env({}), work)
        try:
            redis_url = stack.start_redis(free_port(), work / "redis")
            sim_port = free_port()
            env: dict[str, Any] = {
                **os.environ, **TOKENS, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "REDIS_URL": redis_url,
                "SMS_PROVIDER": "aliyun", "SMS_API_BASE_URL": f"http://127.0.0.1:{sim_port}",
                "SMS_ACCESS_KEY_ID": "bench-key", "SMS_ACCESS_KEY_SECRET": "bench-secret",
                "QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00",
            }  # fmt: skip
            uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "simulator.app:create_app"]
            sim = subprocess.Popen([*uvicorn, "--port", str(sim_port), "--log-level", "warning"], cwd=ROOT, env=env)
            notifiers = [
                subprocess.Popen(
                    [sys.executable, "-m", "backend.notifications.worker"], cwd=ROOT, env=env,
                    stdout=open(work / f"notifier-{n}.log", "wb"), stderr=subprocess.STDOUT,
                )
                for n in range(args.notifiers)
            ]  # fmt: skip
            try:
                sim_url = f"http://127.0.0.1:{sim_port}"
                wait_http(sim_url + "/health", 30)
                pids = {f"notifier{n}": p.pid for n, p in enumerate(notifiers)} | {"simulator": sim.pid}
                with ProcessSampler(pids) as sampler:
                    seconds, sent = outage_notices(factory, sim_url, args.customers)
                print("\n".join(sampler.lines()))
                peak_mb = max(sampler.peak_rss.get(f"notifier{n}", 0) for n in range(args.notifiers)) / 2**20
                print(
                    f"planned outage notices: {sent} delivered in {seconds:.1f} s "
                    f"({sent / seconds:.0f}/s) by {args.notifiers} notifier(s), peak RSS {peak_mb:.0f} MB each "
                    f"(targets < 60 s, < 300 MB)"
                )
                accepted = httpx.get(f"{sim_url}/sim/sms/stats").json()["accepted"]
                burst_seconds, in_order = ticket_burst(factory, sim_url, args.burst, accepted)
                print(
                    f"ticket burst: {args.burst} events delivered in {burst_seconds:.1f} s "
                    f"({args.burst / burst_seconds:.0f}/s), in order per customer: {in_order}"
                )
            except SystemExit:
                print((work / "notifier-0.log").read_text(errors="replace")[-3000:])
                raise
            finally:
                for process in (*notifiers, sim):
                    process.terminate()
                    process.wait(15)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
