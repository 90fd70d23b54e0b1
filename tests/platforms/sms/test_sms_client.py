"""The SMS client through the official SDKs against the simulated gateways: errors mapped."""

from __future__ import annotations

import logging

import httpx
import pytest
from redis import Redis

from backend.notifications.providers.aliyun import AliyunSms
from backend.notifications.providers.tencent import TencentSms
from platforms.sms.breaker import CircuitBreaker
from platforms.sms.client import SmsClient
from platforms.sms.errors import SmsInvalidNumber, SmsOptedOut, SmsRateLimited, SmsRejected, SmsUnavailable
from platforms.sms.limits import PhoneLimiter

PARAMS = {"ticket_no": "QX202611220001", "deadline": "今天14:30"}
TEXT = "报修已受理，工单QX202611220001，抢修人员今天14:30前到达，请保持电话畅通。"


def client(provider: str, url: str, redis: Redis) -> SmsClient:
    if provider == "aliyun":
        sdk = AliyunSms("ak-test", "sk-test", url, "国网客服", timeout=2)
    else:
        sdk = TencentSms("id-test", "key-test", url, "国网客服", "1400000001", timeout=2)  # type: ignore[assignment]
    return SmsClient(sdk, PhoneLimiter(redis, provider, per_day=1000))


@pytest.fixture(autouse=True)
def _fresh_limits(redis: Redis) -> None:
    for key in redis.scan_iter("pd:sms:limit:*"):
        redis.delete(key)


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_send_reaches_the_gateway_with_the_rendered_template(provider, simulator, redis):
    msg_id = client(provider, simulator.url, redis).send(
        "+8613800000002", "ticket_dispatched", PARAMS, TEXT, out_id="pd1"
    )
    (sent,) = simulator.app.state.sms_gateway.sent
    assert msg_id == sent.msg_id and sent.phone == "13800000002" and sent.text == TEXT and sent.provider == provider


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_errors_are_mapped(provider, simulator, redis):
    sms = client(provider, simulator.url, redis)
    with pytest.raises(SmsInvalidNumber):
        sms.send("12345", "ticket_dispatched", PARAMS, TEXT, out_id="x")
    with pytest.raises(SmsRejected):
        sms.send("13800000002", "not_approved", PARAMS, TEXT + "1", out_id="x")
    httpx.put(f"{simulator.url}/sim/sms/faults", json={"mode": "fail", "count": 1})
    with pytest.raises(SmsUnavailable):
        sms.send("13800000002", "ticket_dispatched", PARAMS, TEXT + "2", out_id="x")
    assert not simulator.app.state.sms_gateway.sent


def test_tencent_opt_out_and_frequency_codes(simulator, redis):
    sms = client("tencent", simulator.url, redis)
    httpx.post(f"{simulator.url}/sim/sms/reply", json={"phone": "13800000005", "text": "TD", "provider": "tencent"})
    with pytest.raises(SmsOptedOut):
        sms.send("13800000005", "ticket_dispatched", PARAMS, TEXT, out_id="x")
    sms.send("13800000006", "ticket_dispatched", PARAMS, TEXT, out_id="a")
    with pytest.raises(SmsRateLimited):  # our limiter: same content within 30 s
        sms.send("13800000006", "ticket_dispatched", PARAMS, TEXT, out_id="b")
    httpx.put(
        f"{simulator.url}/sim/sms/faults",
        json={"mode": "code", "code": "LimitExceeded.PhoneNumberDailyLimit"},
    )
    with pytest.raises(SmsRateLimited):  # the provider's own control is a rate limit, not a failure
        sms.send("13800000007", "ticket_dispatched", PARAMS, TEXT, out_id="c")


def test_row39_a_failing_provider_opens_the_circuit_and_a_trial_closes_it(simulator, redis, caplog):
    """Five outages in a row: the provider is not called for the cooldown (rows stay pending, WeChat
    is used), one ALERT; after the cooldown one trial call goes through and closes the circuit."""
    now = [0.0]
    sms = client("aliyun", simulator.url, redis)
    sms.breaker = CircuitBreaker("aliyun", threshold=5, cooldown=60, clock=lambda: now[0])
    httpx.put(f"{simulator.url}/sim/sms/faults", json={"mode": "fail"})
    codes = []
    with caplog.at_level(logging.ERROR):
        for n in range(7):
            with pytest.raises(SmsUnavailable) as failed:
                sms.send("13800000002", "ticket_dispatched", PARAMS, f"{TEXT}{n}", out_id=f"pd{n}")
            codes.append(failed.value.code)
    assert codes[5:] == ["circuit_open", "circuit_open"] and "circuit_open" not in codes[:5]
    alerts = [r for r in caplog.records if r.getMessage().startswith("ALERT SMS provider aliyun")]
    assert len(alerts) == 1
    httpx.put(f"{simulator.url}/sim/sms/faults", json={"mode": "none"})
    now[0] = 61.0
    sms.send("13800000002", "ticket_dispatched", PARAMS, TEXT, out_id="pd9")
    assert not sms.breaker.is_open and len(simulator.app.state.sms_gateway.sent) == 1


def test_a_failed_trial_opens_the_circuit_again(simulator, redis):
    now = [0.0]
    sms = client("aliyun", simulator.url, redis)
    sms.breaker = CircuitBreaker("aliyun", threshold=2, cooldown=60, clock=lambda: now[0])
    httpx.put(f"{simulator.url}/sim/sms/faults", json={"mode": "fail"})
    for n in range(2):
        with pytest.raises(SmsUnavailable):
            sms.send("13800000002", "ticket_dispatched", PARAMS, f"{TEXT}{n}", out_id=f"pd{n}")
    now[0] = 61.0
    with pytest.raises(SmsUnavailable):  # the trial reaches the provider and fails
        sms.send("13800000002", "ticket_dispatched", PARAMS, TEXT, out_id="pd3")
    with pytest.raises(SmsUnavailable) as refused:  # open again: not sent
        sms.send("13800000002", "ticket_dispatched", PARAMS, TEXT + "x", out_id="pd4")
    assert refused.value.code == "circuit_open"
