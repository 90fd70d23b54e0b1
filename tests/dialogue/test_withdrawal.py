"""Power back before the crew (dialogue/withdrawal.py, `POST /tickets/{no}/withdrawal`): the
customer's "已经来电了，不用修了" calls their repair off with one confirmation, against a real
backend; the worker is told not to come; a worker on site, a second thought, a message that is no
answer, a report not yet filed and a customer with nothing open are each answered for what they are."""

from __future__ import annotations

from tests.dialogue.conftest import Backend, Chat, Place, names


def filed(chat: Chat) -> str:
    chat.say("我家停电了", "report_outage")
    chat.say("1", "affirm")
    assert chat.state.topic_is("ticket")
    return str(chat.state.topic_is("ticket")["ticket_no"])  # type: ignore[index]


def status(backend: Backend, ticket_no: str) -> str:
    return str(backend.admin("GET", f"/tickets/{ticket_no}")["status"])


def test_power_back_calls_the_repair_off_and_tells_the_worker(chat: Chat, backend: Backend) -> None:
    """Read by the NLU as a worker's "resolve_task": it used to get "仅限网格员"."""
    ticket_no = filed(chat)
    assert chat.said("不用修了 已经来电了", "resolve_task") == ["utter_withdraw_confirm"]
    assert status(backend, ticket_no) == "dispatched"  # nothing happens before the yes
    assert chat.said("1", "affirm") == ["utter_withdraw_done"]
    ticket = backend.admin("GET", f"/tickets/{ticket_no}")
    assert ticket["status"] == "cancelled"
    assert any("客户撤销：不用修了 已经来电了" in (e.get("note") or "") for e in ticket["timeline"])
    pending = backend.admin("GET", "/notifications?status=pending&limit=1000")
    told = [n for n in pending if n["dedup_key"] == f"ticket:{ticket_no}:withdrawn"]
    assert [n["template"] for n in told] == ["worker_task_withdrawn"]


def test_a_second_thought_keeps_the_ticket(chat: Chat, backend: Backend) -> None:
    ticket_no = filed(chat)
    chat.say("来电了", "report_outage")
    assert chat.said("2", "deny") == ["utter_withdraw_kept"]
    assert status(backend, ticket_no) == "dispatched"


def test_the_crew_wanted_after_all_keeps_the_ticket(chat: Chat, backend: Backend) -> None:
    ticket_no = filed(chat)
    chat.say("有电咯，不用来咯", "inform")
    assert chat.said("算了还是让师傅来看一下吧", "inform") == ["utter_withdraw_kept"]
    assert status(backend, ticket_no) == "dispatched"


def test_a_question_in_between_is_answered_and_the_offer_stays(chat: Chat, backend: Backend) -> None:
    ticket_no = filed(chat)
    chat.say("电已经恢复了，不用来了", "resolve_task")
    replies = chat.said("电费多少钱一度", "query_bill")
    assert replies[-1] == "utter_withdraw_remind"
    assert chat.said("好的", "affirm") == ["utter_withdraw_done"]
    assert status(backend, ticket_no) == "cancelled"


def test_still_no_power_is_not_power_back(chat: Chat) -> None:
    """Controls: "还没来电" and "来电了吗" are the opposite, or a question."""
    filed(chat)
    assert "utter_withdraw_confirm" not in chat.said("怎么还没来电", "urge")
    assert "utter_withdraw_confirm" not in chat.said("来电了吗", "query_outage")


def test_a_worker_on_site_finishes_the_visit(chat: Chat, backend: Backend) -> None:
    ticket_no = filed(chat)
    worker = backend.admin("GET", f"/tickets/{ticket_no}")["worker"]["code"]
    for step in ("accept", "arrive"):
        backend.admin("POST", f"/tickets/{ticket_no}/events", {"type": step, "worker_code": worker})
    assert chat.said("已经有电了，不用来了", "resolve_task") == ["utter_withdraw_on_site"]
    assert status(backend, ticket_no) == "arrived"


def test_back_before_the_report_was_filed_drops_the_report(chat: Chat, backend: Backend, place: Place) -> None:
    chat.say("我家停电了", "report_outage")
    assert chat.said("哦 来电了", "inform") == ["utter_power_back_glad"]
    assert chat.state.task is None
    assert backend.admin("GET", f"/tickets?account_no={place.account_no}") == []


def test_nothing_open_is_glad_to_hear_it(chat: Chat) -> None:
    assert names(chat.say("来电了", "report_outage")) == ["utter_power_back_glad"]
    assert chat.state.task is None
