"""deploy/: the Grafana dashboard and the Prometheus rules are valid, and every series they name is
one the processes really serve (scraped from the backend's `/metrics`, or declared by the bot-env
processes' exposition, bot_runtime/metrics.py); promtool checks the rules and the example
configuration when it is installed (Debian's prometheus package)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from bot_runtime import metrics
from bot_runtime.inbound_queue import InboundQueue

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "powerdesk.json"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
#: series Prometheus makes itself
BUILT_IN = {"up"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"}


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    found = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    found += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    return found


def series_named(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions, keywords,
    label names (inside braces or after by/without), strings or range durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "{}", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "[]", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group() in KEYWORDS:
            continue
        names.add(match.group())
    return names


def served(client: TestClient, queue: InboundQueue) -> set[str]:
    """Every series name the backend's and the bot-env processes' expositions declare, as PromQL names
    them (the bot side's with the depth of `queue`)."""
    names = set()
    bot_side = metrics.exposition(metrics.QueueDepth(queue, ["wechat"]))[0].decode()
    for family in text_string_to_metric_families(client.get("/metrics").text + bot_side):
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_the_dashboard_and_the_rules_parse_and_name_only_series_that_exist(client: TestClient, redis_url: str) -> None:
    """Every expression of the dashboard and the rules selects series the backend's scrape declares."""
    exprs = expressions()
    assert len(exprs) >= 20
    named = set().union(*(series_named(expr) for expr in exprs))
    assert {"powerdesk_outbox_lag_seconds", "powerdesk_pushes_total", "powerdesk_sla_events_total"} <= named
    assert {"powerdesk_turns_total", "powerdesk_inbound_queue_depth", "powerdesk_inbound_messages_total"} <= named
    missing = named - served(client, InboundQueue(Redis.from_url(redis_url), namespace_="pdmonitoring")) - BUILT_IN
    assert missing == set(), f"series named in deploy/ but served by no process: {missing}"


def test_the_parser_finds_the_series_and_nothing_else() -> None:
    """Functions, label names, strings, ranges and by-clauses are not taken for series."""
    expr = 'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{route="/x",le=~"1.*"}[5m]))) / b_total > 3'
    assert series_named(expr) == {"a_bucket", "b_total"}


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
def test_promtool_accepts_the_rules_and_the_configuration() -> None:
    """Prometheus's own checker accepts the alert rules and the example configuration."""
    for args in (["check", "rules", str(RULES)], ["check", "config", str(CONFIG)]):
        result = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
