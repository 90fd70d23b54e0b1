"""`/applications`: the assistant reads progress; the admin registers and moves stages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from backend.access import service as access
from backend.access.deps import ReaderDep
from backend.applications import service
from backend.applications.schemas import ApplicationCreate, ApplicationRead
from backend.core.deps import Role, SessionDep, SettingsDep, require
from backend.core.errors import error_responses
from backend.core.tx import TxSessionDep
from backend.customers import service as customers

router = APIRouter(tags=["applications"])
ApplicationNo = Annotated[str, Path(pattern=r"^YK\d{12}$")]


@router.post("/applications", status_code=201, dependencies=[require()], responses=error_responses(400, 404, 503))
def create_application(data: ApplicationCreate, session: TxSessionDep, settings: SettingsDep) -> ApplicationRead:
    return service.read(session, settings, service.create_application(session, settings, data))


@router.post("/applications/{application_no}/advance", dependencies=[require()], responses=error_responses(404, 409))
def advance(application_no: ApplicationNo, session: TxSessionDep, settings: SettingsDep) -> ApplicationRead:
    return service.read(session, settings, service.advance(session, settings, application_no))


@router.get("/applications/{application_no}", dependencies=[require(Role.actions)], responses=error_responses(403, 404))
def get_application(
    application_no: ApplicationNo, session: SessionDep, settings: SettingsDep, reader: ReaderDep
) -> ApplicationRead:
    """To the account's owner, or after the phone check (403 `verification_required`)."""
    application = service.get_application(session, application_no)
    access.require_application(session, reader, application)
    return service.read(session, settings, application)


@router.get("/applications", dependencies=[require(Role.actions)], responses=error_responses(403, 404))
def list_applications(
    session: SessionDep,
    settings: SettingsDep,
    reader: ReaderDep,
    account_no: Annotated[str, Query(pattern=r"^\d{10}$")],
) -> list[ApplicationRead]:
    customer = customers.get_customer(session, account_no)
    access.require_customer(session, reader, customer)
    return [service.read(session, settings, a) for a in service.list_for_customer(session, customer)]
