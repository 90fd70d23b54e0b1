"""Bills and applications of the seeded demo customers (backend.seed's fixed identities)."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from actions.applications import ActionQueryApplication
from actions.billing import ActionExplainBill, ActionQueryBill
from tests.actions.conftest import Backend, make_tracker, responses

RESIDENT = {"identity_kind": "customer", "accounts": ["3100000001"]}
BUSINESS = {"identity_kind": "customer", "accounts": ["3100000004"]}


async def test_bill_summary(actions_env: Backend, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionQueryBill().run(dispatcher, make_tracker("o_demo_resident_01", "查电费", slots=RESIDENT), domain)
    summary = dispatcher.messages[0]
    assert summary["response"] == "utter_bill_summary"
    assert summary["account_masked"] == "31******01"
    bill = actions_env.admin("GET", "/bills?account_no=3100000001&months=1")[0]
    assert summary["amount"] == f"{float(bill['amount']):.2f}"
    assert len(dispatcher.messages) <= 2


async def test_bill_explanation_is_short(actions_env: Backend, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    await ActionExplainBill().run(dispatcher, make_tracker("o_demo_resident_01", slots=RESIDENT), domain)
    assert 1 <= len(dispatcher.messages) <= 2
    assert all(name.startswith("utter_bill_explain_") for name in responses(dispatcher))


async def test_application_progress_for_the_business_customer(actions_env: Backend, domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("o_demo_business_01", "报装进度", "query_application", slots=BUSINESS)
    await ActionQueryApplication().run(dispatcher, tracker, domain)
    said = responses(dispatcher)
    applications = actions_env.admin("GET", "/applications?account_no=3100000004")
    if len(applications) == 1:
        assert said[0] in ("utter_application_on_time", "utter_application_at_risk", "utter_application_late")
        assert dispatcher.messages[0]["stage"] == applications[0]["stage"]
        assert said[-1] == "utter_application_manager"
    else:
        assert said == ["utter_application_several"]
        number = applications[0]["application_no"]
        dispatcher = CollectingDispatcher()
        by_number = make_tracker(
            "o_demo_business_01",
            number,
            entities=[{"entity": "application_no", "value": number}],
            slots=BUSINESS,
        )
        await ActionQueryApplication().run(dispatcher, by_number, domain)
        assert dispatcher.messages[0]["application_no"] == number
        assert responses(dispatcher)[-1] == "utter_application_manager"
