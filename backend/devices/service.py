"""Device events (主动抢修): received in the request, applied after it.

`receive` checks an event (a device we know, a time not ahead of ours), stores it once by its
`event_id` and answers; nothing else runs in the request, so a burst of thousands is absorbed at the
cost of one INSERT each, and the backend processes keep their time for lookups. `process_pending`
applies what is stored, in batches ordered by when the events happened: the notifier's device-event
job (`scheduled.py`), woken when an event is stored, runs it at most every
`NOTIFIER_DEVICE_EVENT_SECONDS`, so a burst is applied in a few large batches.

Applying an event moves the device's state (`DeviceState`: its last loss and last restoration, by
the time they happened), so events may come out of order or twice: a loss older than a known
restoration, a loss of a device already off, a restoration older than the loss, and a restoration
without a loss are recorded and ignored (with a note saying which). A loss that stands is acted on:
- a transformer or a feeder: a suspected fault of source `device`, its fault ticket dispatched and
  every customer in it told at once (backend/faults);
- a meter: noted (a report from that customer says so); `device_meter_cluster_min` meters of one
  transformer dark within `device_meter_window_seconds` count as the transformer.
A restoration that stands restores the fault of that transformer or feeder (and asks those who
reported whether their power is back).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.core.db import writer_turn
from backend.core.errors import Conflict, Invalid
from backend.core.masking import mask_account
from backend.customers.models import Customer
from backend.devices.enums import DeviceEventStatus
from backend.devices.models import DeviceEvent, DeviceState
from backend.devices.schemas import DeviceEventCreate
from backend.faults import service as faults
from backend.outages import service as outages
from backend.topology.models import Feeder, Transformer

logger = logging.getLogger(__name__)

BATCH = 500
_EVENTS = cast(Table, DeviceEvent.__table__)


def _insert_once(insert_fn: Any) -> Any:
    return insert_fn(_EVENTS).on_conflict_do_nothing(index_elements=["event_id"]).returning(_EVENTS.c.id)


_INSERT = {"postgresql": _insert_once(postgresql.insert), "sqlite": _insert_once(sqlite.insert)}


def receive(factory: sessionmaker[Session], settings: Settings, data: DeviceEventCreate) -> str:
    """Store the event once; "accepted", or "duplicate" when its id was received before with the
    same content (409 `event_id_reused` with another). 422 for a device we do not know or a time
    ahead of ours; nothing is stored then."""
    moment = clock.now()
    if data.occurred_at > moment + timedelta(seconds=settings.device_event_max_skew_seconds):
        raise Invalid("事件发生时间晚于当前时间，请检查采集系统时钟", code="occurred_in_future")
    with factory() as session, writer_turn(session.get_bind().engine):
        if _device(session, data.scope, data.code) is None:
            raise Invalid(f"未知的设备：{_SCOPE_LABELS[data.scope]} {data.code}", code="unknown_device")
        row = data.model_dump() | {"received_at": moment, "status": DeviceEventStatus.pending.value}
        inserted = session.execute(_INSERT[session.get_bind().dialect.name], row).first()
        session.commit()
        if inserted is not None:
            return "accepted"
        stored = session.scalar(select(DeviceEvent).where(DeviceEvent.event_id == data.event_id))
    same = stored is not None and (stored.kind, stored.scope, stored.code, stored.occurred_at) == (
        data.kind,
        data.scope,
        data.code,
        data.occurred_at,
    )
    if not same:
        raise Conflict("同一个 event_id 已用于内容不同的事件", code="event_id_reused")
    return "duplicate"


_SCOPE_LABELS = {"meter": "表计", "transformer": "台区", "feeder": "线路"}


def _device(session: Session, scope: str, code: str) -> int | None:
    """The id of the customer (meter), transformer or feeder the code names."""
    if scope == "meter":
        return session.scalar(select(Customer.id).where(Customer.account_no == code))
    if scope == "transformer":
        return session.scalar(select(Transformer.id).where(Transformer.code == code))
    return session.scalar(select(Feeder.id).where(Feeder.code == code))


def meter_dark_since(session: Session, account_no: str) -> datetime | None:
    """When the customer's meter lost power, if the metering system last saw it dark."""
    state = session.scalar(select(DeviceState).where(DeviceState.scope == "meter", DeviceState.code == account_no))
    if state is None or state.lost_at is None:
        return None
    return state.lost_at if state.restored_at is None or state.restored_at < state.lost_at else None


