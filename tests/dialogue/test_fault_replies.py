"""Issue 18 in conversation: reports that make a suspected fault are answered at once, the worker
confirms it in WeCom, and a bare digit answers the question a push asked (dialogue/prompts.py,
dialogue/workers.py, dialogue/outage.py)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.dialogue.conftest import Backend, Chat, Place, names, values


def neighbours(backend: Backend, place: Place, count: int) -> list[tuple[str, str]]:
    """More residents on the place's transformer, each bound to their own WeChat user."""
    people = []
    for n in range(count):
        account_no, openid = place.account_no[:-2] + f"{60 + n:02d}", f"{place.openid}_n{n}"
        backend.admin(
            "POST",
            "/customers",
            {
                "account_no": account_no,
                "name": "邻居",
                "phone": place.phone[:-2] + f"{60 + n}",
                "address": f"阳光小区{n + 2}栋",
                "customer_type": "resident",
                "area_type": "urban",
                "transformer_code": place.transformer_code,
                "wechat_openid": openid,
            },
        )
        people.append((account_no, openid))
    return people


def file(backend: Backend, openid: str) -> list[str]:
    chat = Chat(backend.client(), openid)
    first = chat.said("家里停电了", "report_outage")
    return first if first != ["utter_report_confirm"] else chat.said("1", "affirm")


def test_the_report_that_makes_a_fault_and_every_later_one_are_told_at_once(backend: Backend, place: Place) -> None:
    """Three neighbours' reports make a suspected fault (FAULT_CLUSTER_MIN_REPORTS); the fourth is
    answered in one turn, with no confirmation asked, and opens no ticket."""
    people = neighbours(backend, place, 3)
    assert file(backend, place.openid)[0] == "utter_report_ticket_created"
    assert file(backend, people[0][1])[0] == "utter_report_ticket_created"
    assert file(backend, people[1][1]) == ["utter_outage_suspected", "utter_outage_subscribed"]
    fourth = Chat(backend.client(), people[2][1]).say("停电了", "report_outage")
    assert names(fourth) == ["utter_outage_suspected", "utter_outage_subscribed"]
    assert values(fourth, "utter_outage_suspected")["ticket_no"].startswith("QX")
    assert backend.admin("GET", f"/tickets?account_no={people[2][0]}") == []


def test_the_worker_confirms_the_fault_on_site_with_its_cause_and_estimate(backend: Backend, place: Place) -> None:
    people = neighbours(backend, place, 2)
    for openid in (place.openid, people[0][1], people[1][1]):
        file(backend, openid)
    worker = Chat(backend.client(), place.worker_wecom_id, channel="wecom")
    assert worker.said("确认故障") == ["utter_worker_fault_needs_time"]
    confirmed = worker.say("确认故障，树枝搭线，预计3小时恢复")
    assert names(confirmed) == ["utter_worker_fault_confirmed"]
    [outage] = [
        o
        for o in backend.admin("GET", "/outages?open_only=true&limit=500")
        if o.get("ticket_no") == values(confirmed, "utter_worker_fault_confirmed")["ticket_no"]
    ]
    assert (outage["status"], outage["cause"]) == ("active", "树枝搭线，预计3小时恢复")
    told = Chat(backend.client(), place.openid).say("什么时候来电", "query_outage")
    assert names(told) == ["utter_outage_current"] and values(told, "utter_outage_current")["cause"] == outage["cause"]


def sent(backend: Backend, ticket_no: str) -> None:
    """The notifier sent the ticket's pushes (none runs beside this backend): the question is open."""
    engine = create_engine(backend.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE outbox_message SET status = 'sent' WHERE dedup_key LIKE :key"),
                {"key": f"ticket:{ticket_no}:%"},
            )
    finally:
        engine.dispose()


def resolved(backend: Backend, place: Place, chat: Chat) -> str:
    chat.say("停电了", "report_outage")
    ticket_no = values(chat.say("1", "affirm"), "utter_report_ticket_created")["ticket_no"]
    for step in ("accept", "arrive", "resolve"):
        backend.admin(
            "POST",
            f"/tickets/{ticket_no}/events",
            {"type": step, "worker_code": place.worker_code, "note": "表箱空开跳闸，已合上"},
        )
    sent(backend, ticket_no)
    return ticket_no


def test_1_to_the_pushed_restore_question_thanks_and_the_next_digit_rates(
    backend: Backend, place: Place, chat: Chat
) -> None:
    ticket_no = resolved(backend, place, chat)
    assert chat.said("1", "inform") == ["utter_restore_thanks"]
    assert chat.said("5", "inform") == ["utter_rating_thanks"]
    assert backend.admin("GET", f"/tickets/{ticket_no}")["rating"] == 5


def test_2_to_the_pushed_restore_question_opens_the_customer_s_own_ticket(
    backend: Backend, place: Place, chat: Chat
) -> None:
    first = resolved(backend, place, chat)
    told = chat.say("还没来电", "report_outage")
    assert names(told)[0] == "utter_restore_ticket"
    again = values(told, "utter_restore_ticket")["ticket_no"]
    assert again != first and backend.admin("GET", f"/tickets/{again}")["priority"] == "high"


def test_a_digit_with_no_question_asked_anywhere_is_not_taken_for_an_answer(chat: Chat) -> None:
    assert chat.said("2", "inform") == ["utter_nothing_asked"]
