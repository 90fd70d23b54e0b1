"""`make run` (scripts/run.py) on a fresh var/ dir: it comes up with the rasa servers asked for,
serves, and Ctrl-C leaves no process; a replica count that is not a positive number is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from scripts.stack import MODEL, ROOT, base_env, free_port


def _wait_for_banner(proc: subprocess.Popen[str], timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            lines.append(line.rstrip())
            if line.startswith("PowerDesk is running"):
                return lines
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.2)
    pytest.fail("make run did not come up:\n" + "\n".join(lines))


def test_run_starts_every_tier_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.fail("no trained model: make test trains it first")
    ports = {f"{name}_PORT": str(free_port()) for name in ("BACKEND", "ACTIONS", "RASA", "SIMULATOR", "REDIS")}
    env = base_env(ports | {"POWERDESK_VAR_DIR": str(tmp_path), "RASA_REPLICAS": "2"})
    env.pop("REDIS_URL", None)  # the private redis-server path
    env.pop("DATABASE_URL", None)  # the SQLite default under the var dir
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        banner = _wait_for_banner(proc, timeout=600)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in descendants)
        for part in ("redis-server", "backend.main", "bot_runtime.action_server", "bot_runtime.rasa_server"):
            assert part in names, f"{part} is not running: {names}"
        assert names.count("bot_runtime.rasa_server") == 2
        (redis_line,) = [line for line in banner if line.startswith("redis ")]
        assert "append-only" in redis_line
        secrets_file = (tmp_path / "dev-secrets.env").read_text()
        for name in ("RASA_API_TOKEN", "ACTION_SERVER_TOKEN"):
            secret = next(line.split("=", 1)[1] for line in secrets_file.splitlines() if line.startswith(name))
            assert secret not in names, f"{name} is on a command line"
        redis_conf = next(p for p in descendants if "redis-server" in " ".join(p.cmdline()))
        assert "requirepass" not in " ".join(redis_conf.cmdline())
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['BACKEND_PORT']}/health", timeout=5) as r:
            assert json.load(r)["checks"] == {"database": "ok", "redis": "ok"}
        assert (tmp_path / "powerdesk.db").exists()

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert proc.wait(timeout=60) == 0
        _gone, alive = psutil.wait_procs(descendants, timeout=30)
        assert not alive, f"left behind: {[p.pid for p in alive]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("replicas", ["0", "two", "-1"])
def test_a_replica_count_that_is_not_a_positive_number_is_refused_before_anything_starts(
    replicas: str, tmp_path: Path
) -> None:
    env = base_env({"POWERDESK_VAR_DIR": str(tmp_path), "RASA_REPLICAS": replicas})
    done = subprocess.run([sys.executable, "-m", "scripts.run"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert f"RASA_REPLICAS must be a whole number of at least 1 (how many rasa servers), not '{replicas}'" in (
        done.stderr
    )
    assert not (tmp_path / "log").exists()  # nothing was started
