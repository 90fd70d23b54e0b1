"""Fixtures for the bot runtime's tests: the rasa server with the channels (`live`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.bot_runtime.channel_stack import ChannelStack, start_channel_stack


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ChannelStack]:
    """The rasa server with both channels, shared by the channel tests (see channel_stack.py)."""
    yield from start_channel_stack(tmp_path_factory.mktemp("channel-stack"), redis_url)
