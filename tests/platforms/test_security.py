"""Signature and timestamp checks (rows 4-5)."""

from __future__ import annotations

from platforms._security import signature_matches, timestamp_fresh


def test_row5_timestamp_window_is_300_seconds_each_way() -> None:
    now = 1_714_037_059.0
    assert timestamp_fresh(str(int(now)), now)
    assert timestamp_fresh(str(int(now) - 300), now)
    assert timestamp_fresh(str(int(now) + 300), now)
    assert not timestamp_fresh(str(int(now) - 301), now)
    assert not timestamp_fresh(str(int(now) + 301), now)


def test_row5_malformed_timestamps_fail() -> None:
    now = 1_714_037_059.0
    for bad in ("", "abc", "-1714037059", "1714037059.5", str(int(now * 1000)), "9" * 40):
        assert not timestamp_fresh(bad, now)


def test_row4_missing_or_wrong_signature_fails() -> None:
    assert not signature_matches(None, "tok", "1", "2")
    assert not signature_matches("", "tok", "1", "2")
    assert not signature_matches("zz" * 20, "tok", "1", "2")
    assert not signature_matches("0" * 40, "tok", "1", "2")
