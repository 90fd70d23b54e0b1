"""Per-turn cost cuts for the Rasa 3.6 server; bot_runtime/rasa_patches.py declares and applies them.

Profiled with py-spy under the chat benchmark (docs/benchmarks.md): about a fifth of the turn
thread went into `jsonschema.validate` on every action server response, almost all of it in
`check_schema`, which re-validates Rasa's fixed response schema against the JSON-Schema
meta-schema on every call. Responses are still validated, with the same schema and the same
error, by a validator built (and its schema checked) once.

Every event read back from the tracker store is resolved to its class by walking the whole
`Event` class tree (`Event.resolve_by_type`): about 5 % of a turn after the change above. The
tree does not change once Rasa is imported, so the lookup is a dictionary built once.

Every prediction (one NLU parse and two or three action predictions per turn) ran the model graph
through `dask.get`, which rebuilds a task graph, re-derives the needed nodes by an unmemoised walk
and schedules them: about 7 % of the turn thread. The graph is now run in a topological order
computed once per set of targets, in the calling thread, as dask's synchronous scheduler did.

The NLU of the same text gives the same answer (no component of the pipeline reads the tracker),
and customers write the same few things: "停电了", "是的", "1", "电费". A parse is about a quarter
of a turn; the last `PARSE_CACHE_SIZE` parses are kept per loaded model and a repeated text is
answered from them (a deep copy, so nothing downstream can change the cached answer).

Once the model is loaded the server holds millions of long-lived objects (TensorFlow, the
domain, the policies' rule tables). Every full garbage collection walked them all and stopped
every thread for 0.3-0.85 s under load (measured with `gc.callbacks`), which is what pushed
webhook acks and replies into their long tail. They are collected once and frozen out of the
collector when the server has started (`gc.freeze`), so a collection walks only what turns create.
A model swapped in later through the HTTP API is collected as usual; the first stays frozen.
"""

from __future__ import annotations

import copy
import gc
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.engine.constants import PLACEHOLDER_TRACKER
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
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


def execution_order(schema: GraphSchema, targets: tuple[str, ...]) -> list[str]:
    """The nodes `targets` need, each after the nodes it needs (inputs are not nodes)."""
    order: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed or name not in schema.nodes:
            return
        placed.add(name)
        for needed in schema.nodes[name].needs.values():
            place(needed)
        order.append(name)

    for target in targets:
        place(target)
    return order


_dask_run = DaskGraphRunner.run


def _run_graph(
    self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
) -> dict[str, Any]:
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    orders: dict[tuple[str, ...], list[str]] = self.__dict__.setdefault("_orders", {})
    order = orders.get(run_targets)
    if order is None:
        order = orders[run_targets] = execution_order(self._graph_schema, run_targets)
    # As in the dask graph: an input is the pair (name, value), a node's output (name, output).
    results: dict[str, Any] = {name: (name, value) for name, value in (inputs or {}).items()}
    if any(name in self._graph_schema.nodes for name in results):
        raise GraphRunError("an input name clashes with a node name")
    nodes = self._graph_schema.nodes
    try:
        for name in order:
            needed = [results.get(key, key) for key in nodes[name].needs.values()]
            results[name] = self._instantiated_nodes[name](*needed)
    except RuntimeError as exc:
        raise GraphRunError("Error running runner.") from exc
    return dict(results[target] for target in run_targets)


PARSE_CACHE_SIZE = 4096
_parse_lock = threading.Lock()
_parse_graph = MessageProcessor._parse_message_with_graph


def _nlu_reads_only_text(processor: MessageProcessor) -> bool:
    schema = processor.graph_runner._graph_schema  # type: ignore[attr-defined]
    needed = schema.minimal_graph_schema([processor.model_metadata.nlu_target])
    return all(PLACEHOLDER_TRACKER not in node.needs.values() for node in needed.nodes.values())


def _parse_cached(
    self: MessageProcessor, message: UserMessage, tracker: DialogueStateTracker, only_output_properties: bool = True
) -> dict[str, Any]:
    text = message.text
    with _parse_lock:
        if "_parse_cache" not in self.__dict__:
            self.__dict__["_parse_cache"] = OrderedDict() if _nlu_reads_only_text(self) else None
        cache: OrderedDict[str, dict[str, Any]] | None = self.__dict__["_parse_cache"]
        cacheable = cache is not None and only_output_properties and bool(text)
        if cacheable and text in cache:
            cache.move_to_end(text)
            return copy.deepcopy(cache[text])
    parsed = _parse_graph(self, message, tracker, only_output_properties)
    if cacheable:
        with _parse_lock:
            cache[text] = copy.deepcopy(parsed)
            if len(cache) > PARSE_CACHE_SIZE:
                cache.popitem(last=False)
    return parsed


_heap_frozen = False


def freeze_loaded_heap() -> None:
    """Collect, then exempt everything alive now from later collections (once per process)."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()
