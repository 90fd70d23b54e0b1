"""The rasa server's launcher (connectors/rasa_server.py), running as a real process with the channel
tests' fixture bot: the API token is taken from the environment, only from the Authorization header,
never seen on the command line; bodies are capped before anything is checked; no REST channel unless
asked for."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import psutil

from tests.connectors.channel_stack import RASA_API_TOKEN, ChannelStack


def test_the_api_takes_the_token_from_the_header_only(live: ChannelStack) -> None:
    """Proves `?token=` (Rasa's only way) is refused even when right, and the header works."""
    status = f"{live.rasa_url}/status"
    assert httpx.get(status, timeout=10).status_code == 401
    assert httpx.get(status, params={"token": RASA_API_TOKEN}, timeout=10).status_code == 400
    assert httpx.get(status, headers={"Authorization": "Bearer wrong-token-000000000"}, timeout=10).status_code == 403
    assert httpx.get(status, headers=live.rasa_headers, timeout=10).status_code == 200
    assert httpx.get(f"{live.rasa_url}/", timeout=10).status_code == 200  # the health page stays open


def test_the_rest_channel_is_absent_unless_enabled(live: ChannelStack) -> None:
    """The channel stack starts without --enable-rest: nobody can speak as any sender."""
    body = {"sender": "o_demo_resident_01", "message": "电费"}
    rest = f"{live.rasa_url}/webhooks/rest/webhook"
    assert httpx.post(rest, json=body, timeout=10).status_code == 401
    assert httpx.post(rest, json=body, headers=live.rasa_headers, timeout=10).status_code == 404


def test_the_token_is_not_on_the_command_line(live: ChannelStack) -> None:
    port = urlsplit(live.rasa_url).port
    (server,) = [c.pid for c in psutil.net_connections("tcp") if c.status == "LISTEN" and c.laddr.port == port]
    process = psutil.Process(server)
    assert process.cmdline()[1:3] == ["-m", "connectors.rasa_server"]
    assert RASA_API_TOKEN not in " ".join(process.cmdline())
    assert {c.laddr.ip for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == "LISTEN"} == {
        "127.0.0.1"
    }


def test_a_body_over_the_cap_is_never_taken(live: ChannelStack) -> None:
    """Sanic's default cap is 100 MB; the launcher's is 1 MiB, with or without a token."""
    big = b"x" * (2 * 1024 * 1024)
    assert httpx.post(f"{live.rasa_url}/model/parse", content=big, headers=live.rasa_headers).status_code == 413
    assert httpx.post(f"{live.rasa_url}/model/parse", content=big).status_code in (401, 413)
