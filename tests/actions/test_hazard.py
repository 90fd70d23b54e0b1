"""Hazards: location from a shared WeChat location or words, then an urgent ticket."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.hazard import ActionSubmitHazard, ValidateHazardForm
from tests.actions.conftest import Backend, World, make_tracker, responses


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_opening_message_is_kept_and_a_shared_location_answers(domain: dict[str, Any]) -> None:
    opening = make_tracker("o-h", "路边电线断了掉在地上", "report_hazard", active_loop="hazard_form")
    slots = slots_of(await ValidateHazardForm().run(CollectingDispatcher(), opening, domain))
    assert slots["hazard_description"] == "路边电线断了掉在地上"

    metadata = {"message_key": "wx:loc:1", "msg_type": "location", "latitude": 30.1, "longitude": 120.2,
                "address": "人民路88号"}  # fmt: skip
    shared = make_tracker("o-h", "我的位置：人民路88号", slots={"requested_slot": "hazard_location"}, metadata=metadata)
    slots = slots_of(await ValidateHazardForm().run(CollectingDispatcher(), shared, domain))
    assert slots["hazard_location"] == "人民路88号"
    assert (slots["hazard_latitude"], slots["hazard_longitude"]) == (30.1, 120.2)


async def test_hazard_opens_an_urgent_ticket(world: World, actions_env: Backend, domain: dict[str, Any]) -> None:
    slots = {
        "identity_kind": "customer",
        "accounts": [world.account_no],
        "hazard_description": "表箱着火了",
        "hazard_location": "阳光小区5栋楼下",
    }
    dispatcher = CollectingDispatcher()
    await ActionSubmitHazard().run(dispatcher, make_tracker(world.openid, "阳光小区5栋楼下", slots=slots), domain)
    assert responses(dispatcher)[0] == "utter_hazard_ticket_created"
    ticket = actions_env.admin("GET", f"/tickets/{dispatcher.messages[0]['ticket_no']}")
    assert ticket["kind"] == "hazard"
    assert "表箱着火了" in ticket["description"]
