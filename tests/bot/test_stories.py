"""The YAML conversation tests of tests/bot/stories, run with the trained model: every line of these
conversations must be understood as written (intent and entities), and every turn routed to
action_converse (the dialogue's own behaviour is proved by tests/conversations/ and tests/dialogue/).

Equivalent command: `rasa test core --model models/powerdesk.tar.gz --stories tests/bot/stories
--fail-on-prediction-errors`. The NLU is part of the test: every `user:` text must be classified
with the intent written in the story.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "powerdesk.tar.gz"


def test_conversation_stories(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make model` first")
    rasa = Path(sys.executable).parent / "rasa"
    cmd = [
        str(rasa), "test", "core", "--model", str(MODEL), "--stories", "tests/bot/stories",
        "--fail-on-prediction-errors", "--out", str(tmp_path), "--no-plot",
    ]  # fmt: skip
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else result.stderr[-3000:]
    assert result.returncode == 0, details
    assert not failed.exists() or "- story:" not in failed.read_text(), details
