"""The conversation suite: whole conversations, played through the WeChat (or SMS) channel of a
running stack, each with the outcome it must reach.

Each conversation in `tests/conversations/*.yml` names a persona (who is talking, created fresh
through the admin API for that conversation alone: a grid cell with its worker, a transformer, the
customer with their bills, applications and outages), its turns (what the customer says, what the
reply must and must not contain), and its outcome in the backend (tickets, complaints, tickets called off, binding).
Values of the persona and values captured from earlier replies fill `{placeholders}` in both.

`python -m tests.conversations.suite` (run by `make eval`) starts a stack, plays the whole suite and
prints the task success rate and the median number of customer messages to a filed report for a
bound customer; `tests/conversations/test_conversations.py` plays it inside `make test`.
"""

from __future__ import annotations

import itertools
import re
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml

SUITE_DIR = Path(__file__).parent
SHANGHAI = timezone(timedelta(hours=8))
REPLY_TIMEOUT = 30.0
TICKET_RE = re.compile(r"QX\d{12}")
_numbers = itertools.count(1)
_numbers_lock = threading.Lock()


def next_number() -> int:
    with _numbers_lock:
        return next(_numbers)


@dataclass
class Conversation:
    name: str
    persona: str
    turns: list[dict[str, Any]]
    outcome: dict[str, Any]
    source: str


