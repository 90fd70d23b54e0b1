"""The report as an Excel workbook, in Chinese: 日监控 (daily), 周通报 (weekly), 月考评 (monthly).

The weekly and monthly workbooks add the rankings of grid cells and workers: by arrival on time, then
restoration on time, then satisfaction, then fewer complaints per 10,000 customers.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from backend.reports.service import ranked

TITLES = {"daily": "日监控报表", "weekly": "周通报", "monthly": "月考评"}
STANDARD_LABELS = {
    "arrival": "到达超时",
    "restoration": "修复超时",
    "complaint_contact": "投诉联系超时",
    "complaint_answer": "投诉答复超时",
    "application_stage": "业扩环节超时",
    "outage_notice": "停电通知超时",
}
# (heading, key) of the figures every unit has
FIGURES = [
    ("受理工单", "received"),
    ("合并工单", "merged"),
    ("到达及时率(%)", "arrival_on_time_pct"),
    ("平均到达时长(分钟)", "avg_arrival_minutes"),
    ("修复及时率(%)", "restoration_on_time_pct"),
    ("平均修复时长(分钟)", "avg_restoration_minutes"),
    ("投诉数", "complaints"),
    ("满意度均分", "satisfaction_avg"),
    ("评价数", "satisfaction_count"),
]
PER_CUSTOMER = [
    ("用户数", "customers"),
    ("频繁停电用户", "repeat_outage_customers"),
    ("万户投诉率", "complaints_per_10k"),
    ("投诉热点", "complaint_topics"),
    ("业扩环节办结", "application_stages_finished"),
    ("业扩环节按时率(%)", "application_stages_on_time_pct"),
]


def build_workbook(report: dict[str, Any]) -> bytes:
    period = report["period"]
    book = Workbook(write_only=True)
    title = f"{TITLES[period['kind']]}（{period['label']}）"
    _overview(book.create_sheet("总体"), title, report)
    units = [
        ("县公司", report["counties"], [("县公司", "county")], PER_CUSTOMER),
        (
            "网格",
            report["grid_cells"],
            [("网格编号", "code"), ("网格名称", "name"), ("县公司", "county")],
            PER_CUSTOMER,
        ),
        ("网格员", report["workers"], [("工号", "code"), ("姓名", "name"), ("网格编号", "grid_cell_code")], []),
    ]
    for name, rows, keys, extra in units:
        _table(book.create_sheet(name), rows, keys, extra)
    if period["kind"] in ("weekly", "monthly"):
        _table(book.create_sheet("网格排名"), ranked(report["grid_cells"]), [("网格名称", "name")], PER_CUSTOMER, True)
        _table(book.create_sheet("网格员排名"), ranked(report["workers"]), [("姓名", "name")], [], True)
    _applications(book.create_sheet("业扩时限"), report["applications"])
    _service(book.create_sheet("推送与对话"), report)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _bold(sheet: WriteOnlyWorksheet, values: list[Any]) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _value(value: Any) -> Any:
    if value is None:
        return "—"
    if isinstance(value, list):
        return "、".join(value) or "—"
    return value


def _table(
    sheet: WriteOnlyWorksheet,
    rows: list[dict[str, Any]],
    keys: list[tuple[str, str]],
    extra: list[tuple[str, str]],
    ranking: bool = False,
) -> None:
    columns = keys + FIGURES + extra
    breaches = list(STANDARD_LABELS)
    sheet.append(
        _bold(sheet, (["排名"] if ranking else []) + [h for h, _ in columns] + [STANDARD_LABELS[s] for s in breaches])
    )
    if not rows:
        sheet.append(["本期无数据"])
    for n, row in enumerate(rows, 1):
        values = [_value(row.get(key)) for _, key in columns] + [row["breaches"][s] for s in breaches]
        sheet.append(([n] if ranking else []) + values)


def _overview(sheet: WriteOnlyWorksheet, title: str, report: dict[str, Any]) -> None:
    overall = report["overall"]
    sheet.append(_bold(sheet, [title]))
    sheet.append(["统计区间", f"{report['period']['start'][:16]} 至 {report['period']['end'][:16]}"])
    sheet.append(["生成时间", report["generated_at"][:19]])
    sheet.append([])
    sheet.append(_bold(sheet, ["指标", "数值"]))
    for heading, key in FIGURES + PER_CUSTOMER:
        sheet.append([heading, _value(overall.get(key))])
    for standard, label in STANDARD_LABELS.items():
        sheet.append([label, overall["breaches"][standard]])


def _applications(sheet: WriteOnlyWorksheet, stages: list[dict[str, Any]]) -> None:
    sheet.append(_bold(sheet, ["业扩环节", "本期办结", "按时办结", "按时率(%)"]))
    for stage in stages:
        sheet.append([stage["label"], stage["finished"], stage["on_time"], _value(stage["on_time_pct"])])


CHANNEL_LABELS = {"wechat_cs": "微信客服消息", "wechat_template": "微信模板消息", "sms": "短信", "wecom": "企业微信"}


def _service(sheet: WriteOnlyWorksheet, report: dict[str, Any]) -> None:
    pushes, talks = report["pushes"], report["conversations"]
    sheet.append(_bold(sheet, ["推送渠道", "送达条数"]))
    for channel, count in pushes["sent_by_channel"].items():
        sheet.append([CHANNEL_LABELS.get(channel, "合并发送"), count])
    sheet.append(["发送失败", pushes["failed"]])
    sheet.append(["待发送", pushes["pending"]])
    sheet.append([])
    sheet.append(_bold(sheet, ["智能客服", "数值"]))
    sheet.append(["会话数", talks["conversations"]])
    sheet.append(["转人工会话", talks["handed_off"]])
    sheet.append(["机器人独立解决率(%)", _value(talks["containment_pct"])])
    sheet.append(["未理解次数", talks["fallbacks"]])
