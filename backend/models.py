"""Imports every domain's models so that Base.metadata knows all tables (Alembic, tests)."""

from backend.access import models as access  # noqa: F401
from backend.applications import models as applications  # noqa: F401
from backend.billing import models as billing  # noqa: F401
from backend.callbacks import models as callbacks  # noqa: F401
from backend.conversations import models as conversations  # noqa: F401
from backend.core import idempotency, sequence  # noqa: F401
from backend.customers import models as customers  # noqa: F401
from backend.devices import models as devices  # noqa: F401
from backend.handoffs import models as handoffs  # noqa: F401
from backend.notifications import models as notifications  # noqa: F401
from backend.outages import models as outages  # noqa: F401
from backend.sla import models as sla  # noqa: F401
from backend.staff import models as staff  # noqa: F401
from backend.tickets import models as tickets  # noqa: F401
from backend.topology import models as topology  # noqa: F401
