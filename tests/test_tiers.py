"""Tier rules (bankanalysis.rules.tiers) on a hand-built customer-month frame.

Thresholds 100 / 1,000 / 10,000. Customer rows (month: AUM):

- A: 01 50, 02 50, 03 150, 04 150 -> 2-month average at 04: 150 (quality)
- B: 02 2,000, 03 900, 04 900 -> 900 (quality); 3-month at 04: (2000+900+900)/3
- D: 04 20,000 only (new) -> 20,000 over 1 month (private banking)
- H: 01 300, 02 missing, 03 missing, 04 100 -> 3-month window at 04 uses 04 only: 100
  (exactly at the quality threshold); 4-month window: (300+100)/2 = 200
- E: 95 every month (mass); C: 01-03 only (not active at 04, never in the 04 frame)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankanalysis.exceptions import ParameterError, SegmentationError
from bankanalysis.rules import tiers as rt

THR = [100.0, 1000.0, 10000.0]
AUM = {
    "A": {"2024-01": 50, "2024-02": 50, "2024-03": 150, "2024-04": 150},
    "B": {"2024-02": 2000, "2024-03": 900, "2024-04": 900},
    "C": {"2024-01": 500, "2024-02": 500, "2024-03": 500},
    "D": {"2024-04": 20000},
    "E": {m: 95 for m in ("2024-01", "2024-02", "2024-03", "2024-04")},
    "H": {"2024-01": 300, "2024-04": 100},
}


@pytest.fixture()
def cm() -> pd.DataFrame:
    rows = [
        {"month": m, "customer_id": c, "aum": float(a), "outlet_id": f"O{c}"}
        for c, months in AUM.items()
        for m, a in months.items()
    ]
    # scrambled order: nothing may depend on the frame being sorted
    return pd.DataFrame(rows).sample(frac=1.0, random_state=3).reset_index(drop=True)


def test_tier_order_and_labels() -> None:
    assert rt.TIERS == ("mass", "quality", "vip", "private_banking")
    assert [rt.tier_label(t) for t in rt.TIERS] == ["Mass", "Quality", "VIP", "Private banking"]
    assert rt.tier_label("closed") == "closed"


def test_thresholds_at_exact_boundaries_belong_to_the_higher_tier() -> None:
    got = rt.assign_tiers([0.0, 99.99, 100.0, 999.99, 1000.0, 9999.99, 10000.0, 1e9], THR)
    assert list(got) == [
        "mass",
        "mass",
        "quality",
        "quality",
        "vip",
        "vip",
        "private_banking",
        "private_banking",
    ]
    assert got.ordered and list(got.categories) == list(rt.TIERS)


@pytest.mark.parametrize(
    ("thr", "match"),
    [
        ([1000.0, 100.0, 10000.0], "strictly increasing"),
        ([100.0, 100.0, 10000.0], "strictly increasing"),
        ([0.0, 100.0, 1000.0], "positive"),
        ([100.0, 1000.0], "exactly 3 thresholds"),
        ([100.0, float("nan"), 1000.0], "strictly increasing"),
        (["a", "b", "c"], "must be numbers"),
    ],
)
def test_bad_thresholds_name_the_parameter(thr: list, match: str) -> None:
    with pytest.raises(SegmentationError, match=match) as exc:
        rt.assign_tiers([1.0], thr)
    assert "tier_thresholds" in str(exc.value)


def test_missing_aum_is_refused() -> None:
    with pytest.raises(SegmentationError, match="1 customer"):
        rt.assign_tiers([1.0, np.nan], THR)


def test_window_average_uses_only_active_month_ends(cm: pd.DataFrame) -> None:
    got = rt.window_average_aum(cm, "2024-04", 2)
    assert list(got.index) == ["A", "B", "D", "E", "H"]  # C is not active at 04
    assert got["avg_aum"].to_dict() == {"A": 150.0, "B": 900.0, "D": 20000.0, "E": 95.0, "H": 100.0}
    assert got["months_used"].to_dict() == {"A": 2, "B": 2, "D": 1, "E": 2, "H": 1}
    three = rt.window_average_aum(cm, "2024-04", 3)
    assert three.loc["B", "avg_aum"] == pytest.approx((2000 + 900 + 900) / 3)
    assert three.loc["A", "avg_aum"] == pytest.approx((50 + 150 + 150) / 3)
    assert three.loc["H", "months_used"] == 1  # missing at 02 and 03
    four = rt.window_average_aum(cm, "2024-04", 4)
    assert four.loc["H"].tolist() == [200.0, 2]


def test_window_average_errors(cm: pd.DataFrame) -> None:
    with pytest.raises(SegmentationError, match="'2030-01'.*2024-01"):
        rt.window_average_aum(cm, "2030-01", 3)
    with pytest.raises(ParameterError, match="'2024-4'"):
        rt.window_average_aum(cm, "2024-4", 3)
    with pytest.raises(SegmentationError, match="aum"):
        rt.window_average_aum(cm.drop(columns="aum"), "2024-04", 3)


def test_rolling_average_agrees_with_the_window_average(cm: pd.DataFrame) -> None:
    roll = rt.rolling_average_aum(cm, 3)
    assert roll.index.equals(cm.index)
    for month in ("2024-01", "2024-02", "2024-03", "2024-04"):
        at = cm["month"] == month
        want = rt.window_average_aum(cm, month, 3)["avg_aum"]
        got = pd.Series(roll[at].to_numpy(), index=cm.loc[at, "customer_id"]).sort_index()
        pd.testing.assert_series_equal(got, want, check_names=False)
    h = cm.index[(cm["customer_id"] == "H") & (cm["month"] == "2024-04")][0]
    assert rt.rolling_average_aum(cm, 4)[h] == 200.0
    dup = pd.concat([cm, cm.iloc[:1]], ignore_index=True)
    with pytest.raises(SegmentationError, match="more than one row"):
        rt.rolling_average_aum(dup, 3)


def test_rolling_average_in_parts_continues_the_whole_reads_running_sum() -> None:
    """B's averages are differences of the running sum over A then B: at 1e16 the sum holds
    no odd unit, so they are 0 and 1 in the whole read, not B's own 1 and 1.5; a part given
    the sum after A (the carry) gives back the whole read's values."""
    cm = pd.DataFrame(
        {"month": ["2024-01", "2024-01", "2024-02"], "customer_id": ["A", "B", "B"],
         "aum": [1e16, 1.0, 2.0]}
    )  # fmt: skip
    whole = rt.rolling_average_aum(cm, 2)
    assert whole.tolist() == [1e16, 0.0, 1.0]
    part_a, carry = rt.rolling_average_aum_part(cm.iloc[:1], 2)
    assert part_a.tolist() == [1e16] and carry == 1e16
    part_b, end = rt.rolling_average_aum_part(cm.iloc[1:], 2, carry)
    assert part_b.tolist() == [0.0, 1.0] and end == 1e16 + 2.0
    assert part_b.index.tolist() == [1, 2]
    assert rt.rolling_average_aum_part(cm.iloc[1:], 2)[0].tolist() == [1.0, 1.5]  # no carry
    empty, same = rt.rolling_average_aum_part(cm.iloc[:0], 2, 5.0)
    assert empty.empty and same == 5.0


