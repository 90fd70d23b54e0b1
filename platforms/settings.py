"""Settings of the bot-env processes: from credentials.yml, the environment, or a mounted file.

A value comes from the channel's credentials (lower-case key) when given there, else from the
environment variable, else from the file named by `<NAME>_FILE` (how a deployment mounts its
secrets), else the default. Secrets are never read from a command line or a URL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def setting(credentials: Mapping[str, Any] | None, name: str, default: str = "") -> str:
    """`name` (upper-case env variable) from credentials, the environment or `<name>_FILE`."""
    value = (credentials or {}).get(name.lower())
    if value in (None, ""):
        value = os.environ.get(name, "")
    if value in (None, "") and os.environ.get(f"{name}_FILE"):
        value = Path(os.environ[f"{name}_FILE"]).read_text(encoding="utf-8")
    if value in (None, ""):
        value = default
    return str(value).strip()


def required(credentials: Mapping[str, Any] | None, name: str) -> str:
    value = setting(credentials, name)
    if not value:
        raise ValueError(f"{name} is not set")
    return value


def secret(name: str) -> str:
    """A secret from the environment or its `<name>_FILE`; "" when neither is set."""
    return setting(None, name)


def flag(name: str) -> bool:
    """An on/off environment variable: 1, true, yes or on (any case) is on."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


DEFAULT_RETENTION_HOURS = 24.0


def retention_seconds() -> float:
    """How long a customer's message text is kept once handled (`POWERDESK_MESSAGE_RETENTION_HOURS`,
    default 24)."""
    return float(os.environ.get("POWERDESK_MESSAGE_RETENTION_HOURS") or DEFAULT_RETENTION_HOURS) * 3600


def namespace() -> str:
    """The prefix of the shared Redis keys of this deployment (`POWERDESK_NAMESPACE`, default `pd`;
    letters and digits only, as Rasa's key prefixes): two deployments on one Redis (a load test
    beside staging, the test suite's stacks) never see each other's queue or conversations."""
    value = setting(None, "POWERDESK_NAMESPACE", "pd")
    if not value.isascii() or not value.isalnum():
        raise ValueError(f"POWERDESK_NAMESPACE must be letters and digits only, not {value!r}")
    return value


DEFAULT_TRANSCRIPT_RETENTION_DAYS = 30.0


def transcript_retention_seconds() -> float:
    """How long a conversation's full transcript is kept after its last line
    (`POWERDESK_TRANSCRIPT_RETENTION_DAYS`, default 30): for the agents' console and the reports."""
    days = float(os.environ.get("POWERDESK_TRANSCRIPT_RETENTION_DAYS") or DEFAULT_TRANSCRIPT_RETENTION_DAYS)
    return days * 86400
