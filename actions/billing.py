"""Bills of the sender's bound account: this month's amount, balance and arrears; why it is high;
how to pay (a plain response, no action)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._base import AccountAction, EventList, backend, date_phrase, mask_account

HIGH_RATIO = 1.2
MAX_REASONS = 2


def money(value: object) -> str:
    return f"{float(value or 0):.2f}"


def month_of(period: str) -> str:
    return str(int(period[5:7])) if len(period) >= 7 else period


class ActionQueryBill(AccountAction):
    def name(self) -> str:
        return "action_query_bill"

    async def answer_for(self, account_no: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> EventList:
        bills = await backend().bills(account_no, months=1)
        if not bills:
            dispatcher.utter_message(response="utter_bill_none", account_masked=mask_account(account_no))
            return []
        bill = bills[0]
        dispatcher.utter_message(
            response="utter_bill_summary",
            account_masked=mask_account(account_no),
            month=month_of(bill.get("period", "")),
            kwh=bill.get("kwh"),
            amount=money(bill.get("amount")),
            balance=money(bill.get("balance")),
        )
        if float(bill.get("arrears") or 0) > 0:
            dispatcher.utter_message(
                response="utter_bill_arrears",
                arrears=money(bill.get("arrears")),
                due_date=date_phrase(bill.get("due_date")),
            )
        return []


def reasons(bill: dict[str, Any], comparison: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Why the bill is what it is, most telling first: tier, season, peers; else "nothing unusual"."""
    found: list[tuple[str, dict[str, Any]]] = []
    tiers = sorted(bill.get("tiers") or [], key=lambda t: t.get("tier", 0))
    top = tiers[-1] if tiers else {}
    if top.get("tier", 1) > 1 and float(top.get("kwh") or 0) > 0:
        values = {"month": month_of(bill.get("period", "")), "kwh": bill.get("kwh"), "tier": top.get("tier"),
                  "tier_kwh": top.get("kwh"), "price": top.get("price")}  # fmt: skip
        found.append(("utter_bill_explain_tier", values))
    previous = float(comparison.get("previous_kwh") or 0)
    median = float(comparison.get("cell_median_kwh") or 0)
    kwh = float(comparison.get("kwh") or bill.get("kwh") or 0)
    if previous and kwh >= previous * HIGH_RATIO:
        found.append(("utter_bill_explain_season", {"kwh": round(kwh), "previous_kwh": round(previous)}))
    if median and kwh >= median * HIGH_RATIO:
        found.append(("utter_bill_explain_peers_high", {"kwh": round(kwh), "median_kwh": round(median)}))
    elif median:
        found.append(("utter_bill_explain_peers", {"kwh": round(kwh), "median_kwh": round(median)}))
    if not found:
        found.append(("utter_bill_explain_plain", {"kwh": round(kwh)}))
    return found


class ActionExplainBill(AccountAction):
    def name(self) -> str:
        return "action_explain_bill"

    async def answer_for(self, account_no: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> EventList:
        client = backend()
        bills = await client.bills(account_no, months=1)
        comparison = await client.comparison(account_no) if bills else {}
        if not bills:
            dispatcher.utter_message(response="utter_bill_none", account_masked=mask_account(account_no))
            return []
        for response, values in reasons(bills[0], comparison)[:MAX_REASONS]:
            dispatcher.utter_message(response=response, **values)
        return []
