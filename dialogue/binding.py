"""Binding a WeChat user to an account (绑定户号) with a one-time code sent by SMS to the account's
registered phone, and unbinding (解绑). The backend limits the attempts (per WeChat user and per
account, per day), caps the WeChat users per account and tells the owner of every new binding.

SMS customers are known by their phone number: there is nothing to bind on SMS.

Task `bind`: steps `account`, `code`; fields `account_no`, `reason` (what the customer wanted: it
is answered once the binding is done). Task `unbind`: steps `choose`, `confirm`; field `account_no`.
"""

from __future__ import annotations

import logging
import re

from clients.backend import BackendRejected, BackendUnavailable
from dialogue import identity
from dialogue.context import Turn
from dialogue.phrases import listing, mask_account
from dialogue.tasks import Task, TaskData

logger = logging.getLogger(__name__)

CODE_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")
RESEND_RE = re.compile(r"重新发|再发|重发|没收到|收不到")
REFUSALS = {
    "customer_not_found": "utter_bind_account_unknown",
    "bind_locked": "utter_bind_locked",
    "already_bound": "utter_bind_already",
    "too_many_bindings": "utter_bind_too_many",
    "bind_code_wrong": "utter_bind_code_wrong",
    "bind_code_expired": "utter_bind_code_expired",
}


async def offer(turn: Turn, reason: str) -> None:
    """Personal data needs a bound account: on WeChat, start binding; on SMS, say how it works."""
    if turn.message.channel == "sms":
        turn.say("utter_bind_sms")
        return
    turn.state.start("bind", "account", reason=reason)
    turn.say("utter_bind_needed")


async def begin(turn: Turn) -> None:
    if turn.message.channel == "sms":
        turn.say("utter_bind_sms")
        return
    task = turn.state.start("bind", "account", reason=None)
    typed = turn.message.account_no()
    if typed:
        await send_code(turn, task, typed)
    else:
        turn.say("utter_bind_ask_account")


async def send_code(turn: Turn, task: TaskData, account_no: str) -> None:
    if turn.owns(account_no):
        turn.state.finish()
        turn.say("utter_bind_already", account_masked=mask_account(account_no))
        return
    try:
        sent = await turn.backend.send_bind_code(turn.message.sender_id, account_no)
    except BackendUnavailable:
        turn.say("utter_backend_down")
        return
    except BackendRejected as exc:
        refuse(turn, exc, account_no)
        return
    task["account_no"] = account_no
    task["step"] = "code"
    turn.say(
        "utter_bind_code_sent", phone_masked=sent.get("phone_masked") or "", minutes=sent.get("expires_in_minutes", 10)
    )


def refuse(turn: Turn, exc: BackendRejected, account_no: str) -> None:
    response = REFUSALS.get(exc.code, "utter_backend_rejected")
    if exc.code in ("bind_locked", "already_bound", "too_many_bindings"):
        turn.state.finish()
    attempts = exc.details.get("attempts_left")
    if exc.code == "bind_code_wrong" and attempts:
        turn.say("utter_bind_code_wrong_left", attempts_left=attempts)
        return
    turn.say(response, account_masked=mask_account(account_no), account_no=account_no)


class Bind(Task):
    name = "bind"
    label = "绑定"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        if task["step"] == "code":
            turn.say("utter_bind_ask_code")
        else:
            turn.say("utter_bind_ask_account")

    async def remind(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_bind_remind_code" if task["step"] == "code" else "utter_bind_remind_account")

    async def cancel(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_bind_stopped")

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        message = turn.message
        if task["step"] == "account":
            typed = message.account_no()
            if typed is None:
                digits = re.sub(r"\D", "", message.bare)
                if digits and len(digits) != 10 and len(digits) == len(message.bare):
                    turn.say("utter_invalid_account_no")
                    return True
                return False
            await send_code(turn, task, typed)
            return True
        if RESEND_RE.search(message.bare):
            await send_code(turn, task, task["account_no"])
            return True
        code = CODE_RE.search(message.bare)
        if code is None:
            if message.bare.isdigit():
                turn.say("utter_bind_code_format")
                return True
            return False
        await self._check(turn, task, code.group(0))
        return True

    async def _check(self, turn: Turn, task: TaskData, code: str) -> None:
        account_no = task["account_no"]
        try:
            await turn.backend.bind(turn.message.sender_id, account_no, code)
        except BackendUnavailable:
            turn.say("utter_backend_down")
            return
        except BackendRejected as exc:
            refuse(turn, exc, account_no)
            return
        turn.state.finish()
        turn.state.identity = await identity.lookup(turn.backend, turn.message.channel, turn.message.sender_id)
        turn.say("utter_bind_success", account_masked=mask_account(account_no))
        turn.answer_next(task.get("reason"))


async def begin_unbind(turn: Turn) -> None:
    accounts = turn.identity.accounts
    if turn.message.channel != "wechat" or not accounts:
        turn.say("utter_unbind_nothing")
        return
    if len(accounts) == 1:
        task = turn.state.start("unbind", "confirm", account_no=accounts[0]["account_no"])
    else:
        task = turn.state.start("unbind", "choose")
    await Unbind().ask(turn, task)


class Unbind(Task):
    name = "unbind"
    label = "解绑"

    async def ask(self, turn: Turn, task: TaskData) -> None:
        if task["step"] == "choose":
            lines = [f"{a.get('address') or ''}（{mask_account(a['account_no'])}）" for a in turn.identity.accounts]
            turn.say("utter_unbind_choose", listing=listing(lines))
        else:
            turn.say("utter_unbind_confirm", account_masked=mask_account(task["account_no"]))

    async def answer(self, turn: Turn, task: TaskData) -> bool:
        message = turn.message
        accounts = turn.identity.accounts
        if task["step"] == "choose":
            choice = message.choice(len(accounts))
            if choice is None:
                return False
            task["account_no"] = accounts[choice - 1]["account_no"]
            task["step"] = "confirm"
            await self.ask(turn, task)
            return True
        answer = message.yes_no()
        if answer is None:
            return False
        turn.state.finish()
        if answer is False:
            turn.say("utter_unbind_kept")
            return True
        try:
            await turn.backend.unbind(message.sender_id, task["account_no"])
        except (BackendUnavailable, BackendRejected) as exc:
            logger.warning("unbind failed: %s", exc)
            turn.say("utter_backend_down")
            return True
        turn.state.identity = await identity.lookup(turn.backend, message.channel, message.sender_id)
        turn.say("utter_unbind_done", account_masked=mask_account(task["account_no"]))
        return True
