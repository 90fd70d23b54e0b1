"""Power came back before the crew (已经来电了，不用修了): the customer's open repair is offered to
be called off, with one confirmation, and its worker is then told at once not to come
(`POST /tickets/{no}/withdrawal`). A worker on site finishes the visit; a report not yet filed is
dropped; a customer with nothing open is simply glad to hear it.

Task `withdraw`: step `confirm`; fields `ticket_no`, `reason` (the customer's words).
"""

from __future__ import annotations

import logging
import re

from clients.backend import BackendRejected, BackendUnavailable
from dialogue.context import Turn
from dialogue.tasks import Task, TaskData
from dialogue.tickets import open_tickets

logger = logging.getLogger(__name__)

# "还是让师傅来看一下吧": the crew should come after all
KEEP = re.compile(r"还是.{0,6}(来|看|修|检查)|让师傅|来看看|保留")


async def power_back(turn: Turn) -> None:
    task = turn.state.task
    if task is not None and task["name"] == "repair":  # back before the report was even filed
        turn.state.finish()
        turn.say("utter_power_back_glad")
        return
    try:
        found = await open_tickets(turn) if turn.accounts else []
    except BackendUnavailable as exc:
        logger.warning("open tickets unavailable: %s", exc)
        turn.say("utter_backend_down")
        return
    repairs = [t for t in found if t.get("kind") == "repair"]
    if not repairs:
        turn.say("utter_power_back_glad")
        return
    ticket = repairs[0]
    if ticket.get("status") == "arrived":
        turn.say("utter_withdraw_on_site")
        return
    task = turn.state.start("withdraw", "confirm", ticket_no=ticket["ticket_no"], reason=turn.message.bare[:500])
    await Withdraw().ask(turn, task)


class Withdraw(Task):
    name = "withdraw"
    label = "撤销报修"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_withdraw_confirm", ticket_no=task["ticket_no"])

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_withdraw_remind", ticket_no=task["ticket_no"])

    async def cancel(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_withdraw_kept", ticket_no=task["ticket_no"])

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        bare = turn.message.bare
        answer = turn.message.yes_no()
        if answer is None and KEEP.search(bare):
            answer = False
        elif answer is None and "撤" in bare and not re.search(r"不|别", bare):
            answer = True  # "撤了吧", "撤销"
        if answer is None:
            return False
        turn.state.finish()
        if answer is False:
            await self.cancel(turn, task)
            return True
        ticket_no = task["ticket_no"]
        try:
            await turn.backend.withdraw_ticket(ticket_no, task.get("reason") or "客户反馈已来电")
        except BackendRejected as exc:
            if exc.code == "worker_on_site":
                turn.say("utter_withdraw_on_site")
            elif await _already_cancelled(turn, ticket_no):  # a try of this turn that got through
                turn.say("utter_withdraw_done", ticket_no=ticket_no)
            else:
                turn.say("utter_withdraw_not_possible", ticket_no=ticket_no)
            return True
        except BackendUnavailable as exc:
            logger.warning("withdrawal of %s failed: %s", ticket_no, exc)
            turn.say("utter_withdraw_failed")
            return True
        turn.say("utter_withdraw_done", ticket_no=ticket_no)
        turn.state.set_topic("ticket", ticket_no=ticket_no)
        return True


async def _already_cancelled(turn: Turn, ticket_no: str) -> bool:
    try:
        return (await turn.backend.ticket(ticket_no)).get("status") == "cancelled"
    except (BackendRejected, BackendUnavailable):
        return False
