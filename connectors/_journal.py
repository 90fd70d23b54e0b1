"""The durable inbound journal: an accepted platform message is written here before it is acked.

A SQLite file (stdlib `sqlite3`, WAL) under the var directory (`POWERDESK_VAR_DIR`, default
`<repo>/var`). Its unique message key is also the durable dedup: a platform retry of a message
already journalled is acked and not processed again, across restarts. Entries stay `pending` until
their Rasa turn has finished; `pending()` lists them so the channel replays them on startup.
It also keeps the nonces seen within the timestamp window (replay protection) and quarantines
signed-but-malformed bodies for inspection.

Used by the WeChat, WeCom and SMS channels and by the webhook gateway, which journals in another
process what the rasa server then reads with `since` (SQLite in WAL mode serves both); no rasa
import.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
KEEP_DONE_SECONDS = 7 * 24 * 3600
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
    attempts: int
    state: str


def _entry(row: tuple[Any, ...]) -> Entry:
    key, channel, sender, payload, received_at, attempts, state = row[:7]
    return Entry(key, channel, sender, json.loads(payload), received_at, attempts, state)


class Journal:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self._lock = threading.Lock()
        self._db = open_local(self.path)
        self._db.executescript(_SCHEMA)
        self._writes = 0

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

    def done(self, key: str) -> None:
        with self._lock:
            self._db.execute("UPDATE inbound SET state = 'done' WHERE key = ?", (key,))

    def failed(self, key: str) -> None:
        """The turn failed: the entry stays pending (replayed at the next start) with one more attempt."""
        with self._lock:
            self._db.execute("UPDATE inbound SET attempts = attempts + 1 WHERE key = ?", (key,))

    def give_up(self, key: str) -> None:
        with self._lock:
            self._db.execute("UPDATE inbound SET state = 'failed' WHERE key = ?", (key,))

    def state(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT state FROM inbound WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def pending(self, channel: str, up_to: int | None = None) -> list[Entry]:
        """Every entry not yet handled, oldest first (the gateway may have acked thousands while the
        rasa server was down); only those journalled by row `up_to` if given."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, channel, sender, payload, received_at, attempts, state FROM inbound"
                " WHERE channel = ? AND state = 'pending' AND rowid <= ? ORDER BY received_at, rowid",
                (channel, up_to if up_to is not None else 2**63 - 1),
            ).fetchall()
        return [_entry(r) for r in rows]

    def last_row(self) -> int:
        """Where the journal ends now: `since(channel, last_row())` returns what is journalled after."""
        with self._lock:
            return int(self._db.execute("SELECT coalesce(max(rowid), 0) FROM inbound").fetchone()[0])

    def since(self, channel: str, after: int, limit: int = 500) -> list[tuple[int, Entry]]:
        """Every entry of `channel` journalled after row `after`, whatever its state, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, channel, sender, payload, received_at, attempts, state, rowid FROM inbound"
                " WHERE rowid > ? AND channel = ? ORDER BY rowid LIMIT ?",
                (after, channel, limit),
            ).fetchall()
        return [(r[7], _entry(r)) for r in rows]

    def quarantined(self, channel: str) -> list[tuple[str, bytes]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT reason, body FROM quarantine WHERE channel = ? ORDER BY id", (channel,)
            ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _count_write(self) -> None:
        self._writes += 1
        if self._writes % PRUNE_EVERY:
            return
        now = time.time()
        self._db.execute("DELETE FROM nonce WHERE seen_at < ?", (now - KEEP_NONCE_SECONDS,))
        self._db.execute("DELETE FROM inbound WHERE state != 'pending' AND received_at < ?", (now - KEEP_DONE_SECONDS,))
        self._db.execute("DELETE FROM quarantine WHERE received_at < ?", (now - KEEP_DONE_SECONDS,))
