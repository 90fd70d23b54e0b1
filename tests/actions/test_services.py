"""Queries, complaint, handoff, rating and the worker side, against the real backend."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.billing import ActionQueryBill
from actions.complaint import ActionSubmitComplaint
from actions.grid import ActionContactGridWorker
from actions.handoff import ActionRequestHuman, ValidateHandoffForm
from actions.outage import ActionQueryOutage
from actions.rating import ActionRateService, parse_score
from actions.repair import ActionSubmitRepairReport
from actions.tickets import ActionQueryRepairProgress
from actions.workers import ActionWorkerTaskStep
from tests.actions.conftest import Backend, World, ent, make_tracker, responses


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def customer(world: World) -> dict[str, Any]:
    return {"identity_kind": "customer", "accounts": [world.account_no]}


def worker(world: World) -> dict[str, Any]:
    return {"identity_kind": "worker", "worker_code": world.worker_code}


async def open_ticket(world: World, domain: dict[str, Any], account_no: str | None = None) -> str:
    dispatcher = CollectingDispatcher()
    slots = customer(world) | {
        "report_account_no": account_no or world.account_no,
        "description": "没电了",
        "report_confirmed": True,
    }
    await ActionSubmitRepairReport().run(dispatcher, make_tracker(world.openid, slots=slots), domain)
    return str(dispatcher.messages[0]["ticket_no"])


async def test_unbound_customer_is_asked_to_bind(domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionQueryBill().run(dispatcher, make_tracker("o-stranger", "查电费", "query_bill"), domain)
    assert responses(dispatcher) == ["utter_need_binding"]


async def test_someone_elses_account_number_does_not_open_their_bill(world: World, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "o-stranger", "查3200000001电费", "query_bill", entities=[ent("account_no", world.account_no)]
    )
    await ActionQueryBill().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_need_binding"]


async def test_bill_of_a_customer_without_bills(world: World, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionQueryBill().run(dispatcher, make_tracker(world.openid, slots=customer(world)), domain)
    assert responses(dispatcher) == ["utter_bill_none"]


async def test_no_outage_is_said_plainly(world: World, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionQueryOutage().run(dispatcher, make_tracker(world.openid, slots=customer(world)), domain)
    assert responses(dispatcher) == ["utter_outage_none"]


async def test_grid_worker_contact(world: World, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionContactGridWorker().run(dispatcher, make_tracker(world.openid, slots=customer(world)), domain)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_grid_worker"
    assert message["worker_name"] == "王师傅"
    assert message["cell_name"].startswith("阳光社区网格")


async def test_backend_down_gets_an_honest_answer(
    world: World, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")
    dispatcher = CollectingDispatcher()
    await ActionQueryBill().run(dispatcher, make_tracker(world.openid, slots=customer(world)), domain)
    assert responses(dispatcher) == ["utter_backend_down"]


async def test_worker_steps_and_customer_progress(world: World, actions_env: Backend, domain: dict[str, Any]) -> None:
    ticket_no = await open_ticket(world, domain)
    step = ActionWorkerTaskStep()

    dispatcher = CollectingDispatcher()
    await step.run(dispatcher, make_tracker(world.worker_wecom_id, "接单", "accept_task", slots=worker(world)), domain)
    assert dispatcher.messages[0]["response"] == "utter_worker_accepted"
    assert dispatcher.messages[0]["ticket_no"] == ticket_no

    dispatcher = CollectingDispatcher()
    await ActionQueryRepairProgress().run(dispatcher, make_tracker(world.openid, slots=customer(world)), domain)
    assert responses(dispatcher) == ["utter_ticket_accepted"]

    dispatcher = CollectingDispatcher()
    await step.run(dispatcher, make_tracker(world.worker_wecom_id, "到了", "arrive_site", slots=worker(world)), domain)
    assert responses(dispatcher) == ["utter_worker_arrived"]

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(world.worker_wecom_id, "修好了", "resolve_task", slots=worker(world))
    events = await step.run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_worker_ask_cause"]
    pending = worker(world) | slots_of(events)

    dispatcher = CollectingDispatcher()
    await step.run(dispatcher, make_tracker(world.worker_wecom_id, "表箱保险烧了，已更换", slots=pending), domain)
    assert responses(dispatcher) == ["utter_worker_resolved"]
    ticket = actions_env.admin("GET", f"/tickets/{ticket_no}")
    assert ticket["status"] == "resolved"
    steps = [e["type"] for e in ticket["timeline"] if e["type"] in ("accepted", "arrived", "resolved")]
    assert steps == ["accepted", "arrived", "resolved"]
    assert any("表箱保险烧了" in (e.get("note") or "") for e in ticket["timeline"])

    dispatcher = CollectingDispatcher()
    events = await ActionRateService().run(
        dispatcher, make_tracker(world.openid, "不满意", "rate_service", slots=customer(world)), domain
    )
    assert responses(dispatcher) == ["utter_rating_unhappy"]
    assert slots_of(events)["rating_unhappy"] is True
    assert actions_env.admin("GET", f"/tickets/{ticket_no}")["rating"] == 2


def add_neighbour(actions_env: Backend, world: World, n: int, name: str) -> str:
    """Another resident on the world's transformer, so the same worker's cell; their account number."""
    account_no = world.account_no[:-2] + f"{n:02d}"
    actions_env.admin(
        "POST",
        "/customers",
        {
            "account_no": account_no,
            "name": name,
            "phone": world.phone[:-2] + f"{88 + n}",
            "address": f"阳光小区{n + 1}栋1单元201",
            "customer_type": "resident",
            "area_type": "urban",
            "transformer_code": world.transformer_code,
        },
    )
    return account_no


async def test_several_tasks_make_the_worker_choose(world: World, actions_env: Backend, domain: dict[str, Any]) -> None:
    neighbour = add_neighbour(actions_env, world, 2, "李四")
    first = await open_ticket(world, domain)
    second = await open_ticket(world, domain, account_no=neighbour)
    assert first != second
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(world.worker_wecom_id, "接单", "accept_task", slots=worker(world))
    events = await ActionWorkerTaskStep().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_worker_which_task"]
    pending = worker(world) | slots_of(events)
    assert set(pending["worker_choices"]) == {first, second}

    dispatcher = CollectingDispatcher()
    await ActionWorkerTaskStep().run(dispatcher, make_tracker(world.worker_wecom_id, "2", slots=pending), domain)
    assert dispatcher.messages[0]["response"] == "utter_worker_accepted"
    assert dispatcher.messages[0]["ticket_no"] == pending["worker_choices"][1]


async def test_the_cause_answer_may_also_say_it_is_fixed(
    world: World, actions_env: Backend, domain: dict[str, Any]
) -> None:
    """After "修好了" the worker is asked for the cause; "进户线断了，已接好" is classified as
    resolve_task and still resolves the ticket asked about, even with another task open."""
    neighbour = add_neighbour(actions_env, world, 3, "赵六")
    first = await open_ticket(world, domain)
    await open_ticket(world, domain, account_no=neighbour)
    step = ActionWorkerTaskStep()
    for text, intent in (("接单", "accept_task"), ("到了", "arrive_site")):
        tracker = make_tracker(
            world.worker_wecom_id, f"{first}{text}", intent, entities=[ent("ticket_no", first)], slots=worker(world)
        )
        await step.run(CollectingDispatcher(), tracker, domain)

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        world.worker_wecom_id, f"{first}修好了", "resolve_task", entities=[ent("ticket_no", first)], slots=worker(world)
    )
    pending = worker(world) | slots_of(await step.run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_worker_ask_cause"]

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(world.worker_wecom_id, "已经修好了", "resolve_task", slots=pending)
    again = worker(world) | slots_of(await step.run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_worker_ask_cause"]  # still no cause
    assert again["worker_choices"] == [first] and again["worker_waiting"] is True

    dispatcher = CollectingDispatcher()
    tracker = make_tracker(world.worker_wecom_id, "进户线断了，已接好", "resolve_task", slots=again)
    events = await step.run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_worker_resolved"]
    assert dispatcher.messages[0]["ticket_no"] == first
    assert slots_of(events)["worker_waiting"] is False
    ticket = actions_env.admin("GET", f"/tickets/{first}")
    assert ticket["status"] == "resolved"
    assert any("进户线断了" in (e.get("note") or "") for e in ticket["timeline"])


async def test_a_cause_the_nlu_did_not_place_still_answers_the_question(
    world: World, actions_env: Backend, domain: dict[str, Any]
) -> None:
    """A cause is free text: after the cause question, "保险盒烧了" classified as nlu_fallback (or as
    a customer's report) resolves the ticket asked about with that text as its cause."""
    ticket_no = await open_ticket(world, domain)
    step = ActionWorkerTaskStep()
    for text, intent in (("接单", "accept_task"), ("到了", "arrive_site")):
        await step.run(
            CollectingDispatcher(), make_tracker(world.worker_wecom_id, text, intent, slots=worker(world)), domain
        )
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(world.worker_wecom_id, "修好了", "resolve_task", slots=worker(world))
    pending = worker(world) | slots_of(await step.run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_worker_ask_cause"]

    dispatcher = CollectingDispatcher()
    events = await step.run(
        dispatcher, make_tracker(world.worker_wecom_id, "保险盒烧了", "nlu_fallback", slots=pending), domain
    )
    assert responses(dispatcher) == ["utter_worker_resolved"]
    assert slots_of(events)["worker_waiting"] is False
    ticket = actions_env.admin("GET", f"/tickets/{ticket_no}")
    assert ticket["status"] == "resolved"
    assert any(e.get("note") == "保险盒烧了" for e in ticket["timeline"])


async def test_customer_cannot_use_worker_steps(world: World, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionWorkerTaskStep().run(
        dispatcher, make_tracker(world.openid, "接单", "accept_task", slots=customer(world)), domain
    )
    assert responses(dispatcher) == ["utter_worker_only"]


async def test_complaint_opens_a_ticket_with_contact_deadline(
    world: World, actions_env: Backend, domain: dict[str, Any]
) -> None:
    dispatcher = CollectingDispatcher()
    slots = customer(world) | {"complaint_text": "抢修人员态度很差，还乱收费"}
    await ActionSubmitComplaint().run(dispatcher, make_tracker(world.openid, slots=slots), domain)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_complaint_taken"
    assert message["contact_deadline"]
    assert actions_env.admin("GET", f"/tickets/{message['ticket_no']}")["kind"] == "complaint"


def agent_on_duty(backend: Backend) -> None:
    """The seed's demo agent agent01 signs in and opens the console's live stream: an agent online."""
    body = json.dumps({"username": "agent01", "password": "demo-agent-01"}).encode()
    request = urllib.request.Request(
        f"{backend.url}/api/v1/staff/sessions", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        cookie = answer.headers["Set-Cookie"].split(";")[0]
    stream = urllib.request.Request(f"{backend.url}/api/v1/console/stream?topics=queue", headers={"Cookie": cookie})
    with urllib.request.urlopen(stream, timeout=10) as events:
        while not events.readline().startswith(b"event: queue"):  # the first poll marks the agent present
            pass


async def test_handoff_is_recorded_and_the_bot_stays_quiet_until_released(
    world: World, actions_env: Backend, domain: dict[str, Any]
) -> None:
    agent_on_duty(actions_env)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(world.openid, "转人工", "request_human", slots=customer(world))
    events = await ActionRequestHuman().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_handoff_queued"]
    assert slots_of(events)["handoff_active"] is True

    quiet = customer(world) | {"handoff_active": True, "requested_slot": "handoff_released"}
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(world.openid, "人呢", slots=quiet, active_loop="handoff_form")
    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)
    assert dispatcher.messages == []
    assert slots_of(events).get("handoff_released") is None

    active = actions_env.admin("GET", f"/handoffs?sender_id={world.openid}&active=true")
    actions_env.admin("POST", f"/handoffs/{active[0]['id']}/claim", {"agent": "agent01"})
    actions_env.admin("POST", f"/handoffs/{active[0]['id']}/release", {"summary": "已为客户解答"})
    tracker = make_tracker(world.openid, "你好", slots=quiet, active_loop="handoff_form")
    events = await ValidateHandoffForm().run(CollectingDispatcher(), tracker, domain)
    assert slots_of(events)["handoff_released"] is True


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5", 5),
        ("打4分", 4),
        ("非常满意", 5),
        ("满意", 5),
        ("不满意", 2),
        ("非常不满意", 1),
        ("一般", 3),
        ("还行", 4),
    ],
)
def test_scores_from_words(text: str, score: int) -> None:
    assert parse_score(text) == score


def test_ticket_numbers_are_not_scores() -> None:
    assert parse_score("QX202611220001满意") == 5
