"""The patches of Rasa's code are declared in one place (bot_runtime/rasa_patches.py), applied only when
asked, only on the Rasa version they were written for, and each behaves like the code it replaces
except where it is meant to differ. The model-based equivalences of the per-turn cost cuts (graph
order, parse cache, response validation) are in test_rasa_tuning.py."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

from bot_runtime import rasa_patches, rasa_server, transcript, turn_failures
from bot_runtime._inbox import is_outage
from bot_runtime.tracker_store import CompactingTrackerStore
from bot_runtime.turn_failures import TurnFailed


@pytest.fixture(autouse=True)
def pristine() -> Any:
    """Each test starts from Rasa's own code and leaves the patches applied (as the server runs)."""
    rasa_patches.restore_all()
    yield
    rasa_patches.apply_all()


def owners_state() -> dict[tuple[type, str], Any]:
    owners = {patch.owner for patch in rasa_patches.PATCHES}
    return {(owner, name): value for owner in owners for name, value in vars(owner).items()}


def test_every_patch_is_declared_with_its_target_and_reason() -> None:
    names = [patch.name for patch in rasa_patches.PATCHES]
    assert len(names) == len(set(names))
    targets = [(patch.owner, patch.attribute) for patch in rasa_patches.PATCHES]
    assert len(targets) == len(set(targets))
    for patch in rasa_patches.PATCHES:
        assert patch.attribute in vars(patch.owner), f"{patch.name}: Rasa has no {patch.attribute} there"
        assert len(patch.why) > 80, f"{patch.name} must say what it changes and why"
        assert not patch.applied()


def test_importing_the_channels_patches_nothing() -> None:
    import bot_runtime.channels.sms
    import bot_runtime.channels.wechat
    import bot_runtime.channels.wecom  # noqa: F401

    assert not any(patch.applied() for patch in rasa_patches.PATCHES)


def test_apply_all_replaces_exactly_the_declared_attributes_once() -> None:
    before = owners_state()
    rasa_patches.apply_all()
    after = owners_state()
    changed = {key for key in before if before[key] is not after.get(key)}
    assert changed == {(patch.owner, patch.attribute) for patch in rasa_patches.PATCHES}
    rasa_patches.apply_all()  # idempotent: the originals stay Rasa's
    for patch in rasa_patches.PATCHES:
        assert patch.applied()
        assert patch.original() is before[(patch.owner, patch.attribute)]
    rasa_patches.restore_all()
    assert owners_state() == before


def test_another_rasa_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rasa_patches.installed_rasa_version() == rasa_patches.RASA_VERSION == "3.6.21"
    monkeypatch.setattr(rasa_patches, "installed_rasa_version", lambda: "3.7.0")
    with pytest.raises(rasa_patches.UnsupportedRasa, match=r"Rasa 3\.7\.0 is installed.*written for Rasa 3\.6\.21"):
        rasa_patches.apply_all()
    assert not any(patch.applied() for patch in rasa_patches.PATCHES)


def test_the_launcher_refuses_to_start_on_another_rasa_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa_patches, "installed_rasa_version", lambda: "3.6.20")
    monkeypatch.setattr(sys, "argv", ["rasa_server", "--model", "models/none.tar.gz"])
    monkeypatch.setenv("RASA_API_TOKEN", "launcher-test-token-0123456789")
    with pytest.raises(SystemExit) as refused:
        rasa_server.main()
    assert "rasa server not started" in str(refused.value) and "3.6.20" in str(refused.value)
    assert not any(patch.applied() for patch in rasa_patches.PATCHES)


# event-type-lookup-by-dictionary


def test_the_event_lookup_finds_what_rasa_s_walk_finds() -> None:
    walk = Event.resolve_by_type
    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    theirs = {name: walk(name) for name in names}
    theirs_topic = walk("topic")
    with pytest.raises(ValueError) as their_error:
        walk("no_such_event")
    rasa_patches.apply_all()
    assert Event.resolve_by_type is not walk
    assert {name: Event.resolve_by_type(name) for name in names} == theirs
    assert Event.resolve_by_type("topic") is theirs_topic is None
    assert Event.resolve_by_type("no_such_event", default=Event) is Event
    with pytest.raises(ValueError) as our_error:
        Event.resolve_by_type("no_such_event")
    assert str(our_error.value) == str(their_error.value)


# remote-action-failure-recorded and failed-action-fails-the-turn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def action_server() -> AsyncIterator[str]:
    """An action server that answers `action_ok`, fails `action_broken` and rejects `action_reject`."""

    async def webhook(request: web.Request) -> web.Response:
        name = (await request.json())["next_action"]
        if name == "action_ok":
            return web.json_response({"events": [{"event": "slot", "name": "topic", "value": "bill"}], "responses": []})
        if name == "action_reject":
            return web.json_response({"action_name": name, "error": "no"}, status=400)
        return web.json_response({"error": "boom"}, status=500)

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/webhook"
    await runner.cleanup()


async def run_remote(name: str, url: str) -> Any:
    domain = Domain.empty()
    tracker = DialogueStateTracker("o_patch", [])
    action = RemoteAction(name, EndpointConfig(url))
    return await action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, domain)


