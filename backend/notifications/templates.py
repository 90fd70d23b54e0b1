"""Every Chinese push text, in one place, with its SMS and WeChat-template forms.

A template key (docs/contracts.md) names one `PushTemplate`:

- `text`: the full message (customer-service message, WeCom, and SMS when it fits);
- `sms`: a shorter form for SMS, written to fit one 70-character segment with the signature
  where the variables allow (`platforms.sms.client.count_segments` counts what is sent);
- `title` and `detail` / `number` / `when` params: the WeChat template message (keyword values are
  cut to 20 characters with emoji removed, RELIABILITY row 30);
- `params`: the variable names, in the order an SMS provider with positional variables
  (Tencent) receives them;
- `asks`: the question the push asks its recipient ("restore_check": 回复1已来电，2仍未来电;
  "rating": 回复1-5打分), recorded as a prompt with it (outbox.py) so that a bare digit is understood;
- `secret`: params the push needs only until it is sent or given up (a one-time code): the notifier
  masks them in the outbox in the write that records the outcome (`without_secrets`).

Times may be passed as ISO 8601 strings or datetimes; they are shown as "今天14:30",
"明天09:00" or "11月25日09:00" in Asia/Shanghai; dates alone (due dates) as "11月25日".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from backend.core.clock import LOCAL_ZONE, now

TEMPLATE_VALUE_MAX = 20
#: what a secret param becomes once its push is sent or given up
SECRET_MASK = "******"
SMS_VARIABLE_MAX = 35
#: free-text variables of the notifier's own templates, held to the provider's 500-character maximum
_LONG_PARAMS = {"text": 300, "latest": 60, "items": 300}
_EMOJI = re.compile("[\U00010000-\U0010ffff\u2600-\u27bf\ufe0f\u200d\u20e3]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
#: optional variables and what is said when they are missing
DEFAULTS = {
    "resolution": "故障已排除",
    "worker_phone": "95598",
    "description": "用户报修",
    "address": "地点待调度中心核实",
    "customer_phone": "未留",
    "merged_note": "",
}
_TIME_PARAMS = {"deadline", "starts_at", "estimated_restore_at", "due_date", "at", "contact_deadline", "new_estimate"}
#: what a service standard's warning or breach is about (param `what`, made from `standard` and the
#: promise's params when not given)
SLA_WHAT = {
    "arrival": "抢修工单{number}到达现场",
    "restoration": "抢修工单{number}恢复供电",
    "complaint_contact": "投诉工单{number}联系客户",
    "complaint_answer": "投诉工单{number}答复客户",
    "application_stage": "用电申请{number}“{stage_label}”环节办结",
    "outage_notice": "{kind_label}“{cause}”的提前通知",
}


@dataclass(frozen=True)
class PushTemplate:
    key: str
    title: str
    text: str
    sms: str
    params: tuple[str, ...]
    number_param: str | None = None
    when_param: str | None = None
    asks: str | None = None
    secret: tuple[str, ...] = ()

    def without_secrets(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with the secret ones masked, for the outbox row of a push that no longer needs them."""
        return {name: SECRET_MASK if name in self.secret else value for name, value in params.items()}


@dataclass(frozen=True)
class Rendered:
    template: PushTemplate
    text: str
    sms_text: str
    sms_params: dict[str, str]
    template_data: dict[str, str]


def _t(
    key: str,
    title: str,
    text: str,
    sms: str | None = None,
    number: str | None = None,
    when: str | None = None,
    asks: str | None = None,
    secret: tuple[str, ...] = (),
) -> PushTemplate:
    names = tuple(dict.fromkeys(re.findall(r"{(\w+)}", (sms or text) + text)))
    return PushTemplate(key, title, text, sms or text, names, number, when, asks, secret)


