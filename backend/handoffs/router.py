"""`/handoffs`: the assistant hands customers to people (actions token); agents take, answer, pass
on and end those conversations (a signed-in agent, or the admin token). docs/contracts.md has the
shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy.orm import Session

from backend.callbacks import service as callbacks
from backend.callbacks.schemas import CallbackCreate, CallbackCreated
from backend.core import clock
from backend.core.deps import Role, SessionDep, SettingsDep
from backend.core.errors import Invalid, error_responses
from backend.core.idempotency import run_once
from backend.core.schemas import NO_NUL
from backend.core.tx import FactoryDep, TxSessionDep
from backend.handoffs import reads, service
from backend.handoffs.enums import Event
from backend.handoffs.schemas import (
    AgentReply,
    CallbackForCustomer,
    Claim,
    CloseRequest,
    ComplaintForCustomer,
    CustomerMessage,
    CustomerPanel,
    HandoffCreate,
    HandoffCreated,
    HandoffItem,
    HandoffRead,
    KfEvent,
    Overview,
    PassedRead,
    RepairForCustomer,
    StatusRead,
    Summary,
    TranscriptRead,
    Transfer,
)
from backend.handoffs.service import Actor
from backend.handoffs.wechat_kf import KfDesk
from backend.repairs import service as repairs
from backend.repairs.schemas import RepairReportCreate, RepairReportRead
from backend.staff import service as staff
from backend.staff.access import Caller, allow
from backend.staff.roles import AGENT_ROLES, VIEW_ROLES
from backend.tickets import complaints
from backend.tickets.schemas import ComplaintCreate, TicketRead

router = APIRouter(tags=["handoffs"])
HandoffId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Assistant = Annotated[Caller, allow(Role.actions)]
Viewer = Annotated[Caller, allow(Role.actions, staff=VIEW_ROLES)]
StaffViewer = Annotated[Caller, allow(staff=VIEW_ROLES)]
Agent = Annotated[Caller, allow(staff=AGENT_ROLES)]
ACTION_ERRORS = error_responses(400, 404, 409)


def actor(caller: Caller) -> Actor:
    if caller.staff is not None:
        return Actor(caller.staff.staff_id, caller.staff.role, caller.staff.name)
    return Actor(None, None, "管理员")


def kf_desk(request: Request) -> KfDesk | None:
    desk: KfDesk | None = request.app.state.kf_desk
    return desk


# --- the assistant ------------------------------------------------------------------------------


@router.post("/handoffs", status_code=201, responses=error_responses(400, 404, 503))
def request_handoff(
    data: HandoffCreate, caller: Assistant, session: TxSessionDep, settings: SettingsDep, request: Request
) -> HandoffCreated:
    """Queue the customer for a person: `waiting` with a real position and wait; `unavailable`
    (nothing queued) outside service hours or with nobody on duty; `manager` when a business
    customer's manager was sent the request; `active` when WeChat's own customer service took it."""
    requested = service.request(session, settings, data, kf=kf_desk(request))
    return reads.created(session, settings, requested)


@router.get("/handoffs", responses=error_responses(400))
def list_handoffs(
    caller: Viewer,
    session: SessionDep,
    sender_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    active: bool = True,
    status: Literal["waiting", "active", "closed"] | None = None,
) -> list[HandoffItem]:
    """A sender's hand-offs (`sender_id`, open ones with `active=true`), or the queue by `status`
    (`closed`: every ended one, newest first), each with the customer as the queue shows them."""
    if sender_id is not None:
        return [reads.item(session, h) for h in service.list_for_sender(session, sender_id, active_only=active)]
    if status is None:
        raise Invalid("请指定 sender_id 或 status", code="missing_filter")
    return reads.queue_items(session, service.list_by_status(session, status))


@router.get("/handoffs/overview")
def overview(caller: StaffViewer, session: SessionDep, settings: SettingsDep) -> Overview:
    """Supervision: agents online, conversations each holds, and how long customers wait."""
    return reads.overview(session, settings)


@router.get("/handoffs/{handoff_id}", responses=error_responses(404))
def get_handoff(handoff_id: HandoffId, caller: Viewer, session: SessionDep, settings: SettingsDep) -> HandoffRead:
    return reads.detail(session, settings, service.get(session, handoff_id))


@router.post("/handoffs/{handoff_id}/customer-messages", responses=error_responses(400, 404))
def customer_message(
    handoff_id: HandoffId, data: CustomerMessage, caller: Assistant, session: TxSessionDep
) -> PassedRead:
    """What the customer wrote while waiting or with an agent: into the conversation, live to the
    agent. Answers the hand-off's status (anything but `waiting`/`active` means nobody took it in)
    and whether this is the first message passed on (the customer is told so, once)."""
    passed = service.add_customer_message(session, handoff_id, data.text, data.at)
    return PassedRead(status=passed.handoff.status, acknowledge=passed.acknowledge)


@router.post("/handoffs/{handoff_id}/cancel", responses=ACTION_ERRORS)
def cancel(handoff_id: HandoffId, caller: Assistant, session: TxSessionDep) -> StatusRead:
    """The customer said they no longer need a person (不用了)."""
    return StatusRead(status=service.cancel(session, handoff_id).status)


@router.post("/handoffs/wechat-kf-events", status_code=204, responses=error_responses(400))
def wechat_kf_event(data: KfEvent, caller: Assistant, session: TxSessionDep) -> None:
    """The WeChat channel reports a kf session event (kf mode): a closed session ends the hand-off."""
    service.kf_event(
        session, event=data.event, openid=data.openid, kf_account=data.kf_account, to_kf_account=data.to_kf_account
    )


# --- agents -------------------------------------------------------------------------------------


@router.get("/handoffs/{handoff_id}/context", responses=error_responses(404))
def customer_panel(
    handoff_id: HandoffId, caller: StaffViewer, session: SessionDep, settings: SettingsDep
) -> CustomerPanel:
    """The customer's tickets, bills, applications and outages, beside the conversation."""
    return reads.panel(session, settings, service.get(session, handoff_id))


