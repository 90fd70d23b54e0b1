"""The push texts: every template renders, SMS forms fit, template-message values are clean."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.core.clock import LOCAL_ZONE
from backend.notifications.templates import TEMPLATES, UnknownTemplate, clean, render, when
from platforms.sms.segments import count_segments

REFERENCE = datetime(2026, 11, 22, 9, 0, tzinfo=LOCAL_ZONE)
SAMPLE = {
    "ticket_no": "QX202611220001",
    "deadline": "2026-11-22T14:30:00+08:00",
    "worker_name": "王建国",
    "worker_phone": "13912345678",
    "resolution": "更换熔断器",
    "address": "青山县城关镇人民路12号",
    "description": "整栋楼停电",
    "minutes": 10,
    "cause": "10kV线路检修",
    "kind_label": "计划停电",
    "starts_at": "2026-11-29T08:00:00+08:00",
    "estimated_restore_at": "2026-11-29T18:00:00+08:00",
    "application_no": "YK202611220003",
    "stage_label": "现场勘查",
    "applicant_name": "青山县食品厂",
    "account_masked": "3100****01",
    "period": "2026年10月",
    "amount": "128.50",
    "due_date": "2026-11-30T00:00:00+08:00",
    "arrears": "56.20",
    "text": "您好，您的工单正在处理中。",
    "count": 3,
    "latest": "抢修人员已到达现场",
    "items": "1. 新任务",
    "code": "204817",
    "at": "2026-11-22T09:05:00+08:00",
    "contact_deadline": "2026-11-23T09:00:00+08:00",
    "new_estimate": "2026-11-22T15:00:00+08:00",
    "manager_name": "陈思远",
    "manager_phone": "13700137001",
    "standard": "application_stage",
    "number": "YK202611220003",
    "responsible": "陈思远",
    "agent_name": "林晓",
    "summary": "已为您催办抢修，师傅半小时内到达",
    "customer_name": "青山县鑫源超市",
    "account_no": "3100000004",
    "customer_phone": "13800138004",
    "channel_label": "微信公众号",
    "reason": "商户咨询增容报装进度",
    "transcript": "客户：我要找客户经理",
    "longest": 12,
    "online": 2,
    "fault_ticket_no": "QX202611220009",
    "evidence": "15分钟内3户报修停电",
    "merged": "QX202611220001、QX202611220002",
    "merged_note": "已合并您的任务QX202611220001，无需再分别处理。",
    "area": "10kV城关1号线",
    "affected": 326,
    "praise": "师傅来得很快，服务很好",
}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_renders_and_its_sms_fits_one_segment(key):
    rendered = render(key, SAMPLE, REFERENCE)
    assert "{" not in rendered.text and "{" not in rendered.sms_text
    assert count_segments(rendered.sms_text, "国网客服") == 1, rendered.sms_text
    assert all(len(v) <= 20 for name, v in rendered.template_data.items() if name != "character_string2")


@pytest.mark.parametrize(
    "standard", ["arrival", "restoration", "complaint_contact", "complaint_answer", "outage_notice"]
)
def test_every_standard_is_named_in_words_in_its_warning_and_breach(standard):
    """No standard's internal name reaches a worker; each SMS form fits one segment."""
    for key in ("sla_warning", "sla_breached"):
        rendered = render(key, SAMPLE | {"standard": standard, "number": "QX202611220001"}, REFERENCE)
        assert "{" not in rendered.text and standard not in rendered.text
        assert count_segments(rendered.sms_text, "国网客服") == 1, rendered.sms_text


def test_times_are_said_the_way_people_say_them():
    assert when("2026-11-22T14:30:00+08:00", REFERENCE) == "今天14:30"
    assert when("2026-11-23T01:30:00+00:00", REFERENCE) == "明天09:30"
    assert when("2026-11-29T08:00:00+08:00", REFERENCE) == "11月29日08:00"
    assert "今天14:30前到达" in render("ticket_dispatched", SAMPLE, REFERENCE).text


def test_emoji_and_control_characters_are_removed_and_values_cut():
    assert clean("停电了😭\x07！") == "停电了！"
    rendered = render("chat_reply", {"text": "🙂" + "很长的回复" * 10}, REFERENCE)
    assert rendered.template_data["thing4"].endswith("…") and "🙂" not in rendered.template_data["thing4"]


def test_missing_variables_and_unknown_templates_are_errors():
    with pytest.raises(ValueError, match="ticket_no"):
        render("ticket_dispatched", {"deadline": "2026-11-22T14:30:00+08:00"})
    with pytest.raises(UnknownTemplate):
        render("nope", {})
    assert "故障已排除" in render("ticket_resolved", {"ticket_no": "QX1"}, REFERENCE).text
