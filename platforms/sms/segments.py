"""SMS length accounting: the signature (with its 【】) counts; 70 characters make one segment,
longer messages are billed 67 per segment; 500 characters is the maximum (RELIABILITY F)."""

from __future__ import annotations

SINGLE = 70
MULTI = 67
MAX_CHARS = 500


def signed_length(text: str, sign_name: str) -> int:
    return len(f"【{sign_name}】") + len(text)


def count_segments(text: str, sign_name: str) -> int:
    length = signed_length(text, sign_name)
    if length <= SINGLE:
        return 1
    return -(-length // MULTI)
