"""The console's demo people for `make run` (README "What you see after make run"; their
passwords are public: never seed them into a real database)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.staff import service
from backend.staff.roles import StaffRole
from backend.staff.schemas import StaffCreate

DEMO_STAFF = (
    StaffCreate(username="agent01", name="林晓", role=StaffRole.agent, password="demo-agent-01"),
    StaffCreate(username="agent02", name="黄蕾", role=StaffRole.agent, password="demo-agent-02"),
    StaffCreate(username="dispatcher01", name="郑毅", role=StaffRole.dispatcher, password="demo-dispatcher-01"),
    StaffCreate(
        username="supervisor01", name="吴倩", role=StaffRole.supervisor, password="demo-supervisor-01",
        wecom_user_id="kf_demo_supervisor_01",
    ),
    StaffCreate(
        username="manager01", name="陈思远", role=StaffRole.manager, password="demo-manager-01",
        phone="13700137001", wecom_user_id="wg_demo_manager_01",
    ),
)  # fmt: skip


def seed_demo(session: Session) -> int:
    """The demo people, when the staff table is empty; returns how many were added."""
    if service.count_staff(session):
        return 0
    for person in DEMO_STAFF:
        service.create_staff(session, person)
    return len(DEMO_STAFF)
