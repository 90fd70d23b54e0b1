"""Repair reports in conversation: one confirmation, the outage pool first, digressions, corrections,
cancelling, and a report kept while the backend is down (dialogue/repair.py, dialogue/engine.py)."""

from __future__ import annotations

from clients.backend import BackendClient
from tests.dialogue.conftest import Backend, Chat, Place, fault_outage, names, values


def tickets_of(backend: Backend, account_no: str) -> list[dict]:
    return [t for t in backend.admin("GET", f"/tickets?account_no={account_no}") if t["kind"] != "complaint"]


def test_a_bound_customer_files_with_one_confirmation(chat: Chat, place: Place, backend: Backend) -> None:
    """Two messages: the report, and "1" on the one confirmation showing address, masked phone, problem."""
    first = chat.say("我家停电了", "report_outage")
    assert names(first) == ["utter_report_confirm"]
    shown = values(first, "utter_report_confirm")
    assert shown["place"] == place.address and shown["phone"] == place.phone[:3] + "****" + place.phone[-4:]
    assert shown["description"] == "我家停电了"
    done = chat.say("1", "affirm")
    assert names(done)[:2] == ["utter_report_ticket_created", "utter_report_worker"]
    assert [t["description"] for t in tickets_of(backend, place.account_no)] == ["我家停电了"]
    assert chat.state.task is None


def test_the_worker_named_with_a_report_can_be_called_on_the_number_the_grid_answer_gives(chat: Chat) -> None:
    """The report's answer names the worker who will come with a phone the customer can dial: the
    same full number "我的网格员是谁" gives, not a masked one."""
    chat.say("我家停电了", "report_outage")
    with_report = values(chat.say("1", "affirm"), "utter_report_worker")
    asked = values(chat.say("我的网格员是谁", "contact_grid_worker"), "utter_grid_worker")
    assert with_report["worker_phone"] == asked["worker_phone"]
    assert with_report["worker_phone"].isdigit() and len(with_report["worker_phone"]) == 11


def test_only_this_home_gets_the_self_check_hint_with_the_confirmation(chat: Chat) -> None:
    """ "邻居家有电": the hint comes together with the offer to send a crew, not instead of it."""
    assert chat.said("家里突然停电了，邻居家有电", "report_outage") == [
        "utter_report_self_check",
        "utter_report_confirm",
    ]


def test_a_breaker_that_keeps_tripping_is_a_report_with_its_own_advice(
    chat: Chat, backend: Backend, place: Place
) -> None:
    """ "我家老是跳闸", which the NLU does not place: advice on overloads and leaking appliances (not
    the "your neighbours have power" hint), the offer to send a crew, and the customer's words filed."""
    assert chat.said("我家老是跳闸", "nlu_fallback") == ["utter_report_trips_often", "utter_report_confirm"]
    assert chat.said("1", "affirm")[0] == "utter_report_ticket_created"
    assert [t["description"] for t in tickets_of(backend, place.account_no)] == ["我家老是跳闸"]


def test_inside_a_known_outage_the_customer_is_told_at_once_and_no_ticket_opens(
    chat: Chat, place: Place, backend: Backend
) -> None:
    fault_outage(backend, place)
    told = chat.say("我家没电了", "report_outage")
    assert names(told) == ["utter_outage_current", "utter_outage_subscribed"]
    assert values(told, "utter_outage_current")["cause"] == "10千伏线路故障"
    assert chat.state.task is None, "no form is left asking questions"
    assert chat.said("好吧谢谢", "thank") == ["utter_thank"]
    assert tickets_of(backend, place.account_no) == []


def test_a_question_mid_report_is_answered_then_the_report_resumes(chat: Chat, backend: Backend, place: Place) -> None:
    chat.say("家里停电了", "report_outage")
    digression = chat.said("怎么交电费", "payment_methods")
    assert digression == ["utter_payment_methods", "utter_report_remind_confirm"]
    assert chat.said("继续报修", "report_outage") == ["utter_report_confirm"]
    assert chat.said("1", "affirm")[0] == "utter_report_ticket_created"
    assert len(tickets_of(backend, place.account_no)) == 1


def test_cancel_words_end_the_report_and_say_so(chat: Chat, backend: Backend, place: Place) -> None:
    chat.say("停电了", "report_outage")
    assert chat.said("算了", "deny") == ["utter_task_cancelled"]
    assert chat.state.task is None
    assert chat.said("1", "affirm") == ["utter_nothing_asked"], "a stray 1 files nothing"
    assert tickets_of(backend, place.account_no) == []


