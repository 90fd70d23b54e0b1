"""The action server launcher (bot_runtime/action_server.py) as a real bot-env process: only the rasa
server's credential opens it, nothing is read before that check, bodies and inflated bodies are
capped, no answer echoes the request, and each action run is counted in `/metrics`."""

from __future__ import annotations

import json
import socket
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from scripts.stack import BOT_BIN, Stack, base_env, free_port
from tests.support.scrape import scrape, value

TOKEN = "action-server-test-token-0123456789"
SECRET_MARKER = "13800138009-in-the-tracker"


@dataclass
class ActionServer:
    url: str
    port: int
    calls: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActionServer]:
    work = tmp_path_factory.mktemp("action-server")
    calls = work / "calls.log"
    port = free_port()
    env = base_env({"ACTION_SERVER_TOKEN": TOKEN, "FIXTURE_ACTIONS_LOG": str(calls)})
    stack = Stack(env, work / "log")
    cmd = [str(BOT_BIN / "python"), "-m", "bot_runtime.action_server", "--port", str(port),
           "--actions", "tests.bot_runtime.fixture_actions"]  # fmt: skip
    try:
        stack.start("actions", cmd, f"http://127.0.0.1:{port}/health", timeout=120)
        yield ActionServer(f"http://127.0.0.1:{port}", port, calls)
    finally:
        stack.stop()


def action_call(action: str, accounts: list[str]) -> dict:
    return {
        "next_action": action,
        "sender_id": "o_forger",
        "version": "3.6.21",
        "tracker": {"sender_id": "o_forger", "slots": {"accounts": accounts}, "latest_message": {}, "events": []},
        "domain": {},
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_forged_tracker_without_the_credential_is_refused_and_runs_nothing(server: ActionServer) -> None:
    """Proves rasa_sdk's open /webhook is closed: no action runs for a caller without the token."""
    call = action_call("action_read_account", ["3100000002"])
    assert httpx.post(f"{server.url}/webhook", json=call, timeout=10).status_code == 401
    refused = httpx.post(f"{server.url}/webhook", json=call, headers=bearer("x" * 40), timeout=10)
    assert refused.status_code == 403 and "3100000002" not in refused.text
    assert httpx.get(f"{server.url}/actions", timeout=10).status_code == 401
    assert not server.calls.exists()
    answer = httpx.post(f"{server.url}/webhook", json=call, headers=bearer(TOKEN), timeout=10)
    assert answer.status_code == 200
    assert answer.json()["responses"][0]["text"] == "accounts=['3100000002']"
    assert server.calls.read_text().splitlines() == ["o_forger"]


def test_refusal_comes_before_the_body_is_read(server: ActionServer) -> None:
    """A request announcing 100 MB without the credential is answered 401 after its headers alone."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100000000\r\n\r\n")  # fmt: skip
        head = sock.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 401")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")  # fmt: skip
        assert sock.recv(4096).decode(errors="replace").startswith("HTTP/1.1 413")


def test_deflate_is_inflated_only_up_to_the_cap(server: ActionServer) -> None:
    call = json.dumps(action_call("action_read_account", ["3100000003"])).encode()
    small = httpx.post(f"{server.url}/webhook", content=zlib.compress(call),
                       headers=bearer(TOKEN) | {"Content-Encoding": "deflate"}, timeout=10)  # fmt: skip
    assert small.status_code == 200
    bomb = zlib.compress(b" " * 50_000_000, 9)  # about 50 KB that inflates to 50 MB
    answer = httpx.post(f"{server.url}/webhook", content=bomb,
                        headers=bearer(TOKEN) | {"Content-Encoding": "deflate"}, timeout=10)  # fmt: skip
    assert answer.status_code == 413
    gzip = httpx.post(f"{server.url}/webhook", content=call,
                      headers=bearer(TOKEN) | {"Content-Encoding": "gzip"}, timeout=10)  # fmt: skip
    assert gzip.status_code == 415


def test_a_failing_action_answers_without_echoing_the_request(server: ActionServer) -> None:
    call = action_call("action_fail", [SECRET_MARKER])
    answer = httpx.post(f"{server.url}/webhook", json=call, headers=bearer(TOKEN), timeout=10)
    assert answer.status_code == 500 and SECRET_MARKER not in answer.text
    assert answer.json() == {"error": "action failed", "action_name": "action_fail"}
    garbage = httpx.post(f"{server.url}/webhook", content=b"{" + SECRET_MARKER.encode(), headers=bearer(TOKEN))
    assert garbage.status_code == 400 and SECRET_MARKER not in garbage.text
    unknown = httpx.post(f"{server.url}/webhook", json=action_call("action_nope", []), headers=bearer(TOKEN))
    assert unknown.status_code == 404


def test_action_runs_are_counted_by_action_and_outcome_and_timed(server: ActionServer) -> None:
    """`/metrics` is open like `/health` (loopback only); a refused caller runs no action and counts
    none; an unregistered name is one label, whatever the caller sent."""
    before = scrape(server.url)
    runs = (("action_read_account", 200), ("action_fail", 500), ("action_made_up_01", 404))
    for action, status in runs:
        answer = httpx.post(f"{server.url}/webhook", json=action_call(action, []), headers=bearer(TOKEN), timeout=10)
        assert answer.status_code == status
    assert httpx.post(f"{server.url}/webhook", json=action_call("action_fail", []), timeout=10).status_code == 401
    after = scrape(server.url)
    counted = "powerdesk_action_runs_total"
    for action, outcome in (("action_read_account", "ok"), ("action_fail", "failed"), ("unregistered", "unknown")):
        assert (
            value(after, counted, action=action, outcome=outcome)
            == value(before, counted, action=action, outcome=outcome) + 1
        ), (action, outcome)
    assert not any(dict(labels).get("action") == "action_made_up_01" for _, labels in after)
    timed = "powerdesk_action_duration_seconds_count"
    assert value(after, timed, action="action_fail") == value(before, timed, action="action_fail") + 1


def test_it_listens_on_loopback_only(server: ActionServer) -> None:
    """Bound to 127.0.0.1 by default (rasa_sdk binds 0.0.0.0)."""
    assert listening_addresses(server.port) == {"127.0.0.1"}


def listening_addresses(port: int) -> set[str]:
    return {c.laddr.ip for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == port}
