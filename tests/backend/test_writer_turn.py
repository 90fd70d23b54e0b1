"""SQLite writers queue for their turn across threads and processes (backend/core/db.py)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from backend.core.config import ROOT
from backend.core.db import WriterTurn, make_engine, writer_turn

ENTER_IN_CHILD = """
import sys, time
from backend.core.db import WriterTurn
with WriterTurn(sys.argv[1])():
    print(time.time(), flush=True)
"""


def test_a_writer_in_another_process_waits_until_the_turn_is_given_back(tmp_path: Path) -> None:
    database = str(tmp_path / "powerdesk.db")
    with WriterTurn(database)():
        child = subprocess.Popen(
            [sys.executable, "-c", ENTER_IN_CHILD, database], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        time.sleep(1.0)
        assert child.poll() is None, "the other process entered while the turn was held"
        released = time.time()
    out, _ = child.communicate(timeout=20)
    assert float(out) >= released


def test_threads_of_one_process_take_turns_one_at_a_time(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'powerdesk.db'}")
    inside, most = 0, 0
    count = threading.Lock()

    def write() -> None:
        nonlocal inside, most
        with writer_turn(engine):
            with count:
                inside += 1
                most = max(most, inside)
            time.sleep(0.01)
            with count:
                inside -= 1

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
