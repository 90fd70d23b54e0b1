"""The statuses of a stored device event; written only by `service`."""

from __future__ import annotations

from enum import Enum


class DeviceEventStatus(str, Enum):
    #: stored by `POST /device-events`, waiting for the notifier's job
    pending = "pending"
    #: taken by a batch of the job (in its transaction)
    processing = "processing"
    #: it changed what is known of the device
    applied = "applied"
    #: nothing to do (`note` says why: a duplicate, older than what is known, a restore without a loss)
    ignored = "ignored"
    #: the batch failed on it (`note` says why)
    failed = "failed"
