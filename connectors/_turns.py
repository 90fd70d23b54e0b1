"""A dedicated thread, with its own event loop, where the channels run Rasa turns.

A Rasa turn is mostly CPU (NLU and policies in TensorFlow) and holds whatever event loop it runs
on for tens of milliseconds at a time. Run on Sanic's loop, every webhook that arrives meanwhile
waits, and under a burst acknowledgements drift towards WeChat's 5 s limit. On this loop the
webhook's loop only verifies, journals and acknowledges, and turns queue here instead.

The agent is then used from this thread (plus Sanic's, for Rasa's own HTTP API); its in-memory
tracker and lock stores are plain dictionaries guarded by the GIL, and every turn of one sender
is still serialised by the channel and by Rasa's lock store.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# A CPU-bound turn thread hands the GIL back to the webhook's thread after at most this long
# (CPython's default is 5 ms, paid at every I/O step of an acknowledgement).
GIL_SWITCH_INTERVAL = 0.001

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def _turn_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL)
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="rasa-turns", daemon=True).start()
        return _loop


async def run_turn(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on the turn thread and wait for it from the caller's loop."""
    future = asyncio.run_coroutine_threadsafe(coroutine, _turn_loop())
    return await asyncio.wrap_future(future)
