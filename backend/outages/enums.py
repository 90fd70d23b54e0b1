"""The statuses of an outage in the pool; written only by `service`."""

from __future__ import annotations

from enum import Enum


class OutageStatus(str, Enum):
    #: published, starting later (planned or temporary work)
    announced = "announced"
    #: the power is off now
    active = "active"
    #: a fault the reports or device events point to, not yet confirmed by a worker (研判)
    suspected = "suspected"
    #: the power is back
    restored = "restored"
    #: called off by the dispatcher
    cancelled = "cancelled"
    #: a suspected fault that turned out not to be one
    dismissed = "dismissed"
    #: a suspected fault folded into another outage
    merged = "merged"
