"""Identification at session start and binding an account in chat."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionBindAccount, ActionSessionStart, ValidateBindForm
from tests.actions.conftest import Backend, World, make_tracker, responses


def slot_values(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_bound_customer_is_identified(world: World, domain: dict[str, Any]) -> None:
    events = await ActionSessionStart().run(CollectingDispatcher(), make_tracker(world.openid), domain)
    slots = slot_values(events)
    assert events[0]["event"] == "session_started"
    assert slots["identity_kind"] == "customer"
    assert slots["accounts"] == [world.account_no]
    assert slots["account_masked"] == world.account_no[:2] + "******" + world.account_no[-2:]
    assert slots["customer_phone_masked"] == world.phone[:3] + "****" + world.phone[-4:]


async def test_grid_worker_is_identified_by_wecom_id(world: World, domain: dict[str, Any]) -> None:
    tracker = make_tracker(world.worker_wecom_id, channel="wecom")
    slots = slot_values(await ActionSessionStart().run(CollectingDispatcher(), tracker, domain))
    assert slots["identity_kind"] == "worker"
    assert slots["worker_code"] == world.worker_code


async def test_sms_sender_is_identified_by_phone(world: World, domain: dict[str, Any]) -> None:
    tracker = make_tracker(world.phone, channel="sms")
    slots = slot_values(await ActionSessionStart().run(CollectingDispatcher(), tracker, domain))
    assert slots["identity_kind"] == "customer"
    assert slots["accounts"] == [world.account_no]


async def test_stranger_is_unknown(world: World, domain: dict[str, Any]) -> None:
    tracker = make_tracker("o-nobody-knows-me")
    slots = slot_values(await ActionSessionStart().run(CollectingDispatcher(), tracker, domain))
    assert slots["identity_kind"] == "unknown"
    assert slots["accounts"] == []


async def test_backend_down_at_session_start_still_starts_the_session(
    world: World, domain: dict[str, Any], monkeypatch: Any
) -> None:
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")
    events = await ActionSessionStart().run(CollectingDispatcher(), make_tracker(world.openid), domain)
    assert slot_values(events)["identity_kind"] == "unknown"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")


async def test_binding_checks_the_phone_digits(world: World, actions_env: Backend, domain: dict[str, Any]) -> None:
    newcomer = "o-newcomer-" + world.account_no
    wrong = make_tracker(newcomer, slots={"bind_account_no": world.account_no, "bind_phone_last4": "0000"})
    dispatcher = CollectingDispatcher()
    events = await ActionBindAccount().run(dispatcher, wrong, domain)
    assert responses(dispatcher) == ["utter_bind_failed"]
    assert "identity_kind" not in slot_values(events)

    right = make_tracker(newcomer, slots={"bind_account_no": world.account_no, "bind_phone_last4": world.phone[-4:]})
    dispatcher = CollectingDispatcher()
    slots = slot_values(await ActionBindAccount().run(dispatcher, right, domain))
    assert responses(dispatcher) == ["utter_bind_success"]
    assert slots["identity_kind"] == "customer"
    assert slots["accounts"] == [world.account_no]
    identity = actions_env.admin("GET", f"/identity?wechat_openid={newcomer}")
    assert identity["kind"] == "customer"


async def test_bind_form_reads_the_numbers_and_a_no_stops_it(domain: dict[str, Any]) -> None:
    form = ValidateBindForm()
    asked = {"identity_kind": "unknown", "requested_slot": "bind_account_no"}
    tracker = make_tracker("o-b", "我的户号是 3100000005", slots=asked, active_loop="bind_form")
    assert slot_values(await form.run(CollectingDispatcher(), tracker, domain))["bind_account_no"] == "3100000005"

    asked = {"identity_kind": "unknown", "requested_slot": "bind_phone_last4"}
    tracker = make_tracker("o-b", "后四位8005", slots=asked, active_loop="bind_form")
    assert slot_values(await form.run(CollectingDispatcher(), tracker, domain))["bind_phone_last4"] == "8005"

    tracker = make_tracker("o-b", "算了", "deny", slots=asked, active_loop="bind_form")
    slots = slot_values(await form.run(CollectingDispatcher(), tracker, domain))
    assert slots["form_stopped"] is True
    assert slots["requested_slot"] is None
