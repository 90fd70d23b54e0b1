"""Grid workers in WeCom: accept (接单), arrive (到达现场), resolve with the cause (已修复，表箱保险烧了).

With one open task the ticket number may be left out; with several the bot lists them and the
answer picks one. "修好了" without a cause asks for it, and the next message, whatever the NLU
makes of it ("表箱空开跳闸，已合上"), is the cause. A command with no task at all says so and
shows the worker's recent tasks. On site at a suspected fault (one fault ticket for the reports or
device events it gathered), the worker confirms it with the cause and an estimate ("确认故障，树枝搭
线，预计3小时恢复"), dismisses it ("不是线路故障，是个别户问题": each report becomes its own ticket
again), or gives a new estimate when the old one has passed ("预计18点恢复").

Task `worker_step`: steps `choose` (fields `action`, `choices`) and `cause` (field `ticket_no`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from clients.backend import BackendRejected, BackendUnavailable
from dialogue.context import Turn
from dialogue.meaning import WEAK, meaning_of
from dialogue.phrases import listing, time_in, time_phrase
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

ACTION_OF_INTENT = {"accept_task": "accept", "arrive_site": "arrive", "resolve_task": "resolve"}
DONE_RESPONSES = {
    "accept": "utter_worker_accepted",
    "arrive": "utter_worker_arrived",
    "resolve": "utter_worker_resolved",
}
# "修好了", "已处理": the work is done but no cause is given
BARE_RESOLVE_RE = re.compile(r"^(已经?|都)?(修好|修复|处理好|搞定|恢复|完成|处理完|弄好)(了|啦)?[。!！.]*$")
# the ticket number a worker may put in front ("QX202611220001修好了") is no cause either
TICKET_REF_RE = re.compile(r"(工单号?)?\s*[Qq][Xx][0-9]{12}\s*[，,：:]?\s*")
MAX_CHOICES = 5
RECENT = 3
STATUS_LABELS = {
    "dispatched": "待接单",
    "accepted": "已接单",
    "arrived": "处理中",
    "resolved": "已修复",
    "closed": "已办结",
}


def is_bare_resolution(text: str) -> bool:
    return BARE_RESOLVE_RE.match(TICKET_REF_RE.sub("", text).strip()) is not None


async def step(turn: Turn) -> None:
    """A worker's command (accept, arrive, resolve), with or without a ticket number."""
    if not turn.identity.is_worker:
        turn.say("utter_worker_only")
        return
    action = ACTION_OF_INTENT.get(turn.message.intent)
    if action is None:
        turn.say("utter_worker_help")
        return
    try:
        await _step(turn, action, turn.message.ticket_no())
    except BackendUnavailable as exc:
        logger.warning("worker step failed: %s", exc)
        turn.say("utter_backend_down")


async def _step(turn: Turn, action: str, ticket_no: str | None) -> None:
    code = str(turn.identity.worker["code"])
    if ticket_no is None:
        tasks = await turn.backend.worker_tickets(code)
        if not tasks:
            await tell_recent(turn, code)
            return
        if len(tasks) > 1:
            numbers = [str(t["ticket_no"]) for t in tasks[:MAX_CHOICES]]
            lines = [
                f"{t['ticket_no']} {t.get('address') or ''}（{STATUS_LABELS.get(t.get('status', ''), '')}）"
                for t in tasks[:MAX_CHOICES]
            ]
            turn.state.start("worker_step", "choose", action=action, choices=numbers)
            turn.say("utter_worker_which_task", count=len(tasks), listing=listing(lines))
            return
        ticket_no = str(tasks[0]["ticket_no"])
    note = turn.message.bare if action == "resolve" else None
    if action == "resolve" and (note is None or is_bare_resolution(note)):
        ask_cause(turn, ticket_no)
        return
    await record(turn, code, ticket_no, action, note)


def ask_cause(turn: Turn, ticket_no: str) -> None:
    turn.state.start("worker_step", "cause", ticket_no=ticket_no)
    turn.say("utter_worker_ask_cause", ticket_no=ticket_no)


async def record(turn: Turn, code: str, ticket_no: str, action: str, note: str | None) -> None:
    event: dict[str, Any] = {"type": action, "worker_code": code}
    if note:
        event["note"] = note
    try:
        await turn.backend.ticket_event(ticket_no, event)
    except BackendRejected as exc:
        logger.info("worker step %s on %s refused: %s", action, ticket_no, exc.code)
        response = "utter_worker_ticket_unknown" if exc.status == 404 else "utter_worker_step_refused"
        turn.say(response, ticket_no=ticket_no)
        return
    turn.say(DONE_RESPONSES[action], ticket_no=ticket_no)


