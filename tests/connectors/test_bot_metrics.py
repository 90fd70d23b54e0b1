"""The bot-env processes' series (connectors/metrics.py): the queue depth is read from the journal at
each scrape, by channel, with the channels asked for present at 0; a scrape carries the process's
series and the collectors it is given."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from connectors import metrics
from connectors._journal import Journal
from tests.support.scrape import samples, value


def test_the_queue_depth_is_the_journals_pending_entries_read_at_each_scrape(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "inbound-journal.sqlite3")
    for n in range(3):
        journal.accept(f"wx:app:{n}", "wechat", f"o_{n}", {"Content": "停电了"})
    journal.accept("sms:aliyun:1", "sms", "13800000001", {"text": "停电了"})
    queue = metrics.QueueDepth(journal, ["wechat", "wecom", "sms"])

    found = samples(metrics.exposition(queue)[0].decode())
    depth = {
        dict(labels)["channel"]: v for (name, labels), v in found.items() if name == "powerdesk_inbound_queue_depth"
    }
    assert depth == {"wechat": 3, "wecom": 0, "sms": 1}

    journal.done("wx:app:0")
    journal.give_up("wx:app:1")
    journal.accept("wecom:corp:1:9", "wecom", "wg_1", {"Content": "接单"})
    again = samples(metrics.exposition(queue)[0].decode())
    assert value(again, "powerdesk_inbound_queue_depth", channel="wechat") == 1
    assert value(again, "powerdesk_inbound_queue_depth", channel="wecom") == 1


def test_a_scrape_declares_every_bot_side_series_in_prometheus_text() -> None:
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    declared = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {
        "powerdesk_inbound_messages",
        "powerdesk_ack_duration_seconds",
        "powerdesk_turns",
        "powerdesk_turn_duration_seconds",
        "powerdesk_nlu_fallbacks",
        "powerdesk_action_runs",
        "powerdesk_action_duration_seconds",
    } <= declared
