"""Greetings, thanks, goodbyes, questions about the assistant, and everything it cannot place:
answered briefly and kindly, always saying what the assistant can do."""

from __future__ import annotations

from dialogue.context import Turn

OTHER_UTILITY_WORDS = (
    "燃气",
    "煤气",
    "天然气",
    "液化气",
    "停气",
    "水费",
    "停水",
    "自来水",
    "水管",
    "水压",
    "热水",
    "宽带",
    "网络",
    "话费",
    "有线电视",
)
SECOND_TRY = 2


def greet(turn: Turn) -> None:
    turn.say("utter_greet_worker" if turn.identity.is_worker else "utter_greet")


def thank(turn: Turn) -> None:
    turn.say("utter_thank")


def goodbye(turn: Turn) -> None:
    turn.say("utter_goodbye")


def bot_challenge(turn: Turn) -> None:
    turn.say("utter_bot_challenge")


def out_of_scope(turn: Turn) -> None:
    other = any(word in turn.message.text for word in OTHER_UTILITY_WORDS)
    turn.say("utter_other_utility" if other else "utter_out_of_scope")


def english(turn: Turn) -> None:
    turn.say("utter_english")


def emoji(turn: Turn) -> None:
    turn.say("utter_emoji_only")


def empty(turn: Turn) -> None:
    turn.say("utter_empty")


def restart(turn: Turn) -> None:
    state = turn.state
    state.tasks, state.parked, state.topic = [], None, None
    turn.say("utter_restarted")


def not_understood(turn: Turn) -> None:
    """Say so once kindly, with what the assistant can do; the second time in a row, offer a person."""
    turn.state.misunderstood += 1
    turn.say("utter_default_again" if turn.state.misunderstood >= SECOND_TRY else "utter_default")


def yes_no_alone(turn: Turn) -> None:
    """A yes or no with no question on the table."""
    turn.say("utter_nothing_asked")


def numbers_alone(turn: Turn) -> bool:
    """A bare number or address with nothing asked: say what can be done with it. False when the
    message carries none."""
    message = turn.message
    if message.account_no() or message.phone():
        turn.say("utter_number_what_for")
        return True
    if message.address() or message.location():
        turn.say("utter_place_what_for")
        return True
    return False
