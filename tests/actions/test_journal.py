"""The journal of promised writes (actions/journal.py): what the customer was told is taken while
the backend was down is submitted later with the same key, and the customer told what became of it."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from actions.journal import Journal, JournalRetrier, journal_path, submit_pending
from clients.backend import BackendClient
from tests.actions.conftest import Backend, World


def client(actions_env: Backend) -> BackendClient:
    return BackendClient(actions_env.url, actions_env.env["POWERDESK_ACTIONS_TOKEN"])


async def test_a_report_and_a_complaint_are_submitted_later_and_their_numbers_pushed(
    world: World, actions_env: Backend
) -> None:
    journal = Journal(journal_path())
    base = {"channel": "wechat", "sender_id": world.openid, "account_no": world.account_no}
    journal.add(
        "wx:test:report-" + world.account_no, "repair_report", base | {"description": "没电了", "kind": "repair"}
    )
    journal.add("wx:test:complaint-" + world.account_no, "complaint", base | {"description": "抢修太慢，等了三个小时"})
    assert [p.kind for p in Journal(journal_path()).pending()] == ["repair_report", "complaint"]  # survives a restart
    assert await submit_pending(journal, client(actions_env)) == 2
    assert journal.pending() == []
    tickets = actions_env.admin("GET", f"/tickets?account_no={world.account_no}")
    assert sorted(t["kind"] for t in tickets) == ["complaint", "repair"]
    pending = actions_env.admin("GET", "/notifications?status=pending&limit=1000")
    told = sorted(
        n["template"]
        for n in pending
        if n["dedup_key"].startswith("journal:wx:test:") and world.account_no in n["dedup_key"]
    )
    # a worker was assigned: the customer hears the ticket with its arrival time, once (the backend
    # pushes nothing of a report made in a chat)
    assert told == ["complaint_queued_ticket", "ticket_dispatched"]
    (repair_no,) = [t["ticket_no"] for t in tickets if t["kind"] == "repair"]
    assert not [n for n in pending if n["dedup_key"].startswith(f"ticket:{repair_no}:dispatched")]
    assert await submit_pending(journal, client(actions_env)) == 0, "nothing is submitted twice"


async def test_a_write_the_backend_refuses_is_set_aside(world: World, actions_env: Backend) -> None:
    journal = Journal(journal_path())
    journal.add(
        "wx:test:bad-" + world.account_no,
        "repair_report",
        {"channel": "wechat", "sender_id": world.openid, "account_no": "3999999999", "description": "停电"},
    )
    await submit_pending(journal, client(actions_env))
    assert journal.pending() == []


async def test_reports_left_by_the_previous_version_are_adopted_and_retried(
    world: World, actions_env: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An action server of the previous version left a report in its `pending_report` table."""
    monkeypatch.setenv("POWERDESK_JOURNAL_RETRY_SECONDS", "0.1")
    path = journal_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE pending_report (key TEXT PRIMARY KEY, report TEXT NOT NULL, created_at TEXT NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, ticket_no TEXT, submitted_at TEXT)"
        )
        report = json.dumps(
            {"channel": "wechat", "sender_id": world.openid, "description": "没电", "account_no": world.account_no}
        )
        conn.execute(
            "INSERT INTO pending_report (key, report, created_at) VALUES (?, ?, '2026-12-01T00:00:00')",
            ("wx:test:old-" + world.account_no, report),
        )
    fresh = JournalRetrier()
    fresh.resume_after_restart(client(actions_env))
    for _ in range(50):
        if not Journal(path).pending():
            break
        await asyncio.sleep(0.1)
    fresh.stop()
    assert Journal(path).pending() == []
    assert len(actions_env.admin("GET", f"/tickets?account_no={world.account_no}&open=true")) == 1
