"""Repair reports: the repair form, its questions, and submitting the report to the backend.

`repair_form` slots: `report_account` (who: the bound account offered first, else 户号, phone or
address, kept in `report_account_no` / `report_phone` / `report_address`), `description`,
`callback_phone` (`registered` = the phone on file), `report_confirmed`.
When the backend is unreachable the report goes to the local journal and is submitted later.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import _forms
from actions._base import (
    EventList,
    backend,
    bound_accounts,
    channel_of,
    entity,
    mask_account,
    mask_phone,
    message_key,
    time_phrase,
)
from actions.backend_client import BackendRejected, BackendUnavailable
from actions.journal import ReportJournal, journal_path, retrier

logger = logging.getLogger(__name__)

ADDRESS_HINT = re.compile(r"[路街道巷弄号村镇乡区县苑园栋幢楼单元室里坊小区屯组]")
REPORT_SLOTS = (
    "report_account",
    "report_account_no",
    "report_phone",
    "report_address",
    "report_offer_declined",
    "description",
    "callback_phone",
    "report_confirmed",
    "form_failures",
    "form_paused",
    "form_stopped",
)


def looks_like_address(text: str) -> bool:
    return len(text) >= 4 and bool(ADDRESS_HINT.search(text))


def offers_bound_account(tracker: Tracker) -> bool:
    return bool(bound_accounts(tracker)) and not tracker.get_slot("report_offer_declined")


class ValidateRepairForm(_forms.CustomSlotsForm):
    def name(self) -> str:
        return "validate_repair_form"

    async def extract_report_account(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        if tracker.get_slot("report_account") and requested != "report_account":
            return {}
        account_no, phone = entity(tracker, "account_no"), entity(tracker, "phone")
        if account_no:
            return {"report_account": mask_account(account_no), "report_account_no": account_no}
        if phone:
            return {"report_account": mask_phone(phone), "report_phone": phone, "callback_phone": phone}
        if requested != "report_account":
            return {}
        text = _forms.text_of(tracker)
        if offers_bound_account(tracker):
            accounts = bound_accounts(tracker)
            choice = int(text) if text.isdigit() and len(text) == 1 else None
            answer = _forms.yes_no(tracker)
            if choice is None and answer is True and len(accounts) == 1:
                choice = 1
            if choice is not None and 1 <= choice <= len(accounts):
                chosen = accounts[choice - 1]
                return {"report_account": mask_account(chosen), "report_account_no": chosen}
            if choice == len(accounts) + 1 or answer is False:
                return {"report_account": None, "report_offer_declined": True}
        paused = _forms.resume_or_stop("report_account", tracker)
        if paused is not None:
            return paused
        if _forms.is_topic_switch(tracker):
            return {}
        address = entity(tracker, "address") or (text if looks_like_address(text) else None)
        if address:
            return {"report_account": address, "report_address": address}
        return _forms.failure("report_account", "utter_invalid_report_account", dispatcher, tracker)

    async def extract_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        requested = tracker.get_slot("requested_slot")
        text = _forms.text_of(tracker)
        if requested is None and not tracker.get_slot("description"):
            # activation: the message that opened the form describes the problem
            if _forms.intent_of(tracker) == "report_outage" and text:
                return {"description": text}
            return {}
        if requested != "description":
            return {}
        paused = _forms.resume_or_stop("description", tracker)
        if paused is not None:
            return paused
        if _forms.is_topic_switch(tracker):
            return {}
        if len(text) >= 2:
            return {"description": text}
        return _forms.failure("description", "utter_invalid_description", dispatcher, tracker)

    async def extract_callback_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "callback_phone":
            return {}
        phone = entity(tracker, "phone")
        if phone:
            return {"callback_phone": phone}
        if tracker.get_slot("customer_phone_masked") and _forms.yes_no(tracker) is True:
            return {"callback_phone": "registered"}
        paused = _forms.resume_or_stop("callback_phone", tracker)
        if paused is not None:
            return paused
        if _forms.is_topic_switch(tracker):
            return {}
        return _forms.failure("callback_phone", "utter_invalid_phone", dispatcher, tracker)

    async def extract_report_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "report_confirmed":
            return {}
        answer = _forms.yes_no(tracker)
        if answer is not None:
            return {"report_confirmed": answer}
        if _forms.is_topic_switch(tracker):
            return {}
        return _forms.failure("report_confirmed", "utter_invalid_yes_no", dispatcher, tracker)


class ActionAskReportAccount(Action):
    def name(self) -> str:
        return "action_ask_report_account"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        accounts = bound_accounts(tracker)
        if offers_bound_account(tracker) and len(accounts) == 1:
            dispatcher.utter_message(response="utter_ask_use_bound_account", account_masked=mask_account(accounts[0]))
        elif offers_bound_account(tracker):
            listing = "\n".join(f"{i}. {mask_account(a)}" for i, a in enumerate(accounts, start=1))
            dispatcher.utter_message(
                response="utter_ask_choose_bound_account", listing=listing, other=len(accounts) + 1
            )
        else:
            dispatcher.utter_message(response="utter_ask_report_account")
        return []


def callback_masked(tracker: Tracker) -> str:
    callback = tracker.get_slot("callback_phone")
    if callback == "registered":
        return str(tracker.get_slot("customer_phone_masked") or "")
    return mask_phone(str(callback or ""))


class ActionAskCallbackPhone(Action):
    def name(self) -> str:
        return "action_ask_callback_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        registered = tracker.get_slot("customer_phone_masked")
        if registered:
            dispatcher.utter_message(response="utter_ask_callback_phone_registered", phone_masked=registered)
        else:
            dispatcher.utter_message(response="utter_ask_callback_phone")
        return []


class ActionAskReportConfirmed(Action):
    def name(self) -> str:
        return "action_ask_report_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        dispatcher.utter_message(
            response="utter_ask_report_confirmed",
            report_target=tracker.get_slot("report_account"),
            description=tracker.get_slot("description"),
            callback_masked=callback_masked(tracker),
        )
        return []


def build_report(tracker: Tracker, kind: str, description: str) -> dict[str, Any]:
    report: dict[str, Any] = {
        "channel": channel_of(tracker),
        "sender_id": tracker.sender_id,
        "description": description,
        "kind": kind,
    }
    account_no = tracker.get_slot("report_account_no")
    if kind == "hazard" and not account_no and bound_accounts(tracker):
        account_no = bound_accounts(tracker)[0]
    if account_no:
        report["account_no"] = account_no
    elif tracker.get_slot("report_phone"):
        report["phone"] = tracker.get_slot("report_phone")
    elif tracker.get_slot("report_address"):
        report["address"] = tracker.get_slot("report_address")
    callback = tracker.get_slot("callback_phone")
    if callback and callback != "registered":
        report["callback_phone"] = callback
    metadata = tracker.latest_message.get("metadata") or {}
    for field in ("latitude", "longitude"):
        if tracker.get_slot(f"hazard_{field}") is not None:
            report[field] = tracker.get_slot(f"hazard_{field}")
        elif metadata.get(field) is not None:
            report[field] = metadata[field]
    return report


async def submit_report(dispatcher: CollectingDispatcher, tracker: Tracker, report: dict[str, Any]) -> None:
    """Submit and tell the customer the outcome; on a backend outage keep the report durably."""
    key = message_key(tracker)
    client = backend()
    try:
        result = await client.create_repair_report(report, idempotency_key=key)
    except BackendUnavailable as exc:
        logger.warning("repair report %s queued in the journal: %s", key, exc)
        journal = ReportJournal(journal_path())
        journal.add(key, report)
        retrier.ensure_running(journal, client)
        dispatcher.utter_message(response="utter_report_queued")
        return
    except BackendRejected as exc:
        logger.warning("repair report %s rejected: %s", key, exc.code)
        dispatcher.utter_message(response="utter_report_rejected")
        return
    tell_outcome(dispatcher, result)


def tell_outcome(dispatcher: CollectingDispatcher, result: dict[str, Any]) -> None:
    outage = result.get("outage") or {}
    if result.get("outcome") == "attached_to_outage":
        restore = time_phrase(outage.get("estimated_restore_at"))
        response = "utter_report_attached_outage" if restore else "utter_report_attached_outage_no_eta"
        dispatcher.utter_message(response=response, cause=outage.get("cause"), restore_time=restore)
        return
    worker = result.get("worker") or {}
    deadline = time_phrase(result.get("deadline"))
    if result.get("outcome") == "attached_to_ticket":
        on_site = result.get("status") == "arrived"
        response = "utter_report_existing_ticket_on_site" if on_site else "utter_report_existing_ticket"
        if not on_site and not deadline:
            response = "utter_report_existing_ticket_manual"
        dispatcher.utter_message(response=response, ticket_no=result.get("ticket_no"), deadline=deadline)
    elif not deadline:
        urgent = result.get("priority") == "urgent"
        response = "utter_hazard_ticket_manual" if urgent else "utter_report_ticket_manual"
        dispatcher.utter_message(response=response, ticket_no=result.get("ticket_no"))
    else:
        urgent = result.get("priority") in ("urgent", "high")
        response = "utter_hazard_ticket_created" if urgent else "utter_report_ticket_created"
        dispatcher.utter_message(response=response, ticket_no=result.get("ticket_no"), deadline=deadline)
    if worker.get("name"):
        dispatcher.utter_message(
            response="utter_report_worker",
            worker_name=worker["name"],
            worker_phone=worker.get("phone_masked"),
        )
    if result.get("outcome") == "ticket_created":
        dispatcher.utter_message(response="utter_report_next_steps")


class ActionSubmitRepairReport(Action):
    def name(self) -> str:
        return "action_submit_repair_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        reset = [SlotSet(slot, None) for slot in REPORT_SLOTS]
        if tracker.get_slot("form_stopped") or tracker.get_slot("report_confirmed") is False:
            dispatcher.utter_message(response="utter_report_cancelled")
            return reset
        description = str(tracker.get_slot("description") or "")
        await submit_report(dispatcher, tracker, build_report(tracker, "repair", description))
        return reset