def process_pending(factory: sessionmaker[Session], settings: Settings, *, batch: int = BATCH) -> int:
    """Apply the stored events, oldest first, a batch a transaction, until none is left; returns how
    many were applied, ignored or failed. A batch that fails is retried event by event, so that one
    event that cannot be applied (marked `failed`, with why) holds up no other."""
    total = 0
    while True:
        try:
            with factory() as session, writer_turn(session.get_bind().engine):
                done = _apply(session, settings, _claim(session, batch))
                session.commit()
        except Exception:
            logger.exception("device events: a batch failed, applying its events one by one")
            done = _one_by_one(factory, settings, batch)
        total += done
        if done < batch:
            return total


def _one_by_one(factory: sessionmaker[Session], settings: Settings, count: int) -> int:
    """Up to `count` events, each in its own transaction: applied in a savepoint, or, when that
    fails, marked `failed` in the same transaction, which still holds that very event (another
    notifier cannot have taken it meanwhile, and an event never tried is never marked)."""
    done = 0
    for _ in range(count):
        with factory() as session, writer_turn(session.get_bind().engine):
            ids = _claim(session, 1)
            if not ids:
                break
            try:
                with session.begin_nested():
                    _apply(session, settings, ids)
            except Exception as exc:
                logger.exception("device event %s failed", ids[0])
                failed = {"status": DeviceEventStatus.failed.value, "note": f"处理失败：{repr(exc)[:500]}"}
                session.execute(
                    update(DeviceEvent).where(DeviceEvent.id == ids[0]).values(**failed, processed_at=clock.now())
                )
            session.commit()
        done += 1
    return done


def _claim(session: Session, limit: int) -> list[int]:
    """Take up to `limit` pending events, oldest first (a write first: on SQLite the transaction
    holds the database from here; on PostgreSQL concurrent processors skip each other's events)."""
    pending = (
        select(DeviceEvent.id)
        .where(DeviceEvent.status == DeviceEventStatus.pending.value)
        .order_by(DeviceEvent.occurred_at, DeviceEvent.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pending = pending.with_for_update(skip_locked=True)
    claimed = session.scalars(
        update(DeviceEvent)
        .where(DeviceEvent.id.in_(pending.scalar_subquery()))
        .values(status=DeviceEventStatus.processing.value)
        .returning(DeviceEvent.id)
        .execution_options(synchronize_session=False)
    )
    return list(claimed)


@dataclass
class _Where:
    """A device's place in the topology."""

    transformer_id: int | None
    feeder_id: int
    name: str


@dataclass
class _State:
    """A device's state as the batch moves it (written back at the end, in a statement or two)."""

    id: int | None
    transformer_id: int | None
    lost_at: datetime | None = None
    restored_at: datetime | None = None
    changed: bool = False

    @property
    def dark(self) -> bool:
        return self.lost_at is not None and (self.restored_at is None or self.restored_at < self.lost_at)


_STATES = cast(Table, DeviceState.__table__)
# Built once: run for every batch. Bound names differ from the columns' (SQLAlchemy reserves those).
_INSERT_STATE = insert(_STATES)
_UPDATE_STATE = (
    update(_STATES)
    .where(_STATES.c.id == bindparam("state_id"))
    .values(lost_at=bindparam("lost"), restored_at=bindparam("restored"), updated_at=bindparam("moment"))
)
_FINISH_EVENT = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("row_id"))
    .values(status=bindparam("outcome"), note=bindparam("why"), processed_at=bindparam("moment"))
)