def test_customer_tiers_hand_computed(cm: pd.DataFrame) -> None:
    t = rt.customer_tiers(cm, "2024-04", THR, 2)
    assert t["customer_id"].tolist() == ["A", "B", "D", "E", "H"]
    assert t["tier"].astype(str).tolist() == [
        "quality",
        "quality",
        "private_banking",
        "mass",
        "quality",
    ]
    assert t["outlet_id"].tolist() == ["OA", "OB", "OD", "OE", "OH"]  # month rows carried over
    assert t["aum"].tolist() == [150.0, 900.0, 20000.0, 95.0, 100.0]  # spot AUM kept
    # with 3 months B averages 1,266.67: VIP
    t3 = rt.customer_tiers(cm, "2024-04", THR, 3)
    assert t3.set_index("customer_id").loc["B", "tier"] == "vip"


def test_tier_at_least() -> None:
    tiers = rt.assign_tiers([5.0, 500.0, 5000.0, 50000.0], THR)
    assert rt.tier_at_least(tiers, "quality").tolist() == [False, True, True, True]
    assert rt.tier_at_least(pd.Series(tiers), "vip").tolist() == [False, False, True, True]
    assert rt.tier_at_least(["mass", "private_banking"], "private_banking").tolist() == [
        False,
        True,
    ]
    assert rt.tier_at_least(tiers, "mass").all()
    with pytest.raises(SegmentationError, match="unknown tier 'private'"):
        rt.tier_at_least(tiers, "private")
    with pytest.raises(SegmentationError, match=r"\['gold'\]"):
        rt.tier_at_least(["mass", "gold"], "vip")