# fmt: off
TEMPLATES: dict[str, PushTemplate] = {
    t.key: t
    for t in (
        _t(
            "ticket_dispatched",
            "报修已受理",
            "您的报修已受理，工单号{ticket_no}，抢修人员将于{deadline}前到达现场，请保持电话畅通。",
            "报修已受理，工单{ticket_no}，抢修人员{deadline}前到达，请保持电话畅通。",
            number="ticket_no",
            when="deadline",
        ),
        _t(
            "ticket_accepted",
            "抢修人员已接单",
            "工单{ticket_no}已由抢修人员{worker_name}接单，预计{deadline}前到达，联系电话{worker_phone}。",
            "工单{ticket_no}已由{worker_name}接单，预计{deadline}前到达，电话{worker_phone}。",
            number="ticket_no",
            when="deadline",
        ),
        _t(
            "ticket_arrived",
            "抢修人员已到达",
            "抢修人员{worker_name}已到达现场（工单{ticket_no}），正在处理，请注意用电安全。",
            "{worker_name}已到达现场处理工单{ticket_no}，请注意安全。",
            number="ticket_no",
        ),
        _t(
            "ticket_resolved",
            "故障已处理",
            "工单{ticket_no}已处理完毕（{resolution}）。请问您家现在来电了吗？回复1表示已来电，回复2表示仍未来电。",
            "工单{ticket_no}已处理完毕，请问已来电吗？回复1已来电，2仍未来电。",
            number="ticket_no",
            asks="restore_check",
        ),
        _t(
            "ticket_rating_request",
            "服务评价",
            "感谢您的耐心等待。请为本次抢修服务（工单{ticket_no}）打分：回复1到5，5分表示非常满意。",
            "请为工单{ticket_no}的服务打分，回复1-5，5分为非常满意。",
            number="ticket_no",
            asks="rating",
        ),
        _t(
            "worker_task_assigned",
            "新抢修任务",
            "新抢修任务{ticket_no}：{address}，{description}。请于{deadline}前到达现场，回复“接单”确认。",
            "新任务{ticket_no}：{address}，请{deadline}前到达，回复接单确认。",
            number="ticket_no",
            when="deadline",
        ),
        _t(
            "worker_task_escalated",
            "任务超时未接单",
            "任务{ticket_no}超过{minutes}分钟未接单（原派{worker_name}），地址{address}，请协助安排抢修。",
            "任务{ticket_no}超{minutes}分钟未接单，请协助安排，地址{address}。",
            number="ticket_no",
        ),
        _t(
            "worker_task_reminded",
            "客户催办",
            "客户再次报修催办任务{ticket_no}：{address}，{description}。请尽快处理，联系电话{customer_phone}。",
            "客户催办任务{ticket_no}，地址{address}，请尽快处理。",
            number="ticket_no",
        ),
        _t(
            "worker_task_withdrawn",
            "客户撤销报修",
            "客户已撤销任务{ticket_no}（{address}）：“{reason}”。无需再到现场，如已出发请返回。",
            "客户已撤销任务{ticket_no}，无需到场。",
            number="ticket_no",
        ),
        _t(
            "worker_praised",
            "客户表扬",
            "客户对您处理的任务{ticket_no}（{address}）表示感谢：“{praise}”。辛苦了，感谢您的付出！",
            "客户表扬了您处理的任务{ticket_no}，辛苦了！",
            number="ticket_no",
        ),
        _t(
            "worker_fault_assigned",
            "故障研判任务",
            "故障研判任务{ticket_no}：{address}疑似停电故障（{evidence}）。请于{deadline}前到达现场，回复“接单”确认。{merged_note}"
            "到场核实后，如确属线路或设备故障，请回复“确认故障”并说明原因和预计恢复时间；"
            "如只是个别用户的问题，请回复“排除故障”并说明情况，相关报修将转为单户工单派发。",
            "故障研判任务{ticket_no}：{address}疑似停电，请{deadline}前到场，回复接单确认。",
            number="ticket_no",
            when="deadline",
        ),
        _t(
            "worker_tasks_merged",
            "任务合并",
            "您的{count}个抢修任务（{merged}）已并入故障研判任务{ticket_no}（{address}），由{worker_name}统一处理，原任务无需再单独前往。",
            "您的{count}个任务已并入故障任务{ticket_no}，由{worker_name}处理，无需单独前往。",
            number="ticket_no",
        ),
        _t(
            "worker_fault_widened",
            "故障范围扩大",
            "故障研判任务{ticket_no}经研判扩大为{address}全线故障，请按线路故障排查，该线路上的其他报修已一并并入本任务。{merged_note}",
            "故障任务{ticket_no}已扩大为{address}全线故障，请按线路故障排查。",
            number="ticket_no",
        ),
        _t(
            "worker_fault_dismissed",
            "故障任务撤销",
            "故障研判任务{ticket_no}（{address}）已由调度核实排除，不属于线路故障，该任务已撤销，相关报修将作为单户工单重新派发。",
            "故障任务{ticket_no}已由调度核实排除并撤销，相关报修将单独派发。",
            number="ticket_no",
        ),
        _t(
            "outage_estimate_overdue",
            "恢复时间已超",
            "{area}停电（{cause}）已超过预计恢复时间{estimated_restore_at}，至今未恢复供电。请尽快核实并回复新的预计恢复时间（例如“预计18:30恢复”），我们会告知受影响的{affected}户客户。",
            "{area}停电已超预计恢复时间{estimated_restore_at}，请回复新的预计恢复时间。",
            when="estimated_restore_at",
        ),
        _t(
            "worker_hazard_alert",
            "紧急险情",
            "紧急险情：{address}有群众报告“{description}”，已派{worker_name}前往处置（工单{ticket_no}，{deadline}前到达），请关注并协调处置。",
            "紧急险情：{address}，已派{worker_name}处置（工单{ticket_no}）。",
            number="ticket_no",
            when="deadline",
        ),
        _t(
            "dispatch_hazard_unplaced",
            "紧急险情待派",
            "紧急险情待派：{address}有群众报告“{description}”（工单{ticket_no}），系统未能确定所属网格，请立即核实位置并派单，报告人电话{customer_phone}。",
            "紧急险情待派：{address}（工单{ticket_no}），请立即核实位置并派单。",
            number="ticket_no",
        ),
        _t(
            "outage_planned_notice",
            "计划停电通知",
            "因{cause}，您所在区域将于{starts_at}至{estimated_restore_at}停电，请提前做好准备，给您带来不便敬请谅解。",
            "因{cause}，您所在区域{starts_at}至{estimated_restore_at}停电，请提前准备。",
            when="starts_at",
        ),
        _t(
            "outage_cancelled",
            "停电取消通知",
            "您好，您所在区域原定于{starts_at}至{estimated_restore_at}的{kind_label}已取消，届时将正常供电，无需再做停电准备。感谢您的理解与支持。",
            "您所在区域原定{starts_at}至{estimated_restore_at}的{kind_label}已取消，届时正常供电。",
            when="starts_at",
        ),
        _t(
            "outage_started",
            "停电通知",
            "您所在区域已停电，原因：{cause}，预计{estimated_restore_at}恢复供电，我们正在全力处理。",
            "您所在区域已停电（{cause}），预计{estimated_restore_at}恢复供电。",
            when="estimated_restore_at",
        ),
        _t(
            "outage_estimate_changed",
            "恢复时间调整",
            "停电恢复时间有调整：预计{estimated_restore_at}恢复供电（原因：{cause}），给您带来不便敬请谅解。",
            "停电恢复时间调整为{estimated_restore_at}（{cause}），敬请谅解。",
            when="estimated_restore_at",
        ),
        _t(
            "outage_restored",
            "已恢复供电",
            "您所在区域已恢复供电，感谢您的耐心等待。如家中仍未来电，请直接回复或拨打95598。",
            "您所在区域已恢复供电。如仍未来电，请回复或拨打95598。",
        ),
        _t(
            "outage_restored_check",
            "已恢复供电",
            "您所在区域已恢复供电，感谢您的耐心等待。请问您家现在来电了吗？回复1表示已来电，回复2表示仍未来电。",
            "您所在区域已恢复供电，请问您家来电了吗？回复1已来电，2仍未来电。",
            asks="restore_check",
        ),
        _t(
            "outage_planned_started",
            "停电开始",
            "您所在区域的{kind_label}已开始（{cause}），预计{estimated_restore_at}恢复供电，给您带来不便敬请谅解。",
            "您所在区域{kind_label}已开始（{cause}），预计{estimated_restore_at}恢复供电。",
            when="estimated_restore_at",
        ),
        # Faults found by 研判 (backend/faults): told before the customer asks, and as they change.
        _t(
            "outage_detected",
            "停电提醒",
            "我们监测到您所在区域停电，抢修人员正在赶往现场，预计{estimated_restore_at}前恢复供电。您无需报修，恢复供电后我们会及时通知您。",
            "我们监测到您所在区域停电，抢修人员正赶往现场，预计{estimated_restore_at}前恢复，无需报修。",
            when="estimated_restore_at",
        ),
        _t(
            "ticket_merged",
            "报修合并处理",
            "您报修的停电（工单{ticket_no}）与周边多户属于同一故障，已并入故障抢修工单{fault_ticket_no}统一处理，抢修人员正在赶往现场，后续进展我们会及时通知您。",
            "您的报修与周边属同一故障，已并入抢修工单{fault_ticket_no}统一处理，进展将及时通知您。",
            number="fault_ticket_no",
        ),
        _t(
            "fault_widened",
            "故障处理进展",
            "经进一步研判，您所在区域的停电属于线路故障，已统一由故障抢修工单{fault_ticket_no}处理，抢修人员正在排查，后续进展我们会及时通知您。",
            "经研判您处停电属线路故障，已统一由抢修工单{fault_ticket_no}处理，进展将及时通知您。",
            number="fault_ticket_no",
        ),
        _t(
            "fault_confirmed",
            "停电原因",
            "经现场核实，您所在区域停电原因为{cause}，预计{estimated_restore_at}恢复供电，我们正在全力抢修，给您带来不便敬请谅解。",
            "经现场核实，您处停电原因为{cause}，预计{estimated_restore_at}恢复供电。",
            when="estimated_restore_at",
        ),
        _t(
            "fault_dismissed_ticket",
            "报修已安排",
            "经现场核实，您所在区域线路运行正常，您家的停电需要单独检修。已为您安排抢修（工单{ticket_no}），抢修人员将于{deadline}前到达，请保持电话畅通，给您带来不便敬请谅解。",
            "经核实线路正常，您家需单独检修，已安排抢修（工单{ticket_no}），{deadline}前到达。",
            number="ticket_no",
            when="deadline",
        ),
        _t(
            "fault_dismissed_notice",
            "停电提醒解除",
            "经核实，您所在区域线路运行正常，此前的停电提醒已解除。如您家中仍没有电，请直接回复或拨打95598报修。",
            "经核实您所在区域线路正常，停电提醒已解除。如仍无电请回复或拨打95598。",
        ),
        _t(
            "outage_report_attached",
            "停电原因说明",
            "您反映的停电属于已知停电（{cause}），预计{estimated_restore_at}恢复供电，无需重复报修，来电后我们会通知您。",
            "您处停电原因：{cause}，预计{estimated_restore_at}恢复，无需重复报修。",
            when="estimated_restore_at",
        ),
        _t(
            "application_stage_changed",
            "业扩进度",
            "您的用电申请{application_no}已进入“{stage_label}”阶段，本阶段办结时限为{deadline}。",
            "用电申请{application_no}已进入{stage_label}阶段，时限{deadline}。",
            number="application_no",
            when="deadline",
        ),
        _t(
            "bill_issued",
            "电费账单",
            "您户号{account_masked}的{period}电费{amount}元已出账，请于{due_date}前缴纳，可通过微信或网上国网缴费。",
            "户号{account_masked}{period}电费{amount}元已出账，请于{due_date}前缴纳。",
            when="due_date",
        ),
        _t(
            "arrears_reminder",
            "欠费提醒",
            "您户号{account_masked}目前欠费{arrears}元，请尽快缴纳，以免影响正常用电。如已缴纳请忽略。",
            "户号{account_masked}欠费{arrears}元，请尽快缴纳，已缴请忽略。",
        ),
        _t(
            "sla_warning",
            "时限预警",
            "时限提醒：{what}的时限为{deadline}，即将超时，请尽快处理。",
            "提醒：{what}时限{deadline}，即将超时，请尽快处理。",
            when="deadline",
        ),
        _t(
            "sla_breached",
            "超时督办",
            "超时督办：{what}已超过时限（{deadline}），责任人{responsible}，请协调处理。",
            "督办：{what}已超时限{deadline}，责任人{responsible}，请协调处理。",
            when="deadline",
        ),
        _t(
            "ticket_arrival_delayed",
            "到达时间调整",
            "非常抱歉，抢修人员未能在承诺的{deadline}前到达（工单{ticket_no}），我们已督促加快，预计{new_estimate}前到达，给您带来不便敬请谅解。",
            "抱歉，抢修人员未能在{deadline}前到达（工单{ticket_no}），预计{new_estimate}前到达。",
            number="ticket_no",
            when="new_estimate",
        ),
        _t(
            "ticket_restore_delayed",
            "恢复时间调整",
            "非常抱歉，工单{ticket_no}的故障未能在{deadline}前处理完毕，抢修人员仍在全力处理，预计{new_estimate}前恢复供电，给您带来不便敬请谅解。",
            "抱歉，工单{ticket_no}未能在{deadline}前修复，预计{new_estimate}前恢复供电。",
            number="ticket_no",
            when="new_estimate",
        ),
        _t(
            "complaint_contact_delayed",
            "投诉处理进度",
            "非常抱歉，您反映的问题（工单{ticket_no}）我们未能在{deadline}前与您联系，专人将于{new_estimate}前与您联系。",
            "抱歉，您反映的问题（工单{ticket_no}）专人将于{new_estimate}前与您联系。",
            number="ticket_no",
            when="new_estimate",
        ),
        _t(
            "complaint_answer_delayed",
            "投诉处理进度",
            "非常抱歉，您反映的问题（工单{ticket_no}）未能在{deadline}前答复，我们正在加紧核实，将于{new_estimate}前给您答复。",
            "抱歉，您反映的问题（工单{ticket_no}）将于{new_estimate}前答复。",
            number="ticket_no",
            when="new_estimate",
        ),
        _t(
            "application_stage_delayed",
            "业扩进度",
            "非常抱歉，您的用电申请{application_no}“{stage_label}”环节未能在{deadline}前办结，我们正在加紧办理，预计{new_estimate}前办结，客户经理{manager_name}（{manager_phone}）会与您保持联系。",
            "抱歉，用电申请{application_no}{stage_label}环节预计{new_estimate}前办结。",
            number="application_no",
            when="new_estimate",
        ),
        _t("chat_reply", "服务回复", "{text}", number=None),
        _t(
            "report_queued_ticket",
            "报修已受理",
            "您的报修已受理，工单号{ticket_no}，我们会尽快安排抢修人员，请保持电话畅通。",
            "报修已受理，工单{ticket_no}，我们会尽快安排抢修，请保持电话畅通。",
            number="ticket_no",
        ),
        _t(
            "complaint_queued_ticket",
            "意见已登记",
            "您之前反映的问题已登记，编号{ticket_no}，专人将在{contact_deadline}前与您联系，4个工作日内给您答复。",
            "您反映的问题已登记，编号{ticket_no}，专人将在{contact_deadline}前联系您。",
            number="ticket_no",
            when="contact_deadline",
        ),
        _t(
            "bind_code",
            "绑定验证码",
            "您正在把户号{account_masked}绑定到微信，验证码{code}，{minutes}分钟内有效。如非本人操作请忽略，切勿把验证码告诉他人。",
            "验证码{code}，用于绑定户号{account_masked}，{minutes}分钟内有效，切勿告诉他人。",
            number="code",
            secret=("code",),
        ),
        _t(
            "binding_added",
            "账户绑定提醒",
            "您的户号{account_masked}于{at}绑定了一个新的微信账号。如非本人操作，请尽快拨打95598处理。",
            "户号{account_masked}于{at}绑定了新微信，如非本人操作请拨打95598。",
            when="at",
        ),
        # Hand-offs to people (人工坐席), backend/handoffs/delivery.py.
        _t(
            "agent_reply",
            "人工客服回复",
            "人工客服{agent_name}：{text}",
        ),
        _t(
            "handoff_released",
            "人工服务已结束",
            "人工客服已为您处理：{summary}。接下来由智能客服小电继续为您服务，还有问题直接发消息给我即可，需要人工时请回复“转人工”。",
            "人工客服已为您处理：{summary}。小电继续为您服务，需要人工请回复转人工。",
        ),
        _t(
            "handoff_closed",
            "人工服务已结束",
            "本次人工服务已结束，感谢您的耐心。还有问题直接发消息给我即可，需要人工时请回复“转人工”。",
            "本次人工服务已结束，感谢您的耐心。如需人工请回复转人工。",
        ),
        _t(
            "handoff_to_manager",
            "客户请您联系",
            "客户经理您好：您的客户{customer_name}（户号{account_no}，电话{customer_phone}）在{channel_label}请您联系。\n"
            "客户诉求：{reason}\n最近对话：\n{transcript}",
            "客户{customer_name}（户号{account_no}）请您联系，电话{customer_phone}。",
        ),
        _t(
            "handoff_wait_alert",
            "人工坐席排队提醒",
            "人工坐席排队提醒：{count}位客户已等待超过{minutes}分钟，最长已等{longest}分钟，当前在线坐席{online}人，请协调接待。",
            "{count}位客户等待人工超过{minutes}分钟，最长{longest}分钟，在线坐席{online}人，请协调。",
        ),
        # Made by the notifier itself: several SMS updates of one ticket merged into one.
        _t(
            "ticket_updates_coalesced",
            "工单进度",
            "工单{ticket_no}已更新{count}次，最新：{latest}",
            number="ticket_no",
        ),
        # Made by the notifier itself: a worker's waiting tasks in one WeCom message.
        _t("worker_task_digest", "待办任务汇总", "您有{count}条新任务：\n{items}"),
    )
}
# fmt: on


