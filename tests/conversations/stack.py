"""A stack for `make eval`'s run of the conversation suite (outside pytest)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.stack import Stack as Processes
from scripts.stack import base_env, free_port
from tests.conftest import running_stack
from tests.conversations.suite import Stack


@contextmanager
def conversation_stack() -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="pd-conversations-") as tmp:
        work = Path(tmp)
        redis = Processes(base_env({}), work / "redis-log")
        try:
            redis_url = os.environ.get("REDIS_URL") or redis.start_redis(free_port(), work / "redis")
            with running_stack(redis_url, work) as live:
                yield Stack(live.backend_url, live.simulator_url, live.env["POWERDESK_ADMIN_TOKEN"])
        finally:
            redis.stop()
