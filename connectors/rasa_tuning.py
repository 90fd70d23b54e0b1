"""Per-turn cost cuts for the Rasa 3.6 server, applied when the channels are loaded.

Profiled with py-spy under the chat benchmark (docs/benchmarks.md): about a fifth of the turn
thread went into `jsonschema.validate` on every action server response, almost all of it in
`check_schema`, which re-validates Rasa's fixed response schema against the JSON-Schema
meta-schema on every call. Responses are still validated, with the same schema and the same
error, by a validator built (and its schema checked) once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = exceptions.best_match(_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the "
            f"Action endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
