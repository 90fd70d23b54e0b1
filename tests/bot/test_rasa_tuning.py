"""The per-turn cost cuts of bot_runtime/rasa_tuning.py change nothing Rasa decides: the cached
action-response validation accepts and refuses what Rasa does, the ordered graph run predicts what
dask's run predicts, and cached parses are the parses, bounded and safe from changes by callers."""

from __future__ import annotations

import copy
import gc
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot_runtime import rasa_patches, rasa_tuning


@pytest.fixture(autouse=True)
def tuned() -> None:
    rasa_patches.apply_all()


def test_a_valid_action_server_response_passes() -> None:
    response = {"events": [{"event": "slot", "name": "account_no", "value": "3100000001"}], "responses": []}
    assert RemoteAction("action_x", None)._validate_action_result(response) is True


def test_an_invalid_response_is_refused_with_rasa_s_explanation() -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        RemoteAction("action_x", None)._validate_action_result({"events": "not a list"})


MODEL = Path(__file__).resolve().parents[2] / "models" / "powerdesk.tar.gz"
TEXTS = [
    "停电了",
    "这个月电费多少",
    "我的户号是3100000001",
    "查一下QX202611220001的进度",
    "是的",
    "谢谢",
    "家门口电线掉下来了",
]


@pytest.fixture(scope="module")
def agent() -> Agent:
    return Agent.load(str(MODEL))


def untuned(agent: Agent) -> MessageProcessor:
    """A processor of the same model that runs the graph with dask and parses without the cache."""
    processor = copy.copy(agent.processor)
    processor.__dict__.pop("_parse_cache", None)
    processor.graph_runner = copy.copy(processor.graph_runner)
    processor.graph_runner.run = rasa_tuning._dask_run.__get__(processor.graph_runner)  # type: ignore[method-assign]
    return processor


async def test_the_ordered_graph_run_predicts_what_dask_predicts(agent: Agent) -> None:
    """NLU and the next-action prediction agree exactly, with the runner's own order and dask's."""
    tuned_processor = agent.processor
    plain = untuned(agent)
    assert DaskGraphRunner.run is not rasa_tuning._dask_run  # the class runs the ordered graph
    plain._parse_message_with_graph = rasa_tuning._parse_graph.__get__(plain)  # type: ignore[method-assign]
    for text in TEXTS:
        message = UserMessage(text, sender_id="o_tuning")
        ours = await tuned_processor.parse_message(message)
        theirs = await plain.parse_message(message)
        assert ours == theirs
        tracker = DialogueStateTracker.from_events("o_tuning", [ActionExecuted("action_listen")])
        tracker.update(UserUttered(text, ours["intent"], ours["entities"]))
        assert tuned_processor.predict_next_with_tracker(tracker) == plain.predict_next_with_tracker(tracker)


async def test_a_repeated_text_is_answered_from_the_cache_and_the_cache_stays_intact(agent: Agent) -> None:
    processor = agent.processor
    first = await processor.parse_message(UserMessage("我家没得电了", sender_id="o_cache"))
    cache = processor.__dict__["_parse_cache"]
    assert "我家没得电了" in cache
    first["intent"]["name"] = "changed by a caller"
    first["entities"].append({"entity": "phone"})
    again = await processor.parse_message(UserMessage("我家没得电了", sender_id="o_other"))
    assert again["intent"]["name"] != "changed by a caller" and {"entity": "phone"} not in again["entities"]
    assert again == cache["我家没得电了"]


def test_the_cache_is_bounded(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa_tuning, "PARSE_CACHE_SIZE", 3)
    processor = copy.copy(agent.processor)
    processor.__dict__.pop("_parse_cache", None)
    for n in range(6):
        rasa_tuning._parse_cached(
            processor, UserMessage(f"户号310000000{n}", sender_id="o_b"), DialogueStateTracker("o_b", [])
        )
    assert list(processor.__dict__["_parse_cache"]) == [f"户号310000000{n}" for n in (3, 4, 5)]


def test_the_loaded_heap_is_frozen_once(agent: Agent) -> None:
    """After the model is loaded, the collector no longer walks it, and later calls change nothing."""
    rasa_tuning.freeze_loaded_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 100_000  # the model, TensorFlow and Rasa are out of the collector's walks
    garbage = [[n] for n in range(1000)]
    rasa_tuning.freeze_loaded_heap()
    assert gc.get_freeze_count() == frozen
    del garbage
