"""`/device-events`: the metering and distribution-automation systems report power lost and restored."""

from __future__ import annotations

from fastapi import APIRouter

from backend.core.deps import RedisDep, Role, SettingsDep, require
from backend.core.errors import error_responses
from backend.core.tx import FactoryDep
from backend.devices import service
from backend.devices.schemas import DeviceEventAccepted, DeviceEventCreate
from backend.notifications.outbox import wake_notifiers

router = APIRouter(tags=["devices"])


@router.post(
    "/device-events",
    status_code=202,
    dependencies=[require(Role.integration)],
    responses=error_responses(400, 409),
)
def post_device_event(
    data: DeviceEventCreate, factory: FactoryDep, settings: SettingsDep, redis: RedisDep
) -> DeviceEventAccepted:
    """Stored once by `event_id` and answered at once; applied right after by the notifier, in order
    of `occurred_at` (a duplicate is answered `duplicate` and changes nothing)."""
    status = service.receive(factory, settings, data)
    if status == "accepted":
        wake_notifiers(redis)  # without Redis the notifier finds it at its next poll
    return DeviceEventAccepted(event_id=data.event_id, status=status)  # type: ignore[arg-type]
