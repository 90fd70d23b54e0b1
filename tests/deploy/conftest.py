"""The backend fixtures (a migrated database, a client of the app) for the deploy/ checks."""

from tests.backend.conftest import (  # noqa: F401 - fixtures
    client,
    db_url,
    postgres_schema_url,
    settings,
    sqlite_template,
)
