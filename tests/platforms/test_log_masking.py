"""Every log record of a process is masked before any handler sees it (platforms/log_masking.py)."""

from __future__ import annotations

import logging

import pytest

from platforms import log_masking


def test_phones_accounts_and_openids_are_masked_and_other_numbers_are_not() -> None:
    text = (
        "sms:aliyun from 13800138001 for 3100000001 by oLVPpjqs9BhvzwPj5A-vTYAX3GLc and o_demo_resident_01;"
        " ticket QX202611220001, 12345678901234, outbox_message 42"
    )
    masked = log_masking.mask(text)
    assert "138****8001" in masked and "3100****01" in masked
    assert "oLVP***Lc" in masked and "o_de***01" in masked
    for full in ("13800138001", "3100000001", "oLVPpjqs9BhvzwPj5A-vTYAX3GLc", "o_demo_resident_01"):
        assert full not in masked
    assert "QX202611220001" in masked and "12345678901234" in masked and "outbox_message 42" in masked


def test_installed_factory_masks_messages_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    """Proves the net works for records of any logger, including the exception text of a traceback."""
    log_masking.install()
    log_masking.install()  # idempotent
    logger = logging.getLogger("tests.masking")
    with caplog.at_level(logging.INFO):
        logger.info("reply to %s for %s", "13800138002", "o_demo_resident_02")
        try:
            raise KeyError("customer 3100000002 not found")
        except KeyError:
            logger.exception("lookup failed")
        logger.info("plain %s of %d", "message", 7)
    text = "\n".join(caplog.messages) + "\n".join(r.exc_text or "" for r in caplog.records)
    assert "13800138002" not in text and "o_demo_resident_02" not in text and "3100000002" not in text
    assert "138****8002" in text and "3100****02" in text
    plain = caplog.records[-1]
    assert plain.args == ("message", 7) and plain.getMessage() == "plain message of 7"
