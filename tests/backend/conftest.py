"""Fixtures for backend tests, shared by every test under tests/backend/ (notifications included).

- `db_url`: a freshly migrated database (Alembic `upgrade head`, never `create_all`) for one test.
  Parametrized: SQLite always (a copy of a template migrated once per session), and PostgreSQL
  too when TEST_DATABASE_URL is set (a private schema migrated once per session, emptied before
  each test). Test ids end in `[sqlite]` / `[postgresql]`.
- `settings`: `Settings` on `db_url` with test tokens (`TOKENS`) and REDIS_URL (default db 15).
- `session_factory`: sessions on `db_url` for service-level tests.
- `client`: a `TestClient` of `create_app(settings)`, lifespan run.
- `admin_headers`, `actions_headers`, `worker_headers`: bearer headers of each role (the worker's
  is W1's own token; `worker_bearer(code)` gives another worker's).
- `county`: a small topology with customers (see `County`) built through the services.
- `grid`: the county plus a feeder of four located transformers with four customers each (`Grid`),
  for fault diagnosis (研判) and device events; `report_outage` and `pushes` help their tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import ROOT, Settings
from backend.core.db import Base, get_engine, normalize_url
from backend.core.db import session_factory as make_session_factory
from backend.core.deps import worker_token
from backend.customers import service as customers
from backend.customers.schemas import CustomerCreate
from backend.main import create_app
from backend.notifications.models import OutboxMessage
from backend.topology import service as topology
from backend.topology.schemas import FeederCreate, GridCellCreate, TransformerCreate, WorkerCreate

TOKENS = {
    "powerdesk_admin_token": "test-admin-token-0123456789",
    "powerdesk_actions_token": "test-actions-token-0123456789",
    "powerdesk_worker_token": "test-worker-token-0123456789",
}
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def migrate(url: str) -> None:
    """`alembic upgrade head` on `url`, as `make run` does."""
    config = Config(str(ROOT / "backend" / "alembic.ini"))
    config.attributes["configure_logger"] = False
    config.set_main_option("script_location", os.environ.get("PD_TMP_SCRIPTS", str(ROOT / "backend" / "alembic")))
    config.cmd_opts = type("Opts", (), {"x": [f"url={url}"]})()  # type: ignore[assignment]
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    base = os.environ["TEST_DATABASE_URL"]
    schema = f"pd_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(base))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        migrate(url)
        yield url
    finally:
        get_engine(url).dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "powerdesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        yield url
        get_engine(url).dispose()
        return
    url = request.getfixturevalue("postgres_schema_url")
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield url


@pytest.fixture
def settings(db_url: str) -> Settings:
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    return Settings(database_url=db_url, redis_url=redis_url, **TOKENS)  # type: ignore[arg-type]


@pytest.fixture
def session_factory(db_url: str) -> sessionmaker[Session]:
    return make_session_factory(get_engine(db_url))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return bearer(TOKENS["powerdesk_admin_token"])


@pytest.fixture
def actions_headers() -> dict[str, str]:
    return bearer(TOKENS["powerdesk_actions_token"])


def speaking_for(sender: str) -> dict[str, str]:
    """The assistant's headers when it asks on behalf of `sender` ("sms:<phone>", "wechat:<openid>")."""
    return bearer(TOKENS["powerdesk_actions_token"]) | {"X-PowerDesk-Sender": sender}


@pytest.fixture
def worker_headers() -> dict[str, str]:
    """The integration token of worker W1 (cell C1 of the `county`)."""
    return worker_bearer("W1")


def worker_bearer(code: str) -> dict[str, str]:
    """The headers of one worker's integration token (backend/core/deps.py `worker_token`)."""
    return bearer(worker_token(TOKENS["powerdesk_worker_token"], code))


@dataclass(frozen=True)
class County:
    """Two feeders and two neighbouring cells.

    F1 feeds T1 (cell C1) and T2 (cell C1); F2 feeds T3 (cell C2). C1 and C2 back each other up.
    Workers: W1 (capacity 2) and W2 (capacity 1) in C1, W3 (capacity 3) in C2, S1 supervisor of C1.
    Customers: A1 on T1 (urban, openid o_a1, phone 13800000001), A2 on T2 (rural), A3 on T3 (remote,
    medical equipment), A4 on T1 (business, same phone as A1).
    """

    a1: str = "1000000001"
    a2: str = "1000000002"
    a3: str = "1000000003"
    a4: str = "1000000004"
    a1_phone: str = "13800000001"
    a1_openid: str = "o_a1"
    a2_phone: str = "13800000002"


def shop_application(county: County) -> dict[str, object]:
    """A connection application by the county's business customer (A4), as the API takes it."""
    return {
        "account_no": county.a4,
        "applicant_name": "青山县鑫源超市",
        "type": "low_voltage",
        "capacity_kva": 80,
        "address": "青山县城关镇人民路4号",
        "manager_name": "周敏",
        "manager_phone": "13700001111",
    }


