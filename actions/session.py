"""Who is talking: identification at session start, and binding an account in chat.

The sender id is a WeChat openid, a WeCom user id or (SMS) a phone number; the backend's
`/identity` tells whether it is a bound customer, a grid worker or unknown.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import _forms
from actions._base import ACCOUNT_RE, EventList, backend, entity, mask_account
from actions.backend_client import BackendError, BackendRejected, BackendUnavailable
from actions.journal import retrier

logger = logging.getLogger(__name__)

SMS_SENDER_RE = re.compile(r"^1[3-9]\d{9}$")
LAST4_RE = re.compile(r"(?<!\d)\d{4}(?!\d)")


def identity_slots(identity: dict[str, Any]) -> EventList:
    kind = identity.get("kind", "unknown")
    customers = identity.get("customers") or []
    worker = identity.get("worker") or {}
    accounts = [c["account_no"] for c in customers]
    if kind == "customer" and not accounts:
        kind = "unknown"
    return [
        SlotSet("identity_kind", kind),
        SlotSet("accounts", accounts),
        SlotSet("account_masked", mask_account(accounts[0]) if accounts else None),
        SlotSet("customer_phone_masked", customers[0].get("phone_masked") if customers else None),
        SlotSet("worker_code", worker.get("code")),
        SlotSet("worker_name", worker.get("name")),
    ]


async def identify(sender_id: str) -> dict[str, Any]:
    client = backend()
    lookups = ["phone"] if SMS_SENDER_RE.match(sender_id) else ["wechat_openid", "wecom_user_id"]
    identity: dict[str, Any] = {"kind": "unknown"}
    for lookup in lookups:
        identity = await client.identity(**{lookup: sender_id})
        if identity.get("kind") != "unknown":
            break
    return identity


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        retrier.resume_after_restart(backend())
        try:
            events += identity_slots(await identify(tracker.sender_id))
        except BackendError as exc:
            logger.warning("identity lookup failed, treating the sender as unknown: %s", exc)
            events.append(SlotSet("identity_kind", "unknown"))
        events.append(ActionExecuted("action_listen"))
        return events


class ValidateBindForm(_forms.CustomSlotsForm):
    def name(self) -> str:
        return "validate_bind_form"

    async def extract_bind_account_no(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bind_account_no":
            return {}
        typed = entity(tracker, "account_no")
        if typed is None:
            match = ACCOUNT_RE.search(tracker.latest_message.get("text") or "")
            typed = match.group(0) if match else None
        if typed:
            return {"bind_account_no": typed}
        stop = _forms.resume_or_stop("bind_account_no", tracker)
        if stop is not None:
            return stop
        if _forms.is_topic_switch(tracker):
            return {}
        return _forms.failure("bind_account_no", "utter_invalid_account_no", dispatcher, tracker)

    async def extract_bind_phone_last4(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "bind_phone_last4":
            return {}
        text = tracker.latest_message.get("text") or ""
        phone = entity(tracker, "phone")
        match = LAST4_RE.search(text)
        if phone:
            return {"bind_phone_last4": phone[-4:]}
        if match:
            return {"bind_phone_last4": match.group(0)}
        stop = _forms.resume_or_stop("bind_phone_last4", tracker)
        if stop is not None:
            return stop
        if _forms.is_topic_switch(tracker):
            return {}
        return _forms.failure("bind_phone_last4", "utter_invalid_phone_last4", dispatcher, tracker)


class ActionBindAccount(Action):
    """Binds the checked account to the WeChat sender; the check is done by the backend."""

    def name(self) -> str:
        return "action_bind_account"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        account_no = tracker.get_slot("bind_account_no")
        last4 = tracker.get_slot("bind_phone_last4")
        reset = [
            SlotSet(slot, None)
            for slot in (
                "bind_account_no",
                "bind_phone_last4",
                "form_failures",
                "form_paused",
                "form_stopped",
            )
        ]
        if tracker.get_slot("form_stopped") or not account_no or not last4:
            dispatcher.utter_message(response="utter_bind_stopped")
            return reset
        client = backend()
        try:
            await client.bind(tracker.sender_id, account_no, last4)
            identity = await identify(tracker.sender_id)
        except BackendRejected as exc:
            logger.info("bind refused for account %s: %s", mask_account(account_no), exc.code)
            dispatcher.utter_message(response="utter_bind_failed")
            return reset
        except BackendUnavailable as exc:
            logger.warning("bind failed, backend unavailable: %s", exc)
            dispatcher.utter_message(response="utter_backend_down")
            return reset
        dispatcher.utter_message(response="utter_bind_success", account_masked=mask_account(account_no))
        return reset + identity_slots(identity)