def test_a_correction_updates_the_report_before_it_is_filed(chat: Chat, backend: Backend, place: Place) -> None:
    chat.say("停电了", "report_outage")
    fixed = chat.say("不对，是5单元", "inform")
    assert names(fixed) == ["utter_report_updated", "utter_report_confirm"]
    assert "5单元" in values(fixed, "utter_report_confirm")["place"]
    phone = chat.say("电话换成13912345678", "inform", phone="13912345678")
    assert values(phone, "utter_report_confirm")["phone"] == "139****5678"
    chat.say("1", "affirm")
    [ticket] = tickets_of(backend, place.account_no)
    assert "地址更正：5单元" in ticket["description"]


def test_urgency_at_the_confirmation_is_noted_not_taken_as_an_answer(
    chat: Chat, backend: Backend, place: Place
) -> None:
    chat.say("停电了", "report_outage")
    assert chat.said("能不能快点啊，家里有老人", "complaint") == ["utter_report_urgency_noted", "utter_report_confirm"]
    chat.say("1", "affirm")
    [ticket] = tickets_of(backend, place.account_no)
    assert "家里有老人" in ticket["description"]


def test_an_unknown_account_is_said_at_once(backend: Backend, place: Place) -> None:
    stranger = Chat(backend.client(), "o_stranger_unknown_account")
    asked = stranger.said("我家停电了", "report_outage")
    assert asked == ["utter_report_ask_place"]
    told = stranger.say("3999999999", "inform", account_no="3999999999")
    assert names(told) == ["utter_report_account_unknown"]
    assert stranger.state.task["step"] == "place"
    by_account = stranger.said(place.account_no, "inform", account_no=place.account_no)
    assert by_account == ["utter_report_ask_phone"], "a stranger's callback number is asked, the owner's not shown"


def test_an_address_given_where_something_else_was_asked_is_noted_and_the_question_asked_again(
    backend: Backend, place: Place
) -> None:
    """A stranger filing by account answers "what happened?" and later "which phone?" with the flat:
    the flat is kept for the worker, each question comes again, and the report still files."""
    stranger = Chat(backend.client(), "o_stranger_address_instead")
    asked = stranger.said(f"报修，{place.account_no}", "report_outage", account_no=place.account_no)
    assert asked == ["utter_report_ask_description"]
    noted = stranger.said("我住3栋2单元501", "inform", address="3栋2单元501")
    assert noted == ["utter_report_address_noted", "utter_report_ask_description"]
    assert stranger.said("全部没电了", "report_outage") == ["utter_report_ask_phone"]
    noted = stranger.said("就是5栋1单元那边", "inform", address="5栋1单元")
    assert noted == ["utter_report_address_noted", "utter_report_ask_phone"]
    confirm = stranger.say("13912345678", "inform", phone="13912345678")
    noted_for_the_worker = "全部没电了；详细地址：3栋2单元501；详细地址：5栋1单元"
    assert values(confirm, "utter_report_confirm")["description"] == noted_for_the_worker
    stranger.say("1", "affirm")
    assert [t["description"] for t in tickets_of(backend, place.account_no)] == [noted_for_the_worker]


def test_a_report_while_the_backend_is_down_is_kept_and_the_customer_told(place: Place) -> None:
    down = Chat(BackendClient("http://127.0.0.1:9", "token"), place.openid)
    down.state.identity.loaded = True
    down.state.identity.kind = "customer"
    down.state.identity.accounts = [
        {"account_no": place.account_no, "address": place.address, "phone_masked": "139****0078"}
    ]
    assert down.said("停电了", "report_outage") == ["utter_report_confirm"]
    assert down.said("1", "affirm") == ["utter_report_queued"]
    [(kind, report, _)] = down.journal.kept
    assert kind == "repair_report" and report["account_no"] == place.account_no


def test_a_task_ignored_three_times_is_set_aside_and_comes_back(chat: Chat) -> None:
    chat.say("停电了", "report_outage")
    for _ in range(2):
        assert chat.said("你是机器人吗", "bot_challenge") == ["utter_bot_challenge", "utter_report_remind_confirm"]
    assert chat.said("你是机器人吗", "bot_challenge") == ["utter_bot_challenge", "utter_task_parked"]
    assert chat.state.task is None
    assert chat.said("继续", "inform") == ["utter_report_confirm"]


def test_a_hazard_takes_over_a_report(chat: Chat) -> None:
    chat.say("停电了", "report_outage")
    hazard = chat.said("外面电线掉地上了在冒火花", "report_hazard")
    assert hazard == ["utter_hazard_safety", "utter_hazard_ask_place"]
    assert chat.state.task["name"] == "hazard"
