"""The durable inbound queue: an accepted platform message is in Redis before it is acked.

Every gateway and every rasa server reaches the same Redis (`REDIS_URL`; `make run`'s private one
writes an append-only file with an fsync per write, so an acknowledged message survives a crash
of Redis too). No rasa import: the webhook gateway and the channels use it alike.

Keys start with the deployment's namespace (`POWERDESK_NAMESPACE`, default `pd`), written `pd` below.

- **Accept** (the ack path): one Lua script sets the message's dedup key (`pd:in:seen:<key>`, kept
  for the message retention, so a platform's retry is acked and dropped) and appends the message
  to its channel's stream partition, `pd:in:q:<channel>:<p>` with `p = crc32(sender) % partitions`
  (`INBOUND_PARTITIONS`, default 8, the same on every process). Both or neither. A Redis that
  cannot be reached within `ACK_TIMEOUT_SECONDS` raises `QueueUnavailable`: the platform is
  answered 503 and retries, so nothing is acknowledged that is not queued. Replayed nonces
  (`pd:in:nonce:…`, 15 min) and signed-but-malformed bodies (`pd:in:quarantine:<channel>`) are
  kept here too.
- **Partitions are leased**: a consumer holds a partition through `pd:in:lease:<channel>:<p>`
  (`LEASE_MS`, renewed every second) and is the only one reading it, so one sender's messages
  are handled in order, by one process at a time. Consumers announce themselves
  (`pd:in:members:<channel>`) and each takes its fair share of the partitions; a partition whose
  holder stopped renewing is free again after `LEASE_MS`, and its new holder claims the messages
  the old one had read but not finished (the stream's consumer group, `XPENDING` then `XCLAIM`).
- **Per message** (`pd:in:msg:<key>`): the attempts counted before each turn (a message that
  crashes its process is counted too), the failures that set the backoff, whether the customer was
  told of a delay, and the reply of a turn that ran, so that only its delivery is retried. `done`
  acknowledges the entry in the group; `give_up` quarantines it.

Message text stays in the streams for the retention (`POWERDESK_MESSAGE_RETENTION_HOURS`), and
longer only while unfinished (`trim`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import secrets
import socket
import time
import zlib
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, ResponseError

from platforms.settings import namespace, retention_seconds, setting

logger = logging.getLogger(__name__)

GROUP = "handlers"
DEFAULT_PARTITIONS = 8
#: a partition's holder must renew within this long, else another consumer takes it over
LEASE_MS = 5000
#: a consumer that has not announced itself for this long no longer counts in the fair share
MEMBER_MS = 3000
KEEP_NONCE_SECONDS = 900
QUARANTINE_MAX = 10_000
UNFINISHED_BATCH = 500
#: the ack path waits at most this long for Redis (RELIABILITY row 46: about 200 ms)
ACK_TIMEOUT_SECONDS = 0.3

# KEYS: dedup key, stream. ARGV: dedup ttl (s), then the entry's field/value pairs.
_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
end
return false
"""
# KEYS: lease. ARGV: owner, ttl (ms). Renew only one's own lease.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class QueueUnavailable(Exception):
    """Redis could not take or give a message; nothing was acknowledged or finished."""


def partitions() -> int:
    """`INBOUND_PARTITIONS`: how many stream partitions each channel has (a positive number)."""
    raw = setting(None, "INBOUND_PARTITIONS", str(DEFAULT_PARTITIONS))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"INBOUND_PARTITIONS must be a positive whole number, not {raw!r}")
    return int(raw)


