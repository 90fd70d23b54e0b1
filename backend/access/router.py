"""`/verifications`: a sender proves they may read a document with its phone's last four digits."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backend.access import service
from backend.access.deps import ReaderDep
from backend.access.schemas import VerificationCreate, VerificationRead
from backend.core.deps import Role, require
from backend.core.errors import DomainError, Forbidden, error_responses
from backend.core.tx import TxSessionDep

router = APIRouter(tags=["access"])


@router.post(
    "/verifications",
    status_code=201,
    response_model=VerificationRead,
    dependencies=[require(Role.actions)],
    responses=error_responses(400, 403, 429),
)
def verify(data: VerificationCreate, session: TxSessionDep, reader: ReaderDep) -> VerificationRead | JSONResponse:
    """201 with the grant's end; 403 `verification_failed` (with `details.attempts_left`) or 429
    `verification_locked`. The same answer whether the document exists or not."""
    if reader.sender is None:
        raise Forbidden("请求需要说明代表哪位客户（X-PowerDesk-Sender）", code="sender_required")
    result = service.verify(session, reader.sender, data.document, data.phone_last4)
    if isinstance(result, DomainError):  # recorded: the transaction commits, the answer is the refusal
        return JSONResponse(result.body(), status_code=result.status_code)
    return result
