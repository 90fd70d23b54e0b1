"""`/prompts`: the chat asks what a sender was last asked by a push, and brings back the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query

from backend.access.deps import ReaderDep
from backend.core.deps import Role, SessionDep, SettingsDep, caller_role, require
from backend.core.errors import Forbidden, error_responses
from backend.core.idempotency import run_once
from backend.core.schemas import NO_NUL
from backend.core.tx import FactoryDep
from backend.prompts import service
from backend.prompts.schemas import PromptAnswer, PromptAnswerRead, PromptRead

router = APIRouter(tags=["prompts"])
ACTORS = {Role.admin: "admin", Role.actions: "assistant"}


@router.get("/prompts", dependencies=[require(Role.actions)])
def list_prompts(
    session: SessionDep,
    settings: SettingsDep,
    channel: Literal["wechat", "sms"],
    sender_id: Annotated[str, Query(min_length=1, max_length=64, pattern=NO_NUL)],
) -> list[PromptRead]:
    """The sender's open prompts, newest first: what a bare digit they send answers."""
    found = service.open_prompts(session, settings, channel=channel, sender_id=sender_id)
    return [service.read(p) for p in found]


@router.post(
    "/prompts/{prompt_id}/answer",
    dependencies=[require(Role.actions)],
    responses=error_responses(400, 403, 404, 409, 503),
)
def answer_prompt(
    prompt_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    data: PromptAnswer,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=255)],
    factory: FactoryDep,
    settings: SettingsDep,
    role: Annotated[Role, Depends(caller_role)],
    reader: ReaderDep,
) -> PromptAnswerRead:
    """The first answer stands (409 `prompt_already_answered` for another); a retry with the same
    Idempotency-Key gets it again. The assistant answers only a prompt addressed to the sender it
    speaks for (`X-PowerDesk-Sender`; another is 404 `prompt_not_found`)."""
    sender = (reader.sender.channel, reader.sender.sender_id) if reader.sender else None
    if role is Role.actions and sender is None:
        raise Forbidden("请求需要说明代表哪位客户（X-PowerDesk-Sender）", code="sender_required")
    answer = run_once(
        factory,
        scope="prompt_answer",
        key=idempotency_key,
        body={"prompt_id": prompt_id, **data.model_dump(mode="json")},
        work=lambda session: service.answer(session, settings, prompt_id, data, actor=ACTORS[role], sender=sender),
    )
    return PromptAnswerRead.model_validate(answer)
