"""The stages of a connection application (业扩报装) by type, and the utility's time limit of each.

Which stages: every application is accepted (受理), surveyed (现场勘查), answered with a supply plan
(供电方案答复), inspected on completion (竣工检验) and connected (装表接电). Only high-voltage
customers build a receiving installation of their own design, so only they go through design review
(设计审查) and the mid-construction check (中间检查); residential and low-voltage applications skip
both.

The limits, in working days of the utility's side (the customer's own time is not counted), and
where each comes from (docs/adr/0010-service-standards.md has the sources in full):

- The whole process: residential 5, low-voltage non-residential 6, high-voltage single source 22,
  dual source 32 working days: State Grid's published service commitments (国家电网有限公司供电服务
  “十项承诺”, item 6), as DESIGN "Service standards" fixes them.
- Upper bounds per stage: 供电方案答复 at most 15 working days (single source) and 30 (dual source),
  设计审查 10, 中间检查 5, 竣工检验 5, 装表接电 5 (State Grid's 业扩报装服务时限考核 rules, which
  measure each of these five stages from its own start); 《供电营业规则》 bounds the supply plan answer
  more loosely still (居民 5 days, 低压 10 days, 高压单电源 one month, 双电源 two months).
- The split of each whole-process total over its stages is ours: it stays within every per-stage bound
  and adds up to the commitment, and each number can be changed by APPLICATION_STAGE_DAYS.
"""

from __future__ import annotations

from backend.core.config import Settings

STAGES = (
    "accepted",
    "survey",
    "plan_reply",
    "design_review",
    "midway_check",
    "completion_check",
    "connected",
)
STAGE_LABELS = {
    "accepted": "受理",
    "survey": "现场勘查",
    "plan_reply": "供电方案答复",
    "design_review": "设计审查",
    "midway_check": "中间检查",
    "completion_check": "竣工检验",
    "connected": "装表接电",
}
TYPE_LABELS = {
    "residential": "居民新装",
    "low_voltage": "低压非居民",
    "high_voltage_single": "高压单电源",
    "high_voltage_dual": "高压双电源",
}
_LOW_VOLTAGE = ("accepted", "survey", "plan_reply", "completion_check", "connected")
STAGE_SETS: dict[str, tuple[str, ...]] = {
    "residential": _LOW_VOLTAGE,
    "low_voltage": _LOW_VOLTAGE,
    "high_voltage_single": STAGES,
    "high_voltage_dual": STAGES,
}
# Working days per stage; each type's sum is its whole-process commitment (5, 6, 22, 32).
DEFAULT_STAGE_DAYS: dict[str, dict[str, int]] = {
    "residential": {"accepted": 1, "survey": 1, "plan_reply": 1, "completion_check": 1, "connected": 1},
    "low_voltage": {"accepted": 1, "survey": 1, "plan_reply": 2, "completion_check": 1, "connected": 1},
    "high_voltage_single": {
        "accepted": 1,
        "survey": 2,
        "plan_reply": 10,  # ≤ 15
        "design_review": 3,  # ≤ 10
        "midway_check": 2,  # ≤ 5
        "completion_check": 2,  # ≤ 5
        "connected": 2,  # ≤ 5
    },
    "high_voltage_dual": {
        "accepted": 1,
        "survey": 2,
        "plan_reply": 15,  # ≤ 30
        "design_review": 5,  # ≤ 10
        "midway_check": 3,  # ≤ 5
        "completion_check": 3,  # ≤ 5
        "connected": 3,  # ≤ 5
    },
}


def stage_days(settings: Settings) -> dict[str, dict[str, int]]:
    """The working days of each type's stages: the defaults, with APPLICATION_STAGE_DAYS over them.

    A type or stage the override names that does not exist (or a stage the type skips) is a
    configuration error, raised as ValueError."""
    days = {kind: dict(limits) for kind, limits in DEFAULT_STAGE_DAYS.items()}
    for kind, limits in settings.application_stage_days.items():
        if kind not in days:
            raise ValueError(f"APPLICATION_STAGE_DAYS: unknown application type {kind!r}")
        for stage, value in limits.items():
            if stage not in days[kind]:
                raise ValueError(f"APPLICATION_STAGE_DAYS: {kind} applications have no stage {stage!r}")
            if not 0 < value <= 60:
                raise ValueError(f"APPLICATION_STAGE_DAYS: {kind}.{stage} must be 1 to 60 working days")
            days[kind][stage] = value
    return days


def next_stage(app_type: str, stage: str) -> str | None:
    """The stage after `stage` for this type of application; None after the last."""
    stages = STAGE_SETS[app_type]
    position = stages.index(stage)
    return stages[position + 1] if position + 1 < len(stages) else None
