"""The simulator's fake WeChat and WeCom APIs enforce the platforms' rules (in-process)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from simulator.app import create_app
from simulator.settings import SimulatorSettings

SETTINGS = SimulatorSettings(
    wechat_app_id="wx_sim_test", wechat_app_secret="s" * 32, wecom_corp_id="ww_sim_test",
    wecom_secret="w" * 32, wecom_aes_key="", token_daily_quota=3, rasa_url="http://127.0.0.1:9",
)  # fmt: skip


@pytest.fixture
def sim() -> Iterator[TestClient]:
    with TestClient(create_app(SETTINGS)) as client:
        yield client


def wechat_token(sim: TestClient) -> str:
    body = {"grant_type": "client_credential", "appid": "wx_sim_test", "secret": "s" * 32}
    answer = sim.post("/cgi-bin/stable_token", json=body)
    return str(answer.json()["access_token"])


def custom(sim: TestClient, token: str, openid: str, text: str = "您好") -> int:
    answer = sim.post("/cgi-bin/message/custom/send", params={"access_token": token},
                      json={"touser": openid, "msgtype": "text", "text": {"content": text}})  # fmt: skip
    return int(answer.json()["errcode"])


def act(sim: TestClient, openid: str, **action: str) -> None:
    sim.post(f"/sim/wechat/users/{openid}/send", json=action)


def test_custom_messages_follow_the_48h_and_5_message_rules(sim: TestClient) -> None:
    token = wechat_token(sim)
    assert custom(sim, token, "o_rule_user") == 45015  # the user never wrote
    act(sim, "o_rule_user", type="text", content="你好")
    assert [custom(sim, token, "o_rule_user") for _ in range(6)] == [0] * 5 + [45047]
    act(sim, "o_rule_user", type="text", content="还在吗")
    assert custom(sim, token, "o_rule_user") == 0
    sim.put("/sim/wechat/users/o_rule_user/window", json={"last_message_hours_ago": 49})
    assert custom(sim, token, "o_rule_user") == 45015


def test_a_menu_click_allows_three_messages(sim: TestClient) -> None:
    token = wechat_token(sim)
    act(sim, "o_click_user", type="event", event="CLICK", event_key="MENU_BILL")
    assert [custom(sim, token, "o_click_user") for _ in range(4)] == [0, 0, 0, 45047]


def test_unfollowed_bad_openid_and_refused_templates(sim: TestClient) -> None:
    token = wechat_token(sim)
    act(sim, "o_gone_user", type="event", event="unsubscribe")
    assert custom(sim, token, "o_gone_user") == 43004
    assert custom(sim, token, "bad openid!") == 40003
    sim.put("/sim/wechat/users/o_quiet_user/refuse-templates")
    answer = sim.post("/cgi-bin/message/template/send", params={"access_token": token},
                      json={"touser": "o_quiet_user", "template_id": "t", "data": {}})  # fmt: skip
    assert answer.json()["errcode"] == 43101
    body = {"touser": "o_other_user", "template_id": "t", "data": {"k": {"value": "v"}}}
    ok = sim.post("/cgi-bin/message/template/send", params={"access_token": token}, json=body)
    assert ok.json()["errcode"] == 0 and ok.json()["msgid"] > 0


def test_tokens_unknown_expired_overlap_and_daily_quota(sim: TestClient) -> None:
    assert custom(sim, "forged", "o_x_user") == 40001
    params = {"grant_type": "client_credential", "appid": "wx_sim_test", "secret": "s" * 32}
    first = sim.get("/cgi-bin/token", params=params).json()["access_token"]
    second = sim.get("/cgi-bin/token", params=params).json()["access_token"]
    act(sim, "o_x_user", type="text", content="你好")
    assert custom(sim, first, "o_x_user") == 0  # the replaced token keeps working for 5 minutes
    sim.app.state.platform.clock_offset = 301
    assert custom(sim, first, "o_x_user") == 42001
    assert custom(sim, second, "o_x_user") == 0
    assert "access_token" in sim.get("/cgi-bin/token", params=params).json()
    assert sim.get("/cgi-bin/token", params=params).json()["errcode"] == 45009  # quota of 3 used up
    assert sim.get("/cgi-bin/token", params=params | {"secret": "wrong"}).json()["errcode"] == 40125


def test_stable_token_is_stable_unless_forced(sim: TestClient) -> None:
    body = {"grant_type": "client_credential", "appid": "wx_sim_test", "secret": "s" * 32}
    first = sim.post("/cgi-bin/stable_token", json=body).json()["access_token"]
    assert sim.post("/cgi-bin/stable_token", json=body).json()["access_token"] == first
    forced = sim.post("/cgi-bin/stable_token", json=body | {"force_refresh": True}).json()["access_token"]
    assert forced != first
    assert sim.get("/sim/token-calls").json()["stable_token"] == 3


def test_fault_switch(sim: TestClient) -> None:
    token = wechat_token(sim)
    sim.put("/sim/faults", json={"mode": "errcode", "errcode": 45009, "count": 1})
    assert custom(sim, token, "o_f_user") == 45009
    assert custom(sim, token, "o_f_user") == 45015  # the fault was used up
    sim.put("/sim/faults", json={"mode": "fail"})
    assert sim.post("/cgi-bin/message/custom/send", params={"access_token": token}, json={}).status_code == 503
    assert sim.get("/health").status_code == 200  # only /cgi-bin is affected
    sim.delete("/sim/faults")
    assert sim.get("/sim/faults").json()["mode"] == "none"
    assert sim.put("/sim/faults", json={"mode": "explode"}).status_code == 422


def wecom_send(sim: TestClient, token: str, user: str, text: str, duplicate_check: bool = False) -> dict:
    body = {"touser": user, "msgtype": "text", "agentid": 1000002, "text": {"content": text}}
    if duplicate_check:
        body |= {"enable_duplicate_check": 1, "duplicate_check_interval": 1800}
    return dict(sim.post("/cgi-bin/message/send", params={"access_token": token}, json=body).json())


def test_wecom_drops_over_30_a_minute_silently_and_checks_duplicates(sim: TestClient) -> None:
    token = sim.get("/cgi-bin/gettoken", params={"corpid": "ww_sim_test", "corpsecret": "w" * 32}).json()
    token = token["access_token"]
    for n in range(31):
        assert wecom_send(sim, token, "wg_sim_01", f"任务{n}")["errcode"] == 0  # WeCom says ok...
    statuses = [r["status"] for r in sim.get("/sim/records", params={"to": "wg_sim_01"}).json()]
    assert statuses == ["delivered"] * 30 + ["dropped"]  # ...and drops the 31st
    wecom_send(sim, token, "wg_sim_02", "同一条", duplicate_check=True)
    wecom_send(sim, token, "wg_sim_02", "同一条", duplicate_check=True)
    statuses = [r["status"] for r in sim.get("/sim/records", params={"to": "wg_sim_02"}).json()]
    assert statuses == ["delivered", "duplicate"]
    assert wecom_send(sim, "forged", "wg_sim_03", "x")["errcode"] == 40001


def test_media_upload_and_the_page(sim: TestClient) -> None:
    photo = sim.post("/sim/media", files={"media": ("pole.jpg", b"\xff\xd8jpeg", "image/jpeg")}).json()
    assert sim.get(f"/sim/media/{photo['media_id']}").content == b"\xff\xd8jpeg"
    token = wechat_token(sim)
    uploaded = sim.post("/cgi-bin/media/upload", params={"access_token": token, "type": "image"},
                        files={"media": ("a.jpg", b"x", "image/jpeg")}).json()  # fmt: skip
    assert uploaded["media_id"].startswith("media_")
    page = sim.get("/")
    assert page.status_code == 200 and "供电" in page.text
    assert sim.get("/sim/demo").json()["customers"]


def test_records_can_be_filtered_and_paged(sim: TestClient) -> None:
    token = wechat_token(sim)
    custom(sim, token, f"o_{secrets.token_hex(4)}")
    everything = sim.get("/sim/records").json()
    assert sim.get("/sim/records", params={"since": len(everything)}).json() == []
    assert all(r["api"] == "custom_send" for r in sim.get("/sim/records", params={"api": "custom_send"}).json())


def test_the_simulator_serves_metrics_of_the_platform_calls_it_answered(sim: TestClient) -> None:
    """`/metrics`: the platform calls counted by route template and status, under process="simulator"."""
    wechat_token(sim)
    text = sim.get("/metrics").text
    assert (
        'powerdesk_http_requests_total{method="POST",process="simulator",route="/cgi-bin/stable_token",status="200"}'
        in text
    )
    assert "powerdesk_http_request_duration_seconds_bucket" in text