def _apply(session: Session, settings: Settings, ids: list[int]) -> int:
    """Apply the claimed events `ids` in this transaction; returns how many."""
    if not ids:
        return 0
    events = session.execute(
        select(_EVENTS.c.id, _EVENTS.c.kind, _EVENTS.c.scope, _EVENTS.c.code, _EVENTS.c.occurred_at)
        .where(_EVENTS.c.id.in_(ids))
        .order_by(_EVENTS.c.occurred_at, _EVENTS.c.id)
    ).all()
    places = _places(session, {(e.scope, e.code) for e in events})
    faults.lock_feeders(session, sorted({place.feeder_id for place in places.values()}))
    states = _states(session, {(e.scope, e.code) for e in events})
    dark_meters: dict[int, list[datetime]] = defaultdict(list)
    moment = clock.now()
    outcomes = []
    for event in events:
        place = places[(event.scope, event.code)]
        state = states.setdefault((event.scope, event.code), _State(None, place.transformer_id))
        ignored = _move(state, event.kind, event.occurred_at)
        note = ignored
        if ignored is None and event.scope == "meter":
            if event.kind == "power_lost" and place.transformer_id is not None:
                dark_meters[place.transformer_id].append(event.occurred_at)
        elif ignored is None:
            note = _act(session, settings, event.kind, event.scope, event.occurred_at, place)
        outcome = DeviceEventStatus.ignored if ignored else DeviceEventStatus.applied
        outcomes.append({"row_id": event.id, "outcome": outcome.value, "why": note, "moment": moment})
    _write_states(session, states, moment)
    session.execute(_FINISH_EVENT, outcomes)
    for transformer_id, times in dark_meters.items():
        _meters_dark(session, settings, transformer_id, max(times))
    logger.info("device events: %s applied or ignored", len(events))
    return len(events)


def _places(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], _Where]:
    """Where each device is, read a scope at a time."""
    codes: dict[str, set[str]] = defaultdict(set)
    for scope, code in keys:
        codes[scope].add(code)
    found: dict[tuple[str, str], _Where] = {}
    if codes["meter"]:
        meters = (
            select(Customer.account_no, Customer.transformer_id, Transformer.feeder_id)
            .join(Transformer, Transformer.id == Customer.transformer_id)
            .where(Customer.account_no.in_(codes["meter"]))
        )
        for account_no, transformer_id, feeder_id in session.execute(meters):
            found[("meter", account_no)] = _Where(transformer_id, feeder_id, mask_account(account_no) or "")
    if codes["transformer"]:
        transformers = select(Transformer.code, Transformer.id, Transformer.feeder_id, Transformer.name).where(
            Transformer.code.in_(codes["transformer"])
        )
        for code, transformer_id, feeder_id, name in session.execute(transformers):
            found[("transformer", code)] = _Where(transformer_id, feeder_id, name)
    if codes["feeder"]:
        feeders = select(Feeder.code, Feeder.id, Feeder.name).where(Feeder.code.in_(codes["feeder"]))
        for code, feeder_id, name in session.execute(feeders):
            found[("feeder", code)] = _Where(None, feeder_id, name)
    return found


def _states(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], _State]:
    by_scope: dict[str, list[str]] = defaultdict(list)
    for scope, code in keys:
        by_scope[scope].append(code)
    condition = or_(*(and_(_STATES.c.scope == scope, _STATES.c.code.in_(codes)) for scope, codes in by_scope.items()))
    columns = (_STATES.c.scope, _STATES.c.code, _STATES.c.id, _STATES.c.transformer_id, _STATES.c.lost_at,
               _STATES.c.restored_at)  # fmt: skip
    return {
        (row.scope, row.code): _State(row.id, row.transformer_id, row.lost_at, row.restored_at)
        for row in session.execute(select(*columns).where(condition))
    }


