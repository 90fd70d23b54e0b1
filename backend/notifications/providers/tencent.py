"""Tencent Cloud SMS `SendSms` (API 2021-01-11) through the official SDK (tencentcloud-sdk-python-sms).

The SDK signs the request (TC3-HMAC-SHA256); `endpoint_url` points it at `sms.tencentcloudapi.com`
or the simulator. Template variables are positional (`TemplateParamSet`). Request-level errors
raise `TencentCloudSDKException`; per-number results come in `SendStatusSet[].Code`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from platforms.sms.errors import (
    SmsError,
    SmsInvalidNumber,
    SmsOptedOut,
    SmsRateLimited,
    SmsRejected,
    SmsUnavailable,
)

logger = logging.getLogger(__name__)

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

_RATE_LIMITED = {
    "LimitExceeded.DeliveryFrequencyLimit": 30.0,
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
    "LimitExceeded.PhoneNumberDailyLimit": 3600.0,
}
_REJECTED_PREFIXES = ("FailedOperation.Template", "FailedOperation.Signature", "InvalidParameterValue.")


def error_for(code: str, message: str) -> SmsError:
    if code in _RATE_LIMITED:
        return SmsRateLimited(_RATE_LIMITED[code], code)
    if code == "FailedOperation.PhoneNumberInBlacklist":
        return SmsOptedOut(message, code)
    if code in ("InvalidParameterValue.IncorrectPhoneNumber", "FailedOperation.PhoneNumberParseFail"):
        return SmsInvalidNumber(message, code)
    if code.startswith(_REJECTED_PREFIXES) or code == "UnauthorizedOperation.SmsSdkAppIdVerifyFail":
        return SmsRejected(message, code)
    return SmsUnavailable(message, code)


def e164(phone: str) -> str:
    return phone if phone.startswith("+") else f"+86{phone}"


class TencentSms:
    name = "tencent"

    def __init__(
        self, secret_id: str, secret_key: str, endpoint_url: str, sign_name: str, sdk_app_id: str,
        *, region: str = "ap-guangzhou", timeout: float = 5.0,
    ) -> None:  # fmt: skip
        parts = urlsplit(endpoint_url if "://" in endpoint_url else f"https://{endpoint_url}")
        http = HttpProfile(endpoint=parts.netloc, protocol=parts.scheme or "https", reqTimeout=int(timeout))
        self._client = sms_client.SmsClient(
            credential.Credential(secret_id, secret_key), region, ClientProfile(httpProfile=http)
        )
        self.sign_name = sign_name
        self.sdk_app_id = sdk_app_id

    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str) -> str:
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [e164(phone)]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = self.sign_name
        request.TemplateId = template_code
        request.TemplateParamSet = list(params.values())
        request.SessionContext = out_id
        try:
            answer = self._client.SendSms(request)
        except TencentCloudSDKException as exc:
            raise error_for(exc.get_code() or "ClientNetworkError", exc.get_message() or "") from exc
        statuses = answer.SendStatusSet or []
        if not statuses:
            raise SmsUnavailable("no send status", "empty")
        status = statuses[0]
        if status.Code != "Ok":
            raise error_for(status.Code or "", status.Message or "")
        return str(status.SerialNo or "")

    def find(self, phone: str, out_id: str, sent_on: date) -> str | None:
        """The serial number of a message we submitted with SessionContext `out_id` since `sent_on`.

        `PullSmsSendStatusByPhoneNumber`: used after a crash left a send unconfirmed.
        """
        begin = int(datetime.combine(sent_on, time(0, 0), LOCAL_ZONE).timestamp())
        for offset in range(0, 1000, 100):
            request = models.PullSmsSendStatusByPhoneNumberRequest()
            request.BeginTime, request.Offset, request.Limit = begin, offset, 100
            request.PhoneNumber, request.SmsSdkAppId = e164(phone), self.sdk_app_id
            try:
                answer = self._client.PullSmsSendStatusByPhoneNumber(request)
            except TencentCloudSDKException as exc:
                raise SmsUnavailable(exc.get_message() or "", exc.get_code() or "query_failed") from exc
            statuses = answer.PullSmsSendStatusSet or []
            for status in statuses:
                if status.SessionContext == out_id:
                    return str(status.SerialNo or f"{phone}:{out_id}")
            if len(statuses) < 100:
                return None
        return None
