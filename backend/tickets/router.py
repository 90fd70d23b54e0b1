"""`/repair-reports` and `/tickets`: the assistant reports and follows up; workers move their tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query
from sqlalchemy.orm import Session

from backend.access import service as access
from backend.access.deps import ReaderDep
from backend.core.deps import Role, SessionDep, SettingsDep, caller_role, require
from backend.core.errors import Forbidden, error_responses
from backend.core.idempotency import run_once
from backend.core.schemas import NO_NUL
from backend.core.tx import FactoryDep, TxSessionDep
from backend.customers import service as customers
from backend.faults import service as faults
from backend.repairs import service as repairs
from backend.repairs.schemas import RepairReportCreate, RepairReportRead
from backend.tickets import complaints, service
from backend.tickets.schemas import (
    ComplaintCreate,
    PhotoCreate,
    PraiseCreate,
    RatingCreate,
    TicketAssign,
    TicketEventCreate,
    TicketRead,
    WithdrawalCreate,
)
from backend.topology import service as topology
from backend.topology.scope import ScopeDep, WorkerScope

router = APIRouter(tags=["tickets"])
TicketNo = Annotated[str, Path(pattern=r"^QX\d{12}$")]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=255)]
CallerRole = Annotated[Role, Depends(caller_role)]


def actor_of(role: Role) -> str:
    return {Role.admin: "admin", Role.actions: "assistant", Role.worker: "worker", Role.integration: "integration"}[
        role
    ]


@router.post("/repair-reports", dependencies=[require(Role.actions)], responses=error_responses(400, 404, 409, 503))
def create_repair_report(
    data: RepairReportCreate,
    idempotency_key: IdempotencyKey,
    factory: FactoryDep,
    settings: SettingsDep,
    role: CallerRole,
) -> RepairReportRead:
    answer = run_once(
        factory,
        scope="repair_report",
        key=idempotency_key,
        body=data.model_dump(mode="json"),
        work=lambda session: repairs.handle_report(session, settings, data, actor=actor_of(role)),
    )
    return RepairReportRead.model_validate(answer)


@router.post(
    "/tickets", status_code=201, dependencies=[require(Role.actions)], responses=error_responses(400, 404, 409, 503)
)
def create_complaint(
    data: ComplaintCreate,
    idempotency_key: IdempotencyKey,
    factory: FactoryDep,
    settings: SettingsDep,
    role: CallerRole,
) -> TicketRead:
    answer = run_once(
        factory,
        scope="complaint",
        key=idempotency_key,
        body=data.model_dump(mode="json"),
        work=lambda session: complaints.handle_complaint(session, settings, data, actor=actor_of(role)),
    )
    return TicketRead.model_validate(answer)


@router.get("/tickets", dependencies=[require(Role.actions, Role.worker)], responses=error_responses(403, 404))
def list_tickets(
    session: SessionDep,
    reader: ReaderDep,
    scope: ScopeDep,
    account_no: Annotated[str, Query(pattern=r"^\d{10}$")],
    open: bool = False,
) -> list[TicketRead]:
    customer = customers.get_customer_in_scope(session, account_no, scope)
    access.require_customer(session, reader, customer)
    return [service.read(session, t) for t in service.list_for_customer(session, customer, open_only=open)]


@router.get("/dispatch-queue", dependencies=[require(Role.admin)])
def dispatch_queue(session: SessionDep) -> list[TicketRead]:
    """Tickets nobody is assigned to (no matching customer, nobody on duty), oldest first."""
    return [service.read(session, t) for t in service.dispatch_queue(session)]


@router.post(
    "/tickets/{ticket_no}/assign", dependencies=[require(Role.admin)], responses=error_responses(400, 404, 409)
)
def assign(
    ticket_no: TicketNo, data: TicketAssign, session: TxSessionDep, settings: SettingsDep, role: CallerRole
) -> TicketRead:
    ticket = service.assign_manually(session, settings, ticket_no, worker_code=data.worker_code, actor=actor_of(role))
    return service.read(session, ticket)


@router.get(
    "/tickets/{ticket_no}", dependencies=[require(Role.actions, Role.worker)], responses=error_responses(403, 404)
)
def get_ticket(ticket_no: TicketNo, session: SessionDep, reader: ReaderDep, scope: ScopeDep) -> TicketRead:
    """To its reporter, the account's owner, or after the phone check (403 `verification_required`);
    to a worker within its scope."""
    ticket = service.get_ticket(session, ticket_no)
    service.check_worker_access(session, ticket, scope, act=False)
    access.require_ticket(session, reader, ticket)
    return service.read(session, ticket)


def acting_worker(session: Session, ticket_no: str, worker_code: str | None, scope: WorkerScope | None) -> str | None:
    """The worker an event or photo is recorded for: a worker request acts as itself, on a ticket
    of its scope."""
    if scope is None:
        return worker_code
    if worker_code not in (None, scope.code):
        raise Forbidden("网格员只能以本人身份处理工单", code="not_this_worker")
    service.check_worker_access(session, service.get_ticket(session, ticket_no), scope, act=True)
    return scope.code


@router.post(
    "/tickets/{ticket_no}/events",
    dependencies=[require(Role.actions, Role.worker)],
    responses=error_responses(400, 404, 409),
)
def add_event(
    ticket_no: TicketNo,
    data: TicketEventCreate,
    session: TxSessionDep,
    settings: SettingsDep,
    role: CallerRole,
    scope: ScopeDep,
) -> TicketRead:
    ticket = faults.apply_ticket_event(
        session,
        settings,
        ticket_no,
        event=data.type,
        actor=actor_of(role),
        worker_code=acting_worker(session, ticket_no, data.worker_code, scope),
        note=data.note,
    )
    return service.read(session, ticket)


@router.post(
    "/tickets/{ticket_no}/rating", dependencies=[require(Role.actions)], responses=error_responses(400, 403, 404, 409)
)
def rate(
    ticket_no: TicketNo, data: RatingCreate, session: TxSessionDep, role: CallerRole, reader: ReaderDep
) -> TicketRead:
    """Only the ticket's reporter or the account's owner rates it."""
    access.require_ticket(session, reader, service.get_ticket(session, ticket_no))
    ticket = service.rate(session, ticket_no, score=data.score, comment=data.comment, actor=actor_of(role))
    return service.read(session, ticket)


@router.post(
    "/tickets/{ticket_no}/praise", dependencies=[require(Role.actions)], responses=error_responses(400, 403, 404)
)
def praise(
    ticket_no: TicketNo, data: PraiseCreate, session: TxSessionDep, role: CallerRole, reader: ReaderDep
) -> TicketRead:
    """The customer's praise of the service, passed on to the ticket's worker; only the ticket's
    reporter or the account's owner gives it."""
    ticket = service.get_ticket(session, ticket_no)
    access.require_ticket(session, reader, ticket)
    service.praise(session, ticket, text=data.text, actor=actor_of(role))
    return service.read(session, ticket)


