"""Hand-off request and answer shapes (docs/contracts.md, "Hand-offs")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.core.schemas import RequestModel
from backend.handoffs.text import AGENT_TEXT_MAX, SUMMARY_MAX, clean_agent_text
from backend.tickets.schemas import Channel

ClientKey = Field(default=None, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class TranscriptLine(RequestModel):
    model_config = ConfigDict(populate_by_name=True)

    sender: Literal["customer", "bot", "agent"] = Field(alias="from")
    text: str = Field(max_length=4000)
    at: datetime


class HandoffCreate(RequestModel):
    channel: Channel
    sender_id: str = Field(min_length=1, max_length=64)
    account_no: str | None = Field(default=None, pattern=r"^\d{10}$")
    #: what the customer wanted, in the assistant's words (the queue shows it)
    reason: str | None = Field(default=None, max_length=500)
    transcript: list[TranscriptLine] = Field(default_factory=list, max_length=200)
    #: "manager": a business customer asked for their customer manager (客户经理)
    target: Literal["queue", "manager"] = "queue"


class ManagerContact(BaseModel):
    name: str
    phone_masked: str


class HandoffCreated(BaseModel):
    id: int
    status: Literal["waiting", "active", "unavailable", "manager"]
    queue_position: int | None = None
    estimated_wait_minutes: int | None = None
    agents_online: int
    unavailable_reason: Literal["no_agent_on_duty", "outside_hours"] | None = None
    manager: ManagerContact | None = None


class CustomerMessage(RequestModel):
    text: str = Field(min_length=1, max_length=4000)
    at: datetime


class StatusRead(BaseModel):
    status: str


class PassedRead(StatusRead):
    #: the first message passed on in this hand-off: the customer is told so (once)
    acknowledge: bool


class TranscriptRead(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    sender: Literal["customer", "bot", "agent"] = Field(serialization_alias="from")
    text: str
    at: datetime
    #: the agent who wrote it (agent lines)
    agent: str | None = None
    #: an agent's reply on its way to the customer: `pending`, `sent` or `failed`
    delivery: Literal["pending", "sent", "failed"] | None = None
    #: how it went out: `wechat_cs` (customer-service message), `wechat_template`, `sms`
    delivery_channel: str | None = None


class TimelineRead(BaseModel):
    event: str
    at: datetime
    by: str | None
    note: str


class AgentRead(BaseModel):
    username: str
    name: str


class CustomerContext(BaseModel):
    """What the queue shows about the customer (accounts masked)."""

    name: str | None
    accounts_masked: list[str]
    open_tickets: list[str]
    outages: list[PanelOutage]


class HandoffItem(BaseModel):
    id: int
    sender_id: str
    channel: str
    status: str
    target: str
    waiting_since: datetime
    reason: str | None
    account_masked: str | None
    agent: AgentRead | None
    kf_account: str | None
    queue_position: int | None
    updated_at: datetime
    #: the customer as the queue shows them (listings by status only)
    customer: CustomerContext | None = None


class HandoffRead(HandoffItem):
    estimated_wait_minutes: int | None
    unavailable_reason: str | None
    summary: str | None
    claimed_at: datetime | None
    ended_at: datetime | None
    manager: ManagerContact | None
    transcript: list[TranscriptRead]
    timeline: list[TimelineRead]


class AgentText(RequestModel):
    """Text an agent writes: no markup, no control characters, at most AGENT_TEXT_MAX characters."""

    @field_validator("text", check_fields=False)
    @classmethod
    def _clean(cls, value: str) -> str:
        cleaned = clean_agent_text(value)
        if not cleaned:
            raise ValueError("is empty once markup and control characters are removed")
        return cleaned


class AgentReply(AgentText):
    text: str = Field(min_length=1, max_length=AGENT_TEXT_MAX)
    #: the console's key of this reply: sending it again (a retry) sends nothing twice
    client_key: str | None = ClientKey


class Claim(RequestModel):
    #: the agent's username (a signed-in agent claims for themselves; a supervisor may assign)
    agent: str = Field(min_length=3, max_length=32)


class Summary(RequestModel):
    #: one line the customer may be told: what was done
    summary: str = Field(min_length=2, max_length=SUMMARY_MAX)

    @field_validator("summary")
    @classmethod
    def _one_line(cls, value: str) -> str:
        cleaned = clean_agent_text(value, one_line=True)
        if len(cleaned) < 2:
            raise ValueError("needs a few words once markup and control characters are removed")
        return cleaned


class CloseRequest(RequestModel):
    summary: str | None = Field(default=None, max_length=SUMMARY_MAX)

    @field_validator("summary")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return clean_agent_text(value, one_line=True) or None if value is not None else None


class Transfer(RequestModel):
    #: the agent to take over; null puts the customer back in the queue, in their first place
    to: str | None = Field(default=None, min_length=3, max_length=32)
    note: str | None = Field(default=None, max_length=200)


class RepairForCustomer(AgentText):
    text: str = Field(min_length=2, max_length=500)
    kind: Literal["repair", "hazard"] = "repair"
    address: str | None = Field(default=None, min_length=2, max_length=200)
    client_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class ComplaintForCustomer(AgentText):
    text: str = Field(min_length=2, max_length=1000)
    client_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class CallbackForCustomer(AgentText):
    text: str = Field(min_length=2, max_length=500)
    phone: str = Field(pattern=r"^1[3-9]\d{9}$")


class AgentLoad(BaseModel):
    username: str
    name: str
    role: str
    accepting: bool
    conversations: int


class Overview(BaseModel):
    """Supervision: who is online, how many each holds, and how long customers wait."""

    agents_online: int
    agents: list[AgentLoad]
    waiting: int
    active: int
    longest_wait_seconds: int | None
    average_handle_minutes: float
    waits: list[int]
    alert_after_minutes: int


class KfEvent(RequestModel):
    """A kf session event the WeChat channel received (kf mode)."""

    event: Literal["kf_create_session", "kf_close_session", "kf_switch_session"]
    openid: str = Field(min_length=1, max_length=64)
    kf_account: str | None = Field(default=None, max_length=64)
    to_kf_account: str | None = Field(default=None, max_length=64)


class PanelCustomer(BaseModel):
    name: str
    account_masked: str
    address: str
    phone_masked: str
    customer_type: str


class PanelTicket(BaseModel):
    ticket_no: str
    kind: str
    status: str
    created_at: datetime
    description: str
    worker_name: str | None


class PanelBill(BaseModel):
    account_masked: str
    period: str
    kwh: int
    amount: float
    paid: bool
    arrears: float


class PanelApplication(BaseModel):
    application_no: str
    stage_label: str
    state: str
    deadline: datetime


class PanelOutage(BaseModel):
    kind: str
    cause: str
    starts_at: datetime
    estimated_restore_at: datetime


class CustomerPanel(BaseModel):
    """What the agent sees beside a conversation: the customer's records (accounts and phones masked)."""

    customers: list[PanelCustomer]
    tickets: list[PanelTicket]
    bills: list[PanelBill]
    applications: list[PanelApplication]
    outages: list[PanelOutage]
