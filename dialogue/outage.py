"""Outage questions (停电查询): is the power off here, why, until when, and planned outages coming.

Outage information is not private: anyone may ask about an account number, an address or a shared
location; a bound customer's own accounts need nothing. Task `outage_place` asks where when the
customer did not say and is not bound.
"""

from __future__ import annotations

import logging
from typing import Any

from clients.backend import BackendRejected, BackendUnavailable
from dialogue.context import Turn
from dialogue.phrases import mask_account, now, parse_time, time_phrase
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

CURRENT = ("active", "suspected")
MAX_ACCOUNTS = 3


def is_current(outage: dict[str, Any]) -> bool:
    """An outage that is on now (confirmed or suspected), not one announced for later."""
    if outage.get("status") not in CURRENT:
        return False
    starts = parse_time(outage.get("starts_at"))
    return starts is None or starts <= now()


def tell_current(turn: Turn, outage: dict[str, Any], where: str = "") -> None:
    restore = time_phrase(outage.get("estimated_restore_at"))
    if outage.get("status") == "suspected" and outage.get("source") == "device":
        turn.say("utter_outage_detected", where=where or "您所在区域", ticket_no=outage.get("ticket_no") or "")
    elif outage.get("status") == "suspected":
        turn.say("utter_outage_suspected", where=where or "您所在区域", cause=outage.get("cause") or "线路故障",
                 ticket_no=outage.get("ticket_no") or "")  # fmt: skip
    elif restore:
        turn.say("utter_outage_current", where=where or "您所在区域", cause=outage.get("cause"), restore_time=restore)
    else:
        turn.say("utter_outage_current_no_eta", where=where or "您所在区域", cause=outage.get("cause"))
    turn.state.set_topic("outage", outage_id=outage.get("id"))


def tell_attached(turn: Turn, outage: dict[str, Any]) -> None:
    """A report inside a known outage: what is known, and that the customer will be told."""
    tell_current(turn, outage)
    turn.say("utter_outage_subscribed")


def tell_upcoming(turn: Turn, outage: dict[str, Any], where: str = "") -> None:
    turn.say(
        "utter_outage_upcoming",
        where=where or "您所在区域",
        cause=outage.get("cause"),
        start_time=time_phrase(outage.get("starts_at")),
        restore_time=time_phrase(outage.get("estimated_restore_at")),
    )


async def answer_for(turn: Turn, where: dict[str, Any], label: str = "") -> bool:
    """Tell the outages of one place; False when the backend does not know the place."""
    place = await turn.backend.place(**where)
    if not place.get("found"):
        return False
    outages = [o for o in place.get("outages") or [] if o.get("status") not in ("restored", "cancelled", "dismissed")]
    current = [o for o in outages if is_current(o)]
    upcoming = sorted((o for o in outages if o not in current), key=lambda o: str(o.get("starts_at") or ""))
    for found in current[:1]:
        tell_current(turn, found, label)
    for found in upcoming[:1]:
        tell_upcoming(turn, found, label)
    if not current and not upcoming:
        turn.say("utter_outage_none", where=label or "您所在区域")
    elif not current:
        turn.say("utter_outage_none_now")
    return True


async def current_at_home(turn: Turn) -> dict[str, Any] | None:
    """The outage on now at one of the customer's own accounts, if any (None when the backend cannot say)."""
    try:
        for account in turn.identity.accounts[:MAX_ACCOUNTS]:
            place = await turn.backend.place(account_no=account["account_no"])
            current = [o for o in place.get("outages") or [] if is_current(o)]
            if current:
                return current[0]
    except (BackendUnavailable, BackendRejected) as exc:
        logger.warning("outage lookup for an urge failed: %s", exc)
    return None


def where_in(turn: Turn) -> tuple[dict[str, Any], str] | None:
    """The place the message names, with what to call it."""
    message = turn.message
    account_no = message.account_no()
    if account_no:
        return {"account_no": account_no}, f"户号{mask_account(account_no)}所在区域"
    location = message.location()
    if location:
        return {"latitude": location[0], "longitude": location[1]}, "您所在位置"
    address = message.address()
    if address:
        return {"address": address}, f"{address}一带"
    return None


async def query(turn: Turn) -> None:
    """ "停电了吗", "什么时候来电": for the place named, else the customer's own, else ask where."""
    named = where_in(turn)
    try:
        if named is not None:
            if not await answer_for(turn, *named):
                turn.say("utter_outage_place_unknown")
            return
        accounts = turn.identity.accounts
        if not accounts:
            turn.state.start("outage_place", "place")
            turn.say("utter_outage_ask_place")
            return
        several = len(accounts) > 1
        for account in accounts[:MAX_ACCOUNTS]:
            label = (account.get("address") or "") if several else ""
            await answer_for(turn, {"account_no": account["account_no"]}, label)
    except BackendUnavailable as exc:
        logger.warning("outage lookup failed: %s", exc)
        turn.say("utter_backend_down")
    except BackendRejected as exc:
        logger.warning("outage lookup refused: %s", exc.code)
        turn.say("utter_outage_place_unknown")


class OutagePlace(Task):
    """ "请告诉我地址或户号": the one question of an outage query from someone we do not know."""

    name = "outage_place"
    label = "停电查询"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_outage_ask_place")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_outage_remind_place")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        named = where_in(turn)
        if named is None:
            return False
        turn.state.finish()
        try:
            if not await answer_for(turn, *named):
                turn.say("utter_outage_place_unknown")
        except BackendUnavailable:
            turn.say("utter_backend_down")
        return True
