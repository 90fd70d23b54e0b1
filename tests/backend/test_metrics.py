"""The backend's `/metrics` and its request ids: the expected series scraped after real requests, the
database's figures (outbox lag, service-standard events, hand-off waits) read at the scrape, and the
request id given back and stored with the pushes the request caused."""

from __future__ import annotations

import json
import logging
import re

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.logs import JsonFormatter, RequestIdFilter, request_id
from backend.handoffs.models import Handoff
from backend.notifications.models import OutboxMessage
from tests.backend.conftest import County


def scrape(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    series: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            series.setdefault(sample.name, []).append((sample.labels, sample.value))
    return series


def test_backend_metrics_count_requests_by_route_and_read_the_database_at_the_scrape(
    client: TestClient,
    county: County,
    actions_headers: dict[str, str],
    admin_headers: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    report = {"account_no": county.a1, "channel": "wechat", "sender_id": "o_a1", "description": "停电了"}
    headers = actions_headers | {"Idempotency-Key": "m-1"}
    assert client.post("/api/v1/repair-reports", json=report, headers=headers).status_code == 200
    assert client.get("/api/v1/tickets/QX000000000000", headers=actions_headers).status_code == 404
    with session_factory() as session, session.begin():  # a customer waiting for a person
        moment = clock.now()
        session.add(
            Handoff(channel="wechat", sender_id="o_wait", status="waiting", created_at=moment, updated_at=moment)
        )
    day = clock.local_today().isoformat()
    assert client.get("/api/v1/reports/daily", params={"date": day}, headers=admin_headers).status_code == 200

    series = scrape(client)
    requests = {
        (labels["method"], labels["route"], labels["status"]): value
        for labels, value in series["powerdesk_http_requests_total"]
        if labels["process"] == "backend"
    }
    assert requests[("POST", "/api/v1/repair-reports", "200")] >= 1
    assert requests[("GET", "/api/v1/tickets/{ticket_no}", "404")] >= 1  # the template, not the number
    assert not any("QX000000000000" in route for _, route, _ in requests)
    assert any(
        labels["route"] == "/api/v1/repair-reports"
        for labels, _ in series["powerdesk_http_request_duration_seconds_bucket"]
    )
    assert any(
        labels == {"kind": "daily", "format": "json"}
        for labels, _ in series["powerdesk_report_generation_seconds_count"]
    )
    outbox = {labels["status"]: value for labels, value in series["powerdesk_outbox_messages"]}
    assert outbox["pending"] >= 1  # the worker's task (the customer reads the ticket in the chat)
    assert series["powerdesk_outbox_lag_seconds"][0][1] >= 0
    assert series["powerdesk_handoffs_waiting"][0][1] == 1
    assert series["powerdesk_handoff_longest_wait_seconds"][0][1] >= 0
    sla = {(labels["standard"], labels["step"]): value for labels, value in series["powerdesk_sla_events_total"]}
    assert len(sla) == 12 and sla[("arrival", "breach")] == 0  # every series from the start, for the alerts


def test_the_request_id_comes_back_and_follows_the_pushes_it_caused(
    client: TestClient, county: County, actions_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    report = {"account_no": county.a2, "channel": "sms", "sender_id": "13800000002", "description": "停电了"}
    longest = "wx:wx0123456789abcdef:" + "7" * 42  # 64 characters, as long as the backend takes (0011)
    headers = actions_headers | {"Idempotency-Key": "m-2", "X-Request-ID": longest}
    answer = client.post("/api/v1/repair-reports", json=report, headers=headers)
    assert answer.headers["X-Request-ID"] == longest
    ticket_no = answer.json()["ticket_no"]
    with session_factory() as session:
        traces = set(
            session.scalars(
                select(OutboxMessage.trace_id).where(OutboxMessage.dedup_key.startswith(f"ticket:{ticket_no}:"))
            )
        )
    assert traces == {longest}
    made = client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)  # a malformed id is replaced, never echoed


def test_json_log_lines_carry_the_request_id() -> None:
    record = logging.LogRecord("backend.tickets.service", logging.INFO, __file__, 1, "ticket %s opened", ("QX1",), None)
    token = request_id.set("wx-msg-4242")
    try:
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter("backend").format(record))
    finally:
        request_id.reset(token)
    assert line["request_id"] == "wx-msg-4242" and line["message"] == "ticket QX1 opened"
    assert line["process"] == "backend" and line["level"] == "INFO"
