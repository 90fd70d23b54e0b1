"""Repair reports (报修), the way a good 95598 agent takes them.

1. Where: a bound customer's own account (one account: no question; several: one question that
   lists them by address and files the report on the answer), else the 户号, registered phone,
   address or shared location the customer gives. A number is looked up when it is given; one the
   backend does not know is said at once, with the other ways to go on.
2. The outage pool first: a place inside a known or suspected outage gets its cause, the estimated
   restoration and a subscription to updates in the same turn; no question, no ticket.
3. Otherwise one confirmation that shows the place, the masked callback phone and the problem,
   answered with 1; a correction ("不对，是5单元", a new number) updates it and asks again. "邻居家有电"
   (only this home) adds a short safety-first self-check hint to the confirmation, not instead of it;
   a breaker that keeps tripping ("老是跳闸") gets advice on overloads and leaking appliances instead.
4. The report goes to the backend with the inbound message's key as its idempotency key; while the
   backend is down it waits in the journal and the customer is told it will not be lost.

Task `repair`: steps `choose` (which bound account), `place`, `description`, `phone`, `confirm`;
fields `account_no` | `phone` | `address` (+ `label` shown, `latitude`/`longitude`), `description`,
`hint` (the advice the confirmation carries), `callback` (a number, or "registered"), `checked` (the
outage pool was asked).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from clients.backend import BackendRejected, BackendUnavailable
from dialogue import outage
from dialogue.context import Turn
from dialogue.meaning import URGE, WEAK, meaning_of, trips_often
from dialogue.message import NUMBERS
from dialogue.phrases import listing, mask_account, mask_phone, time_phrase
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

ONLY_HOME = re.compile(
    r"(邻居|隔壁|楼上|楼下|对门|对面|别人家|别家|人家|其他(人|家)|左右)[^，。,]{0,6}(都|也|家)?[^，。,]{0,3}(有电|有灯|亮|正常)|"
    r"(只有|就|只是|光)(我|我们|咱)家|跳闸|空开|漏电(保护|开关)|总闸"
)
# A report that only names the service ("报修", "我要报修") says nothing about the problem yet.
NO_DESCRIPTION = re.compile(r"^(我(要|想)?|帮我|请|麻烦)?(报修|报个修|报障|故障报修|报修一下|要报修|修电)(一下)?$")
DONT_KNOW = re.compile(r"不知道|不记得|记不(得|清)|忘(了|记)|找不到|没有户号|查不到")
DEFAULT_DESCRIPTION = "停电报修"


def hint_for(text: str) -> str | None:
    """The advice a report's confirmation carries: what to check when the fault looks like the home's own."""
    if trips_often(text):
        return "utter_report_trips_often"
    if ONLY_HOME.search(text):
        return "utter_report_self_check"
    return None


def description_in(text: str) -> str | None:
    """The problem as the customer put it, without the numbers they gave with it."""
    bare = NUMBERS.sub("", text).strip(" ，,。")
    if len(bare) < 2 or text.startswith("/") or NO_DESCRIPTION.match(bare):
        return None
    return bare[:500]


class RepairReport(Task):
    name = "repair"
    label = "报修"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        step = task["step"]
        if step == "choose":
            lines = [a.get("address") or mask_account(a["account_no"]) for a in turn.identity.accounts]
            turn.say(
                "utter_report_choose_account",
                listing=listing(lines),
                other=len(lines) + 1,
                phone=callback_masked(turn, task),
                description=task.get("description") or DEFAULT_DESCRIPTION,
            )
        elif step == "place":
            turn.say("utter_report_ask_place")
        elif step == "description":
            turn.say("utter_report_ask_description")
        elif step == "phone":
            turn.say("utter_report_ask_phone")
        else:
            turn.say(
                "utter_report_confirm",
                place=task.get("label") or "",
                phone=callback_masked(turn, task),
                description=task.get("description") or DEFAULT_DESCRIPTION,
            )

    async def remind(self, turn: Turn, task: TaskData) -> None:
        reminders = {
            "choose": "utter_report_remind_choose",
            "place": "utter_report_remind_place",
            "description": "utter_report_remind_description",
            "phone": "utter_report_remind_phone",
            "confirm": "utter_report_remind_confirm",
        }
        turn.say(reminders[task["step"]])

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        steps = {
            "choose": self._choose,
            "place": self._place,
            "description": self._description,
            "phone": self._phone,
            "confirm": self._confirm,
        }
        result = await steps[task["step"]](turn, task)
        if result is None:
            return False
        if result == NEXT:
            await advance(turn, task)
        return True

    # --- the steps: each returns None (not an answer), ASKED (answered, nothing more to ask now)
    # or NEXT (what was missing is there: go on) ---------------------------------------------------

    async def _choose(self, turn: Turn, task: TaskData) -> str | None:
        accounts = turn.identity.accounts
        message = turn.message
        typed = message.account_no()
        choice = message.choice(len(accounts) + 1)
        if typed and turn.owns(typed):
            choice = turn.accounts.index(typed) + 1
        if choice is not None and choice <= len(accounts):
            use_account(task, accounts[choice - 1])
            task["confirmed"] = True  # the listing said that the answer files the report
            return NEXT
        task["other_place"] = True
        if choice == len(accounts) + 1 or message.yes_no() is False:
            task["step"] = "place"
            return NEXT
        if typed or message.phone() or message.location() or message.address():
            place_from(turn, task)
            return NEXT
        task.pop("other_place")
        return None

    async def _place(self, turn: Turn, task: TaskData) -> str | None:
        message = turn.message
        if message.account_no() or message.phone() or message.location() or message.address():
            clear_place(task)
            place_from(turn, task)
            return NEXT
        if DONT_KNOW.search(message.bare):
            turn.say("utter_report_place_help")
            return ASKED
        return None

    async def _description(self, turn: Turn, task: TaskData) -> str | None:
        message = turn.message
        if await self._address_instead(turn, task):
            return ASKED
        description = description_in(message.bare)
        if description is None or meaning_of(message, turn.state) not in WEAK:
            return None
        task["description"] = description
        if task.get("address_detail"):
            add_note(task, f"详细地址：{task.pop('address_detail')}")
        task["hint"] = hint_for(message.bare)
        return NEXT

    async def _phone(self, turn: Turn, task: TaskData) -> str | None:
        message = turn.message
        phone = message.phone()
        if phone:
            task["callback"] = phone
            return NEXT
        if await self._address_instead(turn, task):
            return ASKED
        if message.yes_no() is True and registered_phone(turn, task):
            task["callback"] = "registered"
            return NEXT
        return None

    async def _address_instead(self, turn: Turn, task: TaskData) -> bool:
        """The place told again in more detail ("我住3栋2单元501") where something else was asked:
        noted for the worker, then the question again."""
        address = turn.message.only_address()
        if not address:
            return False
        if task.get("description"):
            add_note(task, f"详细地址：{address}")
        else:
            task["address_detail"] = address
        turn.say("utter_report_address_noted")
        await self.ask(turn, task)
        return True

    async def _confirm(self, turn: Turn, task: TaskData) -> str | None:
        message = turn.message
        bare = message.bare
        if message.yes_no() is True:
            task["confirmed"] = True
            return NEXT
        if bare in WHAT_IS_WRONG:
            turn.say("utter_report_what_to_fix")
            return ASKED
        if message.yes_no() is False:
            turn.state.finish()
            await self.cancel(turn, task)
            return ASKED
        correction = message.correction()
        text = correction or bare
        if message.account_no() or message.location():
            clear_place(task)
            place_from(turn, task)
            return NEXT
        if message.phone():
            task["callback"] = message.phone()
            turn.say("utter_report_updated")
            return NEXT
        if _is_place_fix(text) and (correction or message.address()):
            correct_place(task, text)
            turn.say("utter_report_updated")
            return NEXT
        if URGE.search(text):
            add_note(task, text)
            turn.say("utter_report_urgency_noted")
            return NEXT
        if meaning_of(message, turn.state) in ("report_outage", "inform") and len(text) >= 4:
            add_note(task, text)
            turn.say("utter_report_updated")
            return NEXT
        return None


NEXT, ASKED = "next", "asked"
WHAT_IS_WRONG = frozenset({"不对", "不是", "错了", "有错", "不对的", "不正确", "有问题"})


def correct_place(task: TaskData, text: str) -> None:
    """ "不对，是5单元": a whole address replaces the place given; a part of one is noted beside it."""
    if looks_whole(text) and not task.get("own"):
        task["address"] = task["label"] = text[:200]
        task.pop("checked", None)
        return
    task["label"] = f"{task.get('label', '')}（更正：{text}）"
    add_note(task, f"地址更正：{text}")


def _is_place_fix(text: str) -> bool:
    return bool(re.search(r"\d+\s*(栋|幢|单元|号|室|楼|层)|小区|村|路|街", text))


def looks_whole(text: str) -> bool:
    """A full address (with a street, village or estate), not only "5单元"."""
    return bool(re.search(r"路|街|村|小区|苑|园|镇|乡|巷", text))


def add_note(task: TaskData, text: str) -> None:
    description = task.get("description") or DEFAULT_DESCRIPTION
    if text not in description:
        task["description"] = f"{description}；{text}"[:500]


def use_account(task: TaskData, account: dict[str, Any]) -> None:
    clear_place(task)
    task["account_no"] = account["account_no"]
    task["label"] = account.get("address") or mask_account(account["account_no"])
    task["own"] = True


def clear_place(task: TaskData) -> None:
    for key in ("account_no", "phone", "address", "label", "latitude", "longitude", "checked", "own"):
        task.pop(key, None)


def place_from(turn: Turn, task: TaskData) -> None:
    """Take the place the message names (account, phone, address or shared location), if any."""
    message = turn.message
    account_no = message.account_no()
    phone = message.phone()
    address = message.address()
    location = message.location()
    if account_no:
        own = turn.identity.account(account_no)
        if own:
            use_account(task, own)
        else:
            task["account_no"] = account_no
            task["label"] = f"户号{mask_account(account_no)}"
    elif address:
        task["address"] = task["label"] = address
    elif location:
        task["latitude"], task["longitude"] = location
        label = str(turn.message.metadata.get("address") or "您发送的位置")
        task["address"] = task["label"] = label[:200]
    elif phone and turn.message.channel != "sms" and not turn.accounts:
        task["phone"] = phone
        task["label"] = f"手机{mask_phone(phone)}登记的地址"
    if phone and not task.get("callback"):
        task["callback"] = phone


def has_place(task: TaskData) -> bool:
    return any(task.get(key) for key in ("account_no", "phone", "address"))


def registered_phone(turn: Turn, task: TaskData) -> str | None:
    """The masked phone on file: the report's place's when it is the sender's own account, else the
    phone of the sender's first account (they report another place, or have not chosen yet)."""
    if task.get("own"):
        account = turn.identity.account(task.get("account_no", ""))
    elif turn.identity.accounts:  # another place, or not chosen yet: the customer's own phone on file
        account = turn.identity.accounts[0]
    else:
        return None
    return str(account.get("phone_masked")) if account and account.get("phone_masked") else None


