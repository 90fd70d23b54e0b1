"""The rasa server's log lines are masked, Rasa's structlog events included
(bot_runtime/rasa_server.py `configure_logs`, platforms/log_masking.py). Left unconfigured, structlog
printed every debug event straight to stdout, past the masking: the e2e run's rasa.log held a
worker's full phone from a `BotUttered` the processor logged. Run in a fresh interpreter, as the
server configures its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EMIT = """
import structlog
from bot_runtime.rasa_server import configure_logs
configure_logs()
log = structlog.get_logger()
log.debug("processor.actions.log", rasa_events="BotUttered('网格员李伟（13900000001）')")
log.info("processor.actions.log", rasa_events="BotUttered('网格员李伟（13900000002）')")
"""


def test_rasa_s_structlog_events_go_through_the_masked_logs_at_info_and_above() -> None:
    ran = subprocess.run([sys.executable, "-c", EMIT], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip
    out = ran.stdout + ran.stderr
    assert ran.returncode == 0, out
    assert "139****0002" in out  # the info event, masked
    assert "13900000002" not in out and "13900000001" not in out
    assert "139****0001" not in out  # the debug event, not logged at all
