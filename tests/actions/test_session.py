"""Identification at session start: who is talking, remembered in the conversation's state."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from tests.actions.conftest import World, make_tracker


async def identity(tracker: Any, domain: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    events = await ActionSessionStart().run(CollectingDispatcher(), tracker, domain)
    [state] = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == "conversation"]
    return events, state["identity"]


async def test_bound_customer_is_identified(world: World, domain: dict[str, Any]) -> None:
    events, who = await identity(make_tracker(world.openid), domain)
    assert events[0]["event"] == "session_started"
    assert who["kind"] == "customer" and [a["account_no"] for a in who["accounts"]] == [world.account_no]
    assert who["accounts"][0]["phone_masked"] == world.phone[:3] + "****" + world.phone[-4:]


async def test_grid_worker_is_identified_by_wecom_id(world: World, domain: dict[str, Any]) -> None:
    _, who = await identity(make_tracker(world.worker_wecom_id, channel="wecom"), domain)
    assert who["kind"] == "worker" and who["worker"]["code"] == world.worker_code


async def test_sms_sender_is_identified_by_phone(world: World, domain: dict[str, Any]) -> None:
    _, who = await identity(make_tracker(world.phone, channel="sms"), domain)
    assert who["kind"] == "customer" and [a["account_no"] for a in who["accounts"]] == [world.account_no]


async def test_stranger_is_unknown(world: World, domain: dict[str, Any]) -> None:
    _, who = await identity(make_tracker("o-nobody-knows-me"), domain)
    assert who["kind"] == "unknown" and who["accounts"] == [] and who["loaded"]


async def test_backend_down_at_session_start_still_starts_the_session(
    world: World, domain: dict[str, Any], monkeypatch: Any
) -> None:
    """The session starts; the identity is looked up again at the first turn (not `loaded`)."""
    monkeypatch.setenv("BACKEND_URL", "http://127.0.0.1:9")
    events, who = await identity(make_tracker(world.openid), domain)
    assert who["kind"] == "unknown" and not who["loaded"]
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
