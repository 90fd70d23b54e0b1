"""The ALERT on a rising share of refused callbacks (bot_runtime/_rejections.py, RELIABILITY row 51)."""

from __future__ import annotations

import logging

import pytest

from bot_runtime._rejections import RejectionMeter


def test_row51_clock_skew_raises_one_alert_per_window(caplog: pytest.LogCaptureFixture) -> None:
    """A host clock 10 minutes off: every callback is refused for a stale timestamp."""
    now = [0.0]
    meter = RejectionMeter("wechat", window=60, min_refused=20, share=0.5, clock=lambda: now[0])
    with caplog.at_level(logging.ERROR):
        raised = [meter.refused("stale timestamp") for _ in range(30)]
        now[0] = 61.0
        raised.append(meter.refused("stale timestamp"))
    assert raised.count(True) == 1 and raised[19]  # the 20th refusal raises it, once a window
    alerts = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ALERT wechat")]
    assert alerts and "stale timestamp 20" in alerts[0] and "NTP" in alerts[0]


def test_a_few_refusals_among_many_accepted_callbacks_are_no_alert() -> None:
    now = [0.0]
    meter = RejectionMeter("wechat", window=60, min_refused=20, share=0.5, clock=lambda: now[0])
    for n in range(200):
        meter.accepted()
        if n % 4 == 0:
            assert not meter.refused("bad signature")  # 50 refused, but 20 % of the traffic
    now[0] = 200.0
    assert not any(meter.refused("bad signature") for _ in range(19))  # the old ones left the window
