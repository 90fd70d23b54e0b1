"""Bills of the sender's bound account: this month's amount, balance and arrears; why it is high;
how to pay (a plain response, no action)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._base import AccountAction, EventList, backend, date_phrase, mask_account

HIGH_RATIO = 1.2


def money(value: object) -> str:
    return f"{float(value or 0):.2f}"


def month_of(period: str) -> str:
    return str(int(period[5:7])) if len(period) >= 7 else period


class ActionQueryBill(AccountAction):
    def name(self) -> str:
        return "action_query_bill"

    async def answer_for(
        self, account_no: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> EventList:
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


class ActionExplainBill(AccountAction):
    def name(self) -> str:
        return "action_explain_bill"

    async def answer_for(
        self, account_no: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> EventList:
        client = backend()
        bills = await client.bills(account_no, months=1)
        comparison = await client.comparison(account_no) if bills else {}
        if not bills:
            dispatcher.utter_message(response="utter_bill_none", account_masked=mask_account(account_no))
            return []
        bill = bills[0]
        tiers = sorted(bill.get("tiers") or [], key=lambda t: t.get("tier", 0))
        top = tiers[-1] if tiers else {}
        said = False
        if top.get("tier", 1) > 1 and float(top.get("kwh") or 0) > 0:
            dispatcher.utter_message(
                response="utter_bill_explain_tier",
                month=month_of(bill.get("period", "")),
                kwh=bill.get("kwh"),
                tier=top.get("tier"),
                tier_kwh=top.get("kwh"),
                price=top.get("price"),
            )
            said = True
        previous = float(comparison.get("previous_kwh") or 0)
        median = float(comparison.get("cell_median_kwh") or 0)
        kwh = float(comparison.get("kwh") or bill.get("kwh") or 0)
        if previous and kwh >= previous * HIGH_RATIO:
            dispatcher.utter_message(
                response="utter_bill_explain_season", kwh=round(kwh), previous_kwh=round(previous)
            )
            said = True
        if median:
            response = (
                "utter_bill_explain_peers_high" if kwh >= median * HIGH_RATIO else "utter_bill_explain_peers"
            )
            dispatcher.utter_message(response=response, kwh=round(kwh), median_kwh=round(median))
        elif not said:
            dispatcher.utter_message(response="utter_bill_explain_plain", kwh=round(kwh))
        return []
