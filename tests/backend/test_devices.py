"""Device events (主动抢修): stored in the request, applied after it; a transformer, a feeder or many
meters losing power make a suspected fault whose customers are told before they ask; events out of
order, duplicated or bad change nothing they should not."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.devices import service as devices
from backend.devices.enums import DeviceEventStatus
from backend.devices.models import DeviceEvent, DeviceState
from backend.main import create_app
from backend.outages.models import Outage
from backend.tickets.models import Ticket
from tests.backend.conftest import Grid, bearer, pushes, report_outage


def ago(seconds: float) -> datetime:
    return clock.now() - timedelta(seconds=seconds)


def event(
    client: TestClient,
    headers: dict[str, str],
    kind: str,
    scope: str,
    code: str,
    at: datetime,
    event_id: str | None = None,
) -> dict:
    body = {"event_id": event_id or uuid.uuid4().hex, "kind": kind, "scope": scope, "code": code,
            "occurred_at": at.isoformat()}  # fmt: skip
    r = client.post("/api/v1/device-events", json=body, headers=headers)
    assert r.status_code == 202, r.text
    answer: dict = r.json()
    return answer


def applied(factory: sessionmaker[Session], settings: Settings) -> dict[str, str | None]:
    """Apply the stored events as the notifier's job does; every event's outcome by its id ("applied",
    or why it was ignored)."""
    devices.process_pending(factory, settings)
    with factory() as session:
        rows = session.execute(select(DeviceEvent.event_id, DeviceEvent.status, DeviceEvent.note)).all()
    return {event_id: (status if status == "applied" else note) for event_id, status, note in rows}


def outages_now(factory: sessionmaker[Session]) -> list[Outage]:
    with factory() as session:
        return list(session.scalars(select(Outage).order_by(Outage.id)))


def test_a_transformer_losing_power_is_a_suspected_fault_everyone_hears_of_before_asking(
    client: TestClient,
    grid: Grid,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """The distribution-automation system reports T91 dark: answered 202 at once; then a suspected
    fault of source `device`, its fault ticket dispatched, and each of T91's four customers told once
    (我们监测到您所在区域停电…); a report from one of them is attached to it."""
    answer = event(client, admin_headers, "power_lost", "transformer", "T91", ago(30), event_id="da-1")
    assert answer == {"event_id": "da-1", "status": "accepted"}
    assert applied(session_factory, settings) == {"da-1": "applied"}
    [outage] = outages_now(session_factory)
    assert (outage.status, outage.source, outage.kind) == ("suspected", "device", "fault")
    fault = client.get(f"/api/v1/tickets/{outage.fault_ticket_no}", headers=admin_headers).json()
    assert (fault["status"], fault["worker"]["code"]) == ("dispatched", "W1")
    assert "配电自动化系统监测到" in fault["description"]
    detected = pushes(session_factory, template="outage_detected")
    assert sorted(p.params["account_no"] for p in detected) == grid.accounts("T91")
    assert all(p.urgent for p in detected)
    attached = report_outage(client, actions_headers, grid, grid.accounts("T91")[0])
    assert attached["outcome"] == "attached_to_outage" and attached["outage"]["source"] == "device"


def test_events_are_idempotent_by_their_id_and_an_id_reused_for_another_event_is_refused(
    client: TestClient,
    grid: Grid,
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    at = ago(60)
    assert event(client, admin_headers, "power_lost", "transformer", "T92", at, "da-7")["status"] == "accepted"
    assert event(client, admin_headers, "power_lost", "transformer", "T92", at, "da-7")["status"] == "duplicate"
    other = {"event_id": "da-7", "kind": "power_restored", "scope": "transformer", "code": "T92",
             "occurred_at": at.isoformat()}  # fmt: skip
    r = client.post("/api/v1/device-events", json=other, headers=admin_headers)
    assert r.status_code == 409 and r.json()["code"] == "event_id_reused"
    assert applied(session_factory, settings) == {"da-7": "applied"}
    assert len(outages_now(session_factory)) == 1
    assert len(pushes(session_factory, template="outage_detected")) == 4


def test_events_out_of_order_and_twice_change_the_state_only_when_they_stand(
    client: TestClient,
    grid: Grid,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """A restoration that arrives before its loss is recorded and ignored, and the older loss then
    too; a later loss makes the fault; the same loss again and a restoration older than the loss are
    ignored; the real restoration restores it: each customer told once that it is off and once that
    it is back, the one who wrote to us asked whether it is back for them."""
    assert event(client, admin_headers, "power_restored", "transformer", "T93", ago(600), "r-early")
    assert applied(session_factory, settings)["r-early"] == "没有已知的失电，恢复事件已记录"
    assert event(client, admin_headers, "power_lost", "transformer", "T93", ago(900), "l-stale")
    assert applied(session_factory, settings)["l-stale"] == "早于已知的恢复供电，已忽略"
    assert outages_now(session_factory) == []

    event(client, admin_headers, "power_lost", "transformer", "T93", ago(300), "l-real")
    event(client, admin_headers, "power_lost", "transformer", "T93", ago(290), "l-again")
    applied(session_factory, settings)  # (events are applied in the order they happened, a batch at a time)
    event(client, admin_headers, "power_restored", "transformer", "T93", ago(400), "r-older")
    outcomes = applied(session_factory, settings)
    assert outcomes["l-real"] == "applied"
    assert outcomes["l-again"] == "该设备已知处于失电状态，已忽略"
    assert outcomes["r-older"] == "早于已知的失电，已忽略"
    [outage] = outages_now(session_factory)
    reporter = grid.accounts("T93")[0]
    assert report_outage(client, actions_headers, grid, reporter)["outcome"] == "attached_to_outage"

    event(client, admin_headers, "power_restored", "transformer", "T93", ago(10), "r-real")
    assert applied(session_factory, settings)["r-real"] == "applied"
    [outage] = outages_now(session_factory)
    assert outage.status == "restored" and outage.restored_at is not None
    assert abs((outage.restored_at - ago(10)).total_seconds()) < 5  # when the device saw it, not when told
    fault = client.get(f"/api/v1/tickets/{outage.fault_ticket_no}", headers=admin_headers).json()
    assert fault["status"] == "resolved"
    assert len(pushes(session_factory, template="outage_detected")) == 4
    [asked] = pushes(session_factory, template="outage_restored_check")
    assert asked.params["account_no"] == reporter
    told = pushes(session_factory, template="outage_restored")
    assert sorted(p.params["account_no"] for p in told) == grid.accounts("T93")[1:]


def test_many_meters_of_one_transformer_dark_within_a_minute_count_as_the_transformer(
    client: TestClient,
    grid: Grid,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """Two dark meters are single meters: a report from one of them opens its ticket and says when
    its meter lost power; the third meter of T91 within the minute makes T91's suspected fault, which
    absorbs that ticket; the customers who had not written are told."""
    a1, a2, a3, a4 = grid.accounts("T91")
    event(client, admin_headers, "power_lost", "meter", a1, ago(50))
    event(client, admin_headers, "power_lost", "meter", a2, ago(40))
    applied(session_factory, settings)
    assert outages_now(session_factory) == []
    answer = report_outage(client, actions_headers, grid, a1)
    assert answer["outcome"] == "ticket_created"
    assert abs((datetime.fromisoformat(answer["meter_power_lost_at"]) - ago(50)).total_seconds()) < 5
    ticket = client.get(f"/api/v1/tickets/{answer['ticket_no']}", headers=admin_headers).json()
    assert ticket["timeline"][-1]["type"] == "meter_power_lost"
    assert report_outage(client, actions_headers, grid, a4)["meter_power_lost_at"] is None

    event(client, admin_headers, "power_lost", "meter", a3, ago(20))
    applied(session_factory, settings)
    [outage] = outages_now(session_factory)
    assert (outage.status, outage.source) == ("suspected", "device")
    assert client.get(f"/api/v1/tickets/{answer['ticket_no']}", headers=admin_headers).json()["status"] == "merged"
    told = sorted(p.params["account_no"] for p in pushes(session_factory, template="outage_detected"))
    assert told == [a2, a3]  # a1 and a4 wrote to us: their tickets were merged, they are told so


def test_a_batch_is_applied_in_the_order_the_events_happened_not_the_order_they_came(
    client: TestClient,
    grid: Grid,
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """The restoration is sent before the loss it ends (a system's queue, a network): applied in one
    batch by when they happened, the loss makes the fault and the restoration restores it."""
    event(client, admin_headers, "power_restored", "transformer", "T94", ago(60), "back")
    event(client, admin_headers, "power_lost", "transformer", "T94", ago(120), "off")
    assert applied(session_factory, settings) == {"back": "applied", "off": "applied"}
    [outage] = outages_now(session_factory)
    assert outage.status == "restored"


def test_dark_meters_minutes_apart_are_single_meters(
    client: TestClient,
    grid: Grid,
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    for n, account in enumerate(grid.accounts("T92")[:3]):
        event(client, admin_headers, "power_lost", "meter", account, ago(600 - 120 * n))
    assert set(applied(session_factory, settings).values()) == {"applied"}
    assert outages_now(session_factory) == []
    with session_factory() as session:
        assert session.scalar(select(func.count(DeviceState.id)).where(DeviceState.scope == "meter")) == 3


def test_a_meter_storm_then_the_feeder_event_make_one_outage_and_one_notice_per_customer(
    client: TestClient,
    grid: Grid,
    admin_headers: dict[str, str],
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """The device storm in small: every meter of the feeder goes dark within seconds (T91's and
    T92's meter clusters make a transformer fault, widened to the feeder), then the feeder's own
    event: one outage, one notice per customer, no ticket of a customer; the feeder's restoration
    tells each customer once."""
    accounts = [a for t in grid.transformers for a in grid.accounts(t)]
    for n, account in enumerate(accounts):
        event(client, admin_headers, "power_lost", "meter", account, ago(30 - n))
    event(client, admin_headers, "power_lost", "feeder", "F9", ago(5), "feeder-lost")
    outcomes = applied(session_factory, settings)
    assert outcomes["feeder-lost"] == "applied"
    [outage] = outages_now(session_factory)
    assert (outage.status, outage.source) == ("suspected", "device")
    detail = client.get(f"/api/v1/outages/{outage.id}", headers=actions_headers).json()
    assert detail["feeder_codes"] == ["F9"]
    detected = pushes(session_factory, template="outage_detected")
    assert sorted(p.params["account_no"] for p in detected) == sorted(accounts)
    with session_factory() as session:
        assert session.scalar(select(func.count(Ticket.id)).where(Ticket.kind != "fault")) == 0
        assert session.scalar(select(func.count(Ticket.id)).where(Ticket.kind == "fault")) == 1

    event(client, admin_headers, "power_restored", "feeder", "F9", ago(1))
    applied(session_factory, settings)
    assert outages_now(session_factory)[0].status == "restored"
    restored = pushes(session_factory, template="outage_restored")
    assert sorted(p.params["account_no"] for p in restored) == sorted(accounts)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"code": "T99"}, "unknown_device"),
        ({"scope": "meter", "code": "9999999999"}, "unknown_device"),
        ({"scope": "feeder", "code": "F77"}, "unknown_device"),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_in_future"),
        ({"occurred_at": "in an hour"}, "validation_error"),
        ({"occurred_at": "2026-11-22T08:00:00"}, "validation_error"),
        ({"kind": "power_flicker"}, "validation_error"),
        ({"scope": "substation"}, "validation_error"),
        ({"event_id": ""}, "validation_error"),
        ({"code": "T9\x001"}, "validation_error"),
    ],
)
def test_bad_device_events_are_refused_and_change_nothing(
    client: TestClient,
    grid: Grid,
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    change: dict,
    code: str,
) -> None:
    body = {"event_id": "bad-1", "kind": "power_lost", "scope": "transformer", "code": "T91",
            "occurred_at": ago(60).isoformat()} | change  # fmt: skip
    r = client.post("/api/v1/device-events", json=body, headers=admin_headers)
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    with session_factory() as session:
        assert session.scalar(select(func.count(DeviceEvent.id))) == 0


def test_a_time_ahead_of_ours_is_refused(
    client: TestClient, grid: Grid, admin_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    """A minute of clock drift is tolerated; ten minutes ahead is refused and stores nothing."""
    ahead = {"event_id": "ahead", "kind": "power_lost", "scope": "transformer", "code": "T91",
             "occurred_at": (clock.now() + timedelta(minutes=10)).isoformat()}  # fmt: skip
    r = client.post("/api/v1/device-events", json=ahead, headers=admin_headers)
    assert r.status_code == 422 and r.json()["code"] == "occurred_in_future"
    drift = ahead | {"event_id": "drift", "occurred_at": (clock.now() + timedelta(seconds=20)).isoformat()}
    assert client.post("/api/v1/device-events", json=drift, headers=admin_headers).status_code == 202
    with session_factory() as session:
        assert list(session.scalars(select(DeviceEvent.event_id))) == ["drift"]


def test_only_the_admin_and_the_integration_token_post_device_events(
    settings: Settings, grid: Grid, actions_headers: dict[str, str], worker_headers: dict[str, str]
) -> None:
    integration = "test-integration-token-0123"
    body = {"event_id": "role-1", "kind": "power_lost", "scope": "transformer", "code": "T91",
            "occurred_at": ago(5).isoformat()}  # fmt: skip
    with TestClient(create_app(settings.model_copy(update={"powerdesk_integration_token": integration}))) as client:
        for headers in (actions_headers, worker_headers):
            assert client.post("/api/v1/device-events", json=body, headers=headers).status_code == 403
        assert client.post("/api/v1/device-events", json=body, headers=bearer(integration)).status_code == 202


def store(factory: sessionmaker[Session], event_id: str, code: str, at: datetime) -> None:
    """A transformer's loss stored as the backend stores it, for a code the topology may no longer
    have (a transformer renamed or removed after its event came): applying that event fails."""
    with factory() as session, session.begin():
        session.add(DeviceEvent(event_id=event_id, kind="power_lost", scope="transformer", code=code, occurred_at=at,
                                received_at=clock.now(), status=DeviceEventStatus.pending.value))  # fmt: skip


def outcomes(factory: sessionmaker[Session]) -> dict[str, tuple[str, str | None]]:
    with factory() as session:
        return {e: (status, note) for e, status, note in session.execute(select(DeviceEvent.event_id,
                DeviceEvent.status, DeviceEvent.note))}  # fmt: skip


def test_an_event_that_cannot_be_applied_is_marked_failed_and_the_next_is_applied(
    grid: Grid, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """The batch fails on the event of a transformer we no longer have; tried alone it fails again
    and is marked `failed` with why, and the event after it is applied: T91's fault, its customers
    told."""
    store(session_factory, "da-gone", "T99", ago(60))
    store(session_factory, "da-next", "T91", ago(30))
    assert devices.process_pending(session_factory, settings) == 2
    found = outcomes(session_factory)
    assert found["da-gone"][0] == "failed" and "KeyError" in (found["da-gone"][1] or "")
    assert found["da-next"] == ("applied", None)
    assert len(pushes(session_factory, template="outage_detected")) == 4


def test_a_failed_event_is_marked_itself_when_another_notifier_takes_it_right_after_its_try(
    grid: Grid, session_factory: sessionmaker[Session], settings: Settings, db_url: str
) -> None:
    """Two notifiers on PostgreSQL: the moment this one's try of the failing event ends (its error
    logged), the other notifier asks for that event's row. The event tried is the one marked
    `failed` (before the other gets it), and the event after it, never tried, is applied, its
    customers told; it is not marked failed in the tried event's place."""
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no row locks: one notifier applies the events of its file")
    store(session_factory, "da-gone", "T99", ago(60))
    store(session_factory, "da-next", "T91", ago(30))
    holding, release = threading.Event(), threading.Event()

    def other_notifier_takes_the_failed_event() -> None:
        with session_factory() as session, session.begin():
            session.execute(select(DeviceEvent.id).where(DeviceEvent.event_id == "da-gone").with_for_update())
            holding.set()
            release.wait(30)

    other = threading.Thread(target=other_notifier_takes_the_failed_event)

    class SecondTry(logging.Handler):
        """On the second error logged (the batch's, then the event's alone), the other notifier asks
        for the event; waits until it holds it, or 2 s when it must wait for this notifier."""

        errors = 0

        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                self.errors += 1
                if self.errors == 2:
                    other.start()
                    holding.wait(2)

    hook = SecondTry()
    logger = logging.getLogger(devices.__name__)
    logger.addHandler(hook)
    try:
        devices.process_pending(session_factory, settings)
    finally:
        logger.removeHandler(hook)
        release.set()
        if other.is_alive() or holding.is_set():
            other.join(30)
    assert hook.errors == 2
    found = outcomes(session_factory)
    assert found["da-gone"][0] == "failed"
    assert found["da-next"] == ("applied", None)
    assert len(pushes(session_factory, template="outage_detected")) == 4
