"""The backend client in the bot env (Python 3.10): a backend that does not answer in time is
"unavailable" (BackendUnavailable, which the dialogue answers kindly), not an exception that fails
the customer's whole turn. On 3.10, aiohttp's `asyncio.TimeoutError` is not the builtin
`TimeoutError`; the quiet load bench of 2026-12-03 caught the client letting it through."""

from __future__ import annotations

import asyncio

import pytest

from clients.backend import BackendClient, BackendUnavailable


async def _ask_a_backend_that_never_answers() -> None:
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)  # takes the request, never answers
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await BackendClient(f"http://127.0.0.1:{port}", "token", timeout=0.3).tariff()
    finally:
        server.close()


def test_a_backend_too_slow_to_answer_is_unavailable() -> None:
    with pytest.raises(BackendUnavailable, match="TimeoutError"):
        asyncio.run(_ask_a_backend_that_never_answers())
