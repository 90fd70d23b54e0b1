"""One turn of the conversation: the message is read in the light of the question on the table.

1. Safety and people first: a hazard takes over whatever was going on; "转人工" hands over.
2. A task in progress (a report, a binding, a check) is offered the message first: "算了/不用了/取消"
   ends it (and says so), "继续报修" repeats its question, an answer moves it on.
3. Anything else is answered for what it means (dialogue/meaning.py); if a task was interrupted,
   its question follows in one line, and a task left unanswered three times is set aside ("继续报修"
   brings it back). When a task ends, the one it interrupted resumes with its question.

Everything said is a response name with its values (all Chinese text lives in the Rasa domain).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from clients.backend import BackendClient, BackendError
from dialogue import (
    access,
    applications,
    bills,
    binding,
    chitchat,
    feedback,
    grid,
    handoff,
    hazard,
    identity,
    outage,
    outcomes,
    prompts,
    repair,
    tickets,
    withdrawal,
    workers,
)
from dialogue.context import History, Turn, WriteJournal, no_history
from dialogue.meaning import BILL_MEANINGS, meaning_of
from dialogue.message import Message
from dialogue.state import State
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

IGNORED_BEFORE_PARKING = 3

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        repair.RepairReport(),
        hazard.Hazard(),
        outage.OutagePlace(),
        access.Verify(),
        binding.Bind(),
        binding.Unbind(),
        applications.ApplicationPick(),
        applications.ApplicationNumber(),
        applications.ApplyKind(),
        tickets.TicketNumber(),
        grid.GridPlace(),
        feedback.Complaint(),
        feedback.RatingFollowup(),
        handoff.Handoff(),
        handoff.Callback(),
        workers.WorkerStep(),
        withdrawal.Withdraw(),
    )
}

Handler = Callable[[Turn], Awaitable[None]]


def _plain(function: Callable[[Turn], Any]) -> Handler:
    async def run(turn: Turn) -> None:
        function(turn)

    return run


def _with_meaning(function: Callable[[Turn, str], Awaitable[None]], meaning: str) -> Handler:
    async def run(turn: Turn) -> None:
        await function(turn, meaning)

    return run


def _say(response: str) -> Handler:
    async def run(turn: Turn) -> None:
        turn.say(response)

    return run


async def _goodbye(turn: Turn) -> None:
    task = turn.state.task
    if task is not None and task["name"] in ("repair", "hazard", "complaint", "bind"):
        turn.state.tasks = []
        turn.say("utter_goodbye_unfinished", what=TASKS[task["name"]].label)
    else:
        if task is not None and task["name"] == "callback":
            turn.state.finish()  # the offer of a call back lapses with the goodbye
        chitchat.goodbye(turn)


async def _human(turn: Turn) -> None:
    turn.state.tasks = []
    await handoff.request(turn)


async def _manager(turn: Turn) -> None:
    """ "客户经理": an application's manager; a resident without one is given their grid worker."""
    if turn.accounts and not turn.identity.is_business and not turn.state.topic_is("application"):
        found = await applications.mine(turn)
        if not found:
            turn.say("utter_manager_for_residents")
            await grid.query(turn)
            return
    await applications.answer(turn, "application_manager")


async def _urge(turn: Turn) -> None:
    """ "能不能快点": inside a known outage, empathy and where it stands; else press the open ticket."""
    if turn.state.topic_is("outage"):
        turn.say("utter_urge_outage")
        await outage.query(turn)
    else:
        await tickets.urge(turn)


async def _inform(turn: Turn) -> None:
    """An entity with nothing asked: a QX or YK number is a progress question; others, ask what for."""
    message = turn.message
    if message.choice(9) is not None:  # a numbered answer to nothing asked
        chitchat.yes_no_alone(turn)
    elif message.ticket_no():
        await tickets.query(turn)
    elif message.application_no():
        await applications.answer(turn, "query_application")
    elif not chitchat.numbers_alone(turn):
        chitchat.not_understood(turn)


