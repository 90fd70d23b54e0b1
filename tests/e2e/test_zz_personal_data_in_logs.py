"""No full phone number or openid in any process's log after an end-to-end run (platforms/log_masking.py).

Named to run after the other end-to-end tests of the session, whose conversations (demo customers'
openids, phone numbers in SMS keys and pushes) are what it looks for in the logs of every process.
"""

from __future__ import annotations

import re

from tests.conftest import LiveStack

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
OPENID = re.compile(r"(?<![\w-])o(?:_[\w-]{4,60}|[\w-]{27})(?![\w-])")


def test_logs_hold_no_full_phone_numbers_or_openids(live_stack: LiveStack) -> None:
    logs = sorted(live_stack.log_dir.glob("*.log"))
    assert {p.stem for p in logs} >= {"backend", "actions", "rasa", "gateway", "simulator", "notifier"}
    found = []
    for log in logs:
        for n, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
            for match in (*PHONE.finditer(line), *OPENID.finditer(line)):
                found.append(f"{log.name}:{n}: {match.group(0)} in {line[:200]}")
    assert not found, "\n".join(found[:30])
