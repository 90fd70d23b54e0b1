"""The applications' periodic job: each open application's current stage against its time limit."""

from backend.applications.service import check_stage_limits
from backend.core.scheduling import Job, paged

JOBS = (Job("application_stage_limits", "notifier_reminder_seconds", paged(check_stage_limits)),)