async def tell_recent(turn: Turn, code: str) -> None:
    recent = await turn.backend.worker_tickets(code, open_only=False)
    recent.sort(key=lambda t: str(t.get("created_at") or ""), reverse=True)
    if not recent:
        turn.say("utter_worker_no_tasks")
        return
    lines = [
        f"{t['ticket_no']} {time_phrase(t.get('created_at'))} {STATUS_LABELS.get(t.get('status', ''), '')}"
        for t in recent[:RECENT]
    ]
    turn.say("utter_worker_no_open_tasks", listing=listing(lines))


class WorkerStep(Task):
    name = "worker_step"
    label = "工单操作"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        if task["step"] == "cause":
            turn.say("utter_worker_ask_cause", ticket_no=task["ticket_no"])
        else:
            turn.say("utter_worker_pick_again", count=len(task["choices"]))

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        message = turn.message
        code = str(turn.identity.worker["code"]) if turn.identity.is_worker else ""
        if task["step"] == "choose":
            number = message.ticket_no()
            choice = message.choice(len(task["choices"]))
            if number is None and choice is not None:
                number = task["choices"][choice - 1]
            if number is None:
                return False
            turn.state.finish()
            await _step(turn, task["action"], number)
            return True
        # step "cause": whatever the NLU makes of a free-text cause, it answers the question
        if message.intent in ("accept_task", "arrive_site") or meaning_of(message, turn.state) not in WEAK | {
            "worker_step",
            "report_hazard",
            "out_of_scope",
            "complaint",
            "thank",
        }:
            return False
        if is_bare_resolution(message.bare):
            ask_cause(turn, task["ticket_no"])
            return True
        turn.state.finish()
        await record(turn, code, task["ticket_no"], "resolve", message.bare)
        return True


# --- a suspected fault, confirmed or dismissed on site; a new estimate -----------------------------

CONFIRM_RE = re.compile(r"^(确认(是)?(故障|停电)?|故障确认|确实是?故障)[，,。:：\s]*")
DISMISS_RE = re.compile(r"排除故障|不是(线路|台区|变压器|设备)?故障|个别户|单户|误报|只是.{0,6}(家|户)")
ESTIMATE_RE = re.compile(
    r"(预计|估计|大概|大约|争取).{0,8}(恢复|来电|送电|修好|好)|(恢复|来电|送电)(时间)?(改|推迟|延|调整)"
)


def fault_words(text: str) -> str | None:
    """ "confirm", "dismiss" or "estimate" when a worker's words are about a fault, else None."""
    if DISMISS_RE.search(text):
        return "dismiss"
    if CONFIRM_RE.match(text):
        return "confirm"
    if ESTIMATE_RE.search(text) and time_in(text):
        return "estimate"
    return None


async def fault_command(turn: Turn) -> bool:
    """A worker confirming a suspected fault with its cause and estimate, dismissing it, or giving a
    new estimate; False when the words are not about a fault (or the worker has none)."""
    text = turn.message.bare
    command = fault_words(text)
    if command is None or not turn.identity.is_worker:
        return False
    code = str(turn.identity.worker["code"])
    faults = [t for t in await turn.backend.worker_tickets(code) if t.get("kind") == "fault" and t.get("outage_id")]
    if not faults:
        turn.say("utter_worker_no_fault")
        return True
    fault = sorted(faults, key=lambda t: str(t.get("created_at") or ""), reverse=True)[0]
    outage_id = int(fault["outage_id"])
    when = time_in(text)
    try:
        if command == "dismiss":
            await turn.backend.dismiss_outage(outage_id, text, code)
            turn.say("utter_worker_fault_dismissed", ticket_no=fault["ticket_no"])
        elif when is None:
            turn.say("utter_worker_fault_needs_time", ticket_no=fault["ticket_no"])
        elif command == "confirm":
            cause = CONFIRM_RE.sub("", text) or "线路故障"
            await turn.backend.confirm_outage(outage_id, cause, when.isoformat(), code)
            turn.say(
                "utter_worker_fault_confirmed", ticket_no=fault["ticket_no"], restore_time=time_phrase(when.isoformat())
            )
        else:
            await turn.backend.estimate_outage(outage_id, when.isoformat(), code)
            turn.say("utter_worker_estimate_recorded", restore_time=time_phrase(when.isoformat()))
    except BackendRejected as exc:
        logger.info("fault %s: %s refused: %s", outage_id, command, exc.code)
        turn.say("utter_worker_fault_refused", ticket_no=fault["ticket_no"])
    return True