class UnknownTemplate(KeyError):
    pass


def clean(value: Any) -> str:
    """A variable as text: emoji and control characters removed (RELIABILITY row 41)."""
    return _CONTROL.sub("", _EMOJI.sub("", str(value))).strip()


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(value: Any, reference: datetime | None = None) -> str:
    """An ISO time as people say it: 今天14:30, 明天09:00, 11月25日09:00; an ISO date alone (a due
    date) without the clock: 11月25日; other values unchanged."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=LOCAL_ZONE)
        local = moment.astimezone(LOCAL_ZONE)
        day, clock_part = local.date(), local.strftime("%H:%M")
    elif isinstance(value, date):
        day, clock_part = value, ""
    else:
        return str(value)
    today = (reference or now()).astimezone(LOCAL_ZONE).date()
    if day == today:
        return f"今天{clock_part}"
    if day == today + timedelta(days=1):
        return f"明天{clock_part}"
    if day == today - timedelta(days=1):
        return f"昨天{clock_part}"
    return f"{day.month}月{day.day}日{clock_part}"


def render(key: str, params: dict[str, Any], reference: datetime | None = None) -> Rendered:
    """The message for `key` with `params` filled in; missing variables are an error."""
    try:
        template = TEMPLATES[key]
    except KeyError:
        raise UnknownTemplate(key) from None
    if "what" in template.params and "what" not in params and params.get("standard") in SLA_WHAT:
        params = params | {"what": SLA_WHAT[params["standard"]].format_map(params)}
    values: dict[str, str] = {}
    for name in template.params:
        if name not in params or params[name] is None:
            if name in DEFAULTS:
                values[name] = DEFAULTS[name]
                continue
            raise ValueError(f"template {key} needs the variable {name}")
        raw = params[name]
        values[name] = when(raw, reference) if name in _TIME_PARAMS else clean(raw)
    text = template.text.format(**values)
    sms_params = {name: cut(value, _LONG_PARAMS.get(name, SMS_VARIABLE_MAX)) for name, value in values.items()}
    sms_text = template.sms.format(**sms_params)
    data = {"thing1": cut(template.title, TEMPLATE_VALUE_MAX)}
    if template.number_param:
        data["character_string2"] = cut(values[template.number_param], 32)
    if template.when_param:
        data["time3"] = cut(values[template.when_param], TEMPLATE_VALUE_MAX)
    data["thing4"] = cut(clean(text), TEMPLATE_VALUE_MAX)
    return Rendered(template, text, sms_text, sms_params, data)
