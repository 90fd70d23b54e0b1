"""业扩 applications as a timeline: the stages done with their dates, the current one with its limit,
the next step and what to prepare, the expected connection date ("什么时候能送电"), and the customer
manager's name and phone when asked ("客户经理"). How to apply is told to anyone.

An application is read by a bound customer of its account, or by its YK number with the phone
check (dialogue/access.py). Task `application_pick`: several applications, which one; task
`application_no`: someone we do not know asked without a number.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from clients.backend import BackendRejected, BackendUnavailable
from dialogue import access
from dialogue.context import Turn
from dialogue.meaning import HOW_LONG
from dialogue.phrases import date_phrase, listing
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

STATE_RESPONSES = {
    "on_time": "utter_application_current_on_time",
    "at_risk": "utter_application_current_at_risk",
    "late": "utter_application_current_late",
}
DONE_STAGE = "connected"
APPLY_KINDS = (
    ("utter_apply_charger", ("充电桩", "充电")),
    ("utter_apply_solar", ("光伏", "太阳能", "分布式")),
    (
        "utter_apply_business",
        ("商业", "企业", "公司", "店", "厂", "经营", "高压", "商铺", "门面", "生意", "个体", "小微"),
    ),
    ("utter_apply_residential", ("居民", "住宅", "家", "新房", "自建房", "房子")),
)


async def fetch(turn: Turn, number: str, then: str) -> dict[str, Any] | None:
    """The application by number, after the phone check when the sender is not its owner."""
    try:
        return await access.guarded(turn, number, then, lambda: turn.backend.application(number))
    except BackendRejected as exc:
        if exc.status != 404:
            raise
        turn.say("utter_application_not_found", application_no=number)
        return None


async def mine(turn: Turn) -> list[dict[str, Any]]:
    return [a for account in turn.accounts for a in await turn.backend.applications(account)]


async def current(turn: Turn, then: str) -> dict[str, Any] | None:
    """The application the customer means: named in the message, the one of the topic, their only one;
    None after saying what is needed (a number, a choice, nothing found)."""
    number = turn.message.application_no() or turn.document
    topic = turn.state.topic_is("application")
    if number is None and topic:
        number = str(topic["application_no"])
    if number:
        return await fetch(turn, number, then)
    if not turn.accounts:
        turn.state.start("application_no", "number", then=then)
        turn.say("utter_application_ask_no")
        return None
    found = await mine(turn)
    if not found:
        turn.say("utter_application_none")
        return None
    if len(found) == 1:
        return found[0]
    numbers = [str(a["application_no"]) for a in found]
    lines = [f"{a.get('type_label', '')}：{a['application_no']}（{a.get('stage_label', '')}）" for a in found]
    turn.state.start("application_pick", "choose", numbers=numbers, then=then)
    turn.say("utter_application_choose", count=len(found), listing=listing(lines))
    return None


async def answer(turn: Turn, meaning: str) -> None:
    try:
        application = await current(turn, meaning)
        if application is not None:
            tell(turn, meaning, application)
    except BackendUnavailable as exc:
        logger.warning("application lookup failed: %s", exc)
        turn.say("utter_backend_down")


def tell(turn: Turn, meaning: str, application: dict[str, Any]) -> None:
    turn.state.set_topic("application", application_no=application["application_no"])
    if meaning == "application_manager":
        tell_manager(turn, application)
    elif meaning == "application_connection_date":
        tell_connection_date(turn, application)
    elif meaning == "application_materials":
        turn.say(f"utter_application_next_{application.get('stage')}")
    else:
        tell_timeline(turn, application)


def tell_timeline(turn: Turn, application: dict[str, Any]) -> None:
    stages = application.get("stages") or []
    done = [s for s in stages if s.get("left_at")]
    lines = "\n".join(f"· {s.get('label')}：{date_phrase(s.get('left_at'))}完成" for s in done) or "· 刚刚受理"
    turn.say(
        "utter_application_timeline",
        type_label=application.get("type_label", ""),
        application_no=application["application_no"],
        done=lines,
    )
    if application.get("stage") == DONE_STAGE or application.get("completed_at"):
        turn.say("utter_application_connected", date=date_phrase(application.get("completed_at")))
        return
    now_stage: dict[str, Any] = next((s for s in stages if s.get("name") == application.get("stage")), {})
    turn.say(
        STATE_RESPONSES.get(str(application.get("state")), "utter_application_current_on_time"),
        stage=application.get("stage_label", ""),
        entered=date_phrase(now_stage.get("entered_at")),
        limit=application.get("time_limit_days"),
        deadline=date_phrase(application.get("deadline")),
    )
    turn.say(f"utter_application_next_{application.get('stage')}")
    turn.say("utter_application_manager_hint")


def tell_connection_date(turn: Turn, application: dict[str, Any]) -> None:
    if application.get("stage") == DONE_STAGE or application.get("completed_at"):
        turn.say("utter_application_connected", date=date_phrase(application.get("completed_at")))
    elif application.get("state") == "late":
        turn.say("utter_application_connection_late", deadline=date_phrase(application.get("deadline")))
    else:
        turn.say(
            "utter_application_connection_date",
            application_no=application["application_no"],
            deadline=date_phrase(application.get("deadline")),
            stage=application.get("stage_label", ""),
        )


def tell_manager(turn: Turn, application: dict[str, Any]) -> None:
    manager = application.get("manager") or {}
    if manager.get("name"):
        turn.say(
            "utter_application_manager",
            application_no=application["application_no"],
            manager_name=manager["name"],
            manager_phone=manager.get("phone") or "",
        )
    else:
        turn.say("utter_application_no_manager")


class ApplicationPick(Task):
    name = "application_pick"
    label = "申请查询"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_application_pick_again", count=len(task["numbers"]))

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_application_pick_again", count=len(task["numbers"]))

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        numbers = task["numbers"]
        number = turn.message.application_no()
        choice = turn.message.choice(len(numbers))
        if number is None and choice is not None:
            number = numbers[choice - 1]
        if number is None:
            return False
        turn.state.finish()
        turn.answer_next(task["then"], number)
        return True


class ApplicationNumber(Task):
    name = "application_no"
    label = "申请查询"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_application_ask_no")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_application_remind_no")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        number = turn.message.application_no()
        if number is None:
            if re.fullmatch(r"(?i)yk\d{0,11}|\d{12}", turn.message.bare):
                turn.say("utter_application_no_format")
                return True
            return False
        turn.state.finish()
        turn.answer_next(task["then"], number)
        return True


async def how_to_apply(turn: Turn) -> None:
    """How to apply: the materials for the kind named (with its time limit), else how long each
    kind takes when that is what is asked, else the options to choose from."""
    text = turn.message.text
    for response, words in APPLY_KINDS:
        if any(word in text for word in words):
            turn.say(response)
            return
    if HOW_LONG.search(text):
        turn.say("utter_apply_durations")
        return
    turn.state.start("apply_kind", "choose")
    turn.say("utter_apply_connection")


class ApplyKind(Task):
    name = "apply_kind"
    label = "报装咨询"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_apply_connection")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_apply_remind")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        choice = turn.message.choice(len(APPLY_KINDS))
        order = ("utter_apply_residential", "utter_apply_business", "utter_apply_charger", "utter_apply_solar")
        response = order[choice - 1] if choice else None
        if response is None:
            response = next((r for r, words in APPLY_KINDS if any(w in turn.message.bare for w in words)), None)
        if response is None or len(turn.message.bare) > 10:
            return False
        turn.state.finish()
        turn.say(response)
        return True
