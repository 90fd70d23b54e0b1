"""`python -m backend.seed [--customers N] [--if-empty] [--seed S]`: a demo county (also for benchmarks).

Builds 青山县: feeders (10kV 线路), transformers (台区) and grid cells (供电网格) where they stand (WGS-84
coordinates around 29.1°N 114.45°E, for placing a hazard reported from a WeChat location), workers,
N customers with Chinese names and addresses, 12 months of bills, connection applications in every
stage (some at risk or late), a planned outage next week and a fault outage in progress. Bulk
inserts: 100,000 customers take well under two minutes. `--if-empty` does nothing when the
database already has customers (so `make run` can call it every time).

Demo identities (fixed, for the simulator's pickers):

| account_no | name, type | WeChat openid | phone | what to try |
| --- | --- | --- | --- | --- |
| 3100000001 | 张伟, resident | o_demo_resident_01 | 13800138001 | repair report → ticket, bills |
| 3100000002 | 李秀英, resident | o_demo_resident_02 | 13800138002 | inside the active fault outage |
| 3100000003 | 王建国, resident (medical) | o_demo_resident_03 | 13800138003 | planned outage next week |
| 3100000004 | 青山县鑫源超市, business | o_demo_business_01 | 13800138004 | applications, manager |
| 3100000005 | 青山县宏达机械厂, industrial | (none: bind it) | 13800138005 | bind with the SMS code sent to it |

Grid workers (WeCom user ids): wg_demo_worker_01 (赵磊, cell of 3100000001/2), wg_demo_worker_02
(孙浩, same cell), wg_demo_supervisor_01 (周静, supervisor of that cell); others are `wg<code>`.

Console staff (`backend/staff/demo.py`): agents agent01 (林晓) and agent02 (黄蕾),
dispatcher01 (郑毅), duty supervisor supervisor01 (吴倩, WeCom kf_demo_supervisor_01), and the
customer manager of 3100000004/5, manager01 (陈思远, WeCom wg_demo_manager_01).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import JSON, Table, func, insert, select, text, update
from sqlalchemy.orm import Session

from backend.applications.models import Application, ApplicationStage
from backend.applications.stages import STAGE_SETS, STAGES
from backend.billing.models import Bill
from backend.billing.service import due_date_of, shift_period
from backend.billing.tariff import Tariff, get_tariff, price
from backend.core import clock
from backend.core.config import DatabaseSettings
from backend.core.db import Base, get_engine, session_factory
from backend.customers.models import Customer, WechatBinding
from backend.outages import service as outages
from backend.outages.schemas import OutageCreate
from backend.staff.demo import seed_demo
from backend.topology.models import Feeder, GridCell, Transformer, Worker

logger = logging.getLogger(__name__)

COUNTY = "青山县"
# Where each town's centre is (WGS-84 degrees): a hilly county about 40 km across, 云岭乡 up in the
# hills to the north. Cells ring their town's centre; transformers stand within ~650 m of their cell's.
TOWN_CENTRES = {
    "城关镇": (29.1020, 114.4510),
    "青溪镇": (29.1530, 114.3780),
    "石门镇": (29.0410, 114.5260),
    "龙泉镇": (29.1790, 114.5540),
    "桃源镇": (29.0680, 114.3620),
    "白沙乡": (29.0190, 114.4130),
    "云岭乡": (29.2430, 114.4720),
}
# (town, area type, streets or villages)
TOWNS = [
    ("城关镇", "urban", ["人民路", "解放路", "建设路", "文化路", "新华街", "滨江路", "朝阳路", "府前街"]),
    ("青溪镇", "rural", ["青溪村", "下湾村", "枫林村", "石桥村"]),
    ("石门镇", "rural", ["石门村", "茶园村", "双河村", "大坪村"]),
    ("龙泉镇", "rural", ["龙泉村", "白果村", "新塘村", "马鞍村"]),
    ("桃源镇", "urban", ["桃源大道", "兴业路", "工业园路"]),
    ("白沙乡", "rural", ["白沙村", "柳塘村", "沙坪村"]),
    ("云岭乡", "remote", ["云岭村", "高山村", "雾溪村"]),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建国",
    "建华",
    "国强",
    "玉兰",
    "志强",
    "春梅",
    "海燕",
    "文博",
    "子涵",
]
SHOPS = ["超市", "饭店", "五金店", "药店", "理发店", "农资店", "茶叶店", "汽修厂", "服装店", "烟酒店"]
FACTORIES = ["机械厂", "砖厂", "食品厂", "竹木加工厂", "纺织厂", "水泥制品厂"]
DEMO_CUSTOMERS = 5
BATCH = 20_000


@dataclass(frozen=True)
class Plan:
    customers: int
    cells: int
    feeders: int
    transformers: int

    @classmethod
    def for_customers(cls, n: int) -> Plan:
        return cls(customers=n, cells=max(4, n // 2500), feeders=max(3, n // 3000), transformers=max(8, n // 120))


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def chunks(rows: Sequence[dict[str, Any]], size: int = BATCH) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Fast inserts: COPY on PostgreSQL, else Core executemany in batches (no RETURNING, no ORM)."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "postgresql":
        columns = list(rows[0])
        as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[c], ensure_ascii=False) if c in as_json else row[c] for c in columns])
        return
    for part in chunks(rows):
        session.execute(insert(table), list(part))


def fix_sequences(session: Session, tables: Sequence[str]) -> None:
    """After inserting explicit ids on PostgreSQL, move each id sequence past them."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for name in tables:
        session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {name}))")
        )