@router.post("/handoffs/{handoff_id}/claim", responses=ACTION_ERRORS)
def claim(
    handoff_id: HandoffId, data: Claim, caller: Agent, session: TxSessionDep, settings: SettingsDep
) -> HandoffRead:
    """Take the conversation: one agent only; a second claim is refused with who has it."""
    agent = staff.get_staff(session, data.agent)
    handoff = service.claim(session, handoff_id, agent, by=actor(caller))
    return reads.detail(session, settings, handoff)


@router.post("/handoffs/{handoff_id}/messages", status_code=201, responses=ACTION_ERRORS)
def agent_message(handoff_id: HandoffId, data: AgentReply, caller: Agent, session: TxSessionDep) -> TranscriptRead:
    """The agent's reply, delivered on the customer's channel; the same `client_key` again sends
    nothing twice. Refused (409) once the conversation was released or is held by another agent."""
    line = service.reply(session, handoff_id, by=actor(caller), text=data.text, client_key=data.client_key)
    return TranscriptRead(
        sender="agent", text=line.text, at=clock.to_local(line.at), agent=caller.staff.name if caller.staff else None,  # type: ignore[arg-type]
        delivery="pending" if line.outbox_id else None,
    )  # fmt: skip


@router.post("/handoffs/{handoff_id}/release", responses=ACTION_ERRORS)
def release(
    handoff_id: HandoffId, data: Summary, caller: Agent, session: TxSessionDep, settings: SettingsDep
) -> HandoffRead:
    """Back to the assistant with a one-line summary; the customer is told once."""
    handoff = service.release(session, handoff_id, by=actor(caller), summary=data.summary)
    return reads.detail(session, settings, handoff)


@router.post("/handoffs/{handoff_id}/close", responses=ACTION_ERRORS)
def close(
    handoff_id: HandoffId, data: CloseRequest, caller: Agent, session: TxSessionDep, settings: SettingsDep
) -> HandoffRead:
    handoff = service.close(session, handoff_id, by=actor(caller), summary=data.summary)
    return reads.detail(session, settings, handoff)