HANDLERS: dict[str, Handler] = {
    "greet": _plain(chitchat.greet),
    "goodbye": _goodbye,
    "thank": _plain(chitchat.thank),
    "praise": feedback.praise,
    "bot_challenge": _plain(chitchat.bot_challenge),
    "out_of_scope": _plain(chitchat.out_of_scope),
    "english": _plain(chitchat.english),
    "emoji": _plain(chitchat.emoji),
    "empty": _plain(chitchat.empty),
    "restart": _plain(chitchat.restart),
    "fallback": _plain(chitchat.not_understood),
    "affirm": _plain(chitchat.yes_no_alone),
    "deny": _plain(chitchat.yes_no_alone),
    "inform": _inform,
    "report_outage": repair.begin,
    "report_hazard": hazard.begin,
    "query_outage": outage.query,
    "query_repair_progress": tickets.query,
    "urge": _urge,
    "power_back": withdrawal.power_back,
    "query_application": _with_meaning(applications.answer, "query_application"),
    "application_connection_date": _with_meaning(applications.answer, "application_connection_date"),
    "application_materials": _with_meaning(applications.answer, "application_materials"),
    "application_manager": _manager,
    "apply_connection": applications.how_to_apply,
    "payment_methods": _say("utter_payment_methods"),
    "contact_grid_worker": grid.query,
    "service_hall": grid.service_hall,
    "hotline": _say("utter_hotline"),
    "complaint": feedback.complain,
    "rate_service": feedback.rate,
    "request_human": _human,
    "bind": binding.begin,
    "unbind": binding.begin_unbind,
    "worker_step": workers.step,
    "bill_amount": _with_meaning(bills.answer, "bill_amount"),
    "bill_why": _with_meaning(bills.answer, "bill_why"),
    **{meaning: _with_meaning(bills.answer, meaning) for meaning, _ in BILL_MEANINGS},
}
#: what a grid worker may talk about in WeCom; anything else gets the commands they can use
WORKER_MEANINGS = frozenset({"greet", "goodbye", "thank", "bot_challenge", "worker_step", "emoji", "empty", "restart"})


async def respond(
    state: State,
    message: Message,
    backend: BackendClient,
    journal: WriteJournal,
    history: History | None = None,
) -> Turn:
    """Answer one message; the returned turn holds what to say, the state to remember and the
    conversation events for the reports (`Turn.outcomes`, for the caller to send off the turn)."""
    turn = Turn(message, state, backend.for_sender(message.channel, message.sender_id), journal, history or no_history)
    state.turn += 1
    if not state.identity.loaded:
        state.identity = await identity.lookup(turn.backend, message.channel, message.sender_id)
    misunderstood = state.misunderstood
    try:
        await converse(turn)
    except BackendError as exc:  # a failure nothing below handled: say so, keep the conversation usable
        logger.warning("turn failed on the backend: %s", exc)
        turn.say("utter_backend_down")
        return turn
    outcomes.note(turn, misunderstood)
    return turn


async def converse(turn: Turn) -> None:
    state, message = turn.state, turn.message
    meaning = meaning_of(message, state)
    task = state.task
    before = list(state.tasks)
    if meaning == "restart":
        chitchat.restart(turn)
        return
    if meaning == "report_hazard" and not (task and task["name"] == "hazard"):
        await hazard.begin(turn)
    elif meaning == "request_human" and not (task and task["name"] in ("handoff", "callback")):
        await _human(turn)
    elif task is not None and await _offer(turn, task, meaning):
        state.misunderstood = 0
    elif task is None and not turn.identity.is_worker and prompts.may_answer(turn) and await prompts.answer(turn):
        state.misunderstood = 0
    elif task is None and message.is_continue() and state.parked:
        resumed = state.unpark()
        if resumed is not None:
            await TASKS[resumed["name"]].ask(turn, resumed)
    else:
        await _answer(turn, meaning)
        if task is not None and state.task is task:
            await _remind(turn, task)
    await _follow_through(turn, before)


async def _offer(turn: Turn, task: TaskData, meaning: str) -> bool:
    """The message as an answer to the task's question (or its end); False when it is neither."""
    message, state = turn.message, turn.state
    handler = TASKS[task["name"]]
    if message.is_cancel():
        state.finish()
        await handler.cancel(turn, task)
        return True
    if meaning == "goodbye":
        return False
    if message.is_continue():
        task["ignored"] = 0
        await handler.ask(turn, task)
        return True
    if await handler.answer(turn, task):
        if state.task is task:
            task["ignored"] = 0
        return True
    return False


async def _answer(turn: Turn, meaning: str) -> None:
    if turn.identity.is_worker and await workers.fault_command(turn):
        return
    if turn.identity.is_worker and meaning not in WORKER_MEANINGS:
        turn.say("utter_worker_help")
        return
    if meaning != "fallback":
        turn.state.misunderstood = 0
    await HANDLERS.get(meaning, HANDLERS["fallback"])(turn)


async def _remind(turn: Turn, task: TaskData) -> None:
    """The task's question in one line after a digression; set aside after being ignored thrice."""
    task["ignored"] = int(task.get("ignored", 0)) + 1
    handler = TASKS[task["name"]]
    if task["ignored"] >= IGNORED_BEFORE_PARKING and task["name"] != "handoff":
        turn.state.park()
        turn.say("utter_task_parked", what=handler.label)
        return
    await handler.remind(turn, task)


async def _follow_through(turn: Turn, before: list[TaskData]) -> None:
    """After a task ended: answer what it was started for, then resume the task it interrupted."""
    state = turn.state
    if turn.then is not None:
        meaning, turn.then = turn.then, None
        await HANDLERS.get(meaning, HANDLERS["fallback"])(turn)
    resumed = state.task
    if resumed is not None and before and before[-1] is not resumed and any(t is resumed for t in before):
        turn.say("utter_resume", what=TASKS[resumed["name"]].label)
        await TASKS[resumed["name"]].ask(turn, resumed)
