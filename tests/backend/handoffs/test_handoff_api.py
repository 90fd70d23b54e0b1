"""Hand-offs through the API as the assistant (actions token) and the agents (signed in) use them:
the queue and its figures, the customer's messages, claim, reply, transfer, release, close, cancel,
and the roles and bad input they refuse."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import Settings
from backend.handoffs.models import Handoff
from backend.main import create_app
from backend.notifications.models import OutboxMessage
from tests.backend.conftest import TOKENS, County, bearer
from tests.backend.handoffs.conftest import Staff, line

BOT_REQUEST = {
    "channel": "wechat",
    "sender_id": "o_customer_waiting_01",
    "reason": "客户询问停电原因，希望人工解答",
    "transcript": [line("customer", "我家停电了"), line("bot", "请问您的户号是多少？"), line("customer", "转人工")],
}


def ask(client: TestClient, headers: dict[str, str], **overrides: object) -> dict:
    answer = client.post("/api/v1/handoffs", json=BOT_REQUEST | overrides, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def outbox(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with factory() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_handoff_made_as_the_assistant_makes_it_waits_with_real_figures(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff
) -> None:
    """The bot's request is queued with a position and a wait from the agents online; the transcript
    (bot turns included) and the reason are kept; the same sender asking again keeps their place."""
    lin, huang = staff.hire("lin", name="林晓"), staff.hire("huang", name="黄蕾")
    staff.on_duty(lin, huang)
    first = ask(client, actions_headers)
    assert first["status"] == "waiting" and first["agents_online"] == 2
    assert (first["queue_position"], first["estimated_wait_minutes"]) == (1, 1)
    assert first["unavailable_reason"] is None and first["manager"] is None
    second = ask(client, actions_headers, channel="sms", sender_id="13800000009", transcript=[])
    assert second["queue_position"] == 2
    again = ask(client, actions_headers, transcript=[line("customer", "怎么还没人")])
    assert (again["id"], again["queue_position"]) == (first["id"], 1)

    detail = client.get(f"/api/v1/handoffs/{first['id']}", headers=actions_headers).json()
    assert [(t["from"], t["text"]) for t in detail["transcript"]] == [
        ("customer", "我家停电了"),
        ("bot", "请问您的户号是多少？"),
        ("customer", "转人工"),
    ]
    assert detail["reason"] == BOT_REQUEST["reason"] and detail["status"] == "waiting"
    queue = client.get("/api/v1/handoffs", params={"status": "waiting"}, headers=lin.headers).json()
    assert [(q["id"], q["queue_position"], q["channel"]) for q in queue] == [
        (first["id"], 1, "wechat"),
        (second["id"], 2, "sms"),
    ]
    mine = client.get("/api/v1/handoffs", params={"sender_id": "13800000009"}, headers=actions_headers).json()
    assert [m["id"] for m in mine] == [second["id"]]


def test_the_wait_follows_agents_online_and_recent_handling_times(
    settings: Settings, county: County, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    """One agent taking one conversation at a time, conversations of 10 minutes today: the third in
    line waits about 20 minutes beyond the first free place; with a second agent, half that."""
    one_at_a_time = settings.model_copy(update={"handoff_agent_concurrency": 1})
    now = clock.now()
    with session_factory() as session, session.begin():
        for n in range(3):  # three conversations handled today, 10 minutes each
            session.add(
                Handoff(
                    channel="sms", sender_id=f"1380000010{n}", target="queue", status="released",
                    created_at=now - timedelta(hours=1), claimed_at=now - timedelta(minutes=40 + n),
                    ended_at=now - timedelta(minutes=30 + n), updated_at=now,
                )
            )  # fmt: skip
    with TestClient(create_app(one_at_a_time)) as client:
        people = Staff(client, bearer(TOKENS["powerdesk_admin_token"]), session_factory)
        lin = people.hire("lin")
        people.on_duty(lin)
        answers = [ask(client, actions_headers, sender_id=f"o_wait_{n:04d}", transcript=[]) for n in range(3)]
        assert [a["estimated_wait_minutes"] for a in answers] == [1, 10, 20]
        huang = people.hire("huang")
        people.on_duty(huang)
        later = client.get(f"/api/v1/handoffs/{answers[2]['id']}", headers=actions_headers).json()
        assert later["estimated_wait_minutes"] == 5  # one place beyond the two free ones, 10 min / 2 agents


def test_customer_messages_while_waiting_go_into_the_transcript_once(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff
) -> None:
    staff.on_duty(staff.hire("lin"))
    handoff = ask(client, actions_headers)
    path = f"/api/v1/handoffs/{handoff['id']}/customer-messages"
    first = {"text": "我等了好久了", "at": "2026-11-22T10:05:00+08:00"}
    answers = [
        client.post(path, json=body, headers=actions_headers).json()
        for body in (first, first, {"text": "家里老人在用制氧机", "at": "2026-11-22T10:06:00+08:00"})
    ]
    # only the first message passed on is acknowledged; the same message again is not a new one
    assert answers == [
        {"status": "waiting", "acknowledge": True},
        {"status": "waiting", "acknowledge": False},
        {"status": "waiting", "acknowledge": False},
    ]
    transcript = client.get(f"/api/v1/handoffs/{handoff['id']}", headers=actions_headers).json()["transcript"]
    assert [t["text"] for t in transcript[-2:]] == ["我等了好久了", "家里老人在用制氧机"]
    assert len(transcript) == 5


def test_two_agents_cannot_claim_one_conversation(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff
) -> None:
    lin, huang = staff.hire("lin", name="林晓"), staff.hire("huang", name="黄蕾")
    staff.on_duty(lin, huang)
    handoff = ask(client, actions_headers)
    path = f"/api/v1/handoffs/{handoff['id']}/claim"
    won = client.post(path, json={"agent": "lin"}, headers=lin.headers)
    assert won.status_code == 200 and won.json()["agent"] == {"username": "lin", "name": "林晓"}
    lost = client.post(path, json={"agent": "huang"}, headers=huang.headers)
    assert lost.status_code == 409
    assert lost.json()["code"] == "already_claimed" and "林晓" in lost.json()["message"]
    active = client.get("/api/v1/handoffs", params={"status": "active"}, headers=huang.headers).json()
    assert [(a["id"], a["agent"]["name"]) for a in active] == [(handoff["id"], "林晓")]
    assert client.get("/api/v1/handoffs", params={"status": "waiting"}, headers=huang.headers).json() == []
    assert [e["event"] for e in won.json()["timeline"]] == ["queued", "claimed"]


def test_a_reply_goes_out_once_and_not_after_release_or_to_another_agents_customer(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    staff: Staff,
    session_factory: sessionmaker[Session],
) -> None:
    """The same reply sent twice (a retry) is one line and one push; a reply to a conversation held
    by another agent, or released, is refused and sends nothing; the release tells the customer once."""
    lin, huang = staff.hire("lin", name="林晓"), staff.hire("huang", name="黄蕾")
    staff.on_duty(lin, huang)
    handoff = ask(client, actions_headers)
    base = f"/api/v1/handoffs/{handoff['id']}"
    assert client.post(f"{base}/messages", json={"text": "您好"}, headers=lin.headers).json()["code"] == "not_claimed"
    client.post(f"{base}/claim", json={"agent": "lin"}, headers=lin.headers)
    reply = {"text": "您好，我是人工客服林晓，正在为您查询。", "client_key": "draft-0001"}
    for _ in range(2):
        answer = client.post(f"{base}/messages", json=reply, headers=lin.headers)
        assert answer.status_code == 201 and answer.json()["delivery"] == "pending"
    other = client.post(
        f"{base}/messages", json={"text": "我来回答", "client_key": "draft-0002"}, headers=huang.headers
    )
    assert other.status_code == 409 and other.json()["code"] == "claimed_by_other"
    replies = [row for row in outbox(session_factory) if row.template == "agent_reply"]
    assert [(r.params["text"], r.params["agent_name"], r.wechat_openid) for r in replies] == [
        (reply["text"], "林晓", "o_customer_waiting_01")
    ]

    released = client.post(f"{base}/release", json={"summary": "已告知停电原因为线路检修"}, headers=lin.headers)
    assert released.status_code == 200
    assert (released.json()["status"], released.json()["summary"]) == ("released", "已告知停电原因为线路检修")
    late = client.post(f"{base}/messages", json={"text": "还在吗？", "client_key": "draft-0003"}, headers=lin.headers)
    assert late.status_code == 409 and late.json()["code"] == "handoff_ended"
    assert client.post(f"{base}/release", json={"summary": "再次结束"}, headers=lin.headers).status_code == 409
    templates = [row.template for row in outbox(session_factory)]
    assert templates == ["agent_reply", "handoff_released"]

    seen_by_bot = client.get(base, headers=actions_headers).json()
    assert (seen_by_bot["status"], seen_by_bot["summary"]) == ("released", "已告知停电原因为线路检修")
    assert [t["from"] for t in seen_by_bot["transcript"]][-1] == "agent"
    assert (
        client.get("/api/v1/handoffs", params={"sender_id": "o_customer_waiting_01"}, headers=actions_headers).json()
        == []
    )
    answer = client.post(
        f"{base}/customer-messages", json={"text": "谢谢", "at": "2026-11-22T10:09:00+08:00"}, headers=actions_headers
    )
    assert answer.json() == {"status": "released", "acknowledge": False}


def test_transfer_to_another_agent_and_back_to_the_queue_in_the_first_place(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff
) -> None:
    lin, huang, zhao = staff.hire("lin", name="林晓"), staff.hire("huang", name="黄蕾"), staff.hire("zhao")
    staff.on_duty(lin, huang)
    first = ask(client, actions_headers)
    base = f"/api/v1/handoffs/{first['id']}"
    client.post(f"{base}/claim", json={"agent": "lin"}, headers=lin.headers)
    offline = client.post(f"{base}/transfer", json={"to": "zhao"}, headers=lin.headers)
    assert offline.status_code == 409 and offline.json()["code"] == "agent_offline"
    moved = client.post(f"{base}/transfer", json={"to": "huang", "note": "电费问题"}, headers=lin.headers).json()
    assert moved["agent"]["name"] == "黄蕾"
    assert (
        client.post(f"{base}/messages", json={"text": "还是我"}, headers=lin.headers).json()["code"]
        == "claimed_by_other"
    )
    later = ask(client, actions_headers, sender_id="o_customer_later_01", transcript=[])
    back = client.post(f"{base}/transfer", json={"to": None}, headers=huang.headers).json()
    assert (back["status"], back["agent"], back["queue_position"]) == ("waiting", None, 1)
    assert client.get(f"/api/v1/handoffs/{later['id']}", headers=actions_headers).json()["queue_position"] == 2
    assert [e["event"] for e in back["timeline"]] == ["queued", "claimed", "transferred", "requeued"]
    del zhao


def test_cancel_and_close(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    staff: Staff,
    session_factory: sessionmaker[Session],
) -> None:
    """The customer's "不用了" ends the wait (nothing more is taken in); an agent may close a
    conversation, and the customer is told once."""
    lin = staff.hire("lin")
    staff.on_duty(lin)
    first = ask(client, actions_headers)
    assert client.post(f"/api/v1/handoffs/{first['id']}/cancel", headers=actions_headers).json() == {
        "status": "cancelled"
    }
    again = client.post(f"/api/v1/handoffs/{first['id']}/cancel", headers=actions_headers)
    assert again.status_code == 409 and again.json()["code"] == "handoff_ended"
    after = {"text": "算了", "at": "2026-11-22T10:09:00+08:00"}
    assert client.post(
        f"/api/v1/handoffs/{first['id']}/customer-messages", json=after, headers=actions_headers
    ).json() == {"status": "cancelled", "acknowledge": False}
    second = ask(client, actions_headers)  # a new request after the cancelled one
    assert second["id"] != first["id"] and second["queue_position"] == 1
    client.post(f"/api/v1/handoffs/{second['id']}/claim", json={"agent": "lin"}, headers=lin.headers)
    closed = client.post(f"/api/v1/handoffs/{second['id']}/close", json={}, headers=lin.headers).json()
    assert closed["status"] == "closed"
    assert [row.template for row in outbox(session_factory)] == ["handoff_closed"]
    ended = client.get("/api/v1/handoffs", params={"status": "closed"}, headers=lin.headers).json()
    assert [(e["id"], e["status"]) for e in ended] == [(second["id"], "closed"), (first["id"], "cancelled")]


def test_nobody_on_duty_is_said_honestly_and_a_callback_is_a_task_with_its_deadline(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff
) -> None:
    """No agent online: `unavailable`, nothing queued; the callback the customer accepts becomes a
    task due within the contact time (the test's service hours run around the clock)."""
    answer = ask(client, actions_headers)
    assert (answer["status"], answer["unavailable_reason"], answer["agents_online"]) == (
        "unavailable", "no_agent_on_duty", 0,
    )  # fmt: skip
    assert answer["queue_position"] is None
    asked_at = clock.now()
    callback = {
        "channel": "wechat",
        "sender_id": "o_customer_waiting_01",
        "phone": "13800000001",
        "reason": "咨询停电原因",
    }
    made = client.post("/api/v1/callbacks", json=callback, headers=actions_headers)
    assert made.status_code == 201
    deadline = datetime.fromisoformat(made.json()["contact_deadline"])
    assert timedelta(minutes=119) < deadline - asked_at <= timedelta(minutes=121)
    assert client.post("/api/v1/callbacks", json=callback, headers=actions_headers).json()["id"] == made.json()["id"]
    lin = staff.hire("lin")
    tasks = client.get("/api/v1/callbacks", headers=lin.headers).json()
    assert [(t["phone"], t["reason"], t["overdue"]) for t in tasks] == [("13800000001", "咨询停电原因", False)]
    done = client.post(f"/api/v1/callbacks/{made.json()['id']}/done", json={"note": "已电话告知"}, headers=lin.headers)
    assert done.json()["status"] == "done" and done.json()["done_by"] == "lin"
    assert client.get("/api/v1/callbacks", headers=lin.headers).json() == []


def test_outside_service_hours_nothing_is_queued(
    settings: Settings, county: County, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    local = clock.now().astimezone(clock.LOCAL_ZONE)
    closed_now = settings.model_copy(
        update={
            "handoff_hours_start": time((local.hour + 2) % 24, 0),
            "handoff_hours_end": time((local.hour + 3) % 24, 0),
        }
    )
    with TestClient(create_app(closed_now)) as client:
        people = Staff(client, bearer(TOKENS["powerdesk_admin_token"]), session_factory)
        people.on_duty(people.hire("lin"))
        answer = ask(client, actions_headers)
        assert (answer["status"], answer["unavailable_reason"], answer["agents_online"]) == (
            "unavailable", "outside_hours", 1,
        )  # fmt: skip
        assert client.get("/api/v1/handoffs", params={"status": "waiting"}, headers=actions_headers).json() == []


def test_a_business_customer_asking_for_their_manager_goes_to_the_manager_by_wecom(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff, admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:  # fmt: skip
    customer = {
        "account_no": "1000000008", "name": "青山县鑫源超市", "phone": "13800000008",
        "address": "青山县城关镇人民路8号", "customer_type": "business", "area_type": "urban", "transformer_code": "T1",
        "manager_name": "陈思远", "manager_phone": "13700137001",
    }  # fmt: skip
    assert client.post("/api/v1/customers", json=customer, headers=admin_headers).status_code == 201
    staff.hire("chen", role="manager", name="陈思远", phone="13700137001", wecom_user_id="wg_manager_chen")
    answer = ask(
        client, actions_headers, account_no="1000000008", target="manager", reason="商户咨询增容报装进度",
        transcript=[line("customer", "我要找客户经理"), line("bot", "好的，我请客户经理联系您")],
    )  # fmt: skip
    assert answer["status"] == "manager"
    assert answer["manager"] == {"name": "陈思远", "phone_masked": "137****7001"}
    (push,) = outbox(session_factory)
    assert (push.template, push.wecom_user_id) == ("handoff_to_manager", "wg_manager_chen")
    assert push.params["customer_phone"] == "13800000008" and "客户：我要找客户经理" in push.params["transcript"]
    assert client.get("/api/v1/handoffs", params={"status": "waiting"}, headers=actions_headers).json() == []


def test_roles_and_sessions_guard_every_action(
    client: TestClient, county: County, actions_headers: dict[str, str], staff: Staff, admin_headers: dict[str, str]
) -> None:
    lin = staff.hire("lin", name="林晓")
    dispatcher = staff.hire("zheng", role="dispatcher")
    staff.on_duty(lin)
    handoff = ask(client, actions_headers)
    claim = f"/api/v1/handoffs/{handoff['id']}/claim"
    assert client.get("/api/v1/handoffs", params={"status": "waiting"}, headers=dispatcher.headers).status_code == 200
    assert client.post(claim, json={"agent": "zheng"}, headers=dispatcher.headers).status_code == 403
    assert client.post(claim, json={"agent": "lin"}, headers=actions_headers).status_code == 403
    assert client.post(claim, json={"agent": "lin"}).status_code == 401
    no_csrf = {"Cookie": lin.headers["Cookie"]}
    refused = client.post(claim, json={"agent": "lin"}, headers=no_csrf)
    assert refused.status_code == 403 and "刷新" in refused.json()["message"]
    huang = staff.hire("huang")
    assert client.post(claim, json={"agent": "lin"}, headers=huang.headers).status_code == 403  # only for oneself
    by_admin = client.post(claim, json={"agent": "lin"}, headers=admin_headers)  # the admin token may assign
    assert by_admin.status_code == 200 and by_admin.json()["agent"]["username"] == "lin"
    client.delete("/api/v1/staff/sessions/current", headers=lin.headers)
    gone = client.post(f"/api/v1/handoffs/{handoff['id']}/messages", json={"text": "您好"}, headers=lin.headers)
    assert gone.status_code == 401 and gone.json()["code"] == "signed_out"


def test_agent_text_is_stripped_of_markup_and_limited(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    staff: Staff,
    session_factory: sessionmaker[Session],
) -> None:
    """No markup or script reaches the customer or another agent's page; over-long or empty text is
    refused whole (never cut silently) and sends nothing."""
    lin = staff.hire("lin")
    staff.on_duty(lin)
    handoff = ask(client, actions_headers)
    base = f"/api/v1/handoffs/{handoff['id']}"
    client.post(f"{base}/claim", json={"agent": "lin"}, headers=lin.headers)
    sent = client.post(
        f"{base}/messages", json={"text": '<script>alert(1)</script><a href="http://x">点此</a>电压<200V\u200b'},
        headers=lin.headers,
    )  # fmt: skip
    assert sent.json()["text"] == "alert(1)点此电压＜200V"
    for text in ("好" * 301, "<b></b>", "\x00"):
        refused = client.post(f"{base}/messages", json={"text": text}, headers=lin.headers)
        assert refused.status_code == 422 and refused.json()["code"] == "validation_error"
    summary = client.post(f"{base}/release", json={"summary": "第一行\n<i>第二行</i>"}, headers=lin.headers)
    assert summary.json()["summary"] == "第一行 第二行"
    assert [row.template for row in outbox(session_factory)] == ["agent_reply", "handoff_released"]


def test_the_queue_shows_each_customer_and_costs_as_much_for_forty_as_for_ten(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    staff: Staff,
    session_factory: sessionmaker[Session],
) -> None:
    """The consoles read the queue again whenever it moves (every second on a busy evening, issue
    20's load figure). Each item shows the customer (their account masked, their open repair
    ticket), the places follow the line, and reading it again costs the same statements for 40
    waiting customers as for 10 (it used to grow with every customer in line)."""
    lin = staff.hire("lin")
    staff.on_duty(lin)
    report = {"account_no": county.a1, "channel": "wechat", "sender_id": county.a1_openid, "description": "家里停电了"}
    ticket = client.post("/api/v1/repair-reports", json=report, headers=actions_headers | {"Idempotency-Key": "q-1"})
    assert ticket.status_code == 200, ticket.text
    engine = session_factory.kw["bind"]

    def read_again() -> tuple[list[dict], int]:
        client.get("/api/v1/handoffs", params={"status": "waiting"}, headers=lin.headers)
        statements: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            answer = client.get("/api/v1/handoffs", params={"status": "waiting"}, headers=lin.headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert answer.status_code == 200, answer.text
        return answer.json(), len(statements)

    ask(client, actions_headers, sender_id=county.a1_openid)
    for n in range(1, 10):
        ask(client, actions_headers, sender_id=f"o_waiting_{n:02d}")
    ten, cost_of_ten = read_again()
    for n in range(10, 40):
        ask(client, actions_headers, sender_id=f"o_waiting_{n:02d}")
    forty, cost_of_forty = read_again()

    assert [q["queue_position"] for q in forty] == list(range(1, 41))
    first = forty[0]["customer"]
    assert first["accounts_masked"] == ["1000****01"] and first["open_tickets"] == [ticket.json()["ticket_no"]]
    assert forty[1]["customer"]["accounts_masked"] == []
    assert len(ten) == 10 and cost_of_forty == cost_of_ten
