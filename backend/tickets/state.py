"""The ticket state machine: which event moves which status where.

received → dispatched → accepted → arrived → resolved → closed, or cancelled before resolution.
A repair ticket whose report turns out to be part of a fault (研判) is `merged` into the fault's
ticket before anybody is on site; if the fault is dismissed it is dispatched again on its own.
"""

from __future__ import annotations

from backend.tickets.enums import TicketStatus

_OPEN = (TicketStatus.received, TicketStatus.dispatched, TicketStatus.accepted, TicketStatus.arrived)

STATUSES = tuple(status.value for status in TicketStatus)
OPEN_STATUSES = tuple(status.value for status in _OPEN)
# Statuses a repair ticket can be merged into a fault ticket from: nobody is on site yet.
MERGEABLE_STATUSES = tuple(
    status.value for status in (TicketStatus.received, TicketStatus.dispatched, TicketStatus.accepted)
)
# Statuses a customer can call their repair off from (power came back): nobody is on site yet.
WITHDRAWABLE_STATUSES = MERGEABLE_STATUSES
# Statuses that count against a worker's capacity.
LOAD_STATUSES = tuple(status.value for status in (TicketStatus.dispatched, TicketStatus.accepted, TicketStatus.arrived))

# (status, event) → new status. Anything else is an illegal transition.
TRANSITIONS: dict[tuple[str, str], TicketStatus] = {
    (TicketStatus.received.value, "dispatch"): TicketStatus.dispatched,
    (TicketStatus.dispatched.value, "accept"): TicketStatus.accepted,
    (TicketStatus.accepted.value, "arrive"): TicketStatus.arrived,
    (TicketStatus.arrived.value, "resolve"): TicketStatus.resolved,
    (TicketStatus.resolved.value, "close"): TicketStatus.closed,
    **{(status.value, "cancel"): TicketStatus.cancelled for status in _OPEN},
}

# Timeline event types that set the status, and the status each sets.
STATUS_EVENTS = {
    "created": TicketStatus.received,
    "dispatched": TicketStatus.dispatched,
    "accepted": TicketStatus.accepted,
    "arrived": TicketStatus.arrived,
    "resolved": TicketStatus.resolved,
    "closed": TicketStatus.closed,
    "cancelled": TicketStatus.cancelled,
    "merged": TicketStatus.merged,
    "unmerged": TicketStatus.received,
}
# The timeline event written for each API event.
EVENT_RECORDS = {
    "dispatch": "dispatched",
    "accept": "accepted",
    "arrive": "arrived",
    "resolve": "resolved",
    "close": "closed",
    "cancel": "cancelled",
}


def next_status(status: str, event: str) -> TicketStatus | None:
    return TRANSITIONS.get((status, event))


def status_from_timeline(event_types: list[str]) -> TicketStatus | None:
    """The status the timeline explains: the one set by its last status-setting event."""
    status: TicketStatus | None = None
    for event_type in event_types:
        status = STATUS_EVENTS.get(event_type, status)
    return status
