"""SenderQueues: accepted messages run on the turn thread, one sender's in order, others alongside."""

from __future__ import annotations

import asyncio
import threading

from bot_runtime._turns import SenderQueues


async def test_one_sender_in_order_others_alongside_and_off_the_caller_s_thread() -> None:
    queues = SenderQueues()
    log: list[str] = []
    threads: set[str] = set()

    def work(name: str, pause: float):  # type: ignore[no-untyped-def]
        async def run() -> None:
            threads.add(threading.current_thread().name)
            log.append(f"{name} start")
            await asyncio.sleep(pause)
            log.append(f"{name} end")

        return run

    queues.submit("alice", work("a1", 0.2))
    queues.submit("alice", work("a2", 0.0))
    queues.submit("bob", work("b1", 0.05))
    await queues.drain()
    assert log.index("a1 end") < log.index("a2 start")  # alice's second waits for her first
    assert log.index("b1 end") < log.index("a1 end")  # bob does not wait for alice
    assert threads == {"rasa-turns"} and threading.current_thread().name != "rasa-turns"


async def test_a_failing_message_does_not_stop_the_sender_s_next_and_drain_honours_its_timeout() -> None:
    queues = SenderQueues()
    done: list[str] = []

    async def boom() -> None:
        raise RuntimeError("turn failed")

    async def after() -> None:
        done.append("next")

    async def slow() -> None:
        await asyncio.sleep(5)

    queues.submit("carol", boom)
    queues.submit("carol", after)
    await queues.drain()
    assert done == ["next"]
    queues.submit("dave", slow)
    started = asyncio.get_running_loop().time()
    await queues.drain(timeout=0.2)
    assert asyncio.get_running_loop().time() - started < 2
