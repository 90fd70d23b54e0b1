"""Why a push was given up: what the notifier writes in `outbox_message.last_error` when a row goes
dead, and the reason a dispatcher reads for it (the live overview's dead letters).

The values written:

- `no reachable channel: <channel>=<cause>, …` when every channel was ruled out or refused for good,
  with a cause per channel (`CAUSES`); rows written before the causes were recorded say only
  `no reachable channel`;
- `compose: <error>` when the push's params do not fit its template;
- `<channel>: <error>; …` (or `reconcile: <error>`) when the last retry still met temporary errors;
- `sms not delivered: <code>` when a delivery report said a push that cannot be sent again (its secret
  masked) never arrived.
"""

from __future__ import annotations

UNREACHABLE = "no reachable channel"
COMPOSE = "compose"
UNDELIVERED_SMS = "sms not delivered"

#: the causes a channel is ruled out for, each in the dispatchers' words (a channel's name is put in
#: front of those that need it: 微信账号无效, 企业微信账号无效)
CAUSES = {
    "unfollowed": "用户已取消关注公众号",
    "refused": "用户已拒收公众号消息",
    "invalid_id": "账号无效",
    "outside_window": "超出48小时客服消息窗口",
    "not_configured": "渠道未开通",
    "opted_out": "用户已退订短信",
    "invalid_number": "手机号码无效",
    "rejected": "平台拒收",
    "undelivered": "短信未送达（运营商拒收）",
    "no_address": "未登记手机号或微信",
}
_NAMED = {"invalid_id", "not_configured", "rejected"}
_CHANNELS = {"wechat_cs": "微信", "wechat_template": "微信", "sms": "短信", "wecom": "企业微信"}
#: what an SMS refused for good is called: the carrier or the provider refused it
_SMS_REJECTED = "短信发送失败（运营商拒收）"
_PLATFORMS = {
    "wechat_cs": "微信",
    "wechat_template": "微信",
    "sms": "短信平台",
    "wecom": "企业微信",
    "reconcile": "短信平台",
}
#: WeChat and WeCom error codes that rule a channel out for good (platforms/wechat/errors.py)
_CODES = {
    "43004": "unfollowed",
    "43101": "refused",
    "40003": "invalid_id",
    "81013": "invalid_id",
    "60111": "invalid_id",
}


def unreachable(causes: dict[str, str]) -> str:
    """The `last_error` of a push no channel took: each channel with its cause (a key of `CAUSES`)."""
    if not causes:
        return UNREACHABLE
    return f"{UNREACHABLE}: " + ", ".join(f"{channel}={cause}" for channel, cause in causes.items())


def cause_of(remembered: str) -> str:
    """The cause of a channel remembered as unreachable (`push_contact.unreachable`: the platform's
    error text, `unsubscribed`, or `not delivered: <code>`)."""
    if remembered == "unsubscribed":
        return "unfollowed"
    if remembered.startswith("not delivered"):
        return "undelivered"
    return _CODES.get(remembered.split(" ", 1)[0], "rejected")


def reason(last_error: str | None) -> str:
    """What a dispatcher reads for a dead push: its `last_error` in plain Chinese."""
    text = last_error or ""
    if text.startswith(f"{COMPOSE}:"):
        return "模板参数错误，消息无法生成"
    if text.startswith(UNDELIVERED_SMS):
        return CAUSES["undelivered"]
    if text.startswith(UNREACHABLE):
        pairs = (part.partition("=") for part in text[len(UNREACHABLE) :].lstrip(": ").split(", "))
        return _in_words({channel: cause for channel, _, cause in pairs if cause})
    platforms = [_PLATFORMS.get(part.split(":", 1)[0].strip()) for part in text.split("; ")]
    if text and all(platforms):
        return f"多次重试仍未发出（{'、'.join(dict.fromkeys(p for p in platforms if p))}暂时无法发送）"
    return "未能发出，原因不明"


def _in_words(causes: dict[str, str]) -> str:
    """Each channel's cause in the dispatchers' words, the same words once."""
    if not causes:
        return "无可用渠道"
    window_without_template = causes.get("wechat_cs") == "outside_window" and causes.get("wechat_template") in (
        None,
        "not_configured",
    )
    said: list[str] = []
    for channel, cause in causes.items():
        if window_without_template and channel.startswith("wechat"):
            text = "超出48小时客服消息窗口且无模板消息"
        elif channel == "sms" and cause == "rejected":
            text = _SMS_REJECTED
        elif cause in _NAMED:
            text = _CHANNELS.get(channel, "") + CAUSES[cause]
        else:
            text = CAUSES.get(cause, "无可用渠道")
        if text not in said:
            said.append(text)
    return "；".join(said)
