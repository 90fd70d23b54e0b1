"""The durable inbound journal: an accepted platform message is written here before it is acked.

A SQLite file (stdlib `sqlite3`, WAL) under the var directory (`POWERDESK_VAR_DIR`, default
`<repo>/var`). Its unique message key is also the durable dedup: a platform retry of a message
already journalled is acked and not processed again, across restarts. It also keeps the nonces
seen within the timestamp window (replay protection) and quarantines signed-but-malformed bodies.

An entry stays `pending` until its turn has run and its reply has been handed over, then `done`;
`failed` when it was quarantined (RELIABILITY rows 42-44):

- `claim` gives one process the entry for a lease (`owner`, `lease_until`), and counts the attempt
  before the turn starts, so a message that crashes the process is counted too; another process
  (a second rasa server on the same journal) cannot claim it while the lease holds and its owner
  lives (`due` lists what is free: unowned, lease run out, or owner dead on this host);
- `release` hands it back with a time for the next try (backoff) and, when the failure was an
  outage rather than the message (action server or backend down), the attempt refunded;
- `answered` keeps the reply of a turn that ran, so that only its delivery is retried.

Message text is kept `POWERDESK_MESSAGE_RETENTION_HOURS` (default 24) after the entry is settled,
pending entries until they are. Used by the channels and by the webhook gateway, which journals in
another process what the rasa server then reads with `since` (SQLite in WAL mode serves both); no
rasa import.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors._settings import retention_seconds

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
KEEP_NONCE_SECONDS = 900
PRUNE_EVERY = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbound (
    key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    sender TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS inbound_pending ON inbound (channel, state, received_at);
CREATE TABLE IF NOT EXISTS nonce (
    channel TEXT NOT NULL,
    value TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (channel, value)
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    reason TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at REAL NOT NULL
);
"""


# Added with claims and retries; ALTERed into journals written before them.
_LATER_COLUMNS = {
    "owner": "TEXT",
    "lease_until": "REAL NOT NULL DEFAULT 0",
    "next_try_at": "REAL NOT NULL DEFAULT 0",
    "failures": "INTEGER NOT NULL DEFAULT 0",
    "notified": "INTEGER NOT NULL DEFAULT 0",
    "reply": "TEXT",
}
_COLUMNS = (
    "key, channel, sender, payload, received_at, attempts, state,"
    " owner, lease_until, next_try_at, failures, notified, reply"
)


def new_owner() -> str:
    """This process's name as the holder of claims: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def owner_alive(owner: str) -> bool:
    """False only when `owner` is a process of this host that is gone."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def var_dir() -> Path:
    """Where the rasa server keeps its local state (`POWERDESK_VAR_DIR`, default `<repo>/var`)."""
    return Path(os.environ.get("POWERDESK_VAR_DIR") or ROOT / "var")


def default_path() -> Path:
    return var_dir() / "inbound-journal.sqlite3"


