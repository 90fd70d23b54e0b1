"""What customers wrote when the assistant was played as they would use it (stop 27), each once
answered wrongly: a report with its place in the same message, "还没来电" inside an outage, a short
answer the NLU read as asking for a person, "好吧" taken for a complaint, a call-back offer that
outlived the goodbye."""

from __future__ import annotations

from dialogue.meaning import meaning_of
from dialogue.message import FALLBACK, Message
from dialogue.state import State
from tests.dialogue.conftest import Backend, Chat, Place, fault_outage, names, values


def test_a_report_with_its_place_and_phone_in_one_message_is_filed_with_one_confirmation(
    backend: Backend, place: Place
) -> None:
    """ "停电了 <address> 电话…", read by the NLU as inform: before, "收到您发的号码。请问需要办理什么业务"."""
    stranger = Chat(backend.client(), "o_stranger_played_1")
    replies = stranger.say(f"停电了 {place.address} 电话13622223333", "inform")
    assert names(replies) == ["utter_report_confirm"]
    shown = values(replies, "utter_report_confirm")
    assert shown["place"] == place.address and shown["phone"] == "136****3333"
    assert stranger.said("1", "affirm")[0] == "utter_report_ticket_created"


def test_a_place_with_an_outage_question_is_a_question() -> None:
    message = Message(text="翠湖苑5栋1单元201停电了吗", intent="inform", confidence=0.6)
    assert meaning_of(message, State()) == "query_outage"


def test_a_place_alone_is_still_asked_what_for() -> None:
    message = Message(text="翠湖苑5栋1单元201", intent="inform", confidence=0.9)
    assert meaning_of(message, State()) == "inform"


def test_still_no_power_inside_an_outage_at_home_gets_where_it_stands(
    chat: Chat, place: Place, backend: Backend
) -> None:
    """ "还没来电啊 冰箱里的东西都要坏了" with no ticket: before, "请问是家里停电需要报修吗" (twice)."""
    fault_outage(backend, place)
    told = chat.say("还没来电啊 冰箱里的东西都要坏了", "complaint")
    assert names(told) == ["utter_urge_outage", "utter_outage_current"]
    assert values(told, "utter_outage_current")["cause"] == "10千伏线路故障"


def test_an_urge_with_no_ticket_and_no_outage_is_offered_a_report(chat: Chat) -> None:
    assert chat.said("怎么还没人来", "complaint") == ["utter_urge_no_ticket"]


def test_an_answer_the_nlu_reads_as_asking_for_a_person_is_not_one() -> None:
    """ "个人住宅" after the connection menu, "叫赵磊" after praise: before, the call-back offer."""
    for text in ("个人住宅", "叫赵磊"):
        assert meaning_of(Message(text=text, intent="request_human", confidence=0.7), State()) == "fallback"
    for text in ("转人工", "叫个人来", "我要跟真人说话", "/request_human"):
        assert meaning_of(Message(text=text, intent="request_human", confidence=0.7), State()) == "request_human"
    assert meaning_of(Message(text="个人住宅", intent=FALLBACK, confidence=0.2), State()) == "fallback"


def test_a_bare_yes_is_not_filed_as_a_complaint(chat: Chat, backend: Backend, place: Place) -> None:
    chat.say("我要投诉", "complaint")
    assert chat.state.task["name"] == "complaint"
    chat.say("好吧", "affirm")
    assert chat.state.task is not None and chat.state.task["name"] == "complaint"
    filed = chat.say("师傅昨天来修的时候骂人", "query_repair_progress")  # as the NLU read it
    assert names(filed)[0] == "utter_complaint_taken"
    complaints = [
        t for t in backend.admin("GET", f"/tickets?account_no={place.account_no}") if t["kind"] == "complaint"
    ]
    assert [t["description"] for t in complaints] == ["师傅昨天来修的时候骂人"]


def test_a_goodbye_ends_the_offer_of_a_call_back(chat: Chat) -> None:
    chat.state.start("callback", "offer")
    assert chat.said("没了 拜拜", "goodbye") == ["utter_goodbye"]
    assert chat.state.task is None
    assert "utter_callback_offer" not in chat.said("你好", "greet")


def test_leaving_it_for_now_with_a_reason_ends_the_report(chat: Chat, backend: Backend, place: Place) -> None:
    """ "算了，我先自己试试" after the tripping advice: before, "没太明白" and the report kept open."""
    chat.say("我家老是跳闸", FALLBACK)
    assert chat.said("算了，我先自己试试", "deny") == ["utter_task_cancelled"]
    assert chat.state.task is None
    for text in ("不用了，回头再说", "算了我自己先看看"):
        assert Message(text=text, intent="deny", confidence=0.5).is_cancel()
    for text in ("算了，还是报修吧", "不用了，直接派人来吧"):
        assert not Message(text=text, intent="inform", confidence=0.5).is_cancel()


def test_the_utilitys_phone_number_is_95598(backend: Backend, place: Place) -> None:
    """ "你们电力公司电话多少": before, "这个问题我暂时帮不上忙"."""
    stranger = Chat(backend.client(), "o_stranger_played_2")
    assert stranger.said("你们电力公司电话多少", "out_of_scope") == ["utter_hotline"]
    assert meaning_of(Message(text="网格员电话多少", intent="contact_grid_worker", confidence=0.9), State()) == (
        "contact_grid_worker"
    )


def test_the_price_of_a_kwh_is_told_without_binding(backend: Backend, place: Place) -> None:
    """ "电费多少钱一度" from someone not bound: before, the binding was started."""
    stranger = Chat(backend.client(), "o_stranger_played_3")
    assert stranger.said("电费多少钱一度", "query_bill") == ["utter_bill_tiers"]
    assert stranger.state.task is None
