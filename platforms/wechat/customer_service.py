"""Customer-service messages (客服消息) to a WeChat user: their policy, written once for the bot's
replies (bot_runtime/channels/wechat.py) and the notifier's pushes (backend/notifications/channels.py).

A text goes out only while the user's window has a slot (`window.py`: 5 messages within 48 h of the
user's last message, 3 within a minute of an event). When the platform answers that the window is
closed or its quota used up (45015/45047), the window is closed here and the error raised, so that
the caller takes its next way out: the push pipeline for a reply, a template message and then SMS
for a push.
"""

from __future__ import annotations

from platforms.wechat.client import WeChatClient
from platforms.wechat.errors import OutsideWindow, QuotaExceeded
from platforms.wechat.window import CustomerServiceWindow


class CustomerService:
    def __init__(self, client: WeChatClient, window: CustomerServiceWindow) -> None:
        self.client = client
        self.window = window

    def send(self, openid: str, text: str) -> bool:
        """True when sent; False when the window has no slot for the user. Raises the platform's
        errors (`OutsideWindow` and `QuotaExceeded` after closing the window). Blocking."""
        if not self.window.try_consume(openid):
            return False
        try:
            self.client.send_text(openid, text)
        except (OutsideWindow, QuotaExceeded):
            self.window.close(openid)
            raise
        return True
