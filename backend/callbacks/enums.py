"""The statuses of a callback task; written only by `service`."""

from __future__ import annotations

from enum import Enum


class CallbackStatus(str, Enum):
    #: someone must call the customer back
    open = "open"
    #: an agent called back (with a note)
    done = "done"
