"""Grid workers in WeCom: accept, arrive, resolve with the cause; a choice among several tasks; a cause
in free text; a command with no task (dialogue/workers.py)."""

from __future__ import annotations

from tests.dialogue.conftest import Backend, Chat, Place, names, values


def open_ticket(backend: Backend, place: Place, account_no: str | None = None, key: str = "") -> str:
    body = {
        "account_no": account_no or place.account_no,
        "channel": "wechat",
        "sender_id": place.openid,
        "description": "家里停电",
    }
    answer = backend.admin(
        "POST", "/repair-reports", body, **{"Idempotency-Key": f"w-{key}{account_no or place.account_no}"}
    )
    return str(answer["ticket_no"])


def neighbour(backend: Backend, place: Place, n: int) -> str:
    account_no = place.account_no[:-2] + f"{n:02d}"
    backend.admin(
        "POST",
        "/customers",
        {
            "account_no": account_no,
            "name": "李四",
            "phone": place.phone[:-2] + f"{50 + n}",
            "address": f"阳光小区{n}栋1单元201",
            "customer_type": "resident",
            "area_type": "urban",
            "transformer_code": place.transformer_code,
        },
    )
    return account_no


def worker_chat(backend: Backend, place: Place) -> Chat:
    return Chat(backend.client(), place.worker_wecom_id, channel="wecom")


def test_accept_arrive_and_a_bare_fixed_asks_the_cause(backend: Backend, place: Place, chat: Chat) -> None:
    ticket_no = open_ticket(backend, place)
    worker = worker_chat(backend, place)
    accepted = worker.say("接单", "accept_task")
    assert (
        names(accepted) == ["utter_worker_accepted"]
        and values(accepted, "utter_worker_accepted")["ticket_no"] == ticket_no
    )
    assert chat.said("报修进度", "query_repair_progress") == ["utter_ticket_accepted"]
    assert worker.said("到了", "arrive_site") == ["utter_worker_arrived"]
    assert worker.said("修好了", "resolve_task") == ["utter_worker_ask_cause"]
    assert worker.said("已经修好了", "resolve_task") == ["utter_worker_ask_cause"], "still no cause"
    assert worker.said("表箱空开跳闸，已合上", "nlu_fallback") == ["utter_worker_resolved"]
    ticket = backend.admin("GET", f"/tickets/{ticket_no}")
    assert ticket["status"] == "resolved" and any("表箱空开跳闸" in (e.get("note") or "") for e in ticket["timeline"])


def test_several_tasks_make_the_worker_choose(backend: Backend, place: Place) -> None:
    first = open_ticket(backend, place)
    second = open_ticket(backend, place, neighbour(backend, place, 2))
    worker = worker_chat(backend, place)
    listed = worker.say("接单", "accept_task")
    assert names(listed) == ["utter_worker_which_task"]
    assert first in values(listed, "utter_worker_which_task")["listing"]
    picked = worker.say("2", "inform")
    chosen = worker.state.tasks == [] and values(picked, "utter_worker_accepted")["ticket_no"]
    assert chosen in (first, second)


def test_a_command_with_no_open_task_shows_recent_tasks(backend: Backend, place: Place) -> None:
    ticket_no = open_ticket(backend, place)
    worker = worker_chat(backend, place)
    for text, intent in (("接单", "accept_task"), ("到了", "arrive_site")):
        worker.say(text, intent)
    worker.say("修好了，进户线接头松了，已紧固", "resolve_task")
    recent = worker.say("接单", "accept_task")
    assert names(recent) == ["utter_worker_no_open_tasks"]
    assert ticket_no in values(recent, "utter_worker_no_open_tasks")["listing"]


def test_customers_cannot_use_worker_commands(chat: Chat) -> None:
    assert chat.said("接单", "accept_task") == ["utter_worker_only"]
