"""`/identity`: resolve who is talking, and bind a WeChat openid to an account after a check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.core.deps import Role, SessionDep, require
from backend.core.errors import Invalid, error_responses
from backend.core.schemas import NO_NUL
from backend.core.tx import TxSessionDep
from backend.customers import service as customers
from backend.customers.schemas import CustomerBrief
from backend.identity import service
from backend.identity.schemas import BindRequest, IdentityRead

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


@router.post("/identity/bind", dependencies=[require(Role.actions)], responses=error_responses(400, 404))
def bind(data: BindRequest, session: TxSessionDep) -> CustomerBrief:
    customer = customers.bind_openid(
        session, openid=data.wechat_openid, account_no=data.account_no, phone_last4=data.phone_last4
    )
    return customers.brief(customer)
