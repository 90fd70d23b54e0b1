"""The ticket state machine: which event moves which status where.

received → dispatched → accepted → arrived → resolved → closed, or cancelled before resolution.
A repair ticket whose report turns out to be part of a fault (研判) is `merged` into the fault's
ticket before anybody is on site; if the fault is dismissed it is dispatched again on its own.
"""

from __future__ import annotations

STATUSES = ("received", "dispatched", "accepted", "arrived", "resolved", "closed", "cancelled", "merged")
OPEN_STATUSES = ("received", "dispatched", "accepted", "arrived")
# Statuses a repair ticket can be merged into a fault ticket from: nobody is on site yet.
MERGEABLE_STATUSES = ("received", "dispatched", "accepted")
# Statuses that count against a worker's capacity.
LOAD_STATUSES = ("dispatched", "accepted", "arrived")

# (status, event) → new status. Anything else is an illegal transition.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("received", "dispatch"): "dispatched",
    ("dispatched", "accept"): "accepted",
    ("accepted", "arrive"): "arrived",
    ("arrived", "resolve"): "resolved",
    ("resolved", "close"): "closed",
    ("received", "cancel"): "cancelled",
    ("dispatched", "cancel"): "cancelled",
    ("accepted", "cancel"): "cancelled",
    ("arrived", "cancel"): "cancelled",
}

# Timeline event types that set the status, and the status each sets.
STATUS_EVENTS = {
    "created": "received",
    "dispatched": "dispatched",
    "accepted": "accepted",
    "arrived": "arrived",
    "resolved": "resolved",
    "closed": "closed",
    "cancelled": "cancelled",
    "merged": "merged",
    "unmerged": "received",
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


def next_status(status: str, event: str) -> str | None:
    return TRANSITIONS.get((status, event))


def status_from_timeline(event_types: list[str]) -> str | None:
    """The status the timeline explains: the one set by its last status-setting event."""
    status = None
    for event_type in event_types:
        status = STATUS_EVENTS.get(event_type, status)
    return status
