"""The durable inbound journal: dedup across restarts, replay of unfinished turns, nonces."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from connectors._journal import Journal


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
    journal.failed("k2")
    del journal  # no close: as if the process died
    pending = Journal(tmp_path / "j.sqlite3").pending("wechat")
    assert [(e.key, e.payload, e.attempts) for e in pending] == [("k2", {"n": 2}, 1)]


def test_give_up_and_state(tmp_path: Path) -> None:
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
