"""A dedicated thread, with its own event loop, where the channels handle accepted messages.

A Rasa turn is mostly CPU (NLU and policies in TensorFlow) and holds whatever event loop it runs
on for tens of milliseconds at a time. Run on Sanic's loop, every webhook that arrives meanwhile
waits, and under a burst acknowledgements drift towards WeChat's 5 s limit. So Sanic's loop only
verifies, queues and acknowledges; everything after that (the Rasa turn, the bookkeeping in
Redis, sending the reply, finishing the message in the queue) runs on this thread's loop, one sender's messages
in arrival order.

The agent is then used from this thread (plus Sanic's, for Rasa's own HTTP API); its in-memory
tracker and lock stores are plain dictionaries guarded by the GIL, and every turn of one sender
is still serialised here and by Rasa's lock store.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

Work = Callable[[], Coroutine[Any, Any, None]]

# A CPU-bound turn thread hands the GIL back to the webhook's thread after at most this long
# (CPython's default is 5 ms, paid at every I/O step of an acknowledgement).
GIL_SWITCH_INTERVAL = 0.001

# Threads for the blocking calls around a turn (Redis, the platforms' APIs, the backend): each
# waits on the network, not the CPU. asyncio's default pool (cores + 4 = 6 here) became the queue
# that held replies back by seconds in the outage-storm benchmark.
IO_THREADS = 32

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _turn_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL)
            _loop = asyncio.new_event_loop()
            _loop.set_default_executor(ThreadPoolExecutor(IO_THREADS, thread_name_prefix="channel-io"))
            threading.Thread(target=_loop.run_forever, name="rasa-turns", daemon=True).start()
        return _loop


class SenderQueues:
    """Accepted messages handled on the turn thread, each sender's one after the other."""

    def __init__(self) -> None:
        # Touched only on the turn loop.
        self._tasks: set[asyncio.Task] = set()
        self._tails: dict[str, asyncio.Task] = {}

    def submit(self, sender: str, work: Work) -> None:
        """Queue `work()` behind `sender`'s earlier messages; callable from any thread."""
        _turn_loop().call_soon_threadsafe(self._start, sender, work)

    def _start(self, sender: str, work: Work) -> None:
        previous = self._tails.get(sender)
        task = asyncio.get_running_loop().create_task(self._after(previous, work))
        self._tasks.add(task)
        self._tails[sender] = task

        def finished(done: asyncio.Task) -> None:
            self._tasks.discard(done)
            if self._tails.get(sender) is done:
                del self._tails[sender]

        task.add_done_callback(finished)

    @staticmethod
    async def _after(previous: asyncio.Task | None, work: Work) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        await work()

    async def drain(self, timeout: float | None = None) -> None:
        """Wait, from any loop, until everything submitted before has been handled (or `timeout`)."""

        async def settle() -> None:
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                await asyncio.wait(set(self._tasks), timeout=remaining)

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(settle(), _turn_loop()))
