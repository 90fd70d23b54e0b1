"""Human words only (issue 17, item 8): every response of the dialogue, every push template and every
text the channels say themselves is rendered with realistic values, and no internal identifier
(status, stage, template or enum name, English word) may appear in it. Latin letters are allowed
only in ticket and application numbers, units and app names."""

from __future__ import annotations

import re
import string

import pytest
import yaml

from backend.notifications.templates import TEMPLATES, render
from platforms import texts
from tests.dialogue.conftest import DOMAIN_DIR

ALLOWED = re.compile(r"QX\d*|YK\d*|kWh|kVA|App|TD")
LATIN = re.compile(r"[A-Za-z_]+")

SAMPLES = {
    "what": "报修",
    "account_masked": "31******01",
    "account_no": "3100000001",
    "address": "青山县城关镇人民路18号",
    "place": "青山县城关镇人民路18号3栋2单元501",
    "phone": "138****8001",
    "phone_masked": "138****8001",
    "description": "家里停电了",
    "praise": "师傅来得很快，服务很好",
    "listing": "1. 人民路18号3栋\n2. 解放路66号1栋",
    "other": 3,
    "ticket_no": "QX202612030001",
    "deadline": "今天15:30",
    "worker_name": "赵磊",
    "worker_phone": "13900000001",
    "where": "您所在区域",
    "cause": "10千伏线路故障",
    "restore_time": "今天18:00",
    "start_time": "12月9日08:00",
    "month": "11",
    "kwh": 310,
    "amount": "168.50",
    "balance": "20.00",
    "due_date": "12月20日",
    "count": 2,
    "total": "240.10",
    "lines": "10月 71.60元（11月20日到期）\n11月 168.50元（12月20日到期）",
    "previous_month": "10",
    "previous_kwh": 180,
    "more_kwh": 130,
    "more_amount": "70.20",
    "previous_amount": "95.10",
    "tier": 2,
    "tier_kwh": 80,
    "price": 0.5783,
    "use": "取暖",
    "median_kwh": 210,
    "percent": 48,
    "limit1": 230,
    "limit2": 400,
    "price1": 0.5283,
    "price2": 0.5783,
    "price3": 0.8283,
    "parts": "第1档230度×0.5283元=121.51元；第2档80度×0.5783元=46.26元",
    "peak_hours": "8:00至22:00",
    "valley_hours": "22:00至次日8:00",
    "surcharge": 0.03,
    "discount": 0.2,
    "peak_kwh": 200,
    "valley_kwh": 110,
    "type_label": "低压非居民",
    "application_no": "YK202611010001",
    "done": "· 受理：11月3日完成",
    "stage": "现场勘查",
    "entered": "11月4日",
    "limit": 6,
    "date": "11月20日",
    "manager_name": "周敏",
    "manager_phone": "13700001111",
    "arrival_deadline": "今天15:30",
    "restore_deadline": "今天18:30",
    "merged_into": "QX202612030002",
    "cell_name": "城关一网格",
    "backup_name": "孙浩",
    "backup_phone": "139****0002",
    "document": "工单QX202612030001",
    "attempts_left": 3,
    "minutes": 10,
    "queue_position": 2,
    "wait_minutes": 6,
    "summary": "已为您登记电表校验",
    "contact_deadline": "明天10:00",
    "time": "今天13:05",
}


def responses() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        for name, variants in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items():
            found += [(name, variant["text"]) for variant in variants]
    return found


def foreign_words(text: str) -> list[str]:
    return LATIN.findall(ALLOWED.sub("", text))


@pytest.mark.parametrize(("name", "text"), responses(), ids=[n for n, _ in responses()])
def test_every_response_renders_in_human_words(name: str, text: str) -> None:
    fields = [field for _, field, _, _ in string.Formatter().parse(text) if field]
    missing = [f for f in fields if f not in SAMPLES]
    assert not missing, f"add a realistic sample value for {missing}"
    rendered = text.format(**SAMPLES)
    assert foreign_words(rendered) == [], rendered


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_push_renders_in_human_words(key: str) -> None:
    rendered = render(
        key,
        {
            **SAMPLES,
            "code": "204817",
            "deadline": "2026-12-03T15:30:00+08:00",
            "starts_at": "2026-12-09T08:00:00+08:00",
            "estimated_restore_at": "2026-12-09T17:00:00+08:00",
            "due_date": "2026-12-20",
            "at": "2026-12-03T10:00:00+08:00",
            "contact_deadline": "2026-12-04T10:00:00+08:00",
            "kind_label": "计划停电",
            "stage_label": "现场勘查",
            "applicant_name": "青山县鑫源超市",
            "period": "2026年11月",
            "arrears": "56.20",
            "resolution": "表箱空开跳闸，已合上",
            "latest": "抢修人员已到达现场",
            "items": "1. 新任务",
            "new_estimate": "2026-12-03T18:00:00+08:00",
            "responsible": "网格员赵磊",
            "standard": "arrival",
            "number": "QX202612030001",
            "agent_name": "林晓",
            "fault_ticket_no": "QX202612030009",
            "evidence": "15分钟内3户报修停电",
            "merged": "QX202612030001、QX202612030002",
            "merged_note": "已合并您的任务QX202612030001，无需再分别处理。",
            "area": "10千伏城关1号线",
            "affected": 326,
            "customer_name": "青山县鑫源超市",
            "customer_phone": "13800138004",
            "channel_label": "微信公众号",
            "reason": "咨询增容报装进度",
            "transcript": "客户：我要找客户经理",
            "longest": 12,
            "online": 2,
            "text": "您好，您的工单正在处理中。",
        },
    )
    for text in (rendered.text, rendered.sms_text, *rendered.template_data.values()):
        assert foreign_words(text) == [], text


@pytest.mark.parametrize("name", [n for n in dir(texts) if n.isupper()])
def test_what_the_channels_say_themselves_is_human(name: str) -> None:
    text = str(getattr(texts, name)).format(limit=500, index=1, title="报修", label="人民路18号")
    assert foreign_words(text) == [], text


def test_the_check_catches_an_internal_name() -> None:
    assert foreign_words("目前处于“accepted”环节") == ["accepted"]
    assert foreign_words("工单QX202612030001已派给网格员赵磊，可在网上国网App查看") == []