@router.post("/handoffs/{handoff_id}/transfer", responses=ACTION_ERRORS)
def transfer(
    handoff_id: HandoffId, data: Transfer, caller: Agent, session: TxSessionDep, settings: SettingsDep
) -> HandoffRead:
    """To another agent online, or (`to` null) back to the queue in the customer's first place."""
    handoff = service.transfer(session, settings, handoff_id, by=actor(caller), to=data.to, note=data.note)
    return reads.detail(session, settings, handoff)


def _for_customer(session: Session, handoff_id: int, caller: Caller, *, doing: str) -> tuple[Any, Actor]:
    handoff = service.get(session, handoff_id)
    by = actor(caller)
    service.check_holder(session, handoff, by, doing=doing)
    return handoff, by


@router.post("/handoffs/{handoff_id}/repair-reports", responses=ACTION_ERRORS)
def repair_for_customer(
    handoff_id: HandoffId, data: RepairForCustomer, caller: Agent, factory: FactoryDep, settings: SettingsDep
) -> RepairReportRead:
    """A repair report for the customer, through the same service as the assistant's."""

    def work(session: Session) -> dict[str, Any]:
        handoff, by = _for_customer(session, handoff_id, caller, doing="报修")
        report = RepairReportCreate(
            account_no=handoff.account_no,
            phone=handoff.sender_id if handoff.channel == "sms" and not handoff.account_no else None,
            address=data.address,
            channel=handoff.channel,
            sender_id=handoff.sender_id,
            description=data.text,
            kind=data.kind,
        )
        answer = repairs.handle_report(session, settings, report, actor=caller.actor)
        number = answer.get("ticket_no") or "（已并入停电事件）"
        service.note(session, handoff, Event.ticket_opened, f"{by.label} 为客户报修：{number}", by=by)
        return answer

    body = data.model_dump(mode="json") | {"handoff_id": handoff_id}
    answer = run_once(factory, scope="handoff_repair", key=data.client_key, body=body, work=work)
    return RepairReportRead.model_validate(answer)


@router.post("/handoffs/{handoff_id}/complaints", status_code=201, responses=ACTION_ERRORS)
def complaint_for_customer(
    handoff_id: HandoffId, data: ComplaintForCustomer, caller: Agent, factory: FactoryDep, settings: SettingsDep
) -> TicketRead:
    """A complaint ticket for the customer, with the complaint's contact and answer deadlines."""

    def work(session: Session) -> dict[str, Any]:
        handoff, by = _for_customer(session, handoff_id, caller, doing="登记投诉")
        complaint = ComplaintCreate(
            kind="complaint", account_no=handoff.account_no, channel=handoff.channel, sender_id=handoff.sender_id,
            description=data.text,
        )  # fmt: skip
        answer = complaints.handle_complaint(session, settings, complaint, actor=caller.actor)
        service.note(session, handoff, Event.complaint_opened, f"{by.label} 登记投诉：{answer['ticket_no']}", by=by)
        return answer

    body = data.model_dump(mode="json") | {"handoff_id": handoff_id}
    answer = run_once(factory, scope="handoff_complaint", key=data.client_key, body=body, work=work)
    return TicketRead.model_validate(answer)


@router.post("/handoffs/{handoff_id}/callbacks", status_code=201, responses=ACTION_ERRORS)
def callback_for_customer(
    handoff_id: HandoffId, data: CallbackForCustomer, caller: Agent, session: TxSessionDep, settings: SettingsDep
) -> CallbackCreated:
    """A callback task for the customer (e.g. a question that needs looking into)."""
    handoff, by = _for_customer(session, handoff_id, caller, doing="创建回电")
    task = callbacks.create(
        session,
        settings,
        CallbackCreate(
            channel=handoff.channel,
            sender_id=handoff.sender_id,
            account_no=handoff.account_no,
            phone=data.phone,
            reason=data.text,
        ),
        actor=caller.actor,
        handoff_id=handoff.id,
    )
    deadline = clock.to_local(task.contact_deadline)
    service.note(
        session, handoff, Event.callback_created, f"{by.label} 创建回电任务，{deadline:%m月%d日%H:%M}前联系", by=by
    )  # type: ignore[str-format]
    return CallbackCreated(id=task.id, contact_deadline=deadline)  # type: ignore[arg-type]
