"""Dedup keys of inbound platform messages (also the Rasa `message_key` and Idempotency-Key).

Messages carry a MsgId; events do not (wechatpy reports 0 for all of them), so an event's key is
sender + CreateTime + Event + EventKey (RELIABILITY rows 1-3, G "Idempotency keys"):

    wx:<appid>:<MsgId>                                 a WeChat message
    wx:<appid>:<openid>:<CreateTime>:<event>:<key>     a WeChat event
    wecom:<corpid>:<agentid>:...                       the same for WeCom
"""

from __future__ import annotations


class MalformedMessage(ValueError):
    """A signed message lacking the fields every message has: acked, quarantined, not processed."""


def message_key(prefix: str, fields: dict[str, str]) -> str:
    msg_type = fields.get("MsgType", "").strip().lower()
    sender = fields.get("FromUserName", "").strip()
    created = fields.get("CreateTime", "").strip()
    if not msg_type or not sender or not created.isdigit():
        raise MalformedMessage("MsgType, FromUserName and a numeric CreateTime are required")
    if msg_type != "event":
        msg_id = fields.get("MsgId", "").strip()
        if not msg_id.isdigit():
            raise MalformedMessage("a message needs a numeric MsgId")
        return f"{prefix}:{msg_id}"
    event = fields.get("Event", "").strip().lower()
    if not event:
        raise MalformedMessage("an event needs Event")
    return f"{prefix}:{sender}:{created}:{event}:{fields.get('EventKey', '').strip()}"
