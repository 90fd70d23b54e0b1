"""Dispatch: the most spare capacity wins; overload goes to the neighbour cell; late acceptance escalates,
once, also when two notifiers run the escalation at the same time."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.core.scheduling import Run, in_one_transaction
from backend.customers import service as customers
from backend.notifications.models import OutboxMessage
from backend.tickets import scheduled, service
from backend.tickets.models import Ticket
from backend.topology import service as topology
from tests.backend.conftest import County


def open_ticket(factory: sessionmaker[Session], settings: Settings, account_no: str) -> tuple[str, str, list[str]]:
    """Open a repair ticket; (ticket_no, assigned worker code, timeline types)."""
    with factory() as session, session.begin():
        ticket = service.open_ticket(
            session,
            settings,
            kind="repair",
            customer=customers.get_customer(session, account_no),
            channel="wechat",
            sender_id="o",
            description="停电",
            actor="assistant",
        )
        read = service.read(session, ticket)
        return ticket.ticket_no, read.worker.code if read.worker else "", [e.type for e in read.timeline]


def test_load_balancing_then_overload_to_the_neighbour_cell(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    # C1 has W1 (capacity 2) and W2 (capacity 1): three tickets fill the cell.
    assigned = [open_ticket(session_factory, settings, county.a1)[1] for _ in range(3)]
    assert sorted(assigned) == ["W1", "W1", "W2"]
    assert assigned[0] == "W1"  # most spare capacity first
    _, worker, timeline = open_ticket(session_factory, settings, county.a1)
    assert worker == "W3"  # the neighbour cell's worker
    assert timeline == ["created", "overload_warning", "dispatched"]
    # Finishing a task frees capacity in the cell again.
    with session_factory() as session, session.begin():
        first = session.scalars(select(Ticket).where(Ticket.worker_id == topology.get_worker(session, "W2").id)).one()
        service.apply_event(session, settings, first.ticket_no, event="cancel", actor="test")
    assert open_ticket(session_factory, settings, county.a1)[1] == "W2"


def test_off_duty_workers_get_nothing(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    with session_factory() as session, session.begin():
        topology.get_worker(session, "W1").on_duty = False
    assert open_ticket(session_factory, settings, county.a1)[1] == "W2"


def test_nobody_on_duty_leaves_the_ticket_received_until_escalation(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    with session_factory() as session, session.begin():
        for code in ("W1", "W2", "W3", "S1"):
            topology.get_worker(session, code).on_duty = False
    ticket_no, worker, timeline = open_ticket(session_factory, settings, county.a1)
    assert worker == "" and timeline == ["created", "no_worker_available"]
    with session_factory() as session, session.begin():
        topology.get_worker(session, "W2").on_duty = True
        service.get_ticket(session, ticket_no).created_at = clock.now() - timedelta(minutes=30)
    with session_factory() as session, session.begin():
        assert service.escalate_overdue(session, settings) == [ticket_no]
        assert service.get_ticket(session, ticket_no).status == "dispatched"


def test_tickets_not_accepted_in_time_are_escalated_once(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    late, _, _ = open_ticket(session_factory, settings, county.a1)
    fresh, _, _ = open_ticket(session_factory, settings, county.a1)
    with session_factory() as session, session.begin():
        service.get_ticket(session, late).dispatched_at = clock.now() - timedelta(minutes=11)
    for expected in ([late], []):
        with session_factory() as session, session.begin():
            assert service.escalate_overdue(session, settings) == expected
    with session_factory() as session:
        timeline = [e.type for e in service.read(session, service.get_ticket(session, late)).timeline]
        pushes = {m.dedup_key: m for m in session.scalars(select(OutboxMessage))}
    assert timeline[-1] == "escalated"
    assert pushes[f"ticket:{late}:escalated:W3"].template == "worker_task_escalated"  # backup
    assert f"ticket:{late}:escalated:S1" in pushes  # the cell's supervisor
    assert not any(k.startswith(f"ticket:{fresh}:escalated") for k in pushes)


def test_a_customer_placed_in_another_cell_is_served_by_that_cell(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    """The customer's own grid cell wins over their transformer's (the override of the data model)."""
    with session_factory() as session, session.begin():
        customer = customers.get_customer(session, county.a1)
        customer.grid_cell_id = topology.get_worker(session, "W3").grid_cell_id
    assert open_ticket(session_factory, settings, county.a1)[1] == "W3"


def test_two_overlapping_escalation_runs_escalate_each_ticket_once_and_neither_fails(
    session_factory: sessionmaker[Session], settings: Settings, county: County
) -> None:
    """Two notifiers run `ticket_escalation` at the same time: the first has escalated and holds its
    transaction open; the second, run as the notifier runs it, leaves the tickets the first holds
    (PostgreSQL) or waits for its writer turn and then finds nothing left (SQLite). Neither run
    fails (a failed run is a failed job and an alert); each overdue ticket has one `escalated` line
    and one push per person told, the ticket with nobody to tell included, and the ticket nobody
    could take is dispatched again once."""
    with session_factory() as session, session.begin():
        for code in ("W1", "W2", "W3", "S1"):
            topology.get_worker(session, code).on_duty = False
    waiting, _, _ = open_ticket(session_factory, settings, county.a2)
    with session_factory() as session, session.begin():
        for code in ("W1", "W2", "W3", "S1"):
            topology.get_worker(session, code).on_duty = True
        service.get_ticket(session, waiting).created_at = clock.now() - timedelta(minutes=30)
    late, _, _ = open_ticket(session_factory, settings, county.a1)
    unwatched, worker, _ = open_ticket(session_factory, settings, county.a3)
    assert worker == "W3"  # cell C2 has no supervisor
    with session_factory() as session, session.begin():
        for ticket_no in (late, unwatched):
            service.get_ticket(session, ticket_no).dispatched_at = clock.now() - timedelta(minutes=11)
        service.get_ticket(session, unwatched).backup_worker_id = None  # nobody to tell

    escalated, release = threading.Event(), threading.Event()

    def escalate_and_hold(session: Session, settings: Settings) -> list[str]:
        numbers = service.escalate_overdue(session, settings)
        escalated.set()
        release.wait(30)
        return numbers

    [job] = [job for job in scheduled.JOBS if job.name == "ticket_escalation"]
    outcomes: dict[str, object] = {}

    def run(name: str, runner: Run) -> None:
        try:
            outcomes[name] = runner(session_factory, settings, 100)
        except Exception as exc:  # noqa: BLE001 - what the notifier counts as a failed job
            outcomes[name] = exc

    first = threading.Thread(target=run, args=("first", in_one_transaction(escalate_and_hold)))
    first.start()
    assert escalated.wait(30)
    second = threading.Thread(target=run, args=("second", job.run))
    second.start()
    second.join(3)  # PostgreSQL: over at once; SQLite: waiting for its writer turn
    release.set()
    first.join(30)
    second.join(30)

    assert sorted(outcomes["first"]) == sorted([waiting, late, unwatched])  # type: ignore[call-overload]
    assert outcomes["second"] == []
    with session_factory() as session:
        lines = {
            ticket_no: [e.type for e in service.read(session, service.get_ticket(session, ticket_no)).timeline]
            for ticket_no in (waiting, late, unwatched)
        }
        escalations = [m.dedup_key for m in session.scalars(select(OutboxMessage)) if ":escalated:" in m.dedup_key]
    assert lines[late].count("escalated") == 1 and lines[unwatched].count("escalated") == 1
    assert lines[waiting].count("dispatched") == 1
    assert f"ticket:{late}:escalated:S1" in escalations
    assert not any(key.startswith(f"ticket:{unwatched}:") for key in escalations)
