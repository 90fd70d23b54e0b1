"""Imports every domain's models so that Base.metadata knows all tables (Alembic, tests)."""

from backend.applications import models as applications  # noqa: F401
from backend.billing import models as billing  # noqa: F401
from backend.core import idempotency, sequence  # noqa: F401
from backend.customers import models as customers  # noqa: F401
from backend.devices import models as devices  # noqa: F401
from backend.handoffs import models as handoffs  # noqa: F401
from backend.notifications import models as notifications  # noqa: F401
from backend.outages import models as outages  # noqa: F401
from backend.tickets import models as tickets  # noqa: F401
from backend.topology import models as topology  # noqa: F401
