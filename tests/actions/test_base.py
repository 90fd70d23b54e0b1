"""Masking and time phrases used in the replies."""

from __future__ import annotations

from datetime import datetime

from actions._base import SHANGHAI, mask_account, mask_phone, time_phrase


def test_masks() -> None:
    assert mask_account("3100000001") == "31******01"
    assert mask_phone("13812345678") == "138****5678"


def test_time_phrases_in_shanghai_time() -> None:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=SHANGHAI)
    assert time_phrase("2026-11-22T14:30:00+08:00", now) == "今天14:30"
    assert time_phrase("2026-11-22T06:30:00+00:00", now) == "今天14:30"
    assert time_phrase("2026-11-23T09:05:00+08:00", now) == "明天09:05"
    assert time_phrase("2026-11-25T18:00:00+08:00", now) == "11月25日18:00"
    assert time_phrase(None, now) == ""