def _write_states(session: Session, states: dict[tuple[str, str], _State], moment: datetime) -> None:
    new = [
        {
            "scope": scope,
            "code": code,
            "transformer_id": state.transformer_id,
            "lost_at": state.lost_at,
            "restored_at": state.restored_at,
            "updated_at": moment,
        }
        for (scope, code), state in states.items()
        if state.id is None
    ]
    changed = [
        {"state_id": state.id, "lost": state.lost_at, "restored": state.restored_at, "moment": moment}
        for state in states.values()
        if state.id is not None and state.changed
    ]
    if new:
        session.execute(_INSERT_STATE, new)
    if changed:
        session.execute(_UPDATE_STATE, changed)


#: why an event is ignored (it changed nothing, or only recorded a restoration)
_IGNORED = (
    "早于已知的恢复供电，已忽略",
    "该设备已知处于失电状态，已忽略",
    "没有已知的失电，恢复事件已记录",
    "早于已知的失电，已忽略",
)


def _ignored(why: str) -> bool:
    return why in _IGNORED


def _move(state: _State, kind: str, at: datetime) -> str | None:
    """Apply the event to the device's state; None when it stands, else why it is ignored."""
    if kind == "power_lost":
        if state.restored_at is not None and state.restored_at >= at:
            return "早于已知的恢复供电，已忽略"
        if state.dark:
            return "该设备已知处于失电状态，已忽略"
        state.lost_at, state.changed = at, True
        return None
    state.changed = True
    if not state.dark:
        state.restored_at = max(state.restored_at, at) if state.restored_at else at
        return "没有已知的失电，恢复事件已记录"
    assert state.lost_at is not None
    if at < state.lost_at:
        state.changed = False
        return "早于已知的失电，已忽略"
    state.restored_at = at
    return None


def _act(session: Session, settings: Settings, kind: str, scope: str, at: datetime, place: _Where) -> str | None:
    """What a standing loss or restoration of a transformer or feeder does; a note when it does nothing."""
    if kind == "power_lost":
        evidence = faults.Evidence("device", f"配电自动化系统监测到{place.name}停电", at)
        if scope == "transformer":
            assert place.transformer_id is not None
            outage = faults.transformer_lost(session, settings, place.transformer_id, evidence)
        else:
            outage = faults.feeder_lost(session, settings, place.feeder_id, evidence)
        return None if outage is not None else "计划停电范围内，无需处理"
    if scope == "transformer":
        assert place.transformer_id is not None
        outage = outages.covering_transformer_now(session, place.transformer_id)
        if outage is not None and outages.scope_ids(session, outage) != ([], [place.transformer_id]):
            return "所在线路的故障尚未恢复，已记录"
    else:
        outage = outages.live_on_feeder(session, place.feeder_id)
    if outage is None or outage.kind != "fault":
        return "没有对应的故障停电，已记录"
    faults.restore(session, outage, at=at, note=f"监测到{place.name}恢复供电", actor="device")
    return None


def _meters_dark(session: Session, settings: Settings, transformer_id: int, latest: datetime) -> None:
    """Enough meters of the transformer went dark within the window: the transformer lost power."""
    since = latest - timedelta(seconds=settings.device_meter_window_seconds)
    dark: list[datetime] = [
        moment
        for moment in session.scalars(
            select(DeviceState.lost_at).where(
                DeviceState.scope == "meter",
                DeviceState.transformer_id == transformer_id,
                DeviceState.lost_at >= since,
                DeviceState.lost_at <= latest,
                or_(DeviceState.restored_at.is_(None), DeviceState.restored_at < DeviceState.lost_at),
            )
        )
        if moment is not None
    ]
    if len(dark) < settings.device_meter_cluster_min:
        return
    name = session.scalar(select(Transformer.name).where(Transformer.id == transformer_id))
    evidence = faults.Evidence("device", f"采集系统监测到{name}下{len(dark)}块表计1分钟内失电", min(dark))
    faults.transformer_lost(session, settings, transformer_id, evidence)
