"""Per-turn cost cuts for the Rasa 3.6 server, applied when the channels are loaded.

Profiled with py-spy under the chat benchmark (docs/benchmarks.md): about a fifth of the turn
thread went into `jsonschema.validate` on every action server response, almost all of it in
`check_schema`, which re-validates Rasa's fixed response schema against the JSON-Schema
meta-schema on every call. Responses are still validated, with the same schema and the same
error, by a validator built (and its schema checked) once.

Every event read back from the tracker store is resolved to its class by walking the whole
`Event` class tree (`Event.resolve_by_type`): about 5 % of a turn after the change above. The
tree does not change once Rasa is imported, so the lookup is a dictionary built once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses


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


@lru_cache(maxsize=1)
def _event_classes() -> dict[str, type[Event]]:
    classes: dict[str, type[Event]] = {}
    for cls in all_subclasses(Event):
        classes.setdefault(cls.type_name, cls)  # the first in Rasa's order wins, as in its loop
    return classes


def _resolve_event_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    found = _event_classes().get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # Rasa's own backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_event_type)  # type: ignore[method-assign]
