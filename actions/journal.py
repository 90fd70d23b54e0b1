"""A durable journal of repair reports accepted in chat while the backend was unreachable.

Each report is written to a local SQLite file (under `POWERDESK_VAR_DIR`, default `var/`) before
the customer is told it was received. A background task of the action server submits pending
reports with the same idempotency key until the backend accepts them, then asks the backend to
push the ticket number to the customer (`report_queued_ticket`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from actions.backend_client import BackendClient, BackendRejected, BackendUnavailable

logger = logging.getLogger(__name__)


def retry_seconds() -> float:
    return float(os.environ.get("POWERDESK_JOURNAL_RETRY_SECONDS", "15"))


RECIPIENT_FIELD = {"wechat": "wechat_openid", "wecom": "wecom_user_id", "sms": "phone"}


@dataclass(frozen=True)
class PendingReport:
    key: str
    report: dict[str, Any]


def journal_path() -> Path:
    return Path(os.environ.get("POWERDESK_VAR_DIR", "var")) / "repair_journal.sqlite3"


class ReportJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS pending_report (key TEXT PRIMARY KEY, report TEXT NOT NULL,"
                " created_at TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
                " ticket_no TEXT, submitted_at TEXT)"
            )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=5.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def add(self, key: str, report: dict[str, Any]) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO pending_report (key, report, created_at) VALUES (?, ?, ?)",
                (key, json.dumps(report, ensure_ascii=False), datetime.now(timezone.utc).isoformat()),
            )

    def pending(self) -> list[PendingReport]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT key, report FROM pending_report WHERE submitted_at IS NULL ORDER BY created_at"
            ).fetchall()
        return [PendingReport(key, json.loads(report)) for key, report in rows]

    def mark_attempt(self, key: str) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE pending_report SET attempts = attempts + 1 WHERE key = ?", (key,))

    def mark_submitted(self, key: str, ticket_no: str | None) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE pending_report SET submitted_at = ?, ticket_no = ? WHERE key = ?",
                (datetime.now(timezone.utc).isoformat(), ticket_no, key),
            )


async def submit_pending(journal: ReportJournal, client: BackendClient) -> int:
    """Submit every pending report once; returns how many the backend accepted."""
    accepted = 0
    for item in journal.pending():
        try:
            result = await client.create_repair_report(item.report, idempotency_key=item.key)
        except BackendUnavailable as exc:
            logger.info("journal: backend still unavailable (%s); %s left", exc, len(journal.pending()))
            journal.mark_attempt(item.key)
            return accepted
        except BackendRejected as exc:
            logger.error("journal: report %s rejected by the backend: %s", item.key, exc.code)
            journal.mark_submitted(item.key, None)
            continue
        ticket_no = result.get("ticket_no")
        journal.mark_submitted(item.key, ticket_no)
        accepted += 1
        await _push_result(client, item, result)
    return accepted


async def _push_result(client: BackendClient, item: PendingReport, result: dict[str, Any]) -> None:
    """Tell the customer the ticket number. A report attached to a known outage needs no push
    from here: the backend notifies everyone attached to the outage."""
    ticket_no = result.get("ticket_no")
    if not ticket_no:
        return
    field = RECIPIENT_FIELD.get(item.report.get("channel", ""), "wechat_openid")
    notification = {
        "recipient": {field: item.report.get("sender_id")},
        "template": "report_queued_ticket",
        "params": {"ticket_no": ticket_no},
        "dedup_key": f"report_queued:{item.key}:{ticket_no}",
    }
    try:
        await client.notify(notification)
    except (BackendUnavailable, BackendRejected) as exc:
        logger.warning("journal: report %s submitted but its push failed: %s", item.key, exc)


class JournalRetrier:
    """Keeps one background task per action-server process that drains the journal."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._resumed = False

    def resume_after_restart(self, client: BackendClient) -> None:
        """Once per process: reports left pending by a previous action server are retried too."""
        if self._resumed:
            return
        self._resumed = True
        if journal_path().exists():
            journal = ReportJournal(journal_path())
            if journal.pending():
                logger.info("journal: %s reports pending from before the restart", len(journal.pending()))
                self.ensure_running(journal, client)

    def ensure_running(self, journal: ReportJournal, client: BackendClient) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(journal, client))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _loop(self, journal: ReportJournal, client: BackendClient) -> None:
        while journal.pending():
            await asyncio.sleep(retry_seconds())
            try:
                await submit_pending(journal, client)
            except Exception:  # the retry loop must survive anything and try again later
                logger.exception("journal: retry round failed")


retrier = JournalRetrier()
