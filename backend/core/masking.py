"""Masking of personal data for answers and logs."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """138****5678; short values keep only their last two characters."""
    if not phone:
        return phone
    if len(phone) >= 11:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * max(len(phone) - 2, 0) + phone[-2:]


def mask_account(account_no: str | None) -> str | None:
    """3100****01 style, for logs."""
    if not account_no:
        return account_no
    return f"{account_no[:4]}****{account_no[-2:]}"


def mask_id(value: str | None) -> str | None:
    """o_de****01 style for openids and other ids in logs: the first four and last two characters."""
    if not value:
        return value
    if len(value) <= 6:
        return "*" * len(value)
    return f"{value[:4]}****{value[-2:]}"
