"""Ack latency load generator: `python -m tests.bot_runtime.ack_load REQUESTS.json CONCURRENCY`.

REQUESTS.json holds `[[url, body], ...]` (signed platform callbacks). Runs in its own process, as
the platform is outside the server: `CONCURRENCY` senders post them in turn, each waiting for its
answer, and the script prints `{"count", "p50_ms", "p99_ms", "max_ms", "not_acked"}` as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp


async def run(requests: list[tuple[str, str]], concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    not_acked = 0

    async def sender(client: aiohttp.ClientSession, mine: list[tuple[str, str]]) -> None:
        nonlocal not_acked
        for url, body in mine:
            started = time.perf_counter()
            async with client.post(url, data=body.encode(), timeout=aiohttp.ClientTimeout(total=10)) as answer:
                text = await answer.text()
            latencies.append(time.perf_counter() - started)
            not_acked += text != "success"

    # aiohttp, as the simulator's platform side (simulator/peer.py): httpx's asyncio client adds
    # its own waits of 100 ms and more at this concurrency.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as client:
        await asyncio.gather(*(sender(client, requests[i::concurrency]) for i in range(concurrency)))
    latencies.sort()
    return {
        "count": len(latencies),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "not_acked": not_acked,
    }


def main() -> None:
    requests = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    print(json.dumps(asyncio.run(run(requests, int(sys.argv[2])))))


if __name__ == "__main__":
    main()
