"""The repair form's answers and the submitted report, against the real backend."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_client import BackendClient
from actions.journal import JournalRetrier, ReportJournal, journal_path, retrier, submit_pending
from actions.repair import ActionAskReportAccount, ActionSubmitRepairReport, ValidateRepairForm
from tests.actions.conftest import Backend, World, ent, make_tracker, responses


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def bound_slots(world: World, **extra: Any) -> dict[str, Any]:
    return {
        "identity_kind": "customer",
        "accounts": [world.account_no],
        "customer_phone_masked": world.phone[:3] + "****" + world.phone[-4:],
        **extra,
    }


async def validate(tracker_slots: dict[str, Any], text: str, intent: str, domain: dict[str, Any], **kw: Any):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("o-form", text, intent, slots=tracker_slots, active_loop="repair_form", **kw)
    events = await ValidateRepairForm().run(dispatcher, tracker, domain)
    return slots_of(events), responses(dispatcher)


async def test_bound_account_is_offered_first(world: World, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(world.openid, slots=bound_slots(world, requested_slot="report_account"))
    await ActionAskReportAccount().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_ask_use_bound_account"
    assert dispatcher.messages[0]["account_masked"] == world.account_no[:2] + "******" + world.account_no[-2:]


@pytest.mark.parametrize(("text", "intent"), [("1", "inform"), ("是的", "affirm")])
async def test_yes_takes_the_bound_account(world: World, domain: dict[str, Any], text: str, intent: str) -> None:
    slots, said = await validate(bound_slots(world, requested_slot="report_account"), text, intent, domain)
    assert slots["report_account_no"] == world.account_no
    assert slots["report_account"] == world.account_no[:2] + "******" + world.account_no[-2:]
    assert said == []


async def test_no_asks_for_another_place(world: World, domain: dict[str, Any]) -> None:
    slots, _ = await validate(bound_slots(world, requested_slot="report_account"), "2", "inform", domain)
    assert slots["report_offer_declined"] is True
    assert slots["report_account"] is None


async def test_address_and_phone_answers(domain: dict[str, Any]) -> None:
    unbound = {"identity_kind": "unknown", "requested_slot": "report_account"}
    slots, _ = await validate(unbound, "幸福里小区3栋2单元", "inform", domain)
    assert slots["report_address"] == "幸福里小区3栋2单元"
    slots, _ = await validate(unbound, "13812345678", "inform", domain, entities=[ent("phone", "13812345678")])
    assert slots["report_phone"] == "13812345678"
    assert slots["report_account"] == "138****5678"
    assert slots["callback_phone"] == "13812345678"


async def test_two_unusable_answers_explain_and_a_no_stops(domain: dict[str, Any]) -> None:
    state: dict[str, Any] = {"identity_kind": "unknown", "requested_slot": "report_account"}
    slots, said = await validate(state, "啊", "inform", domain)
    assert said == ["utter_invalid_report_account"]
    state |= slots
    slots, said = await validate(state, "嗯？", "inform", domain)
    assert said == ["utter_form_explain"]
    assert slots["form_paused"] is True
    state |= slots
    slots, _ = await validate(state, "2", "inform", domain)
    assert slots["form_stopped"] is True
    assert slots["requested_slot"] is None


async def test_another_topic_rejects_the_form_so_rules_can_answer(domain: dict[str, Any]) -> None:
    state = {"identity_kind": "unknown", "requested_slot": "report_account"}
    slots, said = await validate(state, "这个月电费多少", "query_bill", domain)
    assert slots == {} and said == []


async def test_confirmation_answers(world: World, domain: dict[str, Any]) -> None:
    state = bound_slots(world, requested_slot="report_confirmed")
    assert (await validate(state, "1", "inform", domain))[0]["report_confirmed"] is True
    assert (await validate(state, "取消", "deny", domain))[0]["report_confirmed"] is False


async def submit(world: World, domain: dict[str, Any], **metadata: Any) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    slots = bound_slots(
        world,
        report_account_no=world.account_no,
        report_account="masked",
        description="家里全部没电了",
        callback_phone="registered",
        report_confirmed=True,
    )
    tracker = make_tracker(world.openid, "1", "affirm", slots=slots, metadata=metadata or None)
    events = await ActionSubmitRepairReport().run(dispatcher, tracker, domain)
    assert slots_of(events)["description"] is None
    return dispatcher.messages


async def test_report_opens_a_ticket_that_exists(world: World, actions_env: Backend, domain: dict[str, Any]) -> None:
    messages = await submit(world, domain)
    assert messages[0]["response"] == "utter_report_ticket_created"
    assert messages[-1]["response"] == "utter_report_next_steps"
    assert len(messages) <= 3
    ticket_no = messages[0]["ticket_no"]
    assert ticket_no.startswith("QX")
    assert messages[0]["deadline"]
    ticket = actions_env.admin("GET", f"/tickets/{ticket_no}")
    assert ticket["account_no"] == world.account_no


async def test_same_message_key_makes_one_ticket(world: World, domain: dict[str, Any]) -> None:
    first = await submit(world, domain, message_key="wx:test:same-key-" + world.account_no)
    second = await submit(world, domain, message_key="wx:test:same-key-" + world.account_no)
    assert first[0]["ticket_no"] == second[0]["ticket_no"]


async def test_a_second_report_is_told_of_the_open_ticket(world: World, domain: dict[str, Any]) -> None:
    first = await submit(world, domain)
    again = await submit(world, domain)
    assert again[0]["response"] == "utter_report_existing_ticket"
    assert again[0]["ticket_no"] == first[0]["ticket_no"] and again[0]["deadline"] == first[0]["deadline"]
    assert again[-1]["response"] == "utter_report_worker"  # no "we will notify you" twice


async def test_an_address_nobody_lives_at_goes_to_the_dispatch_centre(
    actions_env: Backend, domain: dict[str, Any]
) -> None:
    dispatcher = CollectingDispatcher()
    slots = {"report_address": "青山县不存在路404号", "description": "整栋楼没电", "callback_phone": "13912345678"}
    tracker = make_tracker("o-newcomer", "1", "affirm", slots=slots | {"report_confirmed": True})
    await ActionSubmitRepairReport().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_report_ticket_manual", "utter_report_next_steps"]
    queue = actions_env.admin("GET", "/dispatch-queue")
    assert dispatcher.messages[0]["ticket_no"] in {t["ticket_no"] for t in queue}


async def test_report_inside_a_known_outage_is_attached(
    world: World, actions_env: Backend, domain: dict[str, Any]
) -> None:
    now = datetime.now(timezone(timedelta(hours=8)))
    actions_env.admin(
        "POST",
        "/outages",
        {
            "kind": "fault",
            "cause": "10kV线路故障",
            "starts_at": (now - timedelta(minutes=30)).isoformat(),
            "estimated_restore_at": (now + timedelta(hours=2)).isoformat(),
            "transformer_codes": [world.transformer_code],
        },
    )
    messages = await submit(world, domain)
    assert messages[0]["response"] == "utter_report_attached_outage"
    assert messages[0]["cause"] == "10kV线路故障"
    assert messages[0]["restore_time"]


async def test_backend_down_keeps_the_report_and_submits_it_later(
    world: World, actions_env: Backend, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("POWERDESK_JOURNAL_RETRY_SECONDS", "3600")
    messages = await submit(world, domain, message_key="wx:test:down-" + world.account_no)
    assert [m["response"] for m in messages] == ["utter_report_queued"]
    journal = ReportJournal(journal_path())
    assert [p.key for p in journal.pending()] == ["wx:test:down-" + world.account_no]
    # a fresh journal object reads the same file: the report survives a restart
    assert Path(journal_path()).exists()

    client = BackendClient(actions_env.url, actions_env.env["POWERDESK_ACTIONS_TOKEN"])
    assert await submit_pending(journal, client) == 1
    assert journal.pending() == []
    tickets = actions_env.admin("GET", f"/tickets?account_no={world.account_no}&open=true")
    assert len(tickets) == 1
    pending = actions_env.admin("GET", "/notifications?status=pending&limit=1000")
    pushes = [n for n in pending if n["dedup_key"].startswith("report_queued:wx:test:down-" + world.account_no)]
    assert [n["template"] for n in pushes] == ["report_queued_ticket"]
    assert pushes[0]["dedup_key"].endswith(tickets[0]["ticket_no"])
    retrier.stop()


async def test_several_bound_accounts_are_listed_and_chosen_by_number(domain: dict[str, Any]) -> None:
    state = {
        "identity_kind": "customer",
        "accounts": ["3100000001", "3100000004"],
        "requested_slot": "report_account",
    }
    dispatcher = CollectingDispatcher()
    await ActionAskReportAccount().run(dispatcher, make_tracker("o-two", slots=state), domain)
    assert dispatcher.messages[0]["response"] == "utter_ask_choose_bound_account"
    assert dispatcher.messages[0]["listing"] == "1. 31******01\n2. 31******04"
    assert dispatcher.messages[0]["other"] == 3
    slots, _ = await validate(state, "2", "inform", domain)
    assert slots["report_account_no"] == "3100000004"
    slots, _ = await validate(state, "3", "inform", domain)
    assert slots["report_offer_declined"] is True


async def test_reports_left_by_a_previous_process_are_retried_in_the_background(
    world: World, actions_env: Backend, domain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERDESK_JOURNAL_RETRY_SECONDS", "0.1")
    report = {"channel": "wechat", "sender_id": world.openid, "description": "没电了", "kind": "repair",
              "account_no": world.account_no}  # fmt: skip
    ReportJournal(journal_path()).add("wx:test:left-over-" + world.account_no, report)
    fresh = JournalRetrier()
    fresh.resume_after_restart(BackendClient(actions_env.url, actions_env.env["POWERDESK_ACTIONS_TOKEN"]))
    for _ in range(50):
        if not ReportJournal(journal_path()).pending():
            break
        await asyncio.sleep(0.1)
    assert ReportJournal(journal_path()).pending() == []
    assert len(actions_env.admin("GET", f"/tickets?account_no={world.account_no}&open=true")) == 1
    fresh.stop()
