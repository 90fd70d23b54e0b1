"""What customers think of the service: complaints (投诉), praise, thanks and ratings, told apart.

- A complaint is taken in the customer's own words and opens a complaint ticket with its contact
  deadline; one said in enough words is filed at once, a short one ("我要投诉") is asked about.
  Apologise once, never argue. While the backend is down it waits in the journal.
- Praise ("师傅很快") is thanked and passed on, never filed as a complaint.
- A rating (1-5 or words) rates the customer's latest resolved ticket; an unhappy one (1-2) asks what
  went wrong and opens a follow-up (回访).

Task `complaint`: step `text`. Task `rating_followup`: step `text`, field `ticket_no`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from clients.backend import BackendRejected, BackendUnavailable
from dialogue.context import Turn
from dialogue.meaning import NEGATIVE, WEAK, meaning_of
from dialogue.phrases import time_phrase
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

DETAILED_ENOUGH = 12
UNHAPPY_MAX = 2
SCORE_DIGIT = re.compile(r"(?<!\d)([1-5])(?:\s*[分星])?(?!\d)")
# checked in order: the longer phrases first
SCORE_WORDS = (
    ("非常不满意", 1),
    ("很不满意", 1),
    ("太差", 1),
    ("很差", 1),
    ("差评", 1),
    ("不太满意", 2),
    ("不满意", 2),
    ("不好", 2),
    ("一般", 3),
    ("还行", 4),
    ("还可以", 4),
    ("比较满意", 4),
    ("基本满意", 4),
    ("非常满意", 5),
    ("很满意", 5),
    ("满意", 5),
    ("好评", 5),
    ("很好", 5),
)
RATABLE = ("resolved", "closed")


def parse_score(text: str) -> int | None:
    match = SCORE_DIGIT.search(re.sub(r"QX\d+", "", text, flags=re.IGNORECASE))
    if match:
        return int(match.group(1))
    return next((score for word, score in SCORE_WORDS if word in text), None)


async def complain(turn: Turn) -> None:
    text = turn.message.bare
    if len(text) >= DETAILED_ENOUGH:
        await file_complaint(turn, text, "utter_complaint_taken")
        return
    turn.state.start("complaint", "text")
    turn.say("utter_complaint_ask_text")


async def file_complaint(turn: Turn, description: str, response: str) -> None:
    complaint: dict[str, Any] = {
        "channel": turn.message.channel,
        "sender_id": turn.message.sender_id,
        "description": description[:2000],
    }
    if turn.accounts:
        complaint["account_no"] = turn.accounts[0]
    key = turn.message.key
    try:
        ticket = await turn.backend.create_complaint(complaint, idempotency_key=key)
    except BackendUnavailable as exc:
        logger.warning("complaint %s kept in the journal: %s", key, exc)
        turn.journal.keep("complaint", complaint, key)
        turn.say("utter_complaint_queued")
        return
    except BackendRejected as exc:
        logger.warning("complaint %s rejected: %s", key, exc.code)
        turn.say("utter_complaint_failed")
        return
    turn.say(response, ticket_no=ticket.get("ticket_no"), contact_deadline=time_phrase(ticket.get("contact_deadline")))


class Complaint(Task):
    name = "complaint"
    label = "投诉登记"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_complaint_ask_text")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_complaint_remind")

    async def cancel(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_complaint_stopped")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        message = turn.message
        meaning = meaning_of(message, turn.state)
        if len(message.bare) < 2 or (meaning not in WEAK | {"complaint", "urge"} and not NEGATIVE.search(message.text)):
            return False  # another question; a grievance is taken whatever the NLU made of it ("…的时候骂人")
        if message.yes_no() is not None and len(message.bare) <= 4:
            return False  # "好吧", "嗯嗯": no complaint in it to file
        turn.state.finish()
        await file_complaint(turn, message.bare, "utter_complaint_taken")
        return True


#: the tickets praise is passed on for: someone came out to them
SERVED = frozenset({"accepted", "arrived", "resolved", "closed"})


async def praise(turn: Turn) -> None:
    """Thanked, and passed on to the worker of the ticket it is about (the number given, else the
    customer's newest ticket someone came out to); with no such ticket, thanked without promising."""
    ticket_no = turn.message.ticket_no()
    try:
        if ticket_no is None:
            ticket_no = await latest_served(turn)
        if ticket_no is not None:
            await turn.backend.praise_ticket(ticket_no, turn.message.bare[:500])
    except (BackendRejected, BackendUnavailable) as exc:
        logger.info("praise not passed on: %s", exc)
        ticket_no = None
    turn.say("utter_praise_thanks" if ticket_no else "utter_praise_thanks_general")


async def latest_served(turn: Turn) -> str | None:
    tickets = [t for a in turn.accounts for t in await turn.backend.tickets(a)]
    served = [t for t in tickets if t.get("status") in SERVED and t.get("kind") != "complaint"]
    served.sort(key=lambda t: str(t.get("created_at") or ""), reverse=True)
    return str(served[0]["ticket_no"]) if served else None


async def rate(turn: Turn) -> None:
    """ "5分", "很满意": rate the latest resolved ticket the customer has not rated yet."""
    score = parse_score(turn.message.bare)
    if score is None:
        turn.say("utter_ask_rating")
        return
    ticket_no = turn.message.ticket_no()
    try:
        if ticket_no is None:
            ticket_no = await latest_ratable(turn)
        if ticket_no is None:
            turn.say("utter_rating_no_ticket")
            return
        await record(turn, ticket_no, score)
    except BackendUnavailable:
        turn.journal.keep("rating", {"ticket_no": ticket_no, "score": score}, turn.message.key)
        turn.say("utter_rating_thanks" if score > UNHAPPY_MAX else "utter_rating_unhappy")


async def latest_ratable(turn: Turn) -> str | None:
    tickets = [t for a in turn.accounts for t in await turn.backend.tickets(a)]
    ratable = [
        t for t in tickets if t.get("status") in RATABLE and t.get("rating") is None and t.get("kind") != "complaint"
    ]
    ratable.sort(key=lambda t: str(t.get("created_at") or ""), reverse=True)
    return str(ratable[0]["ticket_no"]) if ratable else None


async def record(turn: Turn, ticket_no: str, score: int) -> None:
    try:
        await turn.backend.rate_ticket(ticket_no, score)
    except BackendRejected as exc:
        logger.info("rating of %s refused: %s", ticket_no, exc.code)
        turn.say("utter_rating_no_ticket")
        return
    if score <= UNHAPPY_MAX:
        turn.state.start("rating_followup", "text", ticket_no=ticket_no)
        turn.say("utter_rating_unhappy")
    else:
        turn.say("utter_rating_thanks")


class RatingFollowup(Task):
    name = "rating_followup"
    label = "回访登记"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_rating_unhappy")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_rating_remind")

    async def cancel(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_rating_followup_skipped")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        message = turn.message
        if len(message.bare) < 2 or meaning_of(message, turn.state) not in WEAK | {"complaint", "urge", "praise"}:
            return False
        turn.state.finish()
        await file_complaint(
            turn, f"工单{task['ticket_no']}评价不满意，客户反映：{message.bare}", "utter_rating_followup_opened"
        )
        return True
