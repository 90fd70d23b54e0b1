"""Callback authentication shared by the WeChat and WeCom channels.

- `sha1_signature(*parts)`: the platforms' scheme, sha1 over the sorted, concatenated parts
  (plaintext mode: token, timestamp, nonce; safe mode adds the `Encrypt` ciphertext).
- `signature_matches`: the same, compared in constant time (wechatpy compares with `!=`).
- `timestamp_fresh`: the timestamp (seconds) within ±300 s of now; wechatpy does not check it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_WINDOW_SECONDS = 300


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_matches(signature: str | None, *parts: str) -> bool:
    if not signature or any(part is None for part in parts):
        return False
    return hmac.compare_digest(sha1_signature(*parts).encode(), signature.strip().lower().encode())


def timestamp_fresh(timestamp: str | None, now: float | None = None) -> bool:
    """True when `timestamp` is whole seconds within the window around `now` (milliseconds fail)."""
    if not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    now = time.time() if now is None else now
    return abs(int(timestamp) - now) <= TIMESTAMP_WINDOW_SECONDS