def new_owner() -> str:
    """This process's name as a consumer: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def connect(url: str | None = None, *, timeout: float = ACK_TIMEOUT_SECONDS) -> Redis:
    return Redis.from_url(
        url or setting(None, "REDIS_URL", "redis://127.0.0.1:6379/0"),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )


@dataclass(frozen=True)
class Entry:
    key: str
    channel: str
    sender: str
    payload: dict[str, Any]
    received_at: float
    partition: int
    #: the entry's id in its partition's stream
    stream_id: str
    #: attempts counted against the message (turns that failed on it, or crashed)
    attempts: int = 0
    #: every failed try, outages included: the backoff's step
    failures: int = 0
    #: the customer has been told that the answer is delayed
    notified: bool = False
    #: the reply of a turn that ran, waiting to be handed over
    reply: str | None = None
    #: claimed from a holder that stopped renewing its lease (it died, or froze)
    taken_over: bool = False

    @property
    def tried_before(self) -> bool:
        """An earlier try of this message started (and failed, or its process died)."""
        return self.attempts > 1 or self.failures > 0

    @property
    def ref(self) -> str:
        """Where the entry is: unique, and known before its fields are read."""
        return f"{self.channel}:{self.partition}:{self.stream_id}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class InboundQueue:
    def __init__(
        self, redis: Redis | None = None, *, partition_count: int | None = None, namespace_: str | None = None
    ) -> None:
        self.redis = redis if redis is not None else connect()
        self.partition_count = partition_count or partitions()
        self._accept = self.redis.register_script(_ACCEPT)
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        self._groups: set[str] = set()
        self.prefix = f"{namespace_ or namespace()}:in"

    # --- names -------------------------------------------------------------------------------

    def partition_of(self, sender: str) -> int:
        return zlib.crc32(sender.encode()) % self.partition_count

    def stream(self, channel: str, partition: int) -> str:
        return f"{self.prefix}:q:{channel}:{partition}"

    def _lease(self, channel: str, partition: int) -> str:
        return f"{self.prefix}:lease:{channel}:{partition}"

    def _state(self, key: str) -> str:
        return f"{self.prefix}:msg:{key}"

    def _delayed(self, channel: str, sender: str) -> str:
        return f"{self.prefix}:delayed:{channel}:{sender}"

    def _quarantine(self, channel: str) -> str:
        return f"{self.prefix}:quarantine:{channel}"

    def unreachable(self) -> str | None:
        """Why Redis cannot be used now (None: it can)."""
        try:
            self.redis.ping()
        except RedisError as exc:
            return f"Redis unreachable: {type(exc).__name__}"
        return None

    # --- the ack path ----------------------------------------------------------------------------

    def accept(self, key: str, channel: str, sender: str, payload: dict[str, Any]) -> bool:
        """Queue a message; False when its key was already accepted (a duplicate)."""
        fields = [
            "key",
            key,
            "sender",
            sender,
            "payload",
            json.dumps(payload, ensure_ascii=False),
            "at",
            repr(time.time()),
        ]
        stream = self.stream(channel, self.partition_of(sender))
        try:
            added = self._accept(keys=[f"{self.prefix}:seen:{key}", stream], args=[int(retention_seconds()), *fields])
        except RedisError as exc:
            raise QueueUnavailable(f"Redis did not take the message: {type(exc).__name__}") from exc
        return added is not None

    def first_nonce(self, channel: str, value: str) -> bool:
        """Record a (timestamp, nonce) pair; False when it was already seen (a replay)."""
        try:
            return bool(self.redis.set(f"{self.prefix}:nonce:{channel}:{value}", "1", nx=True, ex=KEEP_NONCE_SECONDS))
        except RedisError as exc:
            raise QueueUnavailable(f"Redis did not check the nonce: {type(exc).__name__}") from exc

    def quarantine(self, channel: str, reason: str, body: bytes) -> None:
        """Keep a body that will never be handled (for staff), within the retention."""
        try:
            self.redis.xadd(
                self._quarantine(channel),
                {"reason": reason, "body": body, "at": repr(time.time())},
                maxlen=QUARANTINE_MAX,
                approximate=True,
            )
        except RedisError as exc:
            logger.error("ALERT %s quarantined body not kept (%s): %s", channel, type(exc).__name__, reason)

    def quarantined(self, channel: str) -> list[tuple[str, bytes]]:
        rows: Any = self.redis.xrange(self._quarantine(channel))
        return [(_text(fields[b"reason"]), bytes(fields[b"body"])) for _, fields in rows]

    # --- partitions ------------------------------------------------------------------------------

    def announce(self, channel: str, owner: str) -> int:
        """Say `owner` consumes `channel` now; how many consumers do (itself included)."""
        members = f"{self.prefix}:members:{channel}"
        now = int(time.time() * 1000)
        with self.redis.pipeline() as pipe:
            pipe.zadd(members, {owner: now})
            pipe.zremrangebyscore(members, 0, now - MEMBER_MS)
            pipe.zcard(members)
            pipe.pexpire(members, MEMBER_MS * 10)
            live = pipe.execute()[2]
        return max(1, int(live))

    def leave(self, channel: str, owner: str, held: Iterable[int]) -> None:
        self.redis.zrem(f"{self.prefix}:members:{channel}", owner)
        for partition in held:
            self.let_go(channel, partition, owner)

    def acquire(self, channel: str, partition: int, owner: str) -> bool:
        """Take a free partition for `owner` (its consumer group made if new)."""
        if not self.redis.set(self._lease(channel, partition), owner, nx=True, px=LEASE_MS):
            return False
        self._ensure_group(channel, partition)
        return True

    def renew(self, channel: str, partitions_held: list[int], owner: str) -> list[int]:
        """Renew `owner`'s leases; the partitions it still holds."""
        with self.redis.pipeline(transaction=False) as pipe:
            for partition in partitions_held:
                self._renew(keys=[self._lease(channel, partition)], args=[owner, LEASE_MS], client=pipe)
            renewed = pipe.execute()
        return [p for p, ok in zip(partitions_held, renewed, strict=True) if ok]

    def holds(self, channel: str, partition: int, owner: str) -> bool:
        return _text(self.redis.get(self._lease(channel, partition)) or b"") == owner

    def let_go(self, channel: str, partition: int, owner: str) -> None:
        self._release(keys=[self._lease(channel, partition)], args=[owner])

    def _ensure_group(self, channel: str, partition: int) -> None:
        stream = self.stream(channel, partition)
        if stream in self._groups:
            return
        try:
            self.redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(stream)

    # --- reading -----------------------------------------------------------------------------------

    def unfinished(self, channel: str, partition: int, owner: str, skip: Container[str] = ()) -> list[Entry]:
        """The partition's messages read by a consumer and not finished, oldest first, now `owner`'s
        (a previous holder's are claimed): those due, not those waiting for their next try or whose
        `ref` is in `skip`."""
        stream = self.stream(channel, partition)
        pending: Any = self.redis.xpending_range(stream, GROUP, min="-", max="+", count=UNFINISHED_BATCH)
        wanted = [p for p in pending if f"{channel}:{partition}:{_text(p['message_id'])}" not in skip]
        if not wanted:
            return []
        others: Any = [p["message_id"] for p in wanted if _text(p["consumer"]) != owner]
        with self.redis.pipeline(transaction=False) as pipe:
            if others:
                pipe.xclaim(stream, GROUP, owner, min_idle_time=0, message_ids=others, justid=True)
            for p in wanted:
                pipe.xrange(stream, min=p["message_id"], max=p["message_id"])
            rows = pipe.execute()[1 if others else 0 :]
        entries, gone = [], []
        for p, found in zip(wanted, rows, strict=True):
            if found:
                entry = self._entry(channel, partition, *found[0])
                entries.append(dataclasses.replace(entry, taken_over=_text(p["consumer"]) != owner))
            else:  # trimmed while unfinished (trim keeps them; a hand-made XDEL): nothing left to handle
                gone.append(p["message_id"])
        if gone:
            self.redis.xack(stream, GROUP, *gone)
        with self.redis.pipeline(transaction=False) as pipe:
            for entry in entries:
                pipe.hget(self._state(entry.key), "next_try_at")
            next_tries = pipe.execute()
        now = time.time()
        return [e for e, at in zip(entries, next_tries, strict=True) if float(at or 0) <= now]

    def read(self, channel: str, held: list[int], owner: str, block_ms: int | None, count: int = 100) -> list[Entry]:
        """New messages of the `held` partitions, waiting up to `block_ms` for the first (None: not at
        all). Use a client whose socket timeout is longer than `block_ms`."""
        if not held:
            return []
        streams: Any = {self.stream(channel, p): ">" for p in held}
        answer: Any = self.redis.xreadgroup(GROUP, owner, streams, count=count, block=block_ms) or []
        entries: list[Entry] = []
        for stream, rows in answer:
            partition = int(_text(stream).rsplit(":", 1)[1])
            entries.extend(self._entry(channel, partition, stream_id, fields) for stream_id, fields in rows)
        return entries

    def _entry(self, channel: str, partition: int, stream_id: Any, fields: dict[bytes, bytes]) -> Entry:
        return Entry(
            key=_text(fields[b"key"]),
            channel=channel,
            sender=_text(fields[b"sender"]),
            payload=json.loads(fields[b"payload"]),
            received_at=float(fields[b"at"]),
            partition=partition,
            stream_id=_text(stream_id),
        )

    # --- one message -----------------------------------------------------------------------------

    def claim(self, entry: Entry, owner: str) -> Entry | None:
        """Count one attempt of `entry` before its turn; None when `owner` no longer holds its partition."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self._lease(entry.channel, entry.partition))
            pipe.xpending_range(
                self.stream(entry.channel, entry.partition), GROUP, min=entry.stream_id, max=entry.stream_id, count=1
            )
            holder, pending = pipe.execute()
        if _text(holder or b"") != owner or not pending:  # the partition moved on, or it is finished
            return None
        state = self._state(entry.key)
        with self.redis.pipeline() as pipe:
            pipe.hincrby(state, "attempts", 1)
            pipe.expire(state, int(retention_seconds()))
            pipe.hgetall(state)
            fields = {_text(k): _text(v) for k, v in pipe.execute()[2].items()}
        return dataclasses.replace(
            entry,
            attempts=int(fields.get("attempts", 1)),
            failures=int(fields.get("failures", 0)),
            notified=fields.get("notified") == "1",
            reply=fields.get("reply"),
        )

    def failed(self, entry: Entry, *, counted: bool, retry_in: float) -> None:
        """The try failed: one more failure (the backoff's step), and the next try not before
        `retry_in` seconds; an outage (`counted=False`) gives its attempt back. The entry stays
        unfinished, for whoever holds its partition then."""
        state = self._state(entry.key)
        with self.redis.pipeline() as pipe:
            pipe.hincrby(state, "failures", 1)
            pipe.hset(state, "next_try_at", repr(time.time() + retry_in))
            if not counted:
                pipe.hincrby(state, "attempts", -1)
            pipe.execute()

    def answered(self, entry: Entry, reply: str) -> None:
        self.redis.hset(self._state(entry.key), "reply", reply)

    def mark_notified(self, entry: Entry) -> None:
        with self.redis.pipeline() as pipe:
            pipe.hset(self._state(entry.key), "notified", "1")
            pipe.sadd(self._delayed(entry.channel, entry.sender), entry.key)
            pipe.expire(self._delayed(entry.channel, entry.sender), int(retention_seconds()))
            pipe.execute()

    def sender_notified(self, channel: str, sender: str) -> bool:
        """True when another unfinished message of `sender` has already told them of a delay."""
        return bool(self.redis.scard(self._delayed(channel, sender)))

    def done(self, entry: Entry) -> None:
        with self.redis.pipeline() as pipe:
            pipe.xack(self.stream(entry.channel, entry.partition), GROUP, entry.stream_id)
            pipe.delete(self._state(entry.key))
            pipe.srem(self._delayed(entry.channel, entry.sender), entry.key)
            pipe.execute()

    def give_up(self, entry: Entry, reason: str) -> None:
        """Quarantine the message: it is not tried again, and is kept for staff."""
        body = json.dumps({"key": entry.key, "sender": entry.sender, "payload": entry.payload}, ensure_ascii=False)
        self.quarantine(entry.channel, reason, body.encode())
        self.done(entry)

    # --- upkeep ----------------------------------------------------------------------------------

    def depth(self, channels: Iterable[str]) -> dict[str, int]:
        """How many messages of each channel are not finished (read or not)."""
        counts = {}
        for channel in channels:
            counts[channel] = sum(self._depth(self.stream(channel, p)) for p in range(self.partition_count))
        return counts

    def _depth(self, stream: str) -> int:
        try:
            groups: Any = self.redis.xinfo_groups(stream)
        except ResponseError:  # no such stream: nothing was ever queued here
            return 0
        group = next((g for g in groups if _text(g["name"]) == GROUP), None)
        if group is None:  # queued before any consumer came: all of it is waiting
            return int(self.redis.xlen(stream))
        lag = group.get("lag")
        if lag is None:  # Redis cannot tell after a deletion: count what was not read yet
            unread: Any = self.redis.xrange(stream, min=f"({_text(group['last-delivered-id'])}", max="+")
            lag = len(unread)
        return int(group.get("pending") or 0) + int(lag)

    def trim(self, channel: str) -> None:
        """Drop message text past the retention, but never a message that is not finished."""
        cutoff = int((time.time() - retention_seconds()) * 1000)
        for partition in range(self.partition_count):
            stream = self.stream(channel, partition)
            keep_from = cutoff
            try:
                summary = self.redis.xpending(stream, GROUP)
            except ResponseError:
                continue
            if summary and summary.get("pending"):
                keep_from = min(keep_from, int(_text(summary["min"]).split("-")[0]))
            self.redis.xtrim(stream, minid=keep_from)
        self.redis.xtrim(self._quarantine(channel), minid=cutoff)


class PartitionShare:
    """The partitions of one channel that one consumer holds: its fair share of them, leased.

    `upkeep` (every second or so) announces the consumer, renews its leases, takes free partitions
    up to `ceil(partitions / consumers)` and lets go of those above it that are idle, so that a
    consumer that joins gets its share and one that dies has its share taken within `LEASE_MS`.
    """

    def __init__(self, queue: InboundQueue, channel: str, owner: str) -> None:
        self.queue = queue
        self.channel = channel
        self.owner = owner
        self.held: list[int] = []

    def upkeep(self, busy: Callable[[int], bool]) -> tuple[list[int], list[int]]:
        """The partitions held now, and those lost since the last upkeep (their lease ran out)."""
        live = self.queue.announce(self.channel, self.owner)
        kept = self.queue.renew(self.channel, self.held, self.owner) if self.held else []
        lost = sorted(set(self.held) - set(kept))
        share = -(-self.queue.partition_count // live)
        free = [p for p in range(self.queue.partition_count) if p not in kept]
        random.shuffle(free)  # consumers starting together do not all race for partition 0
        for partition in free:
            if len(kept) >= share:
                break
            if self.queue.acquire(self.channel, partition, self.owner):
                kept.append(partition)
        for partition in sorted(kept, reverse=True):
            if len(kept) <= share:
                break
            if not busy(partition):
                self.queue.let_go(self.channel, partition, self.owner)
                kept.remove(partition)
        return sorted(kept), lost

    def leave(self) -> None:
        """Hand every partition back at once (a clean stop), for the others to take."""
        self.queue.leave(self.channel, self.owner, self.held)
        self.held = []
