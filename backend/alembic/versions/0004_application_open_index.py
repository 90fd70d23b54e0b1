"""Open applications are indexed for the notifier's periodic time-limit check (业扩时限预警).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OPEN = sa.text("completed_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_application_open", "application", ["id"], postgresql_where=_OPEN, sqlite_where=_OPEN)


def downgrade() -> None:
    op.drop_index("ix_application_open", table_name="application")
