"""Hazards (fallen wire, fire, smoke, shock): safety advice first, then where, then an urgent
ticket. A shared WeChat location or an address in the message files it at once; the place may be
anywhere (a street, a field), so a passer-by is served like a customer.

Task `hazard`: step `place`; fields `description`, and `address`, `latitude`, `longitude`.
"""

from __future__ import annotations

from dialogue import repair
from dialogue.context import Turn
from dialogue.meaning import WEAK, meaning_of
from dialogue.tasks import Task, TaskData

HOME_WORDS = ("我家", "家里", "屋里", "我们家", "室内")


async def begin(turn: Turn) -> None:
    message = turn.message
    turn.say("utter_hazard_safety")
    task = turn.state.start("hazard", "place", description=message.bare[:500] or "险情")
    if message.channel == "sms":
        task["callback"] = message.sender_id
    if take_place(turn, task):
        await repair.submit(turn, task, kind="hazard")
        return
    turn.say("utter_hazard_ask_place")


def take_place(turn: Turn, task: TaskData) -> bool:
    """The place in the message, if it names one; at home means the customer's own account."""
    message = turn.message
    location = message.location()
    if location:
        task["latitude"], task["longitude"] = location
        task["address"] = str(message.metadata.get("address") or "微信定位位置")[:200]
        return True
    address = message.address()
    if address:
        task["address"] = address
        return True
    if message.account_no():
        task["account_no"] = message.account_no()
        return True
    if any(word in message.bare for word in HOME_WORDS) and len(turn.accounts) == 1:
        task["account_no"] = turn.accounts[0]
        return True
    return False


class Hazard(Task):
    name = "hazard"
    label = "险情报告"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_hazard_ask_place")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_hazard_remind_place")

    async def cancel(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_hazard_stopped")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        message = turn.message
        if not take_place(turn, task):
            if len(message.bare) < 3 or meaning_of(message, turn.state) not in WEAK | {"report_hazard"}:
                return False
            task["address"] = message.bare[:200]
        if message.phone():
            task["callback"] = message.phone()
        await repair.submit(turn, task, kind="hazard")
        return True
