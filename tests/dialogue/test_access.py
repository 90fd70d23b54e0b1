"""Personal data in conversation: a bound owner reads at once; anyone else gives the number and the
phone's last four digits (attempts limited); binding with the code texted to the registered phone,
then the question that needed it is answered (dialogue/access.py, dialogue/binding.py)."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from tests.dialogue.conftest import Backend, Chat, Place, names, values


def texted_code(backend: Backend, phone: str) -> str:
    engine = create_engine(backend.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            params = conn.execute(
                text(
                    "SELECT params FROM outbox_message WHERE template = 'bind_code' AND phone = :phone ORDER BY id DESC"
                ),
                {"phone": phone},
            ).scalar_one()
    finally:
        engine.dispose()
    return str((json.loads(params) if isinstance(params, str) else params)["code"])


def report_for(backend: Backend, place: Place, key: str) -> str:
    body = {"account_no": place.account_no, "channel": "wechat", "sender_id": place.openid, "description": "停电"}
    return str(backend.admin("POST", "/repair-reports", body, **{"Idempotency-Key": key})["ticket_no"])


def test_a_stranger_reads_a_ticket_after_the_phone_digits(backend: Backend, place: Place) -> None:
    ticket_no = report_for(backend, place, f"access-{place.account_no}")
    stranger = Chat(backend.client(), "o_neighbour_of_" + place.openid)
    asked = stranger.say(f"{ticket_no}到哪了", "query_repair_progress", ticket_no=ticket_no)
    assert (
        names(asked) == ["utter_verify_ask_last4"] and ticket_no in values(asked, "utter_verify_ask_last4")["document"]
    )
    wrong = stranger.say("0000", "inform")
    assert names(wrong) == ["utter_verify_failed"] and values(wrong, "utter_verify_failed")["attempts_left"] == 4
    right = stranger.say(place.phone[-4:], "inform")
    assert (
        names(right) == ["utter_ticket_dispatched"]
        and values(right, "utter_ticket_dispatched")["ticket_no"] == ticket_no
    )
    assert stranger.state.task is None


def test_the_owner_reads_the_ticket_without_a_check(backend: Backend, place: Place, chat: Chat) -> None:
    ticket_no = report_for(backend, place, f"owner-{place.account_no}")
    assert chat.said("报修进度", "query_repair_progress") == ["utter_ticket_dispatched"]
    assert chat.said(f"{ticket_no}", "inform", ticket_no=ticket_no) == ["utter_ticket_dispatched"]


def test_guessing_the_digits_locks_after_five(backend: Backend, place: Place) -> None:
    guesser = Chat(backend.client(), "o_guesser_" + place.openid)
    guesser.say(f"{place.account_no}电费多少", "query_bill", account_no=place.account_no)
    for _ in range(4):
        assert guesser.said("1111", "inform") == ["utter_verify_failed"]
    assert guesser.said("1111", "inform") == ["utter_verify_locked"]
    assert guesser.state.task is None, "the check ends; the customer is not left in it"


def test_binding_with_the_texted_code_then_the_bill_is_answered(backend: Backend, place: Place) -> None:
    backend.admin("POST", "/bills", {"account_no": place.account_no, "period": "2026-10", "kwh": 180})
    unbound = "o_new_" + place.openid
    chat = Chat(backend.client(), unbound)
    assert chat.said("这个月电费多少", "query_bill") == ["utter_bind_needed"]
    sent = chat.say(place.account_no, "inform", account_no=place.account_no)
    assert names(sent) == ["utter_bind_code_sent"]
    assert values(sent, "utter_bind_code_sent")["phone_masked"] == place.phone[:3] + "****" + place.phone[-4:]
    done = chat.say(texted_code(backend, place.phone), "inform")
    assert names(done)[:2] == ["utter_bind_success", "utter_bill_summary_unpaid"]
    assert chat.state.identity.account_nos == [place.account_no]


def test_leaving_binding_keeps_the_conversation_free(backend: Backend, place: Place) -> None:
    chat = Chat(backend.client(), "o_leaver_" + place.openid)
    chat.say("查电费", "query_bill")
    assert chat.said("不用了", "deny") == ["utter_bind_stopped"]
    assert chat.said("峰谷电价怎么算", "explain_bill") == ["utter_bill_tou"], "general questions need no account"


def test_a_bill_question_mid_report_does_not_trap_the_customer(backend: Backend, place: Place) -> None:
    """An unbound customer reporting by address asks about the bill: binding is offered on top of the
    report; leaving it brings the report back where it was."""
    chat = Chat(backend.client(), "o_mid_" + place.openid)
    chat.say("我家停电了", "report_outage")
    chat.say(place.address, "inform", address=place.address)
    assert chat.said("电费多少钱", "query_bill") == ["utter_bind_needed"]
    back = chat.said("算了", "deny")
    assert back == ["utter_bind_stopped", "utter_resume", "utter_report_ask_phone"]
    assert chat.said("13912345678", "inform", phone="13912345678") == ["utter_report_confirm"]
