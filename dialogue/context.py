"""One turn of a conversation: the message, the remembered state, what the bot says, the
conversation events it leaves for the reports, and the services it may use (the backend, speaking
for this sender; the journal of promised writes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from clients.backend import BackendClient
from dialogue.message import Message
from dialogue.state import State


class WriteJournal(Protocol):
    """Keeps a write the customer was promised while the backend is unreachable, and submits it
    later with the same idempotency key (actions/journal.py)."""

    def keep(self, kind: str, payload: dict[str, Any], key: str) -> None: ...


#: the conversation before this message ({"from": "customer" | "bot", "text", "at"}, oldest first),
#: read only when a person takes the conversation over
History = Callable[[], Awaitable[list[dict[str, Any]]]]


async def no_history() -> list[dict[str, Any]]:
    return []


@dataclass(frozen=True)
class Say:
    """One thing the bot says: a response of the domain (all Chinese text lives there) and its values."""

    response: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Turn:
    message: Message
    state: State
    backend: BackendClient
    journal: WriteJournal
    #: the conversation so far, for a person taking over
    history: History = no_history
    replies: list[Say] = field(default_factory=list)
    #: conversation events for the reports (dialogue/outcomes.py), sent later by the caller in batches
    outcomes: list[dict[str, str]] = field(default_factory=list)
    #: set by a task that ended so that the engine answers what it was started for: the meaning to
    #: answer, and the document (account, QX or YK number) it is about
    then: str | None = None
    document: str | None = None

    def say(self, response: str, **params: Any) -> None:
        self.replies.append(Say(response, params))

    def answer_next(self, meaning: str | None, document: str | None = None) -> None:
        """Once this task is done, answer `meaning` (about `document`) as if it had just been asked."""
        self.then, self.document = meaning, document

    @property
    def identity(self) -> Any:
        return self.state.identity

    @property
    def accounts(self) -> list[str]:
        return self.state.identity.account_nos

    def owns(self, account_no: str) -> bool:
        return account_no in self.accounts
