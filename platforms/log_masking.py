"""Personal data masked in every log line of a process (standard library only, both environments).

`install()` (idempotent, called by every entry point: backend, notifier, simulator, webhook gateway,
rasa server and action server) wraps the process's log-record factory, so that each record, from
any logger and before any handler sees it, carries its message and its traceback already masked:

- mainland mobile numbers (11 digits, 1[3-9]…) → `138****5678`;
- 10-digit numbers (account numbers, 户号) → `3100****01`;
- WeChat openids (28 characters starting with `o`, and the `o_…` ids of the simulator and the demo)
  → `o_de***01`.

Code should still mask what it knows to be an identity (`mask_phone`, `mask_id`); this is the net
under it, for the identities that travel inside keys, exception texts and third-party messages.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ACCOUNT = re.compile(r"(?<!\d)(\d{4})\d{4}(\d{2})(?!\d)")
_OPENID = re.compile(r"(?<![\w-])(o(?:[\w-]{27}|_[\w-]{4,60}))(?![\w-])")

_installed = False


def _mask_openid(match: re.Match[str]) -> str:
    value = match.group(1)
    return value[:4] + "***" + value[-2:]


def mask(text: str) -> str:
    """`text` with phone numbers, account numbers and openids masked."""
    text = _PHONE.sub(r"\1****\3", text)
    text = _ACCOUNT.sub(r"\1****\2", text)
    return _OPENID.sub(_mask_openid, text)


def install() -> None:
    """Mask every log record this process creates from now on."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed call is logged as it was given
            message = str(record.msg)
        masked = mask(message)
        if masked != message:  # else the record keeps its arguments (formatters may read them)
            record.msg, record.args = masked, ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = mask("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return record

    logging.setLogRecordFactory(masked_record)
