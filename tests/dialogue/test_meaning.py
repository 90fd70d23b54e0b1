"""What a message means when the NLU cannot place it: the words and numbers in it decide.

CI once read "查一下QX202612040068" as nothing understood, because the ticket number's date was
one the NLU had not seen in training; a number the customer gives is what they ask about.
"""

from __future__ import annotations

import pytest

from dialogue.meaning import meaning_of
from dialogue.message import FALLBACK, Message
from dialogue.state import State


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ("查一下QX202612040068", "query_repair_progress"),
        ("qx202701020001咋样了", "query_repair_progress"),
        ("帮我看下YK202612040003", "query_application"),
        ("QX202612040068", "query_repair_progress"),
    ],
)
def test_a_number_in_a_message_the_nlu_could_not_place_is_what_is_asked(text: str, meaning: str) -> None:
    assert meaning_of(Message(text=text, intent=FALLBACK, confidence=0.2), State()) == meaning


def test_without_a_number_an_unplaced_message_stays_not_understood() -> None:
    assert meaning_of(Message(text="查一下那个东西", intent=FALLBACK, confidence=0.2), State()) == "fallback"


def test_a_number_does_not_override_what_the_nlu_understood() -> None:
    message = Message(text="QX202612040068的师傅态度太差了", intent="complaint", confidence=0.9)
    assert meaning_of(message, State()) == "complaint"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我家老是跳闸", FALLBACK),
        ("屋里三天两头跳闸咋整", FALLBACK),
        ("空开动不动就跳", "inform"),
        ("一开空调就跳闸，一天跳好几次", "query_outage"),
    ],
)
def test_a_breaker_that_keeps_tripping_is_a_repair_report(text: str, intent: str) -> None:
    assert meaning_of(Message(text=text, intent=intent, confidence=0.4), State()) == "report_outage"


def test_a_worker_telling_the_cause_is_not_a_report() -> None:
    message = Message(text="客户家老是跳闸，已更换漏保", intent="resolve_task", confidence=0.8)
    assert meaning_of(message, State()) == "worker_step"


@pytest.mark.parametrize(
    ("text", "intent", "meaning"),
    [
        ("营业厅在哪里", "contact_grid_worker", "service_hall"),
        ("最近的营业厅在哪儿", "contact_grid_worker", "service_hall"),
        ("营业厅周末开门吗", FALLBACK, "service_hall"),
        ("附近有没有供电营业厅", "out_of_scope", "service_hall"),
        # paying at a hall is a payment question; a complaint about one is a complaint
        ("营业厅在哪交费", "payment_methods", "payment_methods"),
        ("营业厅的人态度太差了，在哪投诉", "complaint", "complaint"),
        # the grid worker, asked for, is still the answer
        ("我们镇供电所电话", "contact_grid_worker", "contact_grid_worker"),
    ],
)
def test_where_the_service_hall_is_is_its_own_question(text: str, intent: str, meaning: str) -> None:
    assert meaning_of(Message(text=text, intent=intent, confidence=0.8), State()) == meaning
