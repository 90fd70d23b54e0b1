"""The SMS client through the official SDKs against the simulated gateways: errors mapped."""

from __future__ import annotations

import httpx
import pytest
from redis import Redis

from connectors.sms.aliyun import AliyunSms
from connectors.sms.client import SmsClient
from connectors.sms.errors import SmsInvalidNumber, SmsOptedOut, SmsRateLimited, SmsRejected, SmsUnavailable
from connectors.sms.limits import PhoneLimiter
from connectors.sms.tencent import TencentSms

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
