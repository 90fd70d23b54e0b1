"""What the simulated platforms remember: tokens, followers, customer-service windows, faults and a
record of every call and delivery (for tests and the web page). In memory, one process."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

TOKEN_SECONDS = 7200
#: a replaced /cgi-bin/token token stays valid this long (WeChat's overlap)
TOKEN_OVERLAP_SECONDS = 300
MESSAGE_WINDOW = (48 * 3600, 5)
EVENT_WINDOW = (60, 3)
WECOM_PER_MINUTE = 30
WECOM_PER_HOUR = 1000


@dataclass
class Window:
    kind: str
    expires: float
    quota: int
    used: int = 0


#: WeChat stops forwarding a user's messages to customer service after this long without the
#: agent closing the session (they reach the developer's URL again)
KF_SESSION_IDLE_SECONDS = 30 * 60


@dataclass
class KfAccount:
    """A customer-service account of the official account (多客服)."""

    account: str
    nickname: str
    kf_id: int
    online: bool = True


@dataclass
class KfSession:
    account: str
    created: float
    last_activity: float


@dataclass
class Faults:
    """An injected fault: `slow` (sleep `delay` s first), `fail` (HTTP 503), `errcode` (answer it).

    Applies to API paths starting with `path_prefix` (all `/cgi-bin` by default), `count` times
    (None: until cleared).
    """

    mode: str = "none"
    delay: float = 0.0
    errcode: int = 0
    count: int | None = None
    path_prefix: str = "/cgi-bin"

    def take(self, path: str) -> Faults | None:
        if self.mode == "none" or not path.startswith(self.path_prefix):
            return None
        if self.count is not None:
            if self.count <= 0:
                return None
            self.count -= 1
        return Faults(self.mode, self.delay, self.errcode, None, self.path_prefix)


@dataclass
class PlatformState:
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch)
    stable_token: str | None = None
    wecom_token: str | None = None
    token_calls: dict[str, int] = field(default_factory=lambda: {"token": 0, "stable_token": 0, "gettoken": 0})
    windows: dict[str, Window] = field(default_factory=dict)
    unfollowed: set[str] = field(default_factory=set)
    refused_templates: set[str] = field(default_factory=set)
    wecom_sent: dict[str, list[float]] = field(default_factory=dict)
    wecom_recent: dict[tuple[str, str], float] = field(default_factory=dict)
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    records: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    clock_offset: float = 0.0
    kf_accounts: dict[str, KfAccount] = field(default_factory=dict)
    kf_sessions: dict[str, KfSession] = field(default_factory=dict)  # openid -> its session

    def now(self) -> float:
        return time.time() + self.clock_offset

    def record(self, **entry: Any) -> dict[str, Any]:
        with self.lock:
            entry["seq"] = len(self.records) + 1
            entry["at"] = self.now()
            self.records.append(entry)
            return entry

    # --- tokens ------------------------------------------------------------------------------

    def issue_token(self, *, replace: str | None = None) -> str:
        token = "tk_" + secrets.token_urlsafe(24)
        now = self.now()
        self.tokens[token] = now + TOKEN_SECONDS
        if replace and replace in self.tokens:
            self.tokens[replace] = min(self.tokens[replace], now + TOKEN_OVERLAP_SECONDS)
        return token

    def token_error(self, token: str | None) -> int:
        """0 when `token` is valid, else 40001 (unknown) or 42001 (expired)."""
        if not token or token not in self.tokens:
            return 40001
        return 42001 if self.tokens[token] <= self.now() else 0

    def expire_tokens(self) -> None:
        now = self.now()
        for token in self.tokens:
            self.tokens[token] = now

    # --- the customer-service window -----------------------------------------------------------

    def user_acted(self, openid: str, *, by_message: bool) -> None:
        now = self.now()
        self.unfollowed.discard(openid)
        current = self.windows.get(openid)
        if not by_message and current and current.kind == "message" and current.expires > now:
            return
        seconds, quota = MESSAGE_WINDOW if by_message else EVENT_WINDOW
        self.windows[openid] = Window("message" if by_message else "event", now + seconds, quota)

    def consume_window(self, openid: str) -> int:
        """0 when a customer-service message may go out now (and counts it), else 45015/45047."""
        window = self.windows.get(openid)
        if window is None or window.expires <= self.now():
            return 45015
        if window.used >= window.quota:
            return 45047
        window.used += 1
        return 0

    # --- WeCom ---------------------------------------------------------------------------------

    def wecom_admit(self, user_id: str) -> bool:
        """False when WeCom would silently drop a message to this member (30/min, 1000/h)."""
        now = self.now()
        sent = [t for t in self.wecom_sent.get(user_id, []) if t > now - 3600]
        self.wecom_sent[user_id] = sent
        if len(sent) >= WECOM_PER_HOUR or len([t for t in sent if t > now - 60]) >= WECOM_PER_MINUTE:
            return False
        sent.append(now)
        return True

    def wecom_duplicate(self, user_id: str, content: str, interval: int) -> bool:
        now = self.now()
        key = (user_id, content)
        last = self.wecom_recent.get(key)
        if last is not None and now - last < interval:
            return True
        self.wecom_recent[key] = now
        return False

    # --- the official account's customer service (kf sessions) --------------------------------

    def kf_session(self, openid: str) -> KfSession | None:
        """The user's session, if it still holds (it lapses after 30 minutes without activity)."""
        session = self.kf_sessions.get(openid)
        if session is not None and self.now() - session.last_activity > KF_SESSION_IDLE_SECONDS:
            del self.kf_sessions[openid]
            return None
        return session

    def kf_accepted(self, account: str) -> int:
        return sum(1 for openid in list(self.kf_sessions) if (s := self.kf_session(openid)) and s.account == account)