def callback_masked(turn: Turn, task: TaskData) -> str:
    callback = task.get("callback")
    if callback == "registered":
        return registered_phone(turn, task) or ""
    return mask_phone(str(callback or ""))


def start(turn: Turn) -> TaskData:
    """A new report from the message that asked for it."""
    message = turn.message
    description = description_in(message.bare)
    task = turn.state.start("repair", "place", description=description, hint=hint_for(message.bare))
    if message.channel == "sms":
        task["callback"] = message.sender_id
    place_from(turn, task)
    return task


async def begin(turn: Turn) -> None:
    await advance(turn, start(turn))


async def advance(turn: Turn, task: TaskData) -> None:
    """Ask for what is still missing, or file the report."""
    accounts = turn.identity.accounts
    if not has_place(task):
        if len(accounts) == 1 and not task.get("other_place"):
            use_account(task, accounts[0])
        elif len(accounts) > 1 and not task.get("other_place"):
            task["step"] = "choose"
            if task.get("callback") is None and any(a.get("phone_masked") for a in accounts):
                task["callback"] = "registered"
            await RepairReport().ask(turn, task)
            return
        else:
            task["step"] = "place"
            await RepairReport().ask(turn, task)
            return
    if task.get("callback") is None and registered_phone(turn, task):
        task["callback"] = "registered"
    if not task.get("checked"):
        task["checked"] = True
        verdict = await check_place(turn, task)
        if verdict == "unknown":
            clear_place(task)
            task["step"] = "place"
            return
        if verdict == "file_now":
            task["confirmed"] = True
    if not task.get("confirmed"):
        if not task.get("description"):
            task["step"] = "description"
            await RepairReport().ask(turn, task)
            return
        if not task.get("callback"):
            task["step"] = "phone"
            await RepairReport().ask(turn, task)
            return
        task["step"] = "confirm"
        if task.get("hint") and not task.get("hinted"):
            task["hinted"] = True
            turn.say(task["hint"])
        await RepairReport().ask(turn, task)
        return
    await submit(turn, task)


