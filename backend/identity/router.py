"""`/identity`: resolve who is talking; bind a WeChat openid to an account with a one-time SMS code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from backend.core.deps import Role, SessionDep, require
from backend.core.errors import DomainError, Invalid, error_responses
from backend.core.schemas import NO_NUL
from backend.core.tx import TxSessionDep
from backend.customers import service as customers
from backend.customers.schemas import CustomerBrief
from backend.identity import service
from backend.identity.schemas import BindCodeRead, BindCodeRequest, BindRequest, IdentityRead

router = APIRouter(tags=["identity"])


@router.get("/identity", dependencies=[require(Role.actions)])
def resolve_identity(
    session: SessionDep,
    wechat_openid: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    wecom_user_id: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    phone: Annotated[str | None, Query(max_length=20, pattern=NO_NUL)] = None,
) -> IdentityRead:
    if sum(v is not None for v in (wechat_openid, wecom_user_id, phone)) != 1:
        raise Invalid("请只提供 wechat_openid、wecom_user_id 或 phone 中的一项", code="one_identity_required")
    return service.resolve(session, wechat_openid=wechat_openid, wecom_user_id=wecom_user_id, phone=phone)


@router.post(
    "/identity/bind-codes",
    status_code=201,
    dependencies=[require(Role.actions)],
    responses=error_responses(400, 404, 409, 429),
)
def send_bind_code(data: BindCodeRequest, session: TxSessionDep) -> BindCodeRead:
    """Text a one-time code to the account's registered phone (again at most once a minute)."""
    return service.send_bind_code(session, openid=data.wechat_openid, account_no=data.account_no)


@router.post(
    "/identity/bind",
    response_model=CustomerBrief,
    dependencies=[require(Role.actions)],
    responses=error_responses(400, 403, 404, 429),
)
def bind(data: BindRequest, session: TxSessionDep) -> CustomerBrief | JSONResponse:
    """Bind the WeChat user when the code matches: 403 `bind_code_wrong` (`details.attempts_left`) or
    `bind_code_expired`, 429 `bind_locked`; the account's owner is told of every new binding."""
    result = service.bind(session, openid=data.wechat_openid, account_no=data.account_no, code=data.code)
    if isinstance(result, DomainError):  # the failed attempt is recorded: commit, then refuse
        return JSONResponse(result.body(), status_code=result.status_code)
    return customers.brief(result)


@router.post(
    "/identity/unbind", status_code=204, dependencies=[require(Role.actions)], responses=error_responses(400, 404)
)
def unbind(data: BindCodeRequest, session: TxSessionDep) -> None:
    service.unbind(session, openid=data.wechat_openid, account_no=data.account_no)
