"""Fault diagnosis (研判): reports clustered into suspected faults with one fault ticket, across
processes exactly once; the fault confirmed, dismissed, worked and restored, and who hears what."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.main import create_app
from backend.notifications.models import OutboxMessage
from backend.outages.models import Outage, OutageSubscription
from backend.tickets.models import Ticket
from backend.topology.models import Worker
from tests.backend.conftest import TOKENS, Grid, pushes, report_outage
from tests.support.servers import backend_processes


def tickets_of(client: TestClient, account_no: str) -> list[dict]:
    admin = {"Authorization": f"Bearer {TOKENS['powerdesk_admin_token']}"}
    r = client.get("/api/v1/tickets", params={"account_no": account_no}, headers=admin)
    assert r.status_code == 200, r.text
    return r.json()


def covering(client: TestClient, headers: dict[str, str], account_no: str) -> list[dict]:
    r = client.get("/api/v1/outages", params={"account_no": account_no}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def fault_from_reports(client: TestClient, headers: dict[str, str], grid: Grid, transformer: str) -> dict:
    """Three customers of the transformer report; the third is attached to the fault they make."""
    accounts = grid.accounts(transformer)
    for account in accounts[:2]:
        assert report_outage(client, headers, grid, account)["outcome"] == "ticket_created"
    third = report_outage(client, headers, grid, accounts[2])
    assert third["outcome"] == "attached_to_outage", third
    outage: dict = third["outage"]
    return outage


def test_row_50_three_reports_of_one_transformer_make_one_suspected_fault(
    client: TestClient,
    grid: Grid,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """At the threshold (3 customers within 15 minutes): the third report is attached to a new
    suspected fault in the pool and opens no ticket; the two open tickets are merged into its one
    fault ticket, dispatched to the cell's worker; each of their reporters is told once, and their
    notices not yet sent (the held dispatch notice, the worker's tasks) are withdrawn; the worker gets
    one message, the fault's task, that replaces their two tasks and says how to confirm or dismiss."""
    a1, a2, a3, a4 = grid.accounts("T91")
    first = report_outage(client, actions_headers, grid, a1)
    second = report_outage(client, actions_headers, grid, a2)
    assert first["worker"]["name"] == second["worker"]["name"] == "网格员W1"
    third = report_outage(client, actions_headers, grid, a3)
    assert third["outcome"] == "attached_to_outage" and third["ticket_no"] is None
    outage = third["outage"]
    assert outage["status"] == "suspected" and outage["source"] == "reports" and outage["kind"] == "fault"
    assert outage["cause"] == "供电设备故障，正在排查"
    fault_no = outage["ticket_no"]

    for account, own in ((a1, first), (a2, second)):
        [ticket] = tickets_of(client, account)
        assert (ticket["ticket_no"], ticket["status"], ticket["merged_into"]) == (own["ticket_no"], "merged", fault_no)
        assert ticket["timeline"][-1]["type"] == "merged"
    fault = client.get(f"/api/v1/tickets/{fault_no}", headers=admin_headers).json()
    assert (fault["kind"], fault["status"], fault["priority"], fault["worker"]["code"]) == (
        "fault", "dispatched", "urgent", "W1",
    )  # fmt: skip
    assert fault["outage_id"] == outage["id"] and fault["account_no"] is None

    assert [o["id"] for o in covering(client, actions_headers, a4)] == [outage["id"]]
    fourth = report_outage(client, actions_headers, grid, a4)
    assert fourth["outcome"] == "attached_to_outage" and fourth["outage"]["id"] == outage["id"]
    with session_factory() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 3  # two merged reports and the fault's
        subscribers = session.execute(
            select(OutageSubscription.customer_id, OutageSubscription.reported).where(
                OutageSubscription.outage_id == outage["id"]
            )
        ).all()
    assert len(subscribers) == 4 and all(reported for _, reported in subscribers)

    merged = pushes(session_factory, template="ticket_merged")
    assert sorted(m.params["ticket_no"] for m in merged) == sorted([first["ticket_no"], second["ticket_no"]])
    assert {m.params["fault_ticket_no"] for m in merged} == {fault_no}
    for own in (first, second):
        for row in pushes(session_factory, dedup_key=f"ticket:{own['ticket_no']}:dispatched") + pushes(
            session_factory, dedup_key=f"ticket:{own['ticket_no']}:assigned:W1"
        ):
            assert row.status == "cancelled"
    w1 = [p for p in pushes(session_factory, status="pending") if p.worker_id is not None]
    assert [p.template for p in w1] == ["worker_fault_assigned"]
    assert first["ticket_no"] in w1[0].params["merged_note"] and second["ticket_no"] in w1[0].params["merged_note"]


def test_a_worker_whose_tasks_a_fault_absorbs_gets_one_message_replacing_them(
    client: TestClient, grid: Grid, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    """The tasks of W1 were sent already and W1 went off duty: the fault goes to W2, and W1 gets one
    message naming both tasks it replaces, none per report."""
    a1, a2, a3, _ = grid.accounts("T91")
    numbers = [report_outage(client, actions_headers, grid, a)["ticket_no"] for a in (a1, a2)]
    with session_factory() as session, session.begin():
        session.execute(update(OutboxMessage).where(OutboxMessage.worker_id.is_not(None)).values(status="sent"))
        session.execute(update(Worker).where(Worker.code == "W1").values(on_duty=False))
    outage = report_outage(client, actions_headers, grid, a3)["outage"]
    with session_factory() as session:
        w1, w2 = (session.scalar(select(Worker.id).where(Worker.code == code)) for code in ("W1", "W2"))
    to_w1 = pushes(session_factory, worker_id=w1, status="pending")
    assert [p.template for p in to_w1] == ["worker_tasks_merged"]
    assert to_w1[0].params["merged"] == "、".join(numbers) and to_w1[0].params["count"] == 2
    assert to_w1[0].params["ticket_no"] == outage["ticket_no"] and to_w1[0].params["worker_name"] == "网格员W2"
    to_w2 = pushes(session_factory, worker_id=w2)
    assert [p.template for p in to_w2] == ["worker_fault_assigned"] and to_w2[0].params["merged_note"] is None


def test_two_reports_one_below_the_threshold_stay_two_tickets(
    client: TestClient, grid: Grid, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    """One below the threshold: two customers (one of them writing twice) make no fault."""
    a1, a2, a3, _ = grid.accounts("T91")
    assert report_outage(client, actions_headers, grid, a1)["outcome"] == "ticket_created"
    assert report_outage(client, actions_headers, grid, a1, description="还是没电")["outcome"] == "attached_to_ticket"
    assert report_outage(client, actions_headers, grid, a2)["outcome"] == "ticket_created"
    assert covering(client, actions_headers, a3) == []
    with session_factory() as session:
        assert session.scalar(select(func.count(Outage.id))) == 0
        assert session.scalar(select(func.count(Ticket.id)).where(Ticket.status == "dispatched")) == 2


def test_reports_count_only_inside_the_window(
    client: TestClient,
    grid: Grid,
    actions_headers: dict[str, str],
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """A report opened just before the 15-minute window does not count; just inside, it does (and
    is merged)."""
    a1, a2, a3, a4 = grid.accounts("T91")
    old = report_outage(client, actions_headers, grid, a1)["ticket_no"]
    report_outage(client, actions_headers, grid, a2)
    window = timedelta(minutes=settings.fault_cluster_window_minutes)

    def opened(seconds_before_window: int) -> None:
        with session_factory() as session, session.begin():
            moment = clock.now() - window + timedelta(seconds=-seconds_before_window)
            session.execute(update(Ticket).where(Ticket.ticket_no == old).values(created_at=moment))

    opened(5)  # 5 s outside
    assert report_outage(client, actions_headers, grid, a3)["outcome"] == "ticket_created"
    opened(-5)  # 5 s inside: a1, a2, a3 and the fourth
    fourth = report_outage(client, actions_headers, grid, a4)
    assert fourth["outcome"] == "attached_to_outage"
    assert tickets_of(client, a1)[0]["merged_into"] == fourth["outage"]["ticket_no"]


def test_suspected_faults_on_two_transformers_of_a_feeder_make_one_feeder_fault(
    client: TestClient, grid: Grid, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    """T91's fault, then a cluster on T92: the first fault is widened to the feeder (same outage,
    same ticket), T92's reports merged into it; every customer of the feeder (T94 in another cell
    too) is now covered; its worker is told that it is a line fault now."""
    first = fault_from_reports(client, actions_headers, grid, "T91")
    widened = fault_from_reports(client, actions_headers, grid, "T92")
    assert widened["id"] == first["id"] and widened["ticket_no"] == first["ticket_no"]
    assert widened["cause"] == "线路故障，正在排查" and widened["status"] == "suspected"
    for account in grid.accounts("T92")[:2]:
        assert tickets_of(client, account)[0]["merged_into"] == first["ticket_no"]
    for transformer in ("T93", "T94"):
        assert [o["id"] for o in covering(client, actions_headers, grid.accounts(transformer)[0])] == [first["id"]]
    detail = client.get(f"/api/v1/outages/{first['id']}", headers=actions_headers).json()
    assert (detail["feeder_codes"], detail["transformer_codes"], detail["affected_customers"]) == (["F9"], [], 16)
    assert [p.template for p in pushes(session_factory, template="worker_fault_widened")] == ["worker_fault_widened"]
    with session_factory() as session:
        assert session.scalar(select(func.count(Outage.id))) == 1


def test_a_feeder_fault_absorbs_the_suspected_faults_of_its_transformers(
    settings: Settings,
    grid: Grid,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """With three transformers needed: T91's and T92's faults stand apart until T93's cluster; then
    T91's is widened and absorbs T92's: T92's fault leaves the pool (`merged`), its ticket is
    merged into T91's, the reports it had absorbed point at T91's ticket, and its reporters hear the
    number they follow now."""
    with TestClient(create_app(settings.model_copy(update={"fault_cluster_min_transformers": 3}))) as client:
        first = fault_from_reports(client, actions_headers, grid, "T91")
        second = fault_from_reports(client, actions_headers, grid, "T92")
        assert second["id"] != first["id"]
        assert fault_from_reports(client, actions_headers, grid, "T93")["id"] == first["id"]
        absorbed = client.get(f"/api/v1/outages/{second['id']}", headers=actions_headers).json()
        assert absorbed["status"] == "merged"
        second_ticket = client.get(f"/api/v1/tickets/{second['ticket_no']}", headers=admin_headers).json()
        assert (second_ticket["status"], second_ticket["merged_into"]) == ("merged", first["ticket_no"])
        for account in grid.accounts("T92")[:2]:
            assert tickets_of(client, account)[0]["merged_into"] == first["ticket_no"]
    told = pushes(session_factory, template="fault_widened")
    with session_factory() as session:
        t92 = set(
            session.scalars(select(OutageSubscription.customer_id).where(OutageSubscription.outage_id == second["id"]))
        )
    assert {p.customer_id for p in told} == t92 and len(told) == 3
    assert {p.params["fault_ticket_no"] for p in told} == {first["ticket_no"]}


def report_at_once(base: str, headers: dict[str, str], grid: Grid, accounts: list[str]) -> list[dict]:
    """Each account reports from its own connection, all released at the same moment."""
    start = threading.Barrier(len(accounts))

    def send(account: str) -> dict:
        body = {"account_no": account, "channel": "wechat", "sender_id": grid.openid(account), "description": "停电了"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            http.get("/health")  # connected before the barrier
            start.wait()
            r = http.post("/api/v1/repair-reports", json=body, headers={"Idempotency-Key": f"same-ms-{account}"})
        assert r.status_code == 200, r.text
        answer: dict = r.json()
        return answer

    with ThreadPoolExecutor(len(accounts)) as pool:
        return list(pool.map(send, accounts))


def test_row_50_simultaneous_reports_in_three_backend_processes_make_exactly_one_fault(
    db_url: str, grid: Grid, settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Four customers of one transformer, then twelve of three transformers of one feeder, report at
    the same moment to three backend processes: each time exactly one fault is in the pool, with one
    fault ticket, every report merged into it or attached to it, and no repair ticket left open."""
    env = {"DATABASE_URL": db_url, "REDIS_URL": settings.redis_url, **{k.upper(): v for k, v in TOKENS.items()}}
    headers = {"Authorization": f"Bearer {TOKENS['powerdesk_actions_token']}"}
    with backend_processes(env, workers=3, log=tmp_path / "backend.log") as base:
        answers = report_at_once(base, headers, grid, grid.accounts("T91"))
        with session_factory() as session:
            outages = session.scalars(select(Outage)).all()
            assert [(o.status, o.source) for o in outages] == [("suspected", "reports")]
            assert session.scalar(select(func.count(Ticket.id)).where(Ticket.kind == "fault")) == 1
        attached = [a for a in answers if a["outcome"] == "attached_to_outage"]
        assert {a["outage"]["id"] for a in attached} == {outages[0].id} and len(attached) >= 2

        answers = report_at_once(base, headers, grid, [a for t in ("T92", "T93", "T94") for a in grid.accounts(t)])
    with session_factory() as session:
        live = session.scalars(select(Outage).where(Outage.status == "suspected")).all()
        assert len(live) == 1 and live[0].id == outages[0].id
        assert session.scalar(select(func.count(Ticket.id)).where(Ticket.kind == "fault")) == 1
        still_open = session.scalar(
            select(func.count(Ticket.id)).where(Ticket.kind == "repair", Ticket.status.in_(("received", "dispatched")))
        )
        assert still_open == 0
        followers = session.scalar(
            select(func.count(OutageSubscription.id)).where(OutageSubscription.outage_id == live[0].id)
        )
    assert followers == 16  # every reporter follows the one fault


def test_confirming_tells_every_subscriber_and_the_rest_of_the_scope(
    client: TestClient,
    grid: Grid,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """The worker chat confirms with the worker's code (one of another cell, neither the fault
    ticket's worker nor its backup, may not; no code at all is refused): the fault is active with its
    cause and estimate; the three reporters hear the cause, the customer of T91 who did not write is
    told of the outage; confirming twice is refused."""
    assert (
        client.post("/api/v1/grid-cells", json={"code": "C3", "name": "城西网格"}, headers=admin_headers).status_code
        == 201
    )
    stranger = {
        "code": "W4",
        "name": "网格员W4",
        "phone": "13900000009",
        "grid_cell_code": "C3",
        "wecom_user_id": "wx_w4",
    }
    assert client.post("/api/v1/workers", json=stranger, headers=admin_headers).status_code == 201
    outage = fault_from_reports(client, actions_headers, grid, "T91")
    url = f"/api/v1/outages/{outage['id']}/confirm"
    estimate = (clock.now() + timedelta(hours=3)).isoformat()
    body = {"cause": "台区变压器低压熔断器烧毁", "estimated_restore_at": estimate}
    r = client.post(url, json=body, headers=actions_headers)
    assert r.status_code == 422 and r.json()["code"] == "worker_code_required"
    r = client.post(url, json=body | {"worker_code": "W4"}, headers=actions_headers)
    assert r.status_code == 409 and r.json()["code"] == "not_assigned"
    past = body | {"worker_code": "W1", "estimated_restore_at": (clock.now() - timedelta(minutes=1)).isoformat()}
    assert client.post(url, json=past, headers=actions_headers).json()["code"] == "invalid_estimate"
    assert pushes(session_factory, template="fault_confirmed") == []  # the refusals changed nothing

    r = client.post(url, json=body | {"worker_code": "W1"}, headers=actions_headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["cause"]) == ("active", "台区变压器低压熔断器烧毁")
    confirmed = pushes(session_factory, template="fault_confirmed")
    started = pushes(session_factory, template="outage_started")
    assert len(confirmed) == 3 and {p.params["cause"] for p in confirmed} == {"台区变压器低压熔断器烧毁"}
    assert len(started) == 1 and started[0].params["account_no"] == grid.accounts("T91")[3]
    fault = client.get(f"/api/v1/tickets/{outage['ticket_no']}", headers=admin_headers).json()
    assert fault["timeline"][-1]["type"] == "confirmed" and fault["timeline"][-1]["actor"] == "worker:W1"
    again = client.post(url, json=body, headers=admin_headers)
    assert again.status_code == 409 and again.json()["code"] == "not_suspected"


def test_dismissing_turns_every_report_back_into_its_own_dispatched_ticket(
    client: TestClient,
    grid: Grid,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """The dispatcher dismisses (不是线路故障，是个别户问题): the fault leaves the pool and its ticket is
    cancelled; the two merged reports are dispatched again at high priority with a new deadline,
    the two who reported after it get a ticket each; all four hear it honestly, once; the fault's
    worker hears that the task is withdrawn."""
    a1, a2, a3, a4 = grid.accounts("T91")
    merged = [report_outage(client, actions_headers, grid, a)["ticket_no"] for a in (a1, a2)]
    outage = report_outage(client, actions_headers, grid, a3)["outage"]
    report_outage(client, actions_headers, grid, a4)
    before = clock.now()
    r = client.post(f"/api/v1/outages/{outage['id']}/dismiss", json={"reason": "不是线路故障，是个别户问题"},
                    headers=admin_headers)  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "dismissed", r.text
    assert covering(client, actions_headers, a1) == []
    fault = client.get(f"/api/v1/tickets/{outage['ticket_no']}", headers=admin_headers).json()
    assert fault["status"] == "cancelled" and "个别户" in fault["timeline"][-1]["note"]
    for account, number in zip((a1, a2), merged, strict=True):
        [ticket] = tickets_of(client, account)
        assert (ticket["ticket_no"], ticket["status"], ticket["priority"], ticket["merged_into"]) == (
            number, "dispatched", "high", None,
        )  # fmt: skip
        assert [e["type"] for e in ticket["timeline"]][-3:] == ["merged", "unmerged", "dispatched"]
        assert datetime.fromisoformat(ticket["arrival_deadline"]) > before + timedelta(minutes=44)  # from now
    for account in (a3, a4):
        [ticket] = tickets_of(client, account)
        assert (ticket["status"], ticket["priority"]) == ("dispatched", "high")
    told = pushes(session_factory, template="fault_dismissed_ticket")
    assert len(told) == 4 and len({p.customer_id for p in told}) == 4
    assert [p.template for p in pushes(session_factory, template="worker_fault_dismissed")] == [
        "worker_fault_dismissed"
    ]
    again = client.post(f"/api/v1/outages/{outage['id']}/dismiss", json={"reason": "再次"}, headers=admin_headers)
    assert again.status_code == 409 and again.json()["code"] == "not_suspected"


def test_the_fault_ticket_steps_reach_its_reporters_and_its_resolution_restores(
    client: TestClient,
    grid: Grid,
    actions_headers: dict[str, str],
    worker_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    """The fault ticket is worked like any: its reporters hear the worker accept and arrive; it is
    not cancelled (its fault is dismissed); its resolution restores the fault, whose reporters are
    asked whether their power is back (a prompt each, about their own report) and whose other
    customers, told at the confirmation, are told."""
    outage = fault_from_reports(client, actions_headers, grid, "T91")
    url = f"/api/v1/tickets/{outage['ticket_no']}/events"
    r = client.post(url, json={"type": "cancel"}, headers=worker_headers)
    assert r.status_code == 409 and r.json()["code"] == "use_dismiss"
    for event in ("accept", "arrive"):
        assert client.post(url, json={"type": event, "worker_code": "W1"}, headers=worker_headers).status_code == 200
    accepted = pushes(session_factory, template="ticket_accepted")
    assert len(accepted) == 3 and {p.params["ticket_no"] for p in accepted} == {outage["ticket_no"]}
    assert len(pushes(session_factory, template="ticket_arrived")) == 3
    estimate = (clock.now() + timedelta(hours=2)).isoformat()
    confirm = {"cause": "低压线路断线", "estimated_restore_at": estimate, "worker_code": "W1"}
    assert (
        client.post(f"/api/v1/outages/{outage['id']}/confirm", json=confirm, headers=worker_headers).status_code == 200
    )
    r = client.post(url, json={"type": "resolve", "note": "已接好断线", "worker_code": "W1"}, headers=worker_headers)
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert client.get(f"/api/v1/outages/{outage['id']}", headers=actions_headers).json()["status"] == "restored"
    asked = pushes(session_factory, template="outage_restored_check")
    told = pushes(session_factory, template="outage_restored")
    assert len(asked) == 3 and len(told) == 1 and told[0].params["account_no"] == grid.accounts("T91")[3]
    own = {p.params["ticket_no"] for p in asked}
    assert len(own - {None}) == 2  # the two merged reports; the third report had no ticket of its own
    assert pushes(session_factory, template="ticket_resolved") == []  # the outage's restoration says it


def test_a_new_estimate_from_the_worker_reaches_everyone_told(
    client: TestClient, grid: Grid, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    """`POST /outages/{id}/estimate` from the worker chat: the subscribers hear the new time once."""
    outage = fault_from_reports(client, actions_headers, grid, "T91")
    later = (clock.now() + timedelta(hours=5)).isoformat()
    body = {"estimated_restore_at": later, "worker_code": "W2"}
    r = client.post(f"/api/v1/outages/{outage['id']}/estimate", json=body, headers=actions_headers)
    assert r.status_code == 200, r.text
    changed = pushes(session_factory, template="outage_estimate_changed")
    assert len(changed) == 3 and len({p.customer_id for p in changed}) == 3


def test_a_fault_nobody_is_on_duty_for_waits_for_the_dispatch_centre_and_is_placed_with_its_fault_task(
    client: TestClient,
    grid: Grid,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        session.execute(update(Worker).values(on_duty=False))
    outage = fault_from_reports(client, actions_headers, grid, "T91")
    queue = client.get("/api/v1/dispatch-queue", headers=admin_headers).json()
    assert outage["ticket_no"] in [t["ticket_no"] for t in queue]
    r = client.post(f"/api/v1/tickets/{outage['ticket_no']}/assign", json={"worker_code": "W2"}, headers=admin_headers)
    assert r.status_code == 200 and r.json()["status"] == "dispatched", r.text
    [task] = pushes(session_factory, template="worker_fault_assigned")
    assert task.params["evidence"] == "15分钟内3户报修停电" and task.params["worker_name"] == "网格员W2"
    assert pushes(session_factory, template="worker_task_assigned") == []
