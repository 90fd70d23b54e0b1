"""The grid worker (网格员) responsible for a place: told to anyone who gives an address, an account
number or a shared location, and to a bound customer for their own account without asking.
Task `grid_place`: asked where, when we know nothing of the customer.

Where the service hall (营业厅) is: we hold no halls' addresses, so 95598 and the online services are
named, and the grid worker too when we know the customer's place."""

from __future__ import annotations

import logging
from typing import Any

from clients.backend import BackendRejected, BackendUnavailable
from dialogue.context import Turn
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)


def where_in(turn: Turn) -> dict[str, Any] | None:
    message = turn.message
    if message.account_no():
        return {"account_no": message.account_no()}
    location = message.location()
    if location:
        return {"latitude": location[0], "longitude": location[1]}
    address = message.address()
    if address:
        return {"address": address}
    return None


async def tell_for(turn: Turn, where: dict[str, Any]) -> None:
    try:
        info = await turn.backend.grid_worker(**where)
    except BackendUnavailable:
        turn.say("utter_backend_down")
        return
    except BackendRejected as exc:
        logger.info("grid worker lookup refused: %s", exc.code)
        turn.say("utter_grid_place_unknown")
        return
    worker = info.get("worker") or {}
    turn.say(
        "utter_grid_worker",
        cell_name=(info.get("grid_cell") or {}).get("name") or "",
        worker_name=worker.get("name") or "",
        worker_phone=worker.get("phone") or "95598",
    )
    backup = info.get("backup") or {}
    if backup.get("name"):
        turn.say("utter_grid_worker_backup", backup_name=backup["name"], backup_phone=backup.get("phone") or "")


def place_of(turn: Turn) -> dict[str, Any] | None:
    """The place the message names, else the customer's own account."""
    where = where_in(turn)
    if where is None and turn.accounts:
        where = {"account_no": turn.accounts[0]}
    return where


async def query(turn: Turn) -> None:
    where = place_of(turn)
    if where is None:
        turn.state.start("grid_place", "place")
        turn.say("utter_grid_ask_place")
        return
    await tell_for(turn, where)


class GridPlace(Task):
    name = "grid_place"
    label = "网格员查询"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_grid_ask_place")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_grid_remind_place")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        where = where_in(turn)
        if where is None:
            return False
        turn.state.finish()
        await tell_for(turn, where)
        return True


async def service_hall(turn: Turn) -> None:
    turn.say("utter_service_hall")
    where = place_of(turn)
    if where is not None:
        await tell_for(turn, where)
