"""Bills in words a person uses: each question its own answer.

- How the tariff works (阶梯, 峰谷, 力调, 基本电费, 预付费) is told to anyone; a bound customer also
  hears their own numbers (which tier this month's kWh reached and what each tier cost).
- This month's bill, arrears (every unpaid bill, not only the latest), the due date, month on month
  ("怎么比上个月多了这么多") and peers ("跟邻居比") need the customer's account: a bound one, or a
  number typed with the phone check (dialogue/access.py); an unbound customer is offered binding.
"""

from __future__ import annotations

import logging
from typing import Any

from clients.backend import BackendRejected, BackendUnavailable
from dialogue import access, binding
from dialogue.context import Turn
from dialogue.meaning import GENERAL_BILL
from dialogue.phrases import date_phrase, mask_account, money, month_of

logger = logging.getLogger(__name__)

HIGH_RATIO = 1.2
SEASON = {"1": "取暖", "2": "取暖", "12": "取暖", "6": "空调", "7": "空调", "8": "空调", "9": "空调"}


async def answer(turn: Turn, meaning: str) -> None:
    account_no = which_account(turn)
    try:
        if meaning in GENERAL_BILL:
            await general(turn, meaning, account_no)
        elif account_no is None:
            typed = turn.message.account_no()
            if typed:
                await personal_by_number(turn, meaning, typed)
            else:
                await binding.offer(turn, reason=meaning)
        else:
            await personal(turn, meaning, account_no)
    except BackendUnavailable as exc:
        logger.warning("bill answer failed: %s", exc)
        turn.say("utter_backend_down")


def which_account(turn: Turn) -> str | None:
    """The account the question is about: one named in the message if it is the customer's, the one
    of the bill topic, else the first bound."""
    if turn.document:  # checked with the phone digits just now
        return turn.document
    typed = turn.message.account_no()
    if typed:
        return typed if turn.owns(typed) else None
    topic = turn.state.topic_is("bill")
    if topic and topic.get("account_no"):
        return str(topic["account_no"])
    return turn.accounts[0] if turn.accounts else None


async def personal_by_number(turn: Turn, meaning: str, account_no: str) -> None:
    bills = await access.guarded(turn, account_no, meaning, lambda: turn.backend.bills(account_no, months=13))
    if bills is not None:
        await personal(turn, meaning, account_no, bills)


async def personal(turn: Turn, meaning: str, account_no: str, bills: list[dict[str, Any]] | None = None) -> None:
    try:
        bills = bills if bills is not None else await turn.backend.bills(account_no, months=13)
    except BackendRejected as exc:
        logger.warning("bills of %s refused: %s", mask_account(account_no), exc.code)
        turn.say("utter_backend_rejected")
        return
    turn.state.set_topic("bill", account_no=account_no)
    masked = mask_account(account_no)
    if not bills:
        turn.say("utter_bill_none", account_masked=masked)
        return
    latest = bills[0]
    if meaning == "bill_arrears":
        tell_arrears(turn, bills, masked)
    elif meaning == "bill_due":
        tell_due(turn, bills, masked)
    elif meaning == "bill_month":
        tell_month(turn, bills)
    elif meaning == "bill_peers":
        tell_peers(turn, await turn.backend.comparison(account_no), latest)
    elif meaning == "bill_why":
        await tell_why(turn, account_no, bills)
    else:
        tell_summary(turn, latest, masked)
        if any(float(b.get("arrears") or 0) > 0 for b in bills):
            tell_arrears(turn, bills, masked)


def tell_summary(turn: Turn, bill: dict[str, Any], masked: str) -> None:
    turn.say(
        "utter_bill_summary" if bill.get("paid") else "utter_bill_summary_unpaid",
        account_masked=masked,
        month=month_of(str(bill.get("period", ""))),
        kwh=bill.get("kwh"),
        amount=money(bill.get("amount")),
        balance=money(bill.get("balance")),
        due_date=date_phrase(bill.get("due_date")),
    )


def unpaid(bills: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in bills if float(b.get("arrears") or 0) > 0]


def tell_arrears(turn: Turn, bills: list[dict[str, Any]], masked: str) -> None:
    owed = unpaid(bills)
    if not owed:
        turn.say("utter_bill_no_arrears", account_masked=masked)
        return
    lines = "\n".join(
        f"{month_of(str(b.get('period', '')))}月 {money(b.get('arrears'))}元（{date_phrase(b.get('due_date'))}到期）"
        for b in sorted(owed, key=lambda b: str(b.get("period")))
    )
    total = sum(float(b.get("arrears") or 0) for b in owed)
    turn.say("utter_bill_arrears", account_masked=masked, count=len(owed), total=money(total), lines=lines)


def tell_due(turn: Turn, bills: list[dict[str, Any]], masked: str) -> None:
    owed = unpaid(bills)
    if not owed:
        turn.say("utter_bill_no_arrears", account_masked=masked)
        return
    first = min(owed, key=lambda b: str(b.get("due_date")))
    turn.say(
        "utter_bill_due",
        month=month_of(str(first.get("period", ""))),
        amount=money(first.get("arrears")),
        due_date=date_phrase(first.get("due_date")),
    )


