"""Secrets the platforms' tests make afresh."""

from __future__ import annotations

import base64
import secrets


def new_aes_key() -> str:
    """A random EncodingAESKey (43 characters)."""
    return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
