"""The cached action-response validation still accepts what Rasa accepts and refuses what it refuses."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from connectors import rasa_tuning


@pytest.fixture(autouse=True)
def tuned() -> None:
    rasa_tuning.apply()


def test_a_valid_action_server_response_passes() -> None:
    response = {"events": [{"event": "slot", "name": "account_no", "value": "3100000001"}], "responses": []}
    assert RemoteAction("action_x", None)._validate_action_result(response) is True


def test_an_invalid_response_is_refused_with_rasa_s_explanation() -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("action_x", None)._validate_action_result({"events": "not a list"})
