"""The queue's figures, from what is happening now: who is online, who holds how many
conversations, how long conversations took today, where a customer stands.

The wait estimate: agents online take up to `handoff_agent_concurrency` conversations each. A
customer with fewer people ahead than there are free places is taken within a minute; otherwise
the queue moves one place per (recent handling time / places), so the wait is the people ahead
beyond the free places, times that. The recent handling time is the mean of the last 50
conversations ended within a day (claim to end), `handoff_default_handle_minutes` before any.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.core import clock
from backend.core.config import Settings
from backend.handoffs.enums import HandoffStatus
from backend.handoffs.models import Handoff
from backend.staff import service as staff
from backend.staff.models import Staff
from backend.staff.roles import AGENT_ROLES

RECENT_CONVERSATIONS = 50


@dataclass(frozen=True)
class Capacity:
    #: agents online and accepting conversations
    online: int
    #: conversations agents hold now
    active: int
    #: mean minutes of a recent conversation
    handle_minutes: float
    places_per_agent: int

    @property
    def free_places(self) -> int:
        return max(0, self.online * self.places_per_agent - self.active)


def in_service_hours(settings: Settings) -> bool:
    return clock.within_daily_hours(clock.now(), settings.handoff_hours_start, settings.handoff_hours_end)


def accepting_agents(session: Session, settings: Settings) -> list[Staff]:
    return [s for s in staff.online(session, settings, roles=AGENT_ROLES) if s.accepting]


def recent_handle_minutes(session: Session, settings: Settings) -> float:
    since = clock.now() - timedelta(days=1)
    recent = (
        select(Handoff.claimed_at, Handoff.ended_at)
        .where(Handoff.ended_at >= since, Handoff.claimed_at.is_not(None))
        .order_by(Handoff.ended_at.desc())
        .limit(RECENT_CONVERSATIONS)
    )
    spans = [(ended - claimed).total_seconds() / 60 for claimed, ended in session.execute(recent) if ended and claimed]
    return sum(spans) / len(spans) if spans else float(settings.handoff_default_handle_minutes)


def capacity(session: Session, settings: Settings) -> Capacity:
    active = session.scalar(select(func.count(Handoff.id)).where(Handoff.status == HandoffStatus.active.value))
    return Capacity(
        online=len(accepting_agents(session, settings)),
        active=int(active or 0),
        handle_minutes=recent_handle_minutes(session, settings),
        places_per_agent=settings.handoff_agent_concurrency,
    )


def position(session: Session, handoff: Handoff) -> int | None:
    """1 for the first in line; None when not waiting."""
    if handoff.status != HandoffStatus.waiting.value:
        return None
    ahead = session.scalar(
        select(func.count(Handoff.id)).where(Handoff.status == HandoffStatus.waiting.value, Handoff.id < handoff.id)
    )
    return int(ahead or 0) + 1


def waiting_ids(session: Session) -> list[int]:
    """The waiting hand-offs' ids, first in line first."""
    query = select(Handoff.id).where(Handoff.status == HandoffStatus.waiting.value).order_by(Handoff.id)
    return list(session.scalars(query))


def estimate_minutes(place: int, figures: Capacity) -> int | None:
    """Minutes until an agent takes the customer at `place`; None when nobody is online."""
    if figures.online == 0:
        return None
    beyond_free = place - figures.free_places
    if beyond_free <= 0:
        return 1
    per_place = figures.handle_minutes / (figures.online * figures.places_per_agent)
    return max(1, math.ceil(beyond_free * per_place))