async def check_place(turn: Turn, task: TaskData) -> str:
    """Ask the backend about the place: "unknown" (said to the customer), "file_now" (an outage or an
    open ticket covers it: no question is needed), or "ok"."""
    where = {key: task[key] for key in ("account_no", "phone", "address") if task.get(key)}
    if task.get("latitude") is not None:
        where |= {"latitude": task["latitude"], "longitude": task["longitude"]}
    try:
        place = await turn.backend.place(**where)
    except (BackendUnavailable, BackendRejected) as exc:
        logger.warning("place lookup failed, the report goes on without it: %s", exc)
        return "ok"
    if not place.get("found"):
        if task.get("account_no"):
            turn.say("utter_report_account_unknown", account_no=task["account_no"])
            return "unknown"
        if task.get("phone"):  # a number given as much for a callback as for the place: just ask where
            await RepairReport().ask(turn, task | {"step": "place"})
            return "unknown"
        return "ok"  # an address we cannot place still gets a ticket for the dispatch centre
    if place.get("ambiguous"):
        turn.say("utter_report_place_ambiguous")
        return "unknown"
    if task.get("account_no") and not task.get("own") and place.get("label"):
        task["label"] = f"{place['label']}（户号{mask_account(task['account_no'])}）"
    if any(outage.is_current(o) for o in place.get("outages") or []) or place.get("open_repair"):
        return "file_now"
    return "ok"


