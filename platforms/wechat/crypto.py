"""WeChat/WeCom message encryption (安全模式), with key rotation.

AES-256-CBC, key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padding to 32 bytes; the
plaintext is random(16) | length(4, big-endian) | message | receive id (the AppID, or the CorpID
for WeCom). The signature `msg_signature` is sha1 over sorted token, timestamp, nonce, Encrypt.

Unlike wechatpy, decryption validates everything (base64, block size, padding bytes, length, the
receive id) and raises only `DecryptError`; and it tries the current key and then the previous one
(the official FAQ's rotation advice), reporting which one worked so the reply uses the same key.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import struct
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from platforms._security import sha1_signature
from platforms._xml import render_xml

BLOCK = 32


class DecryptError(ValueError):
    """The ciphertext cannot be decrypted to a message for this account with any configured key."""


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key of a 43-character EncodingAESKey; ValueError when it is not one."""
    if len(encoding_aes_key) != 43:
        raise ValueError("an EncodingAESKey has 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("the EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("the EncodingAESKey does not decode to 32 bytes")
    return key


class MessageCrypto:
    def __init__(self, token: str, encoding_aes_keys: Sequence[str], receive_id: str) -> None:
        """`encoding_aes_keys`: the current key first, then the previous one during a rotation."""
        if not encoding_aes_keys:
            raise ValueError("at least one EncodingAESKey is required")
        self._token = token
        self._keys = [decode_aes_key(k) for k in encoding_aes_keys]
        self._receive_id = receive_id.encode()

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return sha1_signature(self._token, timestamp, nonce, encrypted)

    def decrypt(self, encrypted: str) -> tuple[str, int]:
        """The message and the index of the key that decrypted it."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptError("not base64") from exc
        if not data or len(data) % 16:
            raise DecryptError("not a whole number of AES blocks")
        for index, key in enumerate(self._keys):
            message = self._decrypt_with(key, data)
            if message is not None:
                return message, index
        raise DecryptError("no configured key decrypts this message")

    def encrypt(self, message: str, key_index: int = 0, random16: bytes | None = None) -> str:
        random16 = os.urandom(16) if random16 is None else random16
        body = message.encode()
        plain = random16 + struct.pack(">I", len(body)) + body + self._receive_id
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        key = self._keys[key_index]
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def envelope(self, message: str, timestamp: str, nonce: str, key_index: int = 0) -> str:
        """An encrypted reply or push body as the platforms expect it."""
        encrypted = self.encrypt(message, key_index)
        return render_xml(
            {
                "Encrypt": encrypted,
                "MsgSignature": self.signature(timestamp, nonce, encrypted),
                "TimeStamp": timestamp,
                "Nonce": nonce,
            }
        )

    def _decrypt_with(self, key: bytes, data: bytes) -> str | None:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            return None
        content = plain[16:-pad]
        if len(content) < 4:
            return None
        (length,) = struct.unpack(">I", content[:4])
        if 4 + length > len(content):
            return None
        if not hmac.compare_digest(content[4 + length :], self._receive_id):
            return None
        try:
            return content[4 : 4 + length].decode()
        except UnicodeDecodeError:
            return None
