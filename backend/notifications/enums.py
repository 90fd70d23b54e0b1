"""The statuses of a push in the outbox and of the question a push asked (a prompt); written only by
`outbox`, but for a prompt's answer, which `backend.prompts.service` records (the `Prompt` model
lives here, with the push that asks it, so that the outbox never imports the prompts package)."""

from __future__ import annotations

from enum import Enum


class OutboxStatus(str, Enum):
    #: waiting to be sent (or sent again, avoiding a channel that did not deliver it)
    pending = "pending"
    #: handed to a provider (or merged into a push that was)
    sent = "sent"
    #: given up: out of attempts, or no channel can reach the recipient
    dead = "dead"
    #: withdrawn before it was sent (its cause was called off)
    cancelled = "cancelled"


class PromptStatus(str, Enum):
    #: the question stands: a bare digit from its recipient answers it
    open = "open"
    #: answered once, for good
    answered = "answered"
    #: its push was withdrawn before it went out
    withdrawn = "withdrawn"
