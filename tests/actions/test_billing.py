"""Why a bill is high, in at most two plain sentences, against the real backend's demo data shapes."""

from __future__ import annotations

from actions.billing import reasons


def test_tier_and_peers_are_the_first_two_reasons() -> None:
    bill = {"period": "2026-08", "kwh": 520, "tiers": [{"tier": 1, "kwh": 260, "price": 0.538},
                                                       {"tier": 2, "kwh": 260, "price": 0.588}]}  # fmt: skip
    comparison = {"kwh": 520, "previous_kwh": 300, "cell_median_kwh": 310}
    found = reasons(bill, comparison)
    assert [name for name, _ in found] == [
        "utter_bill_explain_tier",
        "utter_bill_explain_season",
        "utter_bill_explain_peers_high",
    ]
    assert found[0][1] == {"month": "8", "kwh": 520, "tier": 2, "tier_kwh": 260, "price": 0.588}


def test_an_ordinary_bill_says_so() -> None:
    bill = {"period": "2026-10", "kwh": 150, "tiers": [{"tier": 1, "kwh": 150, "price": 0.538}]}
    assert [name for name, _ in reasons(bill, {})] == ["utter_bill_explain_plain"]
    comparison = {"kwh": 150, "previous_kwh": 160, "cell_median_kwh": 170}
    assert [name for name, _ in reasons(bill, comparison)] == ["utter_bill_explain_peers"]
