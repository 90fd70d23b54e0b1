"""The reader of a request: its role and, for the assistant, the customer it speaks for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from backend.access.service import Reader, parse_sender
from backend.core.deps import Role, caller_role

SENDER_HEADER = "X-PowerDesk-Sender"


async def get_reader(
    role: Annotated[Role, Depends(caller_role)],
    sender: Annotated[str | None, Header(alias=SENDER_HEADER, max_length=80)] = None,
) -> Reader:
    return Reader(role, parse_sender(sender))


ReaderDep = Annotated[Reader, Depends(get_reader)]