def load_suite(directory: Path = SUITE_DIR) -> list[Conversation]:
    found = []
    for path in sorted(directory.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            found.append(
                Conversation(
                    item["name"], item.get("who", "resident"), item["turns"], item.get("outcome") or {}, path.name
                )
            )
    return found


@dataclass
class Result:
    conversation: Conversation
    ok: bool
    transcript: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: customer messages until the first reply with a ticket number (None: no ticket in the replies)
    messages_to_ticket: int | None = None


class Stack:
    """The running stack, spoken to as the platforms and the admin do."""

    def __init__(self, backend_url: str, simulator_url: str, admin_token: str) -> None:
        self.admin = httpx.Client(
            base_url=f"{backend_url}/api/v1", timeout=20, headers={"Authorization": f"Bearer {admin_token}"}
        )
        self.simulator = httpx.Client(base_url=simulator_url, timeout=40)
        self._setup = threading.Lock()
        self._feeder: str | None = None

    def post(self, path: str, body: dict[str, Any], **headers: str) -> Any:
        answer = self.admin.post(path, json=body, headers=headers)
        if answer.status_code >= 300:
            raise AssertionError(f"setup POST {path}: {answer.status_code} {answer.text}")
        return answer.json()

    def feeder(self) -> str:
        with self._setup:
            if self._feeder is None:
                self._feeder = f"FCV{int(time.time()) % 100000}"
                self.post("/feeders", {"code": self._feeder, "name": "对话测试线"})
            return self._feeder

    # --- talking --------------------------------------------------------------------------------

    def records(self, **query: Any) -> list[dict[str, Any]]:
        answer = self.simulator.get("/sim/records", params=query)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    def position(self) -> int:
        return len(self.records())

    def wait_for_prompt(self, openid: str) -> None:
        """Until the question a push asked the customer is open (its push has gone out)."""
        deadline = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < deadline:
            if self.admin.get("/prompts", params={"channel": "wechat", "sender_id": openid}).json():
                return
            time.sleep(0.2)
        raise AssertionError(f"no pushed question reached {openid}")

    def settle(self, to: str, pushes: int) -> None:
        """Wait until the notifier has sent `to` the pushes the setup caused (bills, stage changes,
        outage notices), so that none of them is taken for a reply."""
        deadline = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < deadline and len(self.records(to=to)) < pushes:
            time.sleep(0.1)

    def wechat(self, openid: str, action: dict[str, Any]) -> str:
        """Send as a WeChat user; the bot's reply to it (one customer-service message per turn)."""
        since = self.position()
        answer = self.simulator.post(f"/sim/wechat/users/{openid}/send", params={"wait": "true"}, json=action)
        if answer.json().get("answer") != "success":
            raise AssertionError(f"the gateway did not acknowledge: {answer.text}")
        return self._reply(openid, since)

    def wecom(self, user_id: str, text: str) -> str:
        since = self.position()
        answer = self.simulator.post(
            f"/sim/wecom/users/{user_id}/send", params={"wait": "true"}, json={"type": "text", "content": text}
        )
        if answer.json().get("answer") != "success":
            raise AssertionError(f"the gateway did not acknowledge: {answer.text}")
        return self._reply(user_id, since, api="message_send")

    def sms(self, phone: str, text: str) -> str:
        """Send as a phone by SMS (the provider pushes it to the gateway); the bot's SMS reply."""
        since = len(self.sms_to(phone, 0))
        answer = self.simulator.post("/sim/sms/reply", json={"phone": phone, "text": text})
        if not answer.json().get("delivered"):
            raise AssertionError(f"the SMS did not reach the gateway: {answer.text}")
        deadline = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < deadline:
            replies = self.sms_to(phone, since)
            if replies:
                time.sleep(0.3)  # a long reply goes out as several messages
                return "".join(self.sms_to(phone, since))
            time.sleep(0.05)
        raise AssertionError(f"no SMS reply to {phone} within {REPLY_TIMEOUT:.0f} s")

    def _reply(self, to: str, since: int, api: str = "custom_send") -> str:
        deadline = time.monotonic() + REPLY_TIMEOUT
        while time.monotonic() < deadline:
            for record in self.records(to=to, since=since, api=api):
                return str(record.get("content", ""))
            time.sleep(0.05)
        raise AssertionError(f"no reply to {to} within {REPLY_TIMEOUT:.0f} s")

    def sms_to(self, phone: str, since: int) -> list[str]:
        answer = self.simulator.get("/sim/sms/messages")
        answer.raise_for_status()
        items = answer.json()
        items = items.get("messages", items) if isinstance(items, dict) else items
        return [str(m.get("text") or m.get("content") or "") for m in items if m.get("phone") == phone][since:]


# --- personas ---------------------------------------------------------------------------------------


def mask_account(account_no: str) -> str:
    return account_no[:2] + "*" * 6 + account_no[-2:]


def month(offset: int) -> str:
    today = datetime.now(SHANGHAI).date().replace(day=1)
    year, month_index = today.year, today.month - 1 + offset
    year += month_index // 12
    return f"{year}-{month_index % 12 + 1:02d}"


def make_persona(stack: Stack, kind: str) -> dict[str, Any]:
    """A fresh grid cell, worker, transformer and customer for one conversation, as `kind` needs."""
    n = next_number()
    tag = f"{int(time.time()) % 100000:05d}{n:03d}"
    cell, worker_code, transformer = f"CCV{tag}", f"WCV{tag}", f"TCV{tag}"
    worker_id = f"wg_conv_{tag}"
    stack.post("/grid-cells", {"code": cell, "name": f"和平{n}号网格"})
    stack.post(
        "/workers",
        {
            "code": worker_code,
            "name": f"李{['明', '强', '伟', '军'][n % 4]}",
            "phone": f"139{tag}",
            "grid_cell_code": cell,
            "wecom_user_id": worker_id,
            "capacity": 20,
        },
    )
    stack.post(
        "/transformers",
        {"code": transformer, "name": f"和平{n}号台区", "feeder_code": stack.feeder(), "grid_cell_code": cell},
    )
    persona: dict[str, Any] = {"worker_id": worker_id, "worker_code": worker_code, "transformer": transformer}
    openid = f"o_conv_{tag}"
    account = f"39{tag}"
    phone = f"137{tag}"
    address = f"青山县城关镇和平路{n}号3栋2单元501"
    business = "business" in kind
    customer = {
        "account_no": account,
        "name": "青山县鑫隆超市" if business else "陈静",
        "phone": phone,
        "address": address,
        "customer_type": "business" if business else "resident",
        "area_type": "urban",
        "transformer_code": transformer,
    }
    bound = not kind.startswith(("stranger", "owner_unbound", "sms"))
    if bound:
        customer["wechat_openid"] = openid
    stack.post("/customers", customer)
    persona |= {
        "openid": openid,
        "account_no": account,
        "account_masked": mask_account(account),
        "phone": phone,
        "phone_last4": phone[-4:],
        "phone_masked": f"{phone[:3]}****{phone[-4:]}",
        "address": address,
        "n": n,
        "sender": phone if kind.startswith("sms") else openid,
        "accounts": [account],
        "bound": bound,
    }
    pushes = 0  # what the setup makes the notifier send this customer before the conversation starts
    for offset, kwh in ((-2, 180), (-1, 310)):
        stack.post("/bills", {"account_no": account, "period": month(offset), "kwh": kwh})
        pushes += 1
    now = datetime.now(SHANGHAI)
    if kind in ("resident_in_fault", "stranger_in_fault"):
        stack.post(
            "/outages",
            {
                "kind": "fault",
                "cause": "10千伏线路故障",
                "starts_at": (now - timedelta(hours=1)).isoformat(),
                "estimated_restore_at": (now + timedelta(hours=3)).isoformat(),
                "transformer_codes": [transformer],
            },
        )
        pushes += 1
    if kind == "resident_planned":
        start = (now + timedelta(days=6)).replace(hour=8, minute=0, second=0, microsecond=0)
        stack.post(
            "/outages",
            {
                "kind": "planned",
                "cause": "线路检修",
                "starts_at": start.isoformat(),
                "estimated_restore_at": (start + timedelta(hours=9)).isoformat(),
                "transformer_codes": [transformer],
            },
        )
        pushes += 1
    if kind == "resident_two_accounts":
        second = f"38{tag}"
        stack.post("/customers", customer | {"account_no": second, "address": f"青山县城关镇和平路{n}号5栋101"})
        persona |= {"second_account": second, "accounts": [account, second]}
    if business:
        application = stack.post(
            "/applications",
            {
                "account_no": account,
                "applicant_name": "青山县鑫隆超市",
                "type": "low_voltage",
                "capacity_kva": 80,
                "address": address,
                "manager_name": "周敏",
                "manager_phone": "13700001111",
            },
        )
        persona["application_no"] = application["application_no"]
        for _ in range(2):
            stack.post(f"/applications/{application['application_no']}/advance", {})
        pushes += 3
    if kind == "resident_resolved":
        ticket = stack.post(
            "/repair-reports",
            {"account_no": account, "channel": "wechat", "sender_id": openid, "description": "家里停电了"},
            **{"Idempotency-Key": f"conv-{tag}-r"},
        )
        for step in ("accept", "arrive", "resolve"):
            stack.post(
                f"/tickets/{ticket['ticket_no']}/events",
                {"type": step, "worker_code": worker_code, "note": "表箱空开跳闸，已合上"},
            )
        persona["ticket_no"] = ticket["ticket_no"]
        pushes += 3  # accepted, arrived, resolved (its question); the "dispatched" push is held
        stack.wait_for_prompt(openid)
    if kind.startswith("worker"):
        reports = 2 if kind == "worker_two_tasks" else 0 if kind == "worker_idle" else 1
        for number in range(reports):
            report_for = account if number == 0 else f"38{tag}"
            if number:
                stack.post(
                    "/customers",
                    customer
                    | {
                        "account_no": report_for,
                        "address": f"青山县城关镇和平路{n}号9栋101",
                        "phone": f"136{tag}",
                        "wechat_openid": f"o_conv2_{tag}",
                    },
                )
            ticket = stack.post(
                "/repair-reports",
                {"account_no": report_for, "channel": "wechat", "sender_id": openid, "description": "家里停电了"},
                **{"Idempotency-Key": f"conv-{tag}-{number}"},
            )
            persona[f"ticket_no{number + 1 if number else ''}"] = ticket["ticket_no"]
        persona["worker_pushes"] = reports
    persona["setup_pushes"] = pushes
    return persona


# --- playing a conversation -------------------------------------------------------------------------


def fill(text: str, values: dict[str, Any]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(values.get(m.group(1), m.group(0))), text)


def check_reply(reply: str, turn: dict[str, Any], values: dict[str, Any]) -> list[str]:
    problems = []
    for wanted in turn.get("expect") or []:
        wanted = fill(str(wanted), values)
        if wanted.startswith("re:"):
            if not re.search(wanted[3:], reply):
                problems.append(f"expected /{wanted[3:]}/")
        elif wanted not in reply:
            problems.append(f"expected {wanted!r}")
    for unwanted in turn.get("not") or []:
        unwanted = fill(str(unwanted), values)
        if (unwanted.startswith("re:") and re.search(unwanted[3:], reply)) or (
            not unwanted.startswith("re:") and unwanted in reply
        ):
            problems.append(f"did not expect {unwanted!r}")
    if re.search(r"\b[a-z]+_[a-z_]+\b|[{}]", reply):
        problems.append("an internal name or an unfilled value reached the customer")
    return problems


def play(stack: Stack, conversation: Conversation) -> Result:
    result = Result(conversation, ok=False)
    try:
        values = make_persona(stack, conversation.persona)
        worker = conversation.persona.startswith("worker")
        if worker:
            stack.settle(values["worker_id"], values["worker_pushes"])
        elif conversation.persona.startswith("sms"):
            deadline = time.monotonic() + REPLY_TIMEOUT
            while time.monotonic() < deadline and len(stack.sms_to(values["phone"], 0)) < values["setup_pushes"]:
                time.sleep(0.1)
        elif values["bound"]:
            stack.settle(values["openid"], values["setup_pushes"])
        for number, turn in enumerate(conversation.turns, start=1):
            said = fill(str(turn.get("say", "")), values)
            if "code_from_sms" in turn:
                said = latest_code(stack, values["phone"])
            if worker:
                reply = stack.wecom(values["worker_id"], said)
            elif conversation.persona.startswith("sms"):
                reply = stack.sms(values["phone"], said)
            elif "location" in turn:
                where = turn["location"]
                action = {
                    "type": "location",
                    "latitude": where["lat"],
                    "longitude": where["lon"],
                    "label": where.get("label", ""),
                }
                reply = stack.wechat(values["sender"], action)
            else:
                reply = stack.wechat(values["sender"], {"type": "text", "content": said})
            result.transcript.append((said, reply))
            if result.messages_to_ticket is None and TICKET_RE.search(reply) and "工单号" in reply:
                result.messages_to_ticket = number
            for name, pattern in (turn.get("capture") or {}).items():
                found = re.search(pattern, reply)
                if found:
                    values[name] = found.group(0)
            result.problems += [f"turn {number}: {p}" for p in check_reply(reply, turn, values)]
        result.problems += check_outcome(stack, conversation.outcome, values)
    except (AssertionError, httpx.HTTPError) as exc:
        result.problems.append(f"{type(exc).__name__}: {exc}")
    result.ok = not result.problems
    return result


def latest_code(stack: Stack, phone: str) -> str:
    deadline = time.monotonic() + REPLY_TIMEOUT
    while time.monotonic() < deadline:
        for text in reversed(stack.sms_to(phone, 0)):
            found = re.search(r"验证码(\d{6})", text)
            if found:
                return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no verification code reached {phone}")


def check_outcome(stack: Stack, outcome: dict[str, Any], values: dict[str, Any]) -> list[str]:
    problems = []
    tickets = [t for a in values["accounts"] for t in stack.admin.get("/tickets", params={"account_no": a}).json()]
    repairs = [t for t in tickets if t["kind"] in ("repair", "hazard")]
    complaints = [t for t in tickets if t["kind"] == "complaint"]
    if "tickets" in outcome and len(repairs) != outcome["tickets"]:
        problems.append(f"outcome: {len(repairs)} repair tickets, expected {outcome['tickets']}")
    if "complaints" in outcome and len(complaints) != outcome["complaints"]:
        problems.append(f"outcome: {len(complaints)} complaint tickets, expected {outcome['complaints']}")
    if "bound" in outcome:
        who = stack.admin.get("/identity", params={"wechat_openid": values["openid"]}).json()
        if (who["kind"] == "customer") != outcome["bound"]:
            problems.append(f"outcome: the WeChat user is {who['kind']}, expected bound={outcome['bound']}")
    if "praised" in outcome:
        praised = sum(1 for t in repairs for line in t["timeline"] if line["type"] == "praised")
        if praised != outcome["praised"]:
            problems.append(f"outcome: {praised} praise lines on the tickets, expected {outcome['praised']}")
    if "cancelled" in outcome:
        cancelled = sum(1 for t in repairs if t["status"] == "cancelled")
        if cancelled != outcome["cancelled"]:
            problems.append(f"outcome: {cancelled} repair tickets called off, expected {outcome['cancelled']}")
    if "rating" in outcome:
        rated = [t.get("rating") for t in repairs if t.get("rating")]
        if rated != [outcome["rating"]]:
            problems.append(f"outcome: ratings {rated}, expected [{outcome['rating']}]")
    return problems


def play_all(stack: Stack, conversations: list[Conversation], workers: int = 4) -> list[Result]:
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda c: play(stack, c), conversations))


def report(results: list[Result]) -> str:
    lines = []
    for result in results:
        if not result.ok:
            lines.append(f"FAILED {result.conversation.source}: {result.conversation.name}")
            lines += [f"    {p}" for p in result.problems]
            lines += [f"    客户: {said}\n    小电: {reply}" for said, reply in result.transcript]
    passed = sum(r.ok for r in results)
    lines.append(f"task success rate: {passed}/{len(results)} ({100 * passed / max(len(results), 1):.1f} %)")
    filed = [
        r.messages_to_ticket
        for r in results
        if r.messages_to_ticket
        and r.conversation.persona.startswith("resident")
        and r.conversation.outcome.get("tickets")
    ]
    if filed:
        lines.append(
            f"median customer messages to a filed report (bound customers): {statistics.median(filed):g}"
            f" over {len(filed)} conversations"
        )
    return "\n".join(lines)


def main() -> int:
    from tests.conversations.stack import conversation_stack

    with conversation_stack() as stack:
        results = play_all(stack, load_suite())
    print(report(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
