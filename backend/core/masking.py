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