def top_tier(bill: dict[str, Any]) -> dict[str, Any]:
    tiers = [t for t in bill.get("tiers") or [] if float(t.get("kwh") or 0) > 0]
    return max(tiers, key=lambda t: int(t.get("tier", 1))) if tiers else {}


def tell_month(turn: Turn, bills: list[dict[str, Any]]) -> None:
    latest = bills[0]
    if len(bills) < 2:
        turn.say("utter_bill_month_no_previous", month=month_of(str(latest.get("period", ""))), kwh=latest.get("kwh"))
        return
    previous = bills[1]
    kwh, before = float(latest.get("kwh") or 0), float(previous.get("kwh") or 0)
    month, previous_month = month_of(str(latest.get("period", ""))), month_of(str(previous.get("period", "")))
    if kwh <= before:
        turn.say(
            "utter_bill_month_lower",
            month=month,
            kwh=round(kwh),
            previous_month=previous_month,
            previous_kwh=round(before),
            amount=money(latest.get("amount")),
            previous_amount=money(previous.get("amount")),
        )
        return
    turn.say(
        "utter_bill_month_higher",
        month=month,
        kwh=round(kwh),
        previous_month=previous_month,
        previous_kwh=round(before),
        more_kwh=round(kwh - before),
        more_amount=money(float(latest.get("amount") or 0) - float(previous.get("amount") or 0)),
    )
    tier, tier_before = top_tier(latest), top_tier(previous)
    if int(tier.get("tier", 1)) > int(tier_before.get("tier", 1)):
        turn.say("utter_bill_month_tier", tier=tier.get("tier"), tier_kwh=tier.get("kwh"), price=tier.get("price"))
    season = SEASON.get(month)
    if season:
        turn.say("utter_bill_month_season", use=season)


def tell_peers(turn: Turn, comparison: dict[str, Any], latest: dict[str, Any]) -> None:
    median = float(comparison.get("cell_median_kwh") or 0)
    kwh = float(comparison.get("kwh") or latest.get("kwh") or 0)
    month = month_of(str(comparison.get("period") or latest.get("period", "")))
    if not median:
        turn.say("utter_bill_peers_unknown")
    elif kwh >= median * HIGH_RATIO:
        turn.say(
            "utter_bill_peers_high",
            month=month,
            kwh=round(kwh),
            median_kwh=round(median),
            percent=round((kwh / median - 1) * 100),
        )
    elif kwh <= median / HIGH_RATIO:
        turn.say("utter_bill_peers_low", month=month, kwh=round(kwh), median_kwh=round(median))
    else:
        turn.say("utter_bill_peers_normal", month=month, kwh=round(kwh), median_kwh=round(median))


async def tell_why(turn: Turn, account_no: str, bills: list[dict[str, Any]]) -> None:
    """ "为什么这么贵": month on month first, then how it compares with similar households."""
    tell_month(turn, bills)
    tell_peers(turn, await turn.backend.comparison(account_no), bills[0])


async def general(turn: Turn, meaning: str, account_no: str | None) -> None:
    """How the tariff works, with the customer's own figures when we know their account."""
    if meaning == "bill_tiers":
        tariff = await turn.backend.tariff()
        tiers = tariff.get("tiers") or []
        if len(tiers) == 3:
            turn.say(
                "utter_bill_tiers",
                limit1=tiers[0]["up_to_kwh"],
                limit2=tiers[1]["up_to_kwh"],
                price1=tiers[0]["price"],
                price2=tiers[1]["price"],
                price3=tiers[2]["price"],
            )
        if account_no:
            await _own_tiers(turn, account_no)
    elif meaning == "bill_tou":
        tariff = await turn.backend.tariff()
        turn.say(
            "utter_bill_tou",
            peak_hours=tariff.get("peak_hours"),
            valley_hours=tariff.get("valley_hours"),
            surcharge=tariff.get("peak_surcharge"),
            discount=tariff.get("valley_discount"),
        )
        if account_no:
            await _own_tou(turn, account_no)
    else:
        turn.say(f"utter_{meaning}")


async def _own_tiers(turn: Turn, account_no: str) -> None:
    try:
        bills = await turn.backend.bills(account_no, months=1)
    except BackendRejected:
        return
    bill = bills[0] if bills else {}
    tiers = [t for t in bill.get("tiers") or [] if float(t.get("kwh") or 0) > 0]
    if not tiers:
        return
    parts = "；".join(
        f"第{t.get('tier')}档{t.get('kwh')}度×{t.get('price')}元={money(t.get('amount'))}元" for t in tiers
    )
    turn.say(
        "utter_bill_tiers_own",
        month=month_of(str(bill.get("period", ""))),
        kwh=bill.get("kwh"),
        tier=top_tier(bill).get("tier", 1),
        parts=parts,
        amount=money(bill.get("amount")),
    )
    turn.state.set_topic("bill", account_no=account_no)


async def _own_tou(turn: Turn, account_no: str) -> None:
    try:
        bills = await turn.backend.bills(account_no, months=1)
    except BackendRejected:
        return
    if bills and bills[0].get("peak_kwh") is not None and bills[0].get("valley_kwh") is not None:
        bill = bills[0]
        turn.say(
            "utter_bill_tou_own",
            month=month_of(str(bill.get("period", ""))),
            peak_kwh=bill["peak_kwh"],
            valley_kwh=bill["valley_kwh"],
        )
