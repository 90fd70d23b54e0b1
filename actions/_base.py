"""Shared pieces of the actions: the backend client, identity slots, masking and time phrases.

Domain setup the actions rely on (bot/domain/session.yml): slots `identity_kind` (customer,
worker, unknown), `accounts` (the bound account numbers), `account_masked`, `worker_code`,
`customer_phone_masked`; responses `utter_backend_down` and `utter_need_binding`.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from datetime import date, datetime, timedelta, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.backend_client import BackendClient, BackendRejected, BackendUnavailable

logger = logging.getLogger(__name__)

SHANGHAI = timezone(timedelta(hours=8))
ACCOUNT_RE = re.compile(r"(?<!\d)\d{10}(?!\d)")
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")

EventList = list[dict[str, Any]]


def backend() -> BackendClient:
    return BackendClient.from_env()


def mask_account(account_no: str) -> str:
    return account_no[:2] + "*" * (len(account_no) - 4) + account_no[-2:] if len(account_no) > 4 else account_no


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else phone


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed.astimezone(SHANGHAI)


def time_phrase(value: str | None, now: datetime | None = None) -> str:
    """`今天14:30`, `明天09:00`, `11月24日14:30` for an ISO time, in Shanghai time."""
    moment = parse_time(value)
    if moment is None:
        return ""
    today = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI).date()
    clock = moment.strftime("%H:%M")
    days = (moment.date() - today).days
    if days == 0:
        return f"今天{clock}"
    if days == 1:
        return f"明天{clock}"
    if days == -1:
        return f"昨天{clock}"
    return f"{moment.month}月{moment.day}日{clock}"


def date_phrase(value: str | None) -> str:
    if not value:
        return ""
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return value
    return f"{day.month}月{day.day}日"


def message_key(tracker: Tracker) -> str:
    """The inbound message's dedup key from the channel, else a key unique to this user turn."""
    metadata = tracker.latest_message.get("metadata") or {}
    key = metadata.get("message_key")
    if key:
        return str(key)
    turn = sum(1 for event in tracker.events if event.get("event") == "user")
    return f"{tracker.sender_id}:{turn}:{tracker.latest_message.get('message_id') or ''}"


def intent_of(tracker: Tracker) -> str:
    """The intent the NLU gave the latest message (`nlu_fallback` when it was unsure)."""
    intent = tracker.latest_message.get("intent") or {}
    return str(intent.get("name") or "nlu_fallback")


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "rest"


def entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return str(value) if value else None


def bound_accounts(tracker: Tracker) -> list[str]:
    return list(tracker.get_slot("accounts") or [])


def chosen_account(tracker: Tracker) -> str | None:
    """The account to answer for: one typed in the message if it is the sender's, else the first bound."""
    accounts = bound_accounts(tracker)
    typed = entity(tracker, "account_no")
    if typed and typed in accounts:
        return typed
    return accounts[0] if accounts else None


class BackendAction(Action, ABC):
    """An action that talks to the backend: an unreachable backend gets an honest answer.

    Subclasses implement `answer`; `BackendUnavailable` becomes `utter_backend_down`, and a
    rejection the subclass does not handle becomes `utter_backend_rejected`.
    """

    @abstractmethod
    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        try:
            return await self.answer(dispatcher, tracker, domain)
        except BackendUnavailable as exc:
            logger.warning("%s: backend unavailable: %s", self.name(), exc)
            dispatcher.utter_message(response="utter_backend_down")
        except BackendRejected as exc:
            logger.warning("%s: backend rejected: %s %s", self.name(), exc.status, exc.code)
            dispatcher.utter_message(response="utter_backend_rejected")
        return []


class AccountAction(BackendAction, ABC):
    """A customer question about one of the sender's bound accounts; unbound senders are asked to bind."""

    @abstractmethod
    async def answer_for(self, account_no: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> EventList: ...

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> EventList:
        account_no = chosen_account(tracker)
        if account_no is None:
            dispatcher.utter_message(response="utter_need_binding")
            return []
        return await self.answer_for(account_no, dispatcher, tracker)
