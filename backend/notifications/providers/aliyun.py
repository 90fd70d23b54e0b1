"""Aliyun dysms `SendSms` through the official SDK (alibabacloud-dysmsapi20170525).

The SDK signs the request (ACS3-HMAC-SHA256); `endpoint_url` points it at the real service
(`https://dysmsapi.aliyuncs.com`) or the simulator. Business errors arrive as HTTP 200 with a
`Code` other than `OK` and are mapped to `platforms.sms.errors` here.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from urllib.parse import urlsplit

from alibabacloud_dysmsapi20170525 import models as sms_models
from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_util import models as util_models

from platforms.sms.errors import (
    SmsError,
    SmsInvalidNumber,
    SmsOptedOut,
    SmsRateLimited,
    SmsRejected,
    SmsUnavailable,
)

logger = logging.getLogger(__name__)

_RATE_LIMITED = {"isv.BUSINESS_LIMIT_CONTROL": 60.0, "isv.DAY_LIMIT_CONTROL": 3600.0}
_REJECTED = {
    "isv.TEMPLATE_MISSING_PARAMETERS", "isv.PARAM_LENGTH_LIMIT", "isv.SMS_CONTENT_ILLEGAL",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.INVALID_PARAMETERS", "isv.INVALID_JSON_PARAM", "isv.MONTH_LIMIT_CONTROL",
}  # fmt: skip


def error_for(code: str, message: str) -> SmsError:
    if code in _RATE_LIMITED:
        return SmsRateLimited(_RATE_LIMITED[code], code)
    if code == "isv.MOBILE_NUMBER_ILLEGAL":
        return SmsInvalidNumber(message, code)
    if code == "isv.BLACK_KEY_CONTROL_LIMIT" and "手机号" in message:
        return SmsOptedOut(message, code)
    if code in _REJECTED:
        return SmsRejected(message, code)
    return SmsUnavailable(message, code)


class AliyunSms:
    name = "aliyun"

    def __init__(
        self, access_key_id: str, access_key_secret: str, endpoint_url: str, sign_name: str,
        *, timeout: float = 5.0,
    ) -> None:  # fmt: skip
        parts = urlsplit(endpoint_url if "://" in endpoint_url else f"https://{endpoint_url}")
        config = openapi_models.Config(
            access_key_id=access_key_id,
            access_key_secret=access_key_secret,
            endpoint=parts.netloc,
            protocol=parts.scheme or "https",
        )
        self._client = Client(config)
        self._runtime = util_models.RuntimeOptions(
            connect_timeout=int(min(timeout, 2.0) * 1000), read_timeout=int(timeout * 1000), autoretry=False
        )
        self.sign_name = sign_name

    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str) -> str:
        request = sms_models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=self.sign_name,
            template_code=template_code,
            template_param=json.dumps(params, ensure_ascii=False),
            out_id=out_id,
        )
        try:
            answer = self._client.send_sms_with_options(request, self._runtime)
        except Exception as exc:
            code = str(getattr(exc, "code", "") or type(exc).__name__)
            raise SmsUnavailable(str(getattr(exc, "message", "") or exc)[:200], code) from exc
        body = answer.body
        if body is None or body.code is None:
            raise SmsUnavailable("empty answer", "empty")
        if body.code != "OK":
            raise error_for(body.code, body.message or "")
        return str(body.biz_id or "")

    def find(self, phone: str, out_id: str, sent_on: date) -> str | None:
        """The id of a message we submitted under `out_id` on `sent_on`, if the provider has it.

        `QuerySendDetails` by number and day: used after a crash left a send unconfirmed.
        """
        for page in range(1, 11):
            request = sms_models.QuerySendDetailsRequest(
                phone_number=phone, send_date=sent_on.strftime("%Y%m%d"), page_size=50, current_page=page
            )
            try:
                body = self._client.query_send_details_with_options(request, self._runtime).body
            except Exception as exc:
                raise SmsUnavailable(str(exc)[:200], "query_failed") from exc
            if body is None or body.code != "OK":
                raise SmsUnavailable(body.message if body else "", body.code if body else "empty")
            details = body.sms_send_detail_dtos.sms_send_detail_dto if body.sms_send_detail_dtos else None
            for detail in details or []:
                if detail.out_id == out_id:
                    return f"{phone}:{out_id}"
            if not details or len(details) < 50:
                return None
        return None
