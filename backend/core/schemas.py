"""The base of request bodies: text that a database could not store is refused as 422, never a 500."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, field_validator

# PostgreSQL text cannot hold NUL; dates outside this range overflow deadline arithmetic.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
NO_NUL = r"^[^\x00]+$"


def _check(value: Any) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if isinstance(value, datetime) and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    if isinstance(value, list | tuple):
        for item in value:
            _check(item)


class RequestModel(BaseModel):
    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        _check(value)
        return value
