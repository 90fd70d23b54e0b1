"""`/live/overview`: what the dispatchers' live view polls (admin token until the console's roles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from backend.core.deps import require
from backend.live.service import Overview

router = APIRouter(tags=["live"], dependencies=[require()])


@router.get("/live/overview")
async def overview(request: Request) -> dict[str, Any]:
    """Open tickets by status and grid cell, outages under way or suspected with the customers they
    cover, deadlines about to break and broken, workers on duty with their load, the storm indicator
    (reports in the last minute against the usual), and the dead-letter pushes. Recomputed at most
    every two seconds per backend process."""
    live: Overview = request.app.state.live_overview
    return await run_in_threadpool(live.get)