def open_local(path: Path) -> sqlite3.Connection:
    """A local state file of the rasa server, shared by its threads (each caller keeps a lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5)
    # WAL + NORMAL: a committed row survives a crash of this process (not of the machine's power).
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


@dataclass(frozen=True)
class Entry:
    key: str
    channel: str
    sender: str
    payload: dict[str, Any]
    received_at: float
    #: attempts counted against the message (turns that failed on it, or crashed)
    attempts: int
    state: str
    owner: str | None = None
    lease_until: float = 0.0
    next_try_at: float = 0.0
    #: every failed try, outages included: the backoff's step
    failures: int = 0
    #: the customer has been told that the answer is delayed
    notified: bool = False
    #: the reply of a turn that ran, waiting to be handed over
    reply: str | None = None


def _entry(row: tuple[Any, ...]) -> Entry:
    key, channel, sender, payload, received_at, attempts, state, owner, lease, next_try, failures, notified, reply = (
        row[:13]
    )
    return Entry(key, channel, sender, json.loads(payload), received_at, attempts, state, owner, lease, next_try,
                 failures, bool(notified), reply)  # fmt: skip


class Journal:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self._lock = threading.Lock()
        self._db = open_local(self.path)
        self._db.executescript(_SCHEMA)
        present = {row[1] for row in self._db.execute("PRAGMA table_info(inbound)")}
        for column, kind in _LATER_COLUMNS.items():
            if column not in present:
                self._db.execute(f"ALTER TABLE inbound ADD COLUMN {column} {kind}")
        self._writes = 0
        self.prune()

    def accept(self, key: str, channel: str, sender: str, payload: dict[str, Any]) -> bool:
        """Journal a message; False when its key is already there (a duplicate)."""
        row = (key, channel, sender, json.dumps(payload, ensure_ascii=False), time.time())
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO inbound (key, channel, sender, payload, received_at) VALUES (?, ?, ?, ?, ?)",
                row,
            )
            self._count_write()
            return cursor.rowcount == 1

    def first_nonce(self, channel: str, value: str) -> bool:
        """Record a (timestamp, nonce) pair; False when it was already seen (a replay)."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO nonce (channel, value, seen_at) VALUES (?, ?, ?)",
                (channel, value, time.time()),
            )
            self._count_write()
            return cursor.rowcount == 1

    def quarantine(self, channel: str, reason: str, body: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO quarantine (channel, reason, body, received_at) VALUES (?, ?, ?, ?)",
                (channel, reason, body, time.time()),
            )

    def claim(self, key: str, owner: str, lease_seconds: float, *, seen_owner: str | None = None) -> Entry | None:
        """Take `key` for `owner` for `lease_seconds` and count one attempt; None when it is settled,
        not due yet, or held by another live owner (`seen_owner`: a dead holder found by `due`)."""
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "UPDATE inbound SET owner = ?, lease_until = ?, attempts = attempts + 1"
                " WHERE key = ? AND state = 'pending' AND next_try_at <= ?"
                " AND (owner IS NULL OR owner = ? OR owner = ? OR lease_until < ?)",
                (owner, now + lease_seconds, key, now, owner, seen_owner, now),
            )
            if cursor.rowcount != 1:
                return None
            row = self._db.execute(f"SELECT {_COLUMNS} FROM inbound WHERE key = ?", (key,)).fetchone()
        return _entry(row)

    def release(self, key: str, owner: str, *, retry_in: float, counted: bool) -> None:
        """The try failed: free the entry for another try in `retry_in` seconds; an outage
        (`counted=False`) gives its attempt back."""
        with self._lock:
            self._db.execute(
                "UPDATE inbound SET owner = NULL, lease_until = 0, next_try_at = ?, failures = failures + 1,"
                " attempts = attempts - ? WHERE key = ? AND owner = ?",
                (time.time() + retry_in, 0 if counted else 1, key, owner),
            )

    def answered(self, key: str, reply: str) -> None:
        with self._lock:
            self._db.execute("UPDATE inbound SET reply = ? WHERE key = ?", (reply, key))

    def mark_notified(self, key: str) -> None:
        with self._lock:
            self._db.execute("UPDATE inbound SET notified = 1 WHERE key = ?", (key,))

    def sender_notified(self, channel: str, sender: str) -> bool:
        """True when another pending message of `sender` has already told them of a delay."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM inbound WHERE channel = ? AND sender = ? AND state = 'pending' AND notified = 1 LIMIT 1",
                (channel, sender),
            ).fetchone()
        return row is not None

    def done(self, key: str) -> None:
        with self._lock:
            self._db.execute("UPDATE inbound SET state = 'done', owner = NULL, reply = NULL WHERE key = ?", (key,))

    def give_up(self, key: str) -> None:
        """Quarantine the message: it is not tried again."""
        with self._lock:
            self._db.execute("UPDATE inbound SET state = 'failed', owner = NULL WHERE key = ?", (key,))

    def state(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM inbound WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def entry(self, key: str) -> Entry | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM inbound WHERE key = ?", (key,)).fetchone()
        return _entry(row) if row else None

    def pending(self, channel: str, up_to: int | None = None) -> list[Entry]:
        """Every entry not yet handled, oldest first (the gateway may have acked thousands while the
        rasa server was down); only those journalled by row `up_to` if given."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM inbound"
                " WHERE channel = ? AND state = 'pending' AND rowid <= ? ORDER BY received_at, rowid",
                (channel, up_to if up_to is not None else 2**63 - 1),
            ).fetchall()
        return [_entry(r) for r in rows]

    def pending_counts(self, channels: Iterable[str]) -> dict[str, int]:
        """How many entries of each of `channels` are not yet handled (0 for none)."""
        wanted = list(channels)
        with self._lock:
            rows = self._db.execute(
                f"SELECT channel, count(*) FROM inbound WHERE state = 'pending'"
                f" AND channel IN ({', '.join('?' * len(wanted))}) GROUP BY channel",
                wanted,
            ).fetchall()
        return dict.fromkeys(wanted, 0) | {channel: count for channel, count in rows}

    def due(self, channel: str, owner: str) -> list[tuple[str, str, str | None]]:
        """The pending entries `owner` may claim now, oldest first: (key, sender, the dead holder it
        takes over, None when the entry is free or `owner`'s own)."""
        now = time.time()
        with self._lock:
            rows = self._db.execute(
                "SELECT key, sender, owner, lease_until FROM inbound"
                " WHERE channel = ? AND state = 'pending' AND next_try_at <= ? ORDER BY received_at, rowid",
                (channel, now),
            ).fetchall()
        found: list[tuple[str, str, str | None]] = []
        for key, sender, holder, lease_until in rows:
            if holder is None or holder == owner or lease_until < now:
                found.append((key, sender, None))
            elif not owner_alive(holder):
                found.append((key, sender, holder))
        return found

    def last_row(self) -> int:
        """Where the journal ends now: `since(channel, last_row())` returns what is journalled after."""
        with self._lock:
            return int(self._db.execute("SELECT coalesce(max(rowid), 0) FROM inbound").fetchone()[0])

    def since(self, channel: str, after: int, limit: int = 500) -> list[tuple[int, Entry]]:
        """Every entry of `channel` journalled after row `after`, whatever its state, in order."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS}, rowid FROM inbound WHERE rowid > ? AND channel = ? ORDER BY rowid LIMIT ?",
                (after, channel, limit),
            ).fetchall()
        return [(r[13], _entry(r)) for r in rows]

    def quarantined(self, channel: str) -> list[tuple[str, bytes]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT reason, body FROM quarantine WHERE channel = ? ORDER BY id", (channel,)
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def prune(self) -> None:
        """Forget old nonces, and settled messages and quarantined bodies past the retention."""
        with self._lock:
            self._prune()

    def _prune(self) -> None:
        now = time.time()
        kept_since = now - retention_seconds()
        self._db.execute("DELETE FROM nonce WHERE seen_at < ?", (now - KEEP_NONCE_SECONDS,))
        self._db.execute("DELETE FROM inbound WHERE state != 'pending' AND received_at < ?", (kept_since,))
        self._db.execute("DELETE FROM quarantine WHERE received_at < ?", (kept_since,))

    def _count_write(self) -> None:
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self._prune()
