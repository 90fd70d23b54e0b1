"""Imports every domain's models so that Base.metadata knows all tables (Alembic, tests)."""

from backend.notifications import models as notifications  # noqa: F401
