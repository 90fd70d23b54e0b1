"""Helpers the fake platform APIs share."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from simulator.settings import SimulatorSettings
from simulator.state import PlatformState


def api_context(request: Request) -> tuple[PlatformState, SimulatorSettings]:
    return request.app.state.platform, request.app.state.settings


def api_error(code: int, message: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": message}


def token_error_answer(state: PlatformState, request: Request) -> dict[str, Any] | None:
    code = state.token_error(request.query_params.get("access_token"))
    if code == 40001:
        return api_error(40001, "invalid credential, access_token is invalid or not latest")
    if code == 42001:
        return api_error(42001, "access_token expired")
    return None


def summarize(body: dict[str, Any]) -> str:
    """A readable summary of a message body, for the record and the page."""
    msgtype = body.get("msgtype")
    if msgtype == "text":
        return str(body.get("text", {}).get("content", ""))
    if msgtype == "textcard":
        card = body.get("textcard", {})
        return f"{card.get('title', '')}\n{card.get('description', '')}"
    if msgtype == "markdown":
        return str(body.get("markdown", {}).get("content", ""))
    if "data" in body:  # a template message
        data = body["data"]
        return "\n".join(f"{name}: {value.get('value', '')}" for name, value in data.items() if isinstance(value, dict))
    return str(body.get(msgtype, "")) if msgtype else ""
