"""The outages' periodic job: planned and temporary outages announced the required time ahead."""

from backend.core.scheduling import Job, paged
from backend.outages.notices import check_notice_lead

JOBS = (Job("outage_notice_lead", "notifier_sla_seconds", paged(check_notice_lead)),)
