"""Alembic environment: the URL comes from `-x url=...`, else DATABASE_URL, else the SQLite default."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

import backend.models  # noqa: F401 - registers every table on Base.metadata
from backend.core.config import DatabaseSettings
from backend.core.db import Base, make_engine

config = context.config
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = context.get_x_argument(as_dictionary=True).get("url") or DatabaseSettings().database_url


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