def report_of(turn: Turn, task: TaskData, kind: str = "repair") -> dict[str, Any]:
    message = turn.message
    report: dict[str, Any] = {
        "channel": message.channel,
        "sender_id": message.sender_id,
        "description": task.get("description") or DEFAULT_DESCRIPTION,
        "kind": kind,
    }
    for key in ("account_no", "phone", "address", "latitude", "longitude"):
        if task.get(key) is not None:
            report[key] = task[key]
    callback = task.get("callback")
    if callback and callback != "registered":
        report["callback_phone"] = callback
    return report


async def submit(turn: Turn, task: TaskData, kind: str = "repair") -> None:
    """File the report and say what came of it; the task ends either way."""
    turn.state.finish()
    await file_report(turn, report_of(turn, task, kind))


async def file_report(turn: Turn, report: dict[str, Any]) -> None:
    key = turn.message.key
    try:
        result = await turn.backend.create_repair_report(report, idempotency_key=key)
    except BackendUnavailable as exc:
        logger.warning("repair report %s kept in the journal: %s", key, exc)
        turn.journal.keep("repair_report", report, key)
        turn.say("utter_report_queued")
        return
    except BackendRejected as exc:
        logger.warning("repair report %s rejected: %s", key, exc.code)
        turn.say("utter_report_rejected")
        return
    tell_outcome(turn, result, urgent=report.get("kind") == "hazard")


def tell_outcome(turn: Turn, result: dict[str, Any], *, urgent: bool = False) -> None:
    if result.get("meter_power_lost_at"):
        turn.say("utter_report_meter_dark", time=time_phrase(result["meter_power_lost_at"]))
    if result.get("outcome") == "attached_to_outage":
        outage.tell_attached(turn, result.get("outage") or {})
        return
    ticket_no = result.get("ticket_no")
    deadline = time_phrase(result.get("deadline"))
    worker = result.get("worker") or {}
    if result.get("outcome") == "attached_to_ticket":
        if result.get("status") == "arrived":
            turn.say("utter_report_existing_on_site", ticket_no=ticket_no)
        elif deadline:
            turn.say("utter_report_existing_ticket", ticket_no=ticket_no, deadline=deadline)
        else:
            turn.say("utter_report_existing_unassigned", ticket_no=ticket_no)
    elif not deadline:
        turn.say("utter_hazard_ticket_manual" if urgent else "utter_report_ticket_manual", ticket_no=ticket_no)
    else:
        turn.say(
            "utter_hazard_ticket_created" if urgent else "utter_report_ticket_created",
            ticket_no=ticket_no,
            deadline=deadline,
        )
    if result.get("outcome") == "ticket_created":
        tell_worker(turn, worker)
    turn.state.set_topic("ticket", ticket_no=ticket_no)


def tell_worker(turn: Turn, worker: dict[str, Any]) -> None:
    """The worker who will come, with the phone to call them on (none said while nobody is assigned)."""
    if worker.get("name"):
        turn.say("utter_report_worker", worker_name=worker["name"], worker_phone=worker.get("phone") or "95598")
