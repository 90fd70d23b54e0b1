"""`/live/overview`: what the dispatchers' live view shows, for the admin token or a dispatcher,
supervisor or admin signed in to the console (whose page gets it on its live stream, topic `live`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from backend.live.service import Overview
from backend.staff.access import allow
from backend.staff.roles import COMMAND_ROLES

router = APIRouter(tags=["live"], dependencies=[allow(staff=COMMAND_ROLES)])


@router.get("/live/overview")
async def overview(request: Request) -> dict[str, Any]:
    """Open tickets by status and grid cell, outages under way or suspected with the customers they
    cover, deadlines about to break and broken, workers on duty with their load, the storm indicator
    (reports in the last minute against the usual), and the dead-letter pushes. Recomputed at most
    every two seconds per backend process."""
    live: Overview = request.app.state.live_overview
    return await run_in_threadpool(live.get)