@pytest.fixture
def county(session_factory: sessionmaker[Session]) -> County:
    spec = County()
    with session_factory() as session, session.begin():
        for code in ("F1", "F2"):
            topology.create_feeder(session, FeederCreate(code=code, name=f"{code}线"))
        topology.create_grid_cell(session, GridCellCreate(code="C1", name="城关一网格"))
        topology.create_grid_cell(session, GridCellCreate(code="C2", name="城关二网格", neighbour_code="C1"))
        topology.get_grid_cell(session, "C1").neighbour_id = topology.get_grid_cell(session, "C2").id
        for code, feeder, cell in (("T1", "F1", "C1"), ("T2", "F1", "C1"), ("T3", "F2", "C2")):
            topology.create_transformer(
                session,
                TransformerCreate(code=code, name=f"{code}台区", feeder_code=feeder, grid_cell_code=cell),
            )
        workers = (
            ("W1", "C1", 2, False),
            ("W2", "C1", 1, False),
            ("W3", "C2", 3, False),
            ("S1", "C1", 5, True),
        )
        for n, (code, cell, capacity, supervisor) in enumerate(workers):
            topology.create_worker(
                session,
                WorkerCreate(
                    code=code,
                    name=f"网格员{code}",
                    phone=f"1390000000{n}",
                    grid_cell_code=cell,
                    wecom_user_id=f"wx_{code.lower()}",
                    capacity=capacity,
                    is_supervisor=supervisor,
                ),
            )
        rows = (
            (spec.a1, "T1", "urban", "resident", spec.a1_phone, spec.a1_openid, False),
            (spec.a2, "T2", "rural", "resident", spec.a2_phone, None, False),
            (spec.a3, "T3", "remote", "resident", "13800000003", None, True),
            (spec.a4, "T1", "urban", "business", spec.a1_phone, None, False),
        )
        for account, transformer, area, kind, phone, openid, medical in rows:
            customers.create_customer(
                session,
                CustomerCreate(
                    account_no=account,
                    name=f"客户{account[-1]}",
                    phone=phone,
                    address=f"青山县城关镇人民路{account[-1]}号",
                    customer_type=kind,
                    area_type=area,
                    transformer_code=transformer,
                    wechat_openid=openid,
                    medical_equipment=medical,
                ),
            )
    return spec


@dataclass(frozen=True)
class Grid:
    """The county (`County`) plus feeder F9 with located transformers: T91, T92 and T93 in cell C1,
    T94 in cell C2, four urban residents each. Customer n (1-4) of T9t has account 20000009tn, phone
    137000009tn, WeChat openid o_9t_n, address 青山县城关镇幸福路9tn号."""

    transformers: tuple[str, ...] = ("T91", "T92", "T93", "T94")
    locations: tuple[tuple[float, float], ...] = ((29.0500, 114.3000), (29.0550, 114.3100),
                                                  (29.0600, 114.3200), (29.2000, 114.5000))  # fmt: skip

    def accounts(self, transformer: str) -> list[str]:
        return [f"20000009{transformer[-1]}{n}" for n in range(1, 5)]

    def openid(self, account_no: str) -> str:
        return f"o_9{account_no[-2]}_{account_no[-1]}"

    def phone(self, account_no: str) -> str:
        return f"137000009{account_no[-2:]}"


@pytest.fixture
def grid(session_factory: sessionmaker[Session], county: County) -> Grid:
    spec = Grid()
    with session_factory() as session, session.begin():
        topology.create_feeder(session, FeederCreate(code="F9", name="10kV幸福线"))
        for code, (lat, lon) in zip(spec.transformers, spec.locations, strict=True):
            topology.create_transformer(
                session,
                TransformerCreate(
                    code=code, name=f"幸福路{code[-1]}号台区", feeder_code="F9",
                    grid_cell_code="C2" if code == "T94" else "C1", latitude=lat, longitude=lon,
                ),
            )  # fmt: skip
            for account in spec.accounts(code):
                customers.create_customer(
                    session,
                    CustomerCreate(
                        account_no=account, name=f"客户{account[-2:]}", phone=spec.phone(account),
                        address=f"青山县城关镇幸福路{account[-3:]}号", customer_type="resident",
                        area_type="urban", transformer_code=code, wechat_openid=spec.openid(account),
                    ),
                )  # fmt: skip
    return spec


def report_outage(client: TestClient, headers: dict[str, str], grid: Grid, account_no: str, **body: object) -> dict:
    """A repair report of a grid customer from their WeChat, keyed by its account and description."""
    payload = {
        "account_no": account_no,
        "channel": "wechat",
        "sender_id": grid.openid(account_no),
        "description": "家里停电了",
    } | body
    key = f"{account_no}:{uuid.uuid4().hex}"
    r = client.post("/api/v1/repair-reports", json=payload, headers=headers | {"Idempotency-Key": key})
    assert r.status_code == 200, r.text
    answer: dict = r.json()
    return answer


def pushes(factory: sessionmaker[Session], **where: object) -> list[OutboxMessage]:
    """Outbox rows whose columns equal `where`, oldest first."""
    with factory() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        return list(session.scalars(query))
