"""`/places`: what the backend knows of a place a customer names (asked before any repair question)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.access.deps import ReaderDep
from backend.core.deps import Role, SessionDep, require
from backend.core.errors import Invalid, error_responses
from backend.core.schemas import NO_NUL
from backend.places import service
from backend.places.schemas import PlaceRead

router = APIRouter(tags=["places"])


@router.get("/places", dependencies=[require(Role.actions)], responses=error_responses(422))
def lookup(
    session: SessionDep,
    reader: ReaderDep,
    account_no: Annotated[str | None, Query(pattern=r"^\d{10}$")] = None,
    phone: Annotated[str | None, Query(pattern=r"^1\d{10}$")] = None,
    address: Annotated[str | None, Query(min_length=2, max_length=200, pattern=NO_NUL)] = None,
) -> PlaceRead:
    """Exactly one of `account_no`, `phone`, `address`. `found: false` when nothing matches."""
    if sum(v is not None for v in (account_no, phone, address)) != 1:
        raise Invalid("请只提供 account_no、phone 或 address 中的一项", code="one_place_required")
    return service.lookup(session, reader, account_no=account_no, phone=phone, address=address)