def cell_centre(town: str, ring: int) -> tuple[float, float]:
    """The centre of a town's `ring`-th cell: the first at the town's centre, the next ones on a
    spiral about 1.3 km a turn apart."""
    latitude, longitude = TOWN_CENTRES[town]
    angle = ring * 2.4
    return round(latitude + 0.012 * ring * math.sin(angle), 6), round(longitude + 0.012 * ring * math.cos(angle), 6)


def build_topology(session: Session, plan: Plan, rng: random.Random) -> tuple[list[int], dict[int, str]]:
    """Cells, feeders, transformers and workers; returns transformer ids and each one's area type."""
    cells: list[dict[str, Any]] = []
    for i in range(plan.cells):
        town, _, _ = TOWNS[i % len(TOWNS)]
        latitude, longitude = cell_centre(town, i // len(TOWNS))
        cells.append(
            {
                "id": i + 1,
                "code": f"G{i + 1:03d}",
                "name": f"{town}第{i // len(TOWNS) + 1}网格",
                "neighbour_id": None,
                "county": COUNTY,
                "latitude": latitude,
                "longitude": longitude,
            }
        )
    bulk(session, GridCell, cells)
    for i in range(plan.cells):  # each cell backed by the next, in a ring
        session.execute(update(GridCell).where(GridCell.id == i + 1).values(neighbour_id=(i + 1) % plan.cells + 1))
    feeders = [
        {"id": i + 1, "code": f"F{i + 1:03d}", "name": f"10kV{TOWNS[i % len(TOWNS)][0][:2]}{i + 1}号线"}
        for i in range(plan.feeders)
    ]
    bulk(session, Feeder, feeders)
    transformers: list[dict[str, Any]] = []
    areas: dict[int, str] = {}
    spots = random.Random(plan.transformers)  # its own draws: the rest of the county stays as it was
    for i in range(plan.transformers):
        cell = i * plan.cells // plan.transformers
        town, area, streets = TOWNS[cell % len(TOWNS)]
        transformers.append(
            {
                "id": i + 1,
                "code": f"T{i + 1:05d}",
                "name": f"{town}{streets[i % len(streets)]}{i + 1}号台区",
                "feeder_id": i * plan.feeders // plan.transformers + 1,
                "grid_cell_id": cell + 1,
                "latitude": round(cells[cell]["latitude"] + spots.uniform(-0.006, 0.006), 6),
                "longitude": round(cells[cell]["longitude"] + spots.uniform(-0.006, 0.006), 6),
            }
        )
        areas[i + 1] = area
    bulk(session, Transformer, transformers)
    workers = []
    for i in range(plan.cells):
        for j, (capacity, supervisor) in enumerate(((5, False), (5, False), (8, True))):
            n = i * 3 + j + 1
            demo = {
                1: ("赵磊", "wg_demo_worker_01"),
                2: ("孙浩", "wg_demo_worker_02"),
                3: ("周静", "wg_demo_supervisor_01"),
            }.get(n)
            name, wecom = demo if demo else (person(rng), f"wg{n:04d}")
            workers.append(
                {
                    "id": n,
                    "code": f"W{n:04d}",
                    "name": name,
                    "phone": f"139{n:08d}",
                    "grid_cell_id": i + 1,
                    "wecom_user_id": wecom,
                    "on_duty": rng.random() > 0.1 or j == 0,
                    "capacity": capacity,
                    "is_supervisor": supervisor,
                }
            )
    bulk(session, Worker, workers)
    return list(areas), areas


def demo_customers(now: datetime) -> list[dict[str, Any]]:
    base = {
        "customer_type": "resident",
        "area_type": "urban",
        "grid_cell_id": None,
        "medical_equipment": False,
        "has_peak_valley": False,
        "balance": Decimal("0"),
        "manager_name": None,
        "manager_phone": None,
        "created_at": now,
    }
    return [
        base
        | {
            "account_no": "3100000001",
            "name": "张伟",
            "phone": "13800138001",
            "transformer_id": 1,
            "address": f"{COUNTY}城关镇人民路18号3栋2单元501室",
            "has_peak_valley": True,
            "balance": Decimal("56.30"),
        },
        base
        | {
            "account_no": "3100000002",
            "name": "李秀英",
            "phone": "13800138002",
            "transformer_id": 2,
            "address": f"{COUNTY}城关镇解放路66号1栋302室",
        },
        base
        | {
            "account_no": "3100000003",
            "name": "王建国",
            "phone": "13800138003",
            "transformer_id": 3,
            "address": f"{COUNTY}城关镇建设路9号",
            "area_type": "rural",
            "medical_equipment": True,
        },
        base
        | {
            "account_no": "3100000004",
            "name": "青山县鑫源超市",
            "phone": "13800138004",
            "transformer_id": 1,
            "address": f"{COUNTY}城关镇人民路20号",
            "customer_type": "business",
            "manager_name": "陈思远",
            "manager_phone": "13700137001",
            "has_peak_valley": True,
        },
        base
        | {
            "account_no": "3100000005",
            "name": "青山县宏达机械厂",
            "phone": "13800138005",
            "transformer_id": 4,
            "address": f"{COUNTY}城关镇工业园路8号",
            "customer_type": "industrial",
            "manager_name": "陈思远",
            "manager_phone": "13700137001",
        },
    ]


def build_customers(
    session: Session, plan: Plan, rng: random.Random, transformer_ids: list[int], areas: dict[int, str]
) -> list[dict[str, Any]]:
    now = clock.now()
    rows = demo_customers(now)[: plan.customers]
    managers = [(person(rng), f"137{n:08d}") for n in range(1, 21)]
    for n in range(len(rows) + 1, plan.customers + 1):
        transformer_id = transformer_ids[(n - 1) * len(transformer_ids) // plan.customers]
        area = areas[transformer_id]
        town, _, streets = TOWNS[(transformer_id * plan.cells // plan.transformers - 1) % len(TOWNS)]
        street = streets[n % len(streets)]
        roll = rng.random()
        kind = "resident" if roll < 0.9 else "business" if roll < 0.97 else "industrial" if roll < 0.99 else "key"
        if kind == "resident":
            name = person(rng)
            address = (
                f"{COUNTY}{town}{street}{rng.randint(1, 300)}号"
                if area != "urban"
                else f"{COUNTY}{town}{street}{rng.randint(1, 200)}号{rng.randint(1, 12)}栋"
                f"{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
            )
        else:
            name = f"{COUNTY}{rng.choice(SURNAMES)}{'记' if kind == 'business' else '氏'}" + (
                rng.choice(SHOPS) if kind == "business" else rng.choice(FACTORIES)
            )
            address = f"{COUNTY}{town}{street}{rng.randint(1, 300)}号"
        manager = managers[n % len(managers)] if kind != "resident" else (None, None)
        rows.append(
            {
                "account_no": f"31{n:08d}",
                "name": name,
                "phone": f"1{rng.choice('3578')}{n:09d}",
                "address": address,
                "customer_type": kind,
                "area_type": area,
                "transformer_id": transformer_id,
                "grid_cell_id": None,
                "medical_equipment": kind == "resident" and rng.random() < 0.01,
                "has_peak_valley": rng.random() < 0.3,
                "balance": Decimal(rng.choice([0, 0, 0, 20, 50, 100])),
                "manager_name": manager[0],
                "manager_phone": manager[1],
                "created_at": now,
            }
        )
    first_id = (session.scalar(select(func.max(Customer.id))) or 0) + 1
    for offset, row in enumerate(rows):
        row["id"] = first_id + offset
    bulk(session, Customer, rows)
    openids = {
        "3100000001": "o_demo_resident_01",
        "3100000002": "o_demo_resident_02",
        "3100000003": "o_demo_resident_03",
        "3100000004": "o_demo_business_01",
    }
    bindings = [
        {"openid": openids[r["account_no"]], "customer_id": r["id"], "created_at": now}
        for r in rows
        if r["account_no"] in openids
    ]
    bulk(session, WechatBinding, bindings)
    return rows


SEASON = [1.25, 1.1, 0.9, 0.8, 0.85, 1.1, 1.45, 1.5, 1.05, 0.85, 0.9, 1.2]  # January … December


def build_bills(session: Session, customers: list[dict[str, Any]], rng: random.Random, tariff: Tariff) -> int:
    today = clock.local_today()
    last = shift_period(f"{today.year:04d}-{today.month:02d}", -1)
    periods = [shift_period(last, -k) for k in range(11, -1, -1)]
    now = clock.now()
    rows: list[dict[str, Any]] = []
    count = 0
    for customer in customers:
        base = {
            "resident": rng.gauss(190, 60),
            "business": rng.gauss(900, 300),
            "industrial": rng.gauss(12000, 4000),
            "key": rng.gauss(30000, 8000),
        }[customer["customer_type"]]
        arrears = rng.random() < 0.03
        for period in periods:
            month = int(period[5:])
            kwh = max(5, int(base * SEASON[month - 1] * rng.uniform(0.85, 1.15)))
            peak = valley = None
            if customer["has_peak_valley"]:
                peak = int(kwh * rng.uniform(0.5, 0.65))
                valley = kwh - peak
            tiers, amount = price(
                tariff, kwh=kwh, customer_type=customer["customer_type"], peak_kwh=peak, valley_kwh=valley
            )
            due = due_date_of(period)
            paid = (due < today and not (arrears and period >= periods[-3])) or (due >= today and rng.random() < 0.4)
            rows.append(
                {
                    "customer_id": customer["id"],
                    "period": period,
                    "kwh": kwh,
                    "peak_kwh": peak,
                    "valley_kwh": valley,
                    "tiers": tiers,
                    "amount": amount,
                    "paid": paid,
                    "due_date": due,
                    "balance": customer["balance"],
                    "issued_at": now,
                }
            )
        if len(rows) >= BATCH:
            bulk(session, Bill, rows)
            count += len(rows)
            rows = []
    bulk(session, Bill, rows)
    return count + len(rows)


APPLICATION_TYPES = [
    ("residential", 8),
    ("low_voltage", 50),
    ("high_voltage_single", 630),
    ("high_voltage_dual", 2000),
]


def build_applications(session: Session, customers: list[dict[str, Any]], rng: random.Random, per_stage: int) -> int:
    """Applications in every stage, numbered by their (past) submission day; some at risk or late."""
    now = clock.now()
    business = [c for c in customers if c["customer_type"] != "resident"] or customers
    residents = [c for c in customers if c["customer_type"] == "resident"] or customers
    numbers: dict[str, int] = {}
    apps: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    first_id = (session.scalar(select(func.max(Application.id))) or 0) + 1
    for stage_index in range(len(STAGES) + 1):  # the last round is completed applications
        for k in range(per_stage):
            app_type, capacity = APPLICATION_TYPES[(stage_index + k) % len(APPLICATION_TYPES)]
            customer = (residents if app_type == "residential" else business)[
                rng.randrange(len(residents if app_type == "residential" else business))
            ]
            if stage_index == 0 and k == 0 and customers[0]["account_no"] == "3100000001":
                customer, app_type, capacity = (
                    customers[3],
                    "low_voltage",
                    80,
                )  # the demo shop's open application
            if stage_index == 3 and k == 0 and len(customers) > 4:
                customer, app_type, capacity = customers[4], "high_voltage_single", 630
            stages_of_type = STAGE_SETS[app_type]
            days_back = 1 + stage_index * (2 if app_type in ("residential", "low_voltage") else 5) + k % 4
            submitted = now - timedelta(days=days_back, hours=rng.randint(0, 6))
            day = submitted.astimezone(clock.LOCAL_ZONE).strftime("%Y%m%d")
            numbers[day] = numbers.get(day, 0) + 1
            app_id = first_id + len(apps)
            # The stage this round reaches, among the type's own stages (the last round completes).
            reached = min(stage_index, len(stages_of_type) - 1)
            finished = stage_index >= len(stages_of_type)
            span = (now - submitted) / (reached + 1 + finished)
            completed = submitted + span * (reached + 1) if finished else None
            apps.append(
                {
                    "id": app_id,
                    "application_no": f"YK{day}{numbers[day]:04d}",
                    "customer_id": customer["id"],
                    "applicant_name": customer["name"],
                    "type": app_type,
                    "capacity_kva": capacity,
                    "address": customer["address"],
                    "stage": stages_of_type[reached],
                    "submitted_at": submitted,
                    "completed_at": completed,
                    "manager_name": customer["manager_name"] or "陈思远",
                    "manager_phone": customer["manager_phone"] or "13700137001",
                }
            )
            for s in range(reached + 1):
                entered = submitted + span * s
                left = entered + span if s < reached or completed else None
                stages.append(
                    {
                        "application_id": app_id,
                        "name": stages_of_type[s],
                        "entered_at": entered,
                        "left_at": min(left, now) if left else None,
                    }
                )
    bulk(session, Application, apps)
    bulk(session, ApplicationStage, stages)
    return len(apps)


def build_outages(session: Session, plan: Plan) -> None:
    """A planned outage next week (transformers 3 and 5) and a fault in progress on transformer 2."""
    now = clock.now()
    local_next_week = (
        (now + timedelta(days=7)).astimezone(clock.LOCAL_ZONE).replace(hour=8, minute=30, second=0, microsecond=0)
    )
    codes = [f"T{n:05d}" for n in (3, 5) if n <= plan.transformers]
    outages.create_outage(
        session,
        OutageCreate(
            kind="planned",
            cause="10kV线路检修及配变增容改造",
            starts_at=local_next_week,
            estimated_restore_at=local_next_week + timedelta(hours=9),
            transformer_codes=codes,
        ),
    )
    outages.create_outage(
        session,
        OutageCreate(
            kind="fault",
            cause="台区低压线路被大风刮断，抢修人员已到场处理",
            starts_at=now - timedelta(minutes=40),
            estimated_restore_at=now + timedelta(hours=2),
            transformer_codes=["T00002"],
        ),
    )


def has_customers(session: Session) -> bool:
    return session.scalar(select(Customer.id).limit(1)) is not None


def seed(session: Session, customers: int, rng_seed: int = 20261122) -> dict[str, int]:
    rng = random.Random(rng_seed)
    plan = Plan.for_customers(customers)
    timings: dict[str, int] = {}
    started = time.perf_counter()
    transformer_ids, areas = build_topology(session, plan, rng)
    rows = build_customers(session, plan, rng, transformer_ids, areas)
    timings["customers"] = len(rows)
    timings["bills"] = build_bills(session, rows, rng, get_tariff())
    timings["applications"] = build_applications(session, rows, rng, per_stage=max(3, customers // 5000))
    fix_sequences(session, ["grid_cell", "feeder", "transformer", "worker", "customer", "application"])
    build_outages(session, plan)
    timings["seconds"] = round(time.perf_counter() - started)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Seed the PowerDesk database with a demo county.")
    parser.add_argument("--customers", type=int, default=2000, help="number of customers (default 2000)")
    parser.add_argument("--if-empty", action="store_true", help="do nothing when customers already exist")
    parser.add_argument("--seed", type=int, default=20261122, help="random seed (default fixed, reproducible)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    factory = session_factory(get_engine(DatabaseSettings().database_url))
    with factory() as session, session.begin():
        if has_customers(session):
            if args.if_empty:
                # A database seeded before the staff console existed gets its demo staff now.
                logger.info("database already has customers; demo staff added: %s", seed_demo(session))
                return 0
            logger.error("database already has customers; seed only an empty database (or pass --if-empty)")
            return 1
        result = seed(session, args.customers, args.seed)
        result["staff"] = seed_demo(session)
    logger.info("seeded %s", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
