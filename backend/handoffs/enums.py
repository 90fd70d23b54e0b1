"""The states of a hand-off and the lines of its conversation; written only by `service`."""

from __future__ import annotations

from enum import Enum


class HandoffStatus(str, Enum):
    #: in the queue, no agent yet
    waiting = "waiting"
    #: an agent (or a WeChat kf account) is talking to the customer
    active = "active"
    #: the agent handed the conversation back to the assistant, with a summary
    released = "released"
    #: the agent ended the service
    closed = "closed"
    #: the customer said they no longer need a person
    cancelled = "cancelled"
    #: nobody could take it (outside service hours, no agent on duty): nothing was queued
    unavailable = "unavailable"
    #: sent to the business customer's own manager (客户经理), not to the queue
    manager = "manager"


OPEN = (HandoffStatus.waiting, HandoffStatus.active)
ENDED = (
    HandoffStatus.released, HandoffStatus.closed, HandoffStatus.cancelled, HandoffStatus.unavailable,
    HandoffStatus.manager,
)  # fmt: skip


class UnavailableReason(str, Enum):
    no_agent_on_duty = "no_agent_on_duty"
    outside_hours = "outside_hours"


class LineKind(str, Enum):
    customer = "customer"
    bot = "bot"
    agent = "agent"
    #: something that happened (claimed, transferred, a ticket opened…), shown to staff only
    event = "event"


class Event(str, Enum):
    queued = "queued"
    claimed = "claimed"
    transferred = "transferred"
    requeued = "requeued"
    released = "released"
    closed = "closed"
    cancelled = "cancelled"
    ticket_opened = "ticket_opened"
    complaint_opened = "complaint_opened"
    callback_created = "callback_created"
    #: WeChat's own customer service took, passed on or ended the session (kf mode)
    kf_session = "kf_session"
