"""Staff roles and what each may do in the console; written only by the staff service."""

from __future__ import annotations

from enum import Enum


class StaffRole(str, Enum):
    #: 坐席: takes conversations handed over by the assistant
    agent = "agent"
    #: 值班长: an agent who also watches the queue and is alerted when customers wait too long
    supervisor = "supervisor"
    #: 调度员: the command centre: the live view (调度监控) and the reports
    dispatcher = "dispatcher"
    #: 客户经理: receives the hand-offs of their business customers by WeCom
    manager = "manager"
    #: 管理员: manages staff records
    admin = "admin"


#: may take conversations: claim, reply, transfer, release, close
AGENT_ROLES = frozenset({StaffRole.agent, StaffRole.supervisor, StaffRole.admin})
#: may see the queue and every conversation without taking one
VIEW_ROLES = AGENT_ROLES | {StaffRole.dispatcher, StaffRole.manager}
#: see the supervision figures and are alerted about long waits
SUPERVISION_ROLES = frozenset({StaffRole.supervisor, StaffRole.admin})
ADMIN_ROLES = frozenset({StaffRole.admin})
#: the command centre: the live view (调度监控) and the reports (日监控、周通报、月考评)
COMMAND_ROLES = frozenset({StaffRole.dispatcher, StaffRole.supervisor, StaffRole.admin})
