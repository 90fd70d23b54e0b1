"""bot/endpoints.yml sends the action server's credential as a header, never in the URL (bot env)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.utils import AvailableEndpoints

from connectors.rasa_server import lock_store_environment

ENDPOINTS = Path(__file__).resolve().parents[2] / "bot" / "endpoints.yml"


def test_the_action_endpoint_carries_the_credential_in_a_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "endpoint-test-token-0123456789")
    for name, value in lock_store_environment("redis://127.0.0.1:6379/0").items():
        monkeypatch.setenv(name, value)
    action = AvailableEndpoints.read_endpoints(str(ENDPOINTS)).action
    assert action.headers == {"Authorization": "Bearer endpoint-test-token-0123456789"}
    assert action.token is None and action.params == {} and "token" not in action.url
