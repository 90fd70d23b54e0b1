"""The bills' periodic job: arrears reminders."""

from backend.billing.service import remind_arrears
from backend.core.scheduling import Job, paged

JOBS = (Job("arrears_reminders", "notifier_reminder_seconds", paged(remind_arrears)),)
