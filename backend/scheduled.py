"""Every domain's periodic jobs, for the notifier to run (`backend/core/scheduling.py`)."""

from backend.applications import scheduled as applications
from backend.billing import scheduled as billing
from backend.core.scheduling import Job
from backend.devices import scheduled as devices
from backend.handoffs import scheduled as handoffs
from backend.outages import scheduled as outages
from backend.tickets import scheduled as tickets

JOBS: tuple[Job, ...] = (*tickets.JOBS, *applications.JOBS, *billing.JOBS, *outages.JOBS, *devices.JOBS, *handoffs.JOBS)
