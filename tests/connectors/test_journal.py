"""The durable inbound journal: dedup across restarts, replay of unfinished turns, nonces."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from pathlib import Path

from connectors._journal import Journal, new_owner


def test_a_key_is_accepted_once_even_after_a_restart(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    assert journal.accept("wx:app:1", "wechat", "o_u", {"Content": "停电了"})
    assert not journal.accept("wx:app:1", "wechat", "o_u", {"Content": "停电了"})
    journal.close()
    reopened = Journal(tmp_path / "j.sqlite3")
    assert not reopened.accept("wx:app:1", "wechat", "o_u", {"Content": "停电了"})
    assert reopened.accept("wx:app:2", "wechat", "o_u", {"Content": "还没来电"})


def test_pending_entries_survive_a_crash_and_are_listed_in_order(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.accept("k1", "wechat", "o_u", {"n": 1})
    journal.accept("k2", "wechat", "o_u", {"n": 2})
    journal.accept("k3", "wecom", "wg", {"n": 3})
    journal.done("k1")
    assert journal.claim("k2", "host:1:a", 60) is not None
    del journal  # no close: as if the process died during the turn of k2
    pending = Journal(tmp_path / "j.sqlite3").pending("wechat")
    assert [(e.key, e.payload, e.attempts) for e in pending] == [("k2", {"n": 2}, 1)]


def test_give_up_quarantines(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.accept("k", "wechat", "o_u", {})
    assert journal.state("k") == "pending"
    journal.give_up("k")
    assert journal.state("k") == "failed" and journal.pending("wechat") == []
    assert journal.state("unknown") is None


def test_row6_nonce_seen_twice_is_a_replay(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    assert journal.first_nonce("wechat", "1714037059:486452656")
    assert not journal.first_nonce("wechat", "1714037059:486452656")
    assert journal.first_nonce("wecom", "1714037059:486452656")


def test_quarantine_keeps_the_body(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.quarantine("wechat", "duplicate field MsgType", b"<xml>...</xml>")
    assert journal.quarantined("wechat") == [("duplicate field MsgType", b"<xml>...</xml>")]


def test_default_location_follows_powerdesk_var_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POWERDESK_VAR_DIR", str(tmp_path))
    journal = Journal()
    journal.accept("k", "sms", "13800000000", {})
    assert (tmp_path / "inbound-journal.sqlite3").exists()
    with sqlite3.connect(tmp_path / "inbound-journal.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_what_another_process_journals_is_read_after_the_last_row_seen(tmp_path: Path) -> None:
    """The rasa server follows what the webhook gateway journals: every entry of its channel after
    the row it last saw, once, in order, with its state (connectors/wechat/channel.py)."""
    gateway, server = Journal(tmp_path / "j.sqlite3"), Journal(tmp_path / "j.sqlite3")
    gateway.accept("old", "wechat", "o_u", {"n": 0})
    start = server.last_row()
    assert [e.key for e in server.pending("wechat", up_to=start)] == ["old"]
    gateway.accept("k1", "wechat", "o_u", {"n": 1})
    gateway.accept("w1", "wecom", "wg", {"n": 2})
    gateway.accept("k2", "wechat", "o_v", {"n": 3})
    server.done("k1")
    assert server.pending("wechat", up_to=start) == [e for e in server.pending("wechat") if e.key == "old"]
    seen = server.since("wechat", start)
    assert [(e.key, e.payload, e.state) for _, e in seen] == [("k1", {"n": 1}, "done"), ("k2", {"n": 3}, "pending")]
    assert server.since("wechat", seen[-1][0]) == []
    assert [e.key for _, e in server.since("wecom", start)] == ["w1"]


def test_every_pending_entry_is_replayed_however_many_the_gateway_took(tmp_path: Path) -> None:
    """While the rasa server is down the gateway keeps acking: at the next start all of them are due."""
    journal = Journal(tmp_path / "j.sqlite3")
    for n in range(1200):
        journal.accept(f"k{n}", "wechat", f"o_{n % 40}", {"n": n})
    journal.done("k0")
    pending = journal.pending("wechat")
    assert len(pending) == 1199 and [e.payload["n"] for e in pending] == list(range(1, 1200))


def test_row44_a_claimed_entry_is_taken_by_one_process_only(tmp_path: Path) -> None:
    """Two rasa servers following one journal: the second cannot claim what the first holds."""
    first, second = Journal(tmp_path / "j.sqlite3"), Journal(tmp_path / "j.sqlite3")
    first.accept("k", "wechat", "o_u", {"n": 1})
    me, other = new_owner(), new_owner()
    assert first.claim("k", me, 60) is not None
    assert second.claim("k", other, 60) is None
    assert second.due("wechat", other) == []  # held by a live owner
    first.done("k")
    assert second.claim("k", other, 60) is None  # settled


def test_the_entry_of_a_dead_owner_is_taken_over(tmp_path: Path) -> None:
    """A rasa server killed during a turn: its lease holds, but its pid is gone on this host."""
    journal = Journal(tmp_path / "j.sqlite3")
    journal.accept("k", "wechat", "o_u", {"n": 1})
    dead = f"{socket.gethostname()}:{dead_pid()}:abc"
    assert journal.claim("k", dead, 600) is not None
    mine = new_owner()
    ((_key, _sender, seen),) = journal.due("wechat", mine)
    assert seen == dead
    taken = journal.claim("k", mine, 60, seen_owner=seen)
    assert taken is not None and taken.attempts == 2  # the crashed try counts


def test_release_backs_off_and_refunds_an_outage(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.accept("k", "wechat", "o_u", {"n": 1})
    owner = new_owner()
    assert journal.claim("k", owner, 60).attempts == 1  # type: ignore[union-attr]
    journal.release("k", owner, retry_in=30, counted=False)
    assert journal.claim("k", owner, 60) is None and journal.due("wechat", owner) == []  # not due for 30 s
    entry = journal.entry("k")
    assert entry is not None and entry.attempts == 0 and entry.failures == 1 and entry.owner is None
    journal.release("k", owner, retry_in=0, counted=True)  # not the holder any more: nothing changes
    assert journal.entry("k") == entry


def test_answered_keeps_the_reply_and_notices_are_per_sender(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.accept("k1", "sms", "13800000001", {})
    journal.accept("k2", "sms", "13800000001", {})
    journal.answered("k1", "您好")
    assert journal.entry("k1").reply == "您好"  # type: ignore[union-attr]
    assert not journal.sender_notified("sms", "13800000001")
    journal.mark_notified("k1")
    assert journal.sender_notified("sms", "13800000001") and not journal.sender_notified("sms", "13900000000")
    journal.done("k1")
    assert journal.entry("k1").reply is None and not journal.sender_notified("sms", "13800000001")  # type: ignore[union-attr]


def test_message_text_is_kept_for_the_retention_only(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """POWERDESK_MESSAGE_RETENTION_HOURS: settled entries older than it are deleted, pending ones kept."""
    monkeypatch.setenv("POWERDESK_MESSAGE_RETENTION_HOURS", "1")
    journal = Journal(tmp_path / "j.sqlite3")
    for key in ("old-done", "old-pending", "new-done"):
        journal.accept(key, "wechat", "o_u", {"Content": "我家停电了"})
    journal.done("old-done")
    journal.done("new-done")
    journal.quarantine("wechat", "bad", b"<xml/>")
    with sqlite3.connect(tmp_path / "j.sqlite3") as db:
        db.execute("UPDATE inbound SET received_at = received_at - 7200 WHERE key LIKE 'old-%'")
        db.execute("UPDATE quarantine SET received_at = received_at - 7200")
    journal.prune()
    assert journal.state("old-done") is None and journal.state("old-pending") == "pending"
    assert journal.state("new-done") == "done" and journal.quarantined("wechat") == []


def test_a_journal_of_the_first_version_gains_the_new_columns(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "j.sqlite3") as db:
        db.execute(
            "CREATE TABLE inbound (key TEXT PRIMARY KEY, channel TEXT NOT NULL, sender TEXT NOT NULL,"
            " payload TEXT NOT NULL, received_at REAL NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
            " attempts INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute(
            "INSERT INTO inbound (key, channel, sender, payload, received_at) VALUES ('k', 'wechat', 'o', '{}', 0)"
        )
    journal = Journal(tmp_path / "j.sqlite3")
    assert journal.claim("k", new_owner(), 60) is not None


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
