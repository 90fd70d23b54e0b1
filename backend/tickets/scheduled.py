"""The tickets' periodic jobs: escalation of tasks not accepted in time, and the service standards
(arrival, restoration, complaint contact and answer; `deadlines.py`)."""

from backend.core.scheduling import Job, in_one_transaction, paged
from backend.tickets import deadlines
from backend.tickets.service import escalate_overdue

JOBS = (
    Job("ticket_escalation", "notifier_escalation_seconds", in_one_transaction(escalate_overdue)),
    Job(
        "ticket_standards",
        "notifier_sla_seconds",
        paged(
            deadlines.check_arrival,
            deadlines.check_restoration,
            deadlines.check_complaint_contact,
            deadlines.check_complaint_answer,
        ),
    ),
)
