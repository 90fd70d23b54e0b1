"""WeChat customers handed to the official account's own customer service (多客服), for a utility
whose agents work there (`HANDOFF_WECHAT_DELIVERY=wechat_kf`).

WeChat moves a user into its customer service when the developer answers a message with the
passive reply `transfer_customer_service`. Our webhook gateway acknowledges every callback before
the assistant's turn runs, so it has no passive reply to give; the same result comes from the API:
the least busy account online (`getonlinekflist`, status 1, fewest `accepted_case`) gets a session
with the user (`kfsession/create`, with the request and the last lines as the note its agent sees).
From then on WeChat forwards the user's messages to that agent, not to us, until the agent closes
the session (`kf_close_session`, reported by the WeChat channel: `POST /handoffs/wechat-kf-events`)
or 30 minutes pass without one (the user's next message reaches the assistant again).
"""

from __future__ import annotations

import logging

from backend.core.errors import Unavailable
from backend.handoffs.models import Handoff
from platforms.wechat.client import WeChatClient, mask_id
from platforms.wechat.errors import PlatformError

logger = logging.getLogger(__name__)

#: 65414: the user is already in a session with another account
ALREADY_IN_SESSION = 65414
NOTE_MAX = 200


class KfDesk:
    def __init__(self, client: WeChatClient) -> None:
        self._client = client

    def choose_account(self) -> tuple[str | None, int]:
        """The account to take a new user (None when nobody is online), and how many are online."""
        try:
            accounts = [a for a in self._client.online_kf_accounts() if int(a.get("status", 0)) == 1]
        except PlatformError as exc:
            logger.error("WeChat customer service unreachable: %s", exc)
            raise Unavailable("微信客服系统暂时无法连接", code="wechat_kf_unavailable") from exc
        if not accounts:
            return None, 0
        chosen = min(accounts, key=lambda a: int(a.get("accepted_case", 0)))
        return str(chosen["kf_account"]), len(accounts)

    def open_session(self, handoff: Handoff, transcript: list[tuple[str, str]]) -> None:
        """Create the user's session with `handoff.kf_account` (or record the one they already have)."""
        assert handoff.kf_account is not None
        said = "；".join(f"{'客户' if who == 'customer' else '小电'}：{text}" for who, text in transcript[-4:])
        note = f"客户诉求：{handoff.reason or '转人工'}" + (f"。最近对话：{said}" if said else "")
        try:
            self._client.create_kf_session(handoff.sender_id, handoff.kf_account, note[:NOTE_MAX])
        except PlatformError as exc:
            if exc.errcode != ALREADY_IN_SESSION:
                logger.error("kf session for %s not created: %s", mask_id(handoff.sender_id), exc)
                raise Unavailable("微信客服系统暂时无法接入", code="wechat_kf_unavailable") from exc
            try:
                handoff.kf_account = self._client.kf_session_of(handoff.sender_id) or handoff.kf_account
            except PlatformError as again:
                raise Unavailable("微信客服系统暂时无法接入", code="wechat_kf_unavailable") from again
