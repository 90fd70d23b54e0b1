"""The statuses of a ticket; written only by `service` (the moves are in `state`)."""

from __future__ import annotations

from enum import Enum


class TicketStatus(str, Enum):
    #: taken, nobody assigned yet (or back from a dismissed fault)
    received = "received"
    #: assigned to a worker, not yet accepted
    dispatched = "dispatched"
    #: the worker took it on
    accepted = "accepted"
    #: the worker is on site
    arrived = "arrived"
    #: the fault is fixed; the customer may rate it
    resolved = "resolved"
    #: done for good (rated, or closed by staff)
    closed = "closed"
    #: called off before it was resolved
    cancelled = "cancelled"
    #: a repair report folded into its fault's one ticket (`merged_into_id`)
    merged = "merged"
