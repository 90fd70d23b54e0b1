"""The console's live stream: one server-sent-events connection per open console.

The page names the topics it shows (`?topics=queue,handoff:12,overview`). Every
`console_stream_poll_seconds` the stream asks each topic's fingerprint (one small query), reads
the topic's state when the fingerprint moved (or `REFRESH_SECONDS` passed), and sends it as an
event named after the topic when it differs from what was sent last: a page always holds the
whole state of what it shows, and a reconnect starts from a full state. A topic shows the same to
everyone who may watch it, so the streams of one process share what they read: a change is read
once per process, however many consoles are open. The database is the only source, so it works
across backend processes and needs no Redis.

The stream also keeps the person present (their session's `last_seen_at`, every
`PRESENCE_WRITE_SECONDS`): an agent counts as online while their console is open. When the session
ends (signed out elsewhere, deactivated, idle or expired) it sends `signed_out` and closes.

Topics are registered in `backend/console/topics.py` with the roles that may watch them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.core.db import transaction
from backend.staff import service as staff
from backend.staff.roles import StaffRole

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
PRESENCE_WRITE_SECONDS = 20.0
KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True)
class Topic:
    """Something a console page watches. `read(session, settings, argument)` gives its JSON state;
    `fingerprint(session, argument)`, when given, is a cheap value that moves when the state may
    have changed (without one, the state is read at every poll). The argument is what follows the
    topic's name and a colon (`handoff:12` → "12"), or ""."""

    roles: frozenset[StaffRole]
    read: Callable[[Session, Settings, str], Any]
    fingerprint: Callable[[Session, str], Any] | None = None
    #: the argument, when the topic takes one, must match this (e.g. digits)
    argument: Callable[[str], bool] = field(default=lambda value: value == "")


@dataclass(frozen=True)
class _Read:
    fingerprint: Any
    read_at: float
    payload: str


#: the last state of each topic read by any stream of this process: topics show the same to everyone
#: who may watch them, so the consoles open in one process read a change once, not once each
_last_read: dict[str, _Read] = {}


class Stream:
    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        token: str,
        signed: staff.Signed,
        topics: dict[str, tuple[Topic, str]],
    ) -> None:
        self._factory = factory
        self._settings = settings
        self._token = token
        self._signed = signed
        self._topics = topics
        self._sent = dict.fromkeys(topics, "")  # topic → digest of the state last sent
        self._seen_written = 0.0

    async def events(self) -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        last_event = time.monotonic()
        while True:
            try:
                changed = await run_in_threadpool(self._poll)
            except Exception:  # a database hiccup: try again at the next poll, keep the stream
                logger.exception("console stream poll failed")
                changed = {}
            if changed is None:
                yield "event: signed_out\ndata: {}\n\n"
                return
            for name, payload in changed.items():
                yield f"event: {name}\ndata: {payload}\n\n"
                last_event = time.monotonic()
            if time.monotonic() - last_event >= KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                last_event = time.monotonic()
            await asyncio.sleep(self._settings.console_stream_poll_seconds)

    def _poll(self) -> dict[str, str] | None:
        """The topics whose state changed, as JSON; None when the session has ended."""
        now = time.monotonic()
        with self._factory() as session:
            if staff.signed_in(session, self._settings, self._token) is None:
                return None
        if now - self._seen_written >= PRESENCE_WRITE_SECONDS:  # present before the figures are read
            with transaction(self._factory) as session:
                staff.touch_seen(session, self._signed.session_id)
            self._seen_written = now
        with self._factory() as session:
            changed: dict[str, str] = {}
            for name, (topic, argument) in self._topics.items():
                payload = self._state(session, name, topic, argument, now)
                digest = hashlib.sha256(payload.encode()).hexdigest()
                if digest != self._sent[name]:
                    self._sent[name] = digest
                    changed[name] = payload
        return changed

    def _state(self, session: Session, name: str, topic: Topic, argument: str, now: float) -> str:
        """The topic's state as JSON: read again when its fingerprint moved (or, without one, at most
        once a poll), else as read last by any stream of this process."""
        fingerprint = topic.fingerprint(session, argument) if topic.fingerprint else None
        last = _last_read.get(name)
        fresh_for = REFRESH_SECONDS if topic.fingerprint else self._settings.console_stream_poll_seconds / 2
        if last is not None and last.fingerprint == fingerprint and now - last.read_at < fresh_for:
            return last.payload
        payload = json.dumps(topic.read(session, self._settings, argument), ensure_ascii=False)
        for stale in [key for key, read in _last_read.items() if now - read.read_at > 2 * REFRESH_SECONDS]:
            _last_read.pop(stale, None)
        _last_read[name] = _Read(fingerprint, now, payload)
        return payload
