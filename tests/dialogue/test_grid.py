"""Who and where to go to: the grid worker of a place, and the service hall (dialogue/grid.py)."""

from __future__ import annotations

from tests.dialogue.conftest import Backend, Chat, Place, names, values


def test_a_bound_customer_asking_where_the_hall_is_also_gets_their_grid_worker(chat: Chat) -> None:
    replies = chat.say("营业厅在哪里", "contact_grid_worker")
    assert names(replies) == ["utter_service_hall", "utter_grid_worker"]
    assert values(replies, "utter_grid_worker")["worker_name"] == "王师傅"


def test_a_stranger_asking_where_the_hall_is_is_not_asked_for_an_address(backend: Backend, place: Place) -> None:
    stranger = Chat(backend.client(), "o_never_bound_hall")
    assert stranger.said("营业厅在哪里", "contact_grid_worker") == ["utter_service_hall"]
    assert stranger.state.task is None


def test_the_hall_asked_mid_report_is_answered_and_the_report_resumes(chat: Chat) -> None:
    chat.say("家里停电了", "report_outage")
    assert chat.said("对了，附近营业厅几点开门", "contact_grid_worker")[:1] == ["utter_service_hall"]
    assert chat.state.task is not None and chat.state.task["name"] == "repair"
    assert chat.said("1", "affirm")[0] == "utter_report_ticket_created"