async def outcome(name: str, url: str) -> tuple[Any, type[BaseException] | None, TurnFailed | None]:
    """What the run returned or raised, and what it recorded for the turn (in a task of its own)."""

    async def turn() -> tuple[Any, type[BaseException] | None, TurnFailed | None]:
        try:
            result: Any = await run_remote(name, url)
            raised = None
        except RasaException as exc:
            result, raised = None, type(exc)
        return result, raised, turn_failures._failure.get()

    return await asyncio.create_task(turn())


async def test_a_remote_action_runs_and_fails_as_rasa_s_and_records_its_failure(action_server: str) -> None:
    closed = f"http://127.0.0.1:{free_port()}/webhook"
    cases = [("action_ok", action_server), ("action_broken", action_server), ("action_reject", action_server),
             ("action_ok", closed)]  # fmt: skip
    theirs = [await outcome(name, url) for name, url in cases]
    rasa_patches.apply_all()
    ours = [await outcome(name, url) for name, url in cases]
    assert [(result, raised) for result, raised, _ in ours] == [(result, raised) for result, raised, _ in theirs]
    assert [recorded for _, _, recorded in theirs] == [None] * 4  # Rasa records nothing
    ok, broken, rejected, unreachable = (recorded for _, _, recorded in ours)
    assert ours[0][1] is None and ours[1][1] is RasaException and ours[2][1] is ActionExecutionRejection
    assert ok is None and rejected is None  # an answer and a rejection are not failures
    assert broken is not None and broken.action == "action_broken" and not broken.unavailable
    assert unreachable is not None and unreachable.unavailable


async def test_the_turn_fails_after_a_failed_action_and_goes_on_as_rasa_s_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`_run_action_or_fail` returns what Rasa's `_run_action` returns, unless an action of this call
    recorded a failure: then it raises TurnFailed (where Rasa would log and go on)."""
    calls: list[tuple[Any, ...]] = []

    async def rasa_run_action(self: Any, *args: Any, **kwargs: Any) -> bool:
        calls.append(args)
        if args[0] == "failing":
            turn_failures._failure.set(TurnFailed("action_converse", unavailable=True))
        return args[0] != "stop"

    monkeypatch.setattr(turn_failures, "_run_action", rasa_run_action)
    wrapped = turn_failures._run_action_or_fail
    assert await wrapped(object(), "go_on") is True
    assert await wrapped(object(), "stop") is False
    with pytest.raises(TurnFailed) as failed:
        await wrapped(object(), "failing")
    assert failed.value.unavailable and failed.value.action == "action_converse"
    assert turn_failures._failure.get() is None  # nothing left for the next action of the turn
    assert await wrapped(object(), "go_on") is True
    assert [call[0] for call in calls] == ["go_on", "stop", "failing", "go_on"]


async def test_a_tracker_store_that_fails_fails_the_turn_and_works_as_rasa_s_otherwise(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The agent's tracker store as the processor uses it (`get_or_create_tracker` at the start of a
    turn, `save` at its end): with Redis reachable, the same as Rasa's wrapper; with Redis
    unreachable, Rasa's answers "no conversation" (a fresh start) and keeps the save in memory,
    the patched one raises the RedisError itself, as the channel must see it (bot_runtime/_inbox.py)."""
    sender = f"patch_test_{free_port()}"
    domain = Domain.empty()
    reachable = CompactingTrackerStore(domain, host=redis_url)
    unreachable = CompactingTrackerStore(domain, host="redis://127.0.0.1:1/7", socket_timeout=0.5)
    try:
        theirs = Agent(domain, tracker_store=reachable).tracker_store
        rasa_patches.apply_all()
        ours = Agent(domain, tracker_store=reachable).tracker_store
        assert isinstance(theirs, FailSafeTrackerStore) and isinstance(ours, FailSafeTrackerStore)
        for store in (theirs, ours):
            tracker = await store.get_or_create_tracker(sender)
            await store.save(tracker)
            assert (await store.retrieve(sender)).events == tracker.events

        rasa_patches.restore_all()
        theirs = Agent(domain, tracker_store=unreachable).tracker_store
        assert await theirs.retrieve(sender) is None  # Rasa: the conversation would start afresh
        rasa_patches.apply_all()
        ours = Agent(domain, tracker_store=unreachable).tracker_store
        with pytest.raises(redis.exceptions.ConnectionError):
            await ours.get_or_create_tracker(sender)
        with pytest.raises(redis.exceptions.ConnectionError):
            await ours.save(tracker)
        assert "ALERT conversation store unreachable (ConnectionError" in caplog.text
    finally:
        redis.Redis.from_url(redis_url).delete(f"pd:tracker:{sender}", transcript.key(sender))


async def test_a_redis_error_of_the_tracker_store_reaches_the_channel_unwrapped() -> None:
    """Through the real agent and processor (the trained model), as a channel calls them: with Redis
    unreachable, `handle_message` raises the RedisError itself, which the channels count as an
    outage (the message is kept and tried again), before any action runs."""
    rasa_patches.apply_all()
    unreachable = CompactingTrackerStore(Domain.empty(), host="redis://127.0.0.1:1/7", socket_timeout=0.5)
    model = Path(__file__).resolve().parents[2] / "models" / "powerdesk.tar.gz"
    agent = Agent.load(str(model), tracker_store=unreachable, lock_store=InMemoryLockStore())
    with pytest.raises(redis.exceptions.ConnectionError) as raised:
        await agent.handle_message(UserMessage("我家停电了", sender_id="o_patch_model"))
    assert is_outage(raised.value)
