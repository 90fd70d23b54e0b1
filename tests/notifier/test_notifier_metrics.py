"""A notifier process's `/metrics` listener and JSON log lines: a push written by the backend under a
request id is delivered by the notifier, counted by channel and outcome, and its log line carries
the same request id."""

from __future__ import annotations

import json

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from backend.core.config import Settings
from backend.main import create_app
from scripts.stack import free_port
from tests.backend.conftest import TOKENS, bearer
from tests.notifier.conftest import Notifiers, sent_count, wait_for


def test_the_notifier_serves_metrics_and_logs_the_request_id_of_each_push(
    db, sim, notifiers: Notifiers, redis_url
) -> None:
    url, factory = db
    port = free_port()
    notifiers.start(NOTIFIER_METRICS_PORT=str(port), LOG_FORMAT="json", NOTIFIER_REMINDER_SECONDS="0.5")
    backend = create_app(Settings(database_url=url, redis_url=redis_url, **TOKENS))  # type: ignore[arg-type]
    with TestClient(backend) as client:
        body = {
            "recipient": {"phone": "13900001234"},
            "template": "chat_reply",
            "params": {"text": "您好，您的工单正在处理中。"},
            "dedup_key": "metrics-test-1",
        }
        headers = bearer(TOKENS["powerdesk_actions_token"]) | {"X-Request-ID": "trace-77"}
        assert client.post("/api/v1/notifications", json=body, headers=headers).status_code == 201
    wait_for(lambda: sent_count(factory) == 1, 30, "the push sent")

    def scrape() -> dict[str, list[tuple[dict[str, str], float]]]:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        found: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                found.setdefault(sample.name, []).append((sample.labels, sample.value))
        return found

    wait_for(lambda: "powerdesk_periodic_job_runs_total" in scrape(), 15, "a periodic job run")
    series = scrape()
    pushes = {(labels["channel"], labels["outcome"]): value for labels, value in series["powerdesk_pushes_total"]}
    assert pushes[("sms", "sent")] == 1
    assert any(labels["channel"] == "sms" for labels, _ in series["powerdesk_push_delivery_seconds_count"])
    assert {labels["status"]: value for labels, value in series["powerdesk_outbox_messages"]} == {
        "pending": 0,
        "dead": 0,
    }
    assert series["powerdesk_outbox_lag_seconds"][0][1] == 0
    jobs = {labels["job"] for labels, _ in series["powerdesk_periodic_job_runs_total"]}
    assert {"ticket_standards", "arrears_reminders"} <= jobs
    assert "powerdesk_sla_events_total" in series and "powerdesk_handoffs_waiting" in series

    lines = [json.loads(line) for line in notifiers.logs().splitlines() if line.startswith("{")]
    sent = [line for line in lines if line["message"] == "push metrics-test-1 sent by sms"]
    assert sent and sent[0]["request_id"] == "trace-77" and sent[0]["process"] == "notifier"
