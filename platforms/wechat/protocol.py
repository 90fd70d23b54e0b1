"""The inbound callback protocol of WeChat and WeCom, without any web framework or rasa.

`CallbackGate.open(query, body)` turns one webhook POST into a verified, decrypted, parsed
`Inbound` message, or raises:

- `Rejected(status, reason)`: answer with that status, process nothing (oversized 413; bad or
  missing signature, stale timestamp, plaintext when an AES key is configured 403; undecryptable
  or not XML 400; a JSON body, which means the console is set to JSON push format, 400 + an error log);
- `Quarantined(reason)`: the request is authentic but its message is malformed: ack it (so the
  platform does not retry), keep the body for inspection, process nothing.

`echo(query)` answers the URL check: WeChat signs `token, timestamp, nonce` and we return
`echostr` unchanged; WeCom signs the encrypted `echostr` too and we return it decrypted.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from platforms._dedup import MalformedMessage, message_key
from platforms._security import signature_matches, timestamp_fresh
from platforms._xml import MAX_BODY_BYTES, XmlRejected, parse_flat_xml
from platforms.wechat.crypto import DecryptError, MessageCrypto

logger = logging.getLogger(__name__)

_ECHOSTR = re.compile(r"^[0-9A-Za-z_\-]{1,128}$")


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"{status} {reason}")


class Quarantined(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Inbound:
    fields: dict[str, str]
    key: str
    sender: str
    #: index of the AES key that decrypted it (0 current, 1 previous), None in plaintext mode
    key_index: int | None
    #: timestamp and nonce of the request, for the replay cache
    nonce_key: str

    @property
    def msg_type(self) -> str:
        return self.fields.get("MsgType", "").lower()


class CallbackGate:
    def __init__(
        self,
        *,
        token: str,
        aes_keys: Sequence[str],
        receive_id: str,
        key_prefix: str,
        enterprise: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`aes_keys` current first then previous; empty means plaintext mode (WeChat only)."""
        keys = [k for k in aes_keys if k]
        if enterprise and not keys:
            raise ValueError("WeCom callbacks are always encrypted: an AES key is required")
        self._token = token
        self.crypto = MessageCrypto(token, keys, receive_id) if keys else None
        self._prefix = key_prefix
        self._enterprise = enterprise
        self._clock = clock

    # --- the URL check ---------------------------------------------------------------------------

    def echo(self, query: Mapping[str, str]) -> str:
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        echostr = query.get("echostr", "")
        if not timestamp_fresh(timestamp, self._clock()):
            raise Rejected(403, "stale or missing timestamp")
        if self._enterprise:
            assert self.crypto is not None
            if not signature_matches(query.get("msg_signature"), self._token, timestamp, nonce, echostr):
                raise Rejected(403, "bad msg_signature")
            try:
                return self.crypto.decrypt(echostr)[0]
            except DecryptError as exc:
                raise Rejected(400, "echostr does not decrypt") from exc
        if not signature_matches(query.get("signature"), self._token, timestamp, nonce):
            raise Rejected(403, "bad signature")
        if not _ECHOSTR.match(echostr):
            raise Rejected(403, "echostr is not a plain token")
        return echostr

    # --- messages ----------------------------------------------------------------------------------

    def open(self, query: Mapping[str, str], body: bytes) -> Inbound:
        if len(body) > MAX_BODY_BYTES:
            raise Rejected(413, "body over 64 KB")
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not nonce or len(nonce) > 64:
            raise Rejected(403, "missing nonce")
        if body.lstrip()[:1] in (b"{", b"["):
            logger.error("callback body is JSON: set the platform console's push format to XML")
            raise Rejected(400, "JSON push format is not supported; configure XML")
        if self.crypto is not None:
            plain, key_index = self._decrypt(query, body, timestamp, nonce)
        else:
            if query.get("encrypt_type", "raw") not in ("", "raw"):
                raise Rejected(400, "encrypted callback but no AES key configured")
            if not signature_matches(query.get("signature"), self._token, timestamp, nonce):
                raise Rejected(403, "bad signature")
            if not timestamp_fresh(timestamp, self._clock()):
                raise Rejected(403, "stale timestamp")
            plain, key_index = body, None
        try:
            fields = parse_flat_xml(plain)
            key = message_key(self._prefix, fields)
        except (XmlRejected, MalformedMessage) as exc:
            raise Quarantined(str(exc)) from exc
        return Inbound(fields, key, fields["FromUserName"], key_index, f"{timestamp}:{nonce}")

    def _decrypt(self, query: Mapping[str, str], body: bytes, timestamp: str, nonce: str) -> tuple[bytes, int]:
        assert self.crypto is not None
        if not self._enterprise and query.get("encrypt_type") != "aes":
            raise Rejected(403, "plaintext callbacks are refused when an AES key is configured")
        signature = query.get("msg_signature")
        if not signature:
            raise Rejected(403, "missing msg_signature")
        if not timestamp_fresh(timestamp, self._clock()):
            raise Rejected(403, "stale timestamp")
        try:
            outer = parse_flat_xml(body)
        except XmlRejected as exc:
            raise Rejected(400, f"envelope: {exc}") from exc
        encrypted = outer.get("Encrypt", "")
        if not encrypted:
            raise Rejected(400, "Encrypt missing")
        if not signature_matches(signature, self._token, timestamp, nonce, encrypted):
            raise Rejected(403, "bad msg_signature")
        try:
            message, key_index = self.crypto.decrypt(encrypted)
        except DecryptError as exc:
            raise Rejected(400, f"decrypt: {exc}") from exc
        if key_index:
            logger.info("callback decrypted with the previous AES key (rotation in progress)")
        return message.encode(), key_index
