"""The staff console: its page at `/console/` (plain HTML, CSS and JavaScript from `static/`, nothing
from elsewhere) and its live stream at `/api/v1/console/stream` (server-sent events)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from backend.console.live import Stream, Topic
from backend.console.topics import TOPICS
from backend.core.deps import SettingsDep
from backend.core.errors import Forbidden, Invalid
from backend.staff.access import COOKIE_NAME, Caller, allow
from backend.staff.roles import StaffRole

STATIC = Path(__file__).parent / "static"
#: what the console's pages may load: only what this backend serves (no inline script, no CDN)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

page_router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["console"])
Person = Annotated[Caller, allow(staff=frozenset(StaffRole), admin_token=False)]


@page_router.get("/console")
def console_redirect() -> RedirectResponse:
    return RedirectResponse("/console/")


@page_router.get("/console/")
def console_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@api_router.get(
    "/console/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events, one per topic change"}},
)
def stream(
    request: Request,
    caller: Person,
    settings: SettingsDep,
    topics: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[a-z0-9:,_-]+$")],
) -> StreamingResponse:
    """The live state of the topics the page shows (`queue`, `handoff:<id>`, `overview`,
    `callbacks`): an event named after each topic whenever it changes, `signed_out` when the session
    ends. A signed-in person only."""
    assert caller.staff is not None
    chosen: dict[str, tuple[Topic, str]] = {}
    for name in topics.split(","):
        kind, _, argument = name.partition(":")
        topic = TOPICS.get(kind)
        if topic is None or not topic.argument(argument):
            raise Invalid(f"未知的订阅内容 {name}", code="unknown_topic")
        if caller.staff.role not in topic.roles and caller.staff.role is not StaffRole.admin:
            raise Forbidden("您的岗位不能查看此内容")
        chosen[name] = (topic, argument)
    live = Stream(request.app.state.session_factory, settings, request.cookies[COOKIE_NAME], caller.staff, chosen)
    return StreamingResponse(
        live.events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
