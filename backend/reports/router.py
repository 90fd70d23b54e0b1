"""`/reports/daily|weekly|monthly`: the command centre's reports as JSON or Excel (`format=xlsx`)."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.core.deps import SessionDep, SettingsDep
from backend.core.errors import error_responses
from backend.core.metrics import REPORT_SECONDS
from backend.reports import periods, service
from backend.reports.periods import Period
from backend.reports.workbook import TITLES, build_workbook
from backend.staff.access import allow
from backend.staff.roles import COMMAND_ROLES

router = APIRouter(tags=["reports"], dependencies=[allow(staff=COMMAND_ROLES)], responses=error_responses(422))
Format = Annotated[Literal["json", "xlsx"], Query(description="`xlsx`: the Excel workbook")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OK: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, XLSX: {}}, "description": "The report, as JSON or a workbook"}
}


def _answer(session: Session, settings: Settings, period: Period, fmt: str) -> Response:
    started = time.perf_counter()
    report = service.build(session, settings, period)
    if fmt == "json":
        answer: Response = JSONResponse(report)
    else:
        ascii_name = f"{period.label}-{period.kind}.xlsx"
        name = quote(f"{TITLES[period.kind]}-{period.label}.xlsx")
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{name}"
        answer = Response(build_workbook(report), media_type=XLSX, headers={"Content-Disposition": disposition})
    REPORT_SECONDS.labels(period.kind, fmt).observe(time.perf_counter() - started)
    return answer


@router.get("/reports/daily", responses=OK)
async def daily(
    session: SessionDep,
    settings: SettingsDep,
    date: Annotated[str, Query(max_length=32, description="YYYY-MM-DD")],
    format: Format = "json",
) -> Response:
    """日监控: one day's figures per county, grid cell and worker."""
    return await run_in_threadpool(_answer, session, settings, periods.day(date), format)


@router.get("/reports/weekly", responses=OK)
async def weekly(
    session: SessionDep,
    settings: SettingsDep,
    week: Annotated[str, Query(max_length=32, description="YYYY-Www (ISO week) or a date in the week")],
    format: Format = "json",
) -> Response:
    """周通报: one ISO week's figures, and in the workbook the rankings of grid cells and workers."""
    return await run_in_threadpool(_answer, session, settings, periods.week(week), format)


@router.get("/reports/monthly", responses=OK)
async def monthly(
    session: SessionDep,
    settings: SettingsDep,
    month: Annotated[str, Query(max_length=32, description="YYYY-MM")],
    format: Format = "json",
) -> Response:
    """月考评: one month's figures, and in the workbook the rankings of grid cells and workers."""
    return await run_in_threadpool(_answer, session, settings, periods.month(month), format)
