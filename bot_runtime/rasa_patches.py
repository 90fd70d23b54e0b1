"""Every change PowerDesk makes to Rasa's own code, declared in one place (docs/adr/0011-rasa-patches.md).

Rasa 3.6 offers no extension point for what these change (the graph runner class, the action
response check, the event lookup, the processor's action loop and the wrapper around the tracker
store are fixed in `Agent.load`, `Agent.__init__` and `MessageProcessor`), so they replace methods
of Rasa's classes. They were written against one version, `RASA_VERSION`, and read its private
code; another version may have moved or changed what they replace. So nothing is patched by
importing a module: the rasa server's launcher (bot_runtime/rasa_server.py) calls
`require_supported_rasa()`, which refuses to start on any other Rasa version, and then
`apply_all()`, which applies each patch in `PATCHES` explicitly.

Each patch is a `Patch`: the Rasa class and attribute it replaces, the replacement (written in
bot_runtime/rasa_tuning.py, bot_runtime/turn_failures.py or bot_runtime/tracker_store.py, where its
reasons are measured or explained), and what it changes and why. tests/bot/test_rasa_patches.py
proves each behaves like the code it replaces where it should and differs only where intended.

What Rasa does offer as extension points PowerDesk uses instead of patches: the tracker store
(bot_runtime/tracker_store.py), the lock store (Rasa's Redis lock store, bot_runtime/lock_store.py), the
input channels (bot_runtime/channels/) and an NLU component (bot_runtime/intent_classifier.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.processor import MessageProcessor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event

from bot_runtime import rasa_tuning, tracker_store, turn_failures

logger = logging.getLogger(__name__)

#: the Rasa release whose code the patches were read against and tested with
RASA_VERSION = "3.6.21"


class UnsupportedRasa(RuntimeError):
    """The installed Rasa is not the one the patches were written for."""


@dataclass(frozen=True)
class Patch:
    """One replaced attribute of a Rasa class."""

    name: str
    owner: type
    attribute: str
    replacement: Any
    why: str

    def original(self) -> Any:
        """What Rasa itself has there (also after `apply_all`)."""
        return _originals.get((self.owner, self.attribute), self.owner.__dict__[self.attribute])

    def applied(self) -> bool:
        return self.owner.__dict__.get(self.attribute) is self.replacement


def _static(function: Callable[..., Any]) -> Any:
    return staticmethod(function)


PATCHES: tuple[Patch, ...] = (
    Patch(
        name="action-response-validator-built-once",
        owner=RemoteAction,
        attribute="_validate_action_result",
        replacement=rasa_tuning._validate_action_result,
        why="Rasa calls jsonschema.validate on every action server response, which checks Rasa's fixed "
        "schema against the meta-schema each time (a fifth of a turn under load). The same schema "
        "validates with a validator built once; the same responses pass and the same error is raised.",
    ),
    Patch(
        name="event-type-lookup-by-dictionary",
        owner=Event,
        attribute="resolve_by_type",
        replacement=_static(rasa_tuning._resolve_event_type),
        why="Every event read back from the tracker store walked the whole Event class tree to find its "
        "class (about 5 % of a turn). The tree is fixed once Rasa is imported: a dictionary built once "
        "gives the same class, the same default and the same error for an unknown name.",
    ),
    Patch(
        name="graph-run-in-precomputed-order",
        owner=DaskGraphRunner,
        attribute="run",
        replacement=rasa_tuning._run_graph,
        why="Each prediction rebuilt a dask task graph and re-derived its needed nodes (about 7 % of a "
        "turn). The nodes are run in a topological order computed once per set of targets, in the calling "
        "thread, as dask's synchronous scheduler ran them; Agent.load hard-codes DaskGraphRunner, so "
        "there is no runner to configure instead.",
    ),
    Patch(
        name="nlu-parse-cache",
        owner=MessageProcessor,
        attribute="_parse_message_with_graph",
        replacement=rasa_tuning._parse_cached,
        why="Customers write the same few texts; when no NLU component reads the tracker, a text parses "
        "the same every time. The last PARSE_CACHE_SIZE parses per model are kept and a repeated text is "
        "answered with a deep copy. Differs from Rasa only in not running the graph again.",
    ),
    Patch(
        name="remote-action-failure-recorded",
        owner=RemoteAction,
        attribute="run",
        replacement=turn_failures._run_remote,
        why="Records a failed custom action (exception, error status, unreachable server) in a context "
        "variable of the turn, then raises as Rasa does; a rejection (ActionExecutionRejection) is not a "
        "failure. Behaves as Rasa's otherwise.",
    ),
    Patch(
        name="failed-action-fails-the-turn",
        owner=MessageProcessor,
        attribute="_run_action",
        replacement=turn_failures._run_action_or_fail,
        why="Rasa logs 'Bot will continue, but the actions events are lost' and saves a half-done tracker; "
        "here the turn raises TurnFailed right after a failed custom action, before the tracker is saved, "
        "so the channel keeps and retries the message (docs/adr/0005-durable-turns.md). Same result as "
        "Rasa's when no action failed.",
    ),
    Patch(
        name="tracker-store-errors-fail-the-turn",
        owner=Agent,
        attribute="_create_tracker_store",
        replacement=_static(tracker_store.fail_safe_store_that_raises),
        why="Agent wraps every tracker store in FailSafeTrackerStore without its error hook, so a store that "
        "fails is logged and a retrieve answers None (the conversation starts afresh, a repair report in "
        "progress lost) and a save goes to this process's memory, which no other rasa server reads. The same "
        "wrapper is built with the hook set to log an ALERT and re-raise: with Redis unreachable the RedisError "
        "fails the turn and the channel keeps the message for later (docs/adr/0014-shared-conversation-store.md).",
    ),
)

_originals: dict[tuple[type, str], Any] = {}


def installed_rasa_version() -> str:
    from rasa.version import __version__

    return str(__version__)


def require_supported_rasa() -> None:
    """Refuse to go on when the installed Rasa is not `RASA_VERSION`."""
    installed = installed_rasa_version()
    if installed != RASA_VERSION:
        raise UnsupportedRasa(
            f"Rasa {installed} is installed, but PowerDesk's patches of Rasa's code (bot_runtime/rasa_patches.py) "
            f"were written for Rasa {RASA_VERSION}: install rasa=={RASA_VERSION} (requirements/bot.lock), or "
            "read each patch against the new version, test it and change RASA_VERSION"
        )


def apply_all() -> None:
    """Apply every patch in `PATCHES` (idempotent); Rasa's originals are kept for `restore_all`."""
    require_supported_rasa()
    for patch in PATCHES:
        key = (patch.owner, patch.attribute)
        if key not in _originals:
            _originals[key] = patch.owner.__dict__[patch.attribute]
        setattr(patch.owner, patch.attribute, patch.replacement)
        logger.debug("rasa patch %s: %s.%s", patch.name, patch.owner.__name__, patch.attribute)


def restore_all() -> None:
    """Put Rasa's own attributes back (tests)."""
    for (owner, attribute), original in _originals.items():
        setattr(owner, attribute, original)
    _originals.clear()
