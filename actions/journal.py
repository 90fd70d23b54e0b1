"""A durable journal of the writes the assistant promised while the backend was unreachable.

A repair report, a complaint or a rating the customer was told is taken is written to a local
SQLite file (under `POWERDESK_VAR_DIR`, default `var/`) before the reply is sent. A background task
of the action server submits what is pending with the same idempotency key until the backend
accepts it, then has the backend tell the customer the ticket number (`ticket_dispatched`, with
the arrival time, when a worker was assigned, else `report_queued_ticket`; `complaint_queued_ticket`),
each call under the request id of the message that asked for the write (its key). A write the
backend refuses is set aside with an ALERT.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from clients import request_ids
from clients.backend import BackendClient, BackendRejected, BackendUnavailable

logger = logging.getLogger(__name__)

RECIPIENT_FIELD = {"wechat": "wechat_openid", "wecom": "wecom_user_id", "sms": "phone"}


def retry_seconds() -> float:
    return float(os.environ.get("POWERDESK_JOURNAL_RETRY_SECONDS", "15"))


def journal_path() -> Path:
    return Path(os.environ.get("POWERDESK_VAR_DIR", "var")) / "repair_journal.sqlite3"


@dataclass(frozen=True)
class PendingWrite:
    key: str
    kind: str
    payload: dict[str, Any]


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS pending_write (key TEXT PRIMARY KEY, kind TEXT NOT NULL,"
                " payload TEXT NOT NULL, created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
                " result TEXT, submitted_at TEXT)"
            )
            self._adopt_old_reports(conn)

    @staticmethod
    def _adopt_old_reports(conn: sqlite3.Connection) -> None:
        """Reports an action server of the previous version left pending (table `pending_report`)."""
        old = conn.execute("SELECT name FROM sqlite_master WHERE name = 'pending_report'").fetchone()
        if old is None:
            return
        conn.execute(
            "INSERT OR IGNORE INTO pending_write (key, kind, payload, created_at) SELECT key, 'repair_report',"
            " report, created_at FROM pending_report WHERE submitted_at IS NULL"
        )
        conn.execute("DROP TABLE pending_report")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=5.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def add(self, key: str, kind: str, payload: dict[str, Any]) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pending_write (key, kind, payload, created_at) VALUES (?, ?, ?, ?)",
                (key, kind, json.dumps(payload, ensure_ascii=False), datetime.now(timezone.utc).isoformat()),
            )

    def pending(self) -> list[PendingWrite]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key, kind, payload FROM pending_write WHERE submitted_at IS NULL ORDER BY created_at"
            ).fetchall()
        return [PendingWrite(key, kind, json.loads(payload)) for key, kind, payload in rows]

    def mark_attempt(self, key: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE pending_write SET attempts = attempts + 1 WHERE key = ?", (key,))

    def mark_submitted(self, key: str, result: str | None) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE pending_write SET submitted_at = ?, result = ? WHERE key = ?",
                (datetime.now(timezone.utc).isoformat(), result, key),
            )


Submit = Callable[[BackendClient, PendingWrite], Awaitable[str | None]]


async def _repair_report(client: BackendClient, item: PendingWrite) -> str | None:
    result = await client.create_repair_report(item.payload, idempotency_key=item.key)
    ticket_no, deadline = result.get("ticket_no"), result.get("deadline")
    if ticket_no and result.get("outcome") != "attached_to_outage":
        # the backend pushes nothing of a report made in a chat: this message tells the ticket
        if deadline:
            await _tell(client, item, "ticket_dispatched", {"ticket_no": ticket_no, "deadline": deadline})
        else:
            await _tell(client, item, "report_queued_ticket", {"ticket_no": ticket_no})
    return str(ticket_no) if ticket_no else None


async def _complaint(client: BackendClient, item: PendingWrite) -> str | None:
    ticket = await client.create_complaint(item.payload, idempotency_key=item.key)
    params = {"ticket_no": ticket.get("ticket_no"), "contact_deadline": ticket.get("contact_deadline")}
    await _tell(client, item, "complaint_queued_ticket", params)
    return str(ticket.get("ticket_no"))


async def _rating(client: BackendClient, item: PendingWrite) -> str | None:
    await client.rate_ticket(item.payload["ticket_no"], int(item.payload["score"]))
    return str(item.payload["ticket_no"])


SUBMITTERS: dict[str, Submit] = {"repair_report": _repair_report, "complaint": _complaint, "rating": _rating}


async def _tell(client: BackendClient, item: PendingWrite, template: str, params: dict[str, Any]) -> None:
    """Tell the customer what became of what they were promised, through the push pipeline."""
    field = RECIPIENT_FIELD.get(item.payload.get("channel", ""), "wechat_openid")
    notification = {
        "recipient": {field: item.payload.get("sender_id")},
        "template": template,
        "params": params,
        "dedup_key": f"journal:{item.key}:{template}",
    }
    try:
        await client.notify(notification)
    except (BackendUnavailable, BackendRejected) as exc:
        logger.warning("journal: %s %s submitted but its push failed: %s", item.kind, item.key, exc)


async def submit_pending(journal: Journal, client: BackendClient) -> int:
    """Submit every pending write once, oldest first; returns how many the backend accepted."""
    accepted = 0
    for item in journal.pending():
        submit = SUBMITTERS.get(item.kind)
        if submit is None:
            logger.error("ALERT journal: %s has an unknown kind %s; set aside", item.key, item.kind)
            journal.mark_submitted(item.key, None)
            continue
        try:
            result = await submit(client.with_request_id(request_ids.of_message(item.key)), item)
        except BackendUnavailable as exc:
            logger.info("journal: backend still unavailable (%s)", exc)
            journal.mark_attempt(item.key)
            return accepted
        except BackendRejected as exc:
            logger.error("ALERT journal: %s %s rejected by the backend: %s", item.kind, item.key, exc.code)
            journal.mark_submitted(item.key, None)
            continue
        journal.mark_submitted(item.key, result)
        accepted += 1
    return accepted


class JournalRetrier:
    """Keeps one background task per action-server process that drains the journal."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._resumed = False

    def resume_after_restart(self, client: BackendClient) -> None:
        """Once per process: writes left pending by a previous action server are retried too."""
        if self._resumed:
            return
        self._resumed = True
        if journal_path().exists():
            journal = Journal(journal_path())
            if journal.pending():
                logger.info("journal: %s writes pending from before the restart", len(journal.pending()))
                self.ensure_running(journal, client)

    def ensure_running(self, journal: Journal, client: BackendClient) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(journal, client))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _loop(self, journal: Journal, client: BackendClient) -> None:
        while journal.pending():
            await asyncio.sleep(retry_seconds())
            try:
                await submit_pending(journal, client)
            except Exception:  # the retry loop must survive anything and try again later
                logger.exception("journal: retry round failed")


retrier = JournalRetrier()


class Keeper:
    """The dialogue's `WriteJournal`: keep a promised write, and make sure it is retried."""

    def __init__(self, client: BackendClient) -> None:
        self._client = client

    def keep(self, kind: str, payload: dict[str, Any], key: str) -> None:
        journal = Journal(journal_path())
        journal.add(key, kind, payload)
        retrier.ensure_running(journal, self._client)
