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