@router.post(
    "/tickets/{ticket_no}/withdrawal",
    dependencies=[require(Role.actions)],
    responses=error_responses(400, 403, 404, 409),
)
def withdraw(
    ticket_no: TicketNo,
    data: WithdrawalCreate,
    session: TxSessionDep,
    settings: SettingsDep,
    role: CallerRole,
    reader: ReaderDep,
) -> TicketRead:
    """The customer calls their repair off (power came back): cancelled, its worker told not to
    come; only the ticket's reporter or the account's owner does it."""
    access.require_ticket(session, reader, service.get_ticket(session, ticket_no))
    ticket = service.withdraw_by_customer(session, settings, ticket_no, reason=data.reason, actor=actor_of(role))
    return service.read(session, ticket)


@router.post(
    "/tickets/{ticket_no}/photos",
    status_code=201,
    dependencies=[require(Role.actions, Role.worker)],
    responses=error_responses(400, 404),
)
def add_photo(
    ticket_no: TicketNo, data: PhotoCreate, session: TxSessionDep, role: CallerRole, scope: ScopeDep
) -> TicketRead:
    acting_worker(session, ticket_no, None, scope)
    ticket = service.add_photo(session, ticket_no, media_id=data.media_id, url=data.url, actor=actor_of(role))
    return service.read(session, ticket)


@router.get(
    "/workers/{code}/tickets", dependencies=[require(Role.actions, Role.worker)], responses=error_responses(404)
)
def worker_tickets(
    code: Annotated[str, Path(max_length=32, pattern=NO_NUL)], session: SessionDep, scope: ScopeDep, open: bool = True
) -> list[TicketRead]:
    worker = topology.get_worker(session, code)
    if (
        scope is not None
        and code != scope.code
        and not (scope.is_supervisor and worker.grid_cell_id == scope.grid_cell_id)
    ):
        raise Forbidden("只能查看本人（网格长：本网格）的任务", code="not_this_worker")
    return [service.read(session, t) for t in service.list_for_worker(session, worker, open_only=open)]
