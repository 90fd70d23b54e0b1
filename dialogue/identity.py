"""Who is talking: a bound customer (WeChat openid bound to accounts, or an SMS phone registered on
accounts), a grid worker (WeCom user id), or someone we do not know yet."""

from __future__ import annotations

import logging
import re
from typing import Any

from clients.backend import BackendClient, BackendError
from dialogue.state import Identity

logger = logging.getLogger(__name__)

SMS_SENDER_RE = re.compile(r"^1[3-9]\d{9}$")
LOOKUP_OF_CHANNEL = {"wechat": "wechat_openid", "wecom": "wecom_user_id", "sms": "phone"}


async def lookup(backend: BackendClient, channel: str, sender_id: str) -> Identity:
    """The sender's identity from the backend; unknown (not loaded) when the backend cannot tell."""
    field = LOOKUP_OF_CHANNEL.get(channel)
    if field is None:  # a local test channel: guess from the id's shape, as the channels name senders
        field = "phone" if SMS_SENDER_RE.match(sender_id) else "wechat_openid"
    try:
        found: dict[str, Any] = await backend.identity(**{field: sender_id})
        if field == "wechat_openid" and found.get("kind") == "unknown" and channel not in LOOKUP_OF_CHANNEL:
            found = await backend.identity(wecom_user_id=sender_id)
    except BackendError as exc:
        logger.warning("identity lookup failed, the sender is treated as unknown for now: %s", exc)
        return Identity()
    customers = found.get("customers") or []
    accounts = [
        {
            "account_no": c["account_no"],
            "address": c.get("address"),
            "phone_masked": c.get("phone_masked"),
            "customer_type": c.get("customer_type"),
        }
        for c in customers
    ]
    kind = str(found.get("kind") or "unknown")
    if kind == "customer" and not accounts:
        kind = "unknown"
    return Identity(kind=kind, accounts=accounts, worker=found.get("worker"), loaded=True)
