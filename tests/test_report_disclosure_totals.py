"""The run-level decision of which AUM totals a run withholds (report/disclosure_totals.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from attacker import attack_linear
from disclosure_data import K, _comp_of

from bankanalysis.report import disclosure_totals as dt
from bankanalysis.report import segmentation as rs
from bankanalysis.report.disclosure import protect_tiers
from bankanalysis.report.disclosure_plan import PlanCounts, withhold_attainment
from bankanalysis.rules.tiers import TIERS

MONTH = "2026-10"
M = 1e6


def _customers(region, echelon, outlet, tier, n, aum):
    return [
        {"region_id": region, "echelon": echelon, "outlet_id": outlet, "tier": tier, "aum": aum}
    ] * n


def _bank() -> pd.DataFrame:
    """Echelon 1: R1 (10 m CNY: one VIP customer holds 7.5 m, 75 %; outlets O1 8.5 m and O2
    1.5 m), R2 (6 m: O3 4 m, O4 2 m), R3 (3 m: O5); echelon 2: R4 (5 m: O6). Every other
    customer is a quality customer of 100,000 CNY."""
    rows = _customers("R1", 1, "O1", "vip", 1, 7.5 * M)
    rows += _customers("R1", 1, "O1", "quality", 10, 0.1 * M)
    rows += _customers("R1", 1, "O2", "quality", 15, 0.1 * M)
    rows += _customers("R2", 1, "O3", "quality", 40, 0.1 * M)
    rows += _customers("R2", 1, "O4", "quality", 20, 0.1 * M)
    rows += _customers("R3", 1, "O5", "quality", 30, 0.1 * M)
    rows += _customers("R4", 2, "O6", "quality", 50, 0.1 * M)
    return pd.DataFrame(rows)


def test_a_region_whose_tier_holds_more_than_two_thirds_of_its_aum_is_pinned() -> None:
    p = dt.pinned_totals(_bank(), K).set_index(["level", "id"])
    # R1: the VIP tier (1 customer, primary) holds 7.5 of 10 m > 10 / 1.5 = 6.67 m
    assert p.loc[("region", "R1"), "aum"] == pytest.approx(10 * M)
    assert p.loc[("region", "R1"), "tier_aum"] == pytest.approx(7.5 * M)
    assert p.loc[("region", "R1"), "pinned"]
    # the echelon holds 19 m: 7.5 m is under two thirds of it; the bank 24 m
    assert p.loc[("echelon", "1"), "aum"] == pytest.approx(19 * M)
    assert p.loc[("echelon", "1"), "tier_aum"] == pytest.approx(7.5 * M)
    assert not p.loc[("echelon", "1"), "pinned"]
    assert not p.loc[("bank", "bank"), "pinned"]
    # no small or dominated tier in R2 .. R4
    assert p.loc[("region", "R2"), "tier_aum"] == 0.0
    assert p["pinned"].sum() == 1


def test_the_region_total_is_withheld_with_its_largest_outlet_and_two_sibling_regions() -> None:
    prot = dt.protect_total_aum(_bank(), MONTH, K).protection[0]
    # O1 (8.5 m) leaves 1.5 m <= 5 m shown; R2 with O3 (4 m) and R3 with O5 (3 m) hold
    # 7 m >= 5 m of the echelon's other regions' money: R2 alone (4 m) would not do
    assert prot.status == {
        "region=R1": "primary",
        "outlet=O1": "secondary",
        "region=R2": "secondary",
        "outlet=O3": "secondary",
        "region=R3": "secondary",
        "outlet=O5": "secondary",
    }
    row = prot.audit.set_index("cell").loc["region=R1"]
    # R1 >= O2 (1.5 m); R1 <= 19 - O4 (2 m) - 0 = 17 m: reaches 5 m .. 15 m
    assert (row["lower"], row["upper"]) == pytest.approx((1.5, 17.0))
    assert bool(row["safe"])


def test_nothing_is_withheld_where_no_tier_is_pinned() -> None:
    bank = _bank()
    # R1's VIP customer with 3.5 m: 3.5 of 6 m is 58 %, under two thirds
    bank.loc[bank["tier"] == "vip", "aum"] = 3.5 * M
    assert not dt.pinned_totals(bank, K)["pinned"].any()
    assert dt.protect_total_aum(bank, MONTH, K).status == {}


def _attack(status: set[str], bank: pd.DataFrame) -> tuple[float, float]:
    """The attacker's bounds on R1's VIP AUM: the tier table withholds every tier's AUM; the
    outlets, regions, echelons and bank are published unless ``status`` withholds them."""
    money = {f"outlet={o}": float(a) for o, a in bank.groupby("outlet_id")["aum"].sum().items()}
    money |= {f"region={r}": float(a) for r, a in bank.groupby("region_id")["aum"].sum().items()}
    money |= {f"echelon={e}": float(a) for e, a in bank.groupby("echelon")["aum"].sum().items()}
    cells: dict[str, float | str | None] = {
        c: (None if c in status else v) for c, v in money.items()
    }
    cells |= {"tier:vip": None, "tier:quality": None}
    rel = [
        {"tier:vip": 1.0, "tier:quality": 1.0, "region=R1": -1.0},
        {"outlet=O1": 1.0, "outlet=O2": 1.0, "region=R1": -1.0},
        {"outlet=O3": 1.0, "outlet=O4": 1.0, "region=R2": -1.0},
        {"outlet=O5": 1.0, "region=R3": -1.0},
        {"outlet=O6": 1.0, "region=R4": -1.0},
        {"region=R1": 1.0, "region=R2": 1.0, "region=R3": 1.0, "echelon=1": -1.0},
    ]
    return attack_linear(cells, rel, K)["tier:vip"]


def test_the_attacker_cannot_pin_the_tier_once_the_run_withholds_the_total() -> None:
    bank = _bank()
    # before: the region's 10 m published, the VIP tier's 7.5 m is at most 10 m < 11.25 m
    lo, hi = _attack(set(), bank)
    assert (lo, hi) == pytest.approx((0.0, 10 * M))
    assert hi < 1.5 * 7.5 * M
    # the region alone withheld: its outlets add up to it
    assert _attack({"region=R1"}, bank)[1] == pytest.approx(10 * M)
    # the decision: at most 17 m, beyond 1.5 x 7.5 m
    prot = dt.protect_total_aum(bank, MONTH, K).protection[0]
    lo, hi = _attack(set(prot.status), bank)
    assert (lo, hi) == pytest.approx((0.0, 17 * M))
    assert hi >= 1.5 * 7.5 * M


def test_the_decision_withholds_the_month_and_its_changes_of_every_withheld_unit() -> None:
    counts = dt.protect_total_aum(_bank(), MONTH, K)
    assert counts.of_level("region", "R1", "aum", MONTH) == "secondary"
    assert counts.of_level("region", "R1", "aum", "mom") == "secondary"
    assert counts.of_level("region", "R1", "aum", "yoy") == "secondary"
    assert counts.of("O1", "aum", MONTH) == "secondary"
    assert counts.of("O2", "aum", MONTH) == ""
    assert counts.of_level("region", "R4", "aum", MONTH) == ""
    assert counts.of_level("echelon", "1", "aum", MONTH) == ""
    assert dt.withheld_units(counts, "region", MONTH) == {"R1", "R2", "R3"}
    assert dt.withheld_units(counts, "outlet", MONTH) == {"O1", "O3", "O5"}


def test_aum_attainment_of_a_withheld_region_is_withheld_with_the_counts() -> None:
    """actual = attainment x the published target: both go, and met (which side)."""
    counts = dt.merge_counts(
        PlanCounts({("region=R4", "new_customers", MONTH): "primary"}, k=K),
        dt.protect_total_aum(_bank(), MONTH, K),
    )
    att = pd.DataFrame(
        {
            "region_id": ["R1", "R4", "R4"],
            "kpi": ["aum", "aum", "new_customers"],
            "target": [12 * M, 4 * M, 20.0],
            "actual": [10 * M, 5 * M, 4.0],
            "attainment": [10 / 12, 1.25, 0.2],
            "met": [False, True, False],
        }
    )
    out = withhold_attainment(att, counts, MONTH)
    assert out["withheld"].tolist() == ["secondary", "", "primary"]
    assert np.isnan(out.at[0, "actual"]) and np.isnan(out.at[0, "attainment"])
    assert out.at[0, "met"] is None
    assert out.at[1, "actual"] == 5 * M and out.at[1, "met"]


def test_the_tier_table_is_safe_when_the_run_withholds_the_regions_aum(caplog) -> None:
    """The 120-region bank's R087 (tests/test_report_disclosure.py): one private-banking
    customer holds 75 % of the region's AUM. The same cells are withheld either way; with the
    total published the audit fails, with it withheld by the run it passes."""
    n = {"mass": 136, "quality": 25, "vip": 6, "private_banking": 1}
    aum = {"mass": 961_583.0, "quality": 4_017_621.0, "vip": 5_849_487.0}
    rows = [{"tier": t, "aum": aum[t] / n[t]} for t in aum for _ in range(n[t])]
    rows.append({"tier": "private_banking", "aum": 32_810_131.0})
    tiers = pd.DataFrame(rows).assign(tier=lambda d: pd.Categorical(d["tier"], categories=TIERS))
    comp = rs.shown_tier_comparison(_comp_of(tiers), K)
    plain = protect_tiers(comp, tiers, "vip", K)
    kept = protect_tiers(comp, tiers, "vip", K, aum_withheld=True)
    assert not plain.attrs["protection"].safe
    assert kept.attrs["protection"].safe
    assert kept.attrs["protection"].status == plain.attrs["protection"].status
    row = kept.attrs["protection"].audit.set_index("cell").loc["aum[tier=private_banking]"]
    assert row["upper"] == np.inf


def test_the_tier_table_keeps_the_total_when_a_tier_shows_its_aum() -> None:
    """A tier's amount over its share gives the total back: with one AUM cell shown the
    re-audit does not apply."""
    from bankanalysis.report.disclosure import audit_without_total, tier_table
    from bankanalysis.rules.disclosure_secondary import Protection, audit

    region = pd.DataFrame(
        {"tier": ["mass", "quality", "vip"], "customers": [200, 50, 1], "aum": [5.0, 20.0, 75.0]}
    )
    table, _ = tier_table(region, None, K)
    # the VIP's 75 % withheld with quality's 20 %, mass's 5 % (and its amount) shown
    status = {"aum[tier=vip]": "primary", "aum[tier=quality]": "secondary"}
    prot = Protection(status=status, audit=audit(table, status, K))
    assert not prot.safe  # 0 .. 95 %, under 1.5 x 75 %
    assert audit_without_total(table, prot, K) is prot
    # every tier's AUM withheld: the total unknown, the VIP's AUM unbounded above
    every = {**status, "aum[tier=mass]": "secondary"}
    freed = audit_without_total(table, Protection(status=every, audit=audit(table, every, K)), K)
    assert freed.safe and freed.audit.at[0, "upper"] == np.inf


def test_merge_keeps_every_status_once() -> None:
    a = PlanCounts({("region=R1", "new_customers", MONTH): "primary"}, k=K)
    b = dt.protect_total_aum(_bank(), MONTH, K)
    merged = dt.merge_counts(a, b, None)
    assert len(merged.status) == 1 + len(b.status) == 1 + 6 * 3
    assert merged.k == K and len(merged.protection) == 1


def test_outlet_aum_figures_are_withheld_in_03s_tables() -> None:
    counts = dt.protect_total_aum(_bank(), MONTH, K)
    mine = pd.DataFrame(
        {
            "outlet_id": ["O1", "O2"],
            "region_id": "R1",
            "aum": [8.5 * M, 1.5 * M],
            "aum_per_customer": [8.5 * M / 11, 0.1 * M],
        }
    )
    hidden = pd.DataFrame({"new_customers": ["", ""]}, index=mine.index)
    hidden.attrs["k"] = K
    out = dt.withhold_outlet_aum(hidden, mine, counts, MONTH)
    assert out["aum"].tolist() == ["secondary", ""]
    assert out["aum_per_customer"].tolist() == ["secondary", ""]
    assert "aum_per_fte" not in out.columns  # not a column of this table
    assert out.attrs == {"k": K, "region": {"aum": "secondary"}}
    # R4's outlet table: nothing withheld
    r4 = mine.assign(outlet_id=["O6", "O7"], region_id="R4")
    assert list(dt.withhold_outlet_aum(hidden, r4, counts, MONTH).columns) == ["new_customers"]


@pytest.mark.run_level
def test_every_tier_table_of_the_bank_is_safe_with_the_runs_aum_totals(ci_bank) -> None:
    """Every region's tier table (default parameters) audited as 01 audits it: with its AUM
    total published, or unknown where the run's decision withholds it. On the CI bank nothing
    is pinned (the decision is empty); on the 120-region bank ten regions are (R010, R035,
    R037, R052, R077, R087, R090, R103, R105, R116), whose tables failed this audit before."""
    from bankanalysis.data.load import load_processed
    from bankanalysis.rules.tiers import customer_tiers
    from bankanalysis.segmentation import tier_comparison

    bank = load_processed(ci_bank.processed)
    months = list(bank.months)
    cm = bank.customer_month(
        months=months[-3:], columns=["outlet_id", "region_id", "echelon", "aum"]
    )
    tiers_all = customer_tiers(cm, months[-1], [50000, 500000, 6000000], 3)
    counts = dt.protect_total_aum(tiers_all, months[-1], K)
    assert all(p.safe for p in counts.protection)
    withheld = dt.withheld_units(counts, "region", months[-1])
    pinned = dt.pinned_totals(tiers_all, K)
    assert set(pinned.loc[pinned["pinned"], "id"]) <= withheld
    unsafe = []
    for region in sorted(tiers_all["region_id"].astype(str).unique()):
        tiers = tiers_all[tiers_all["region_id"] == region]
        comp = rs.shown_tier_comparison(tier_comparison(tiers_all, region), K)
        comp = protect_tiers(comp, tiers, "vip", K, warn=False, aum_withheld=region in withheld)
        if not comp.attrs["protection"].safe:
            unsafe.append(region)
    assert not unsafe, unsafe


def _notebook_context(stem: str, params: dict, processed) -> tuple:
    """Run the notebook's own ``ctx = report_context(...)`` statement with the batch's
    parameters (as papermill injects them); returns the context and the notebook's globals."""
    import ast
    import json
    from pathlib import Path

    from bankanalysis.params import notebook_parameters
    from bankanalysis.report.context import report_context

    path = Path(__file__).resolve().parents[1] / "notebooks" / f"{stem}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    statements = [
        ast.unparse(node)
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for node in ast.parse("".join(cell["source"])).body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and getattr(node.value.func, "id", "") == "report_context"
    ]
    assert len(statements) == 1, stem
    ns = {**notebook_parameters(params), "processed_dir": str(processed), "output_dir": None}
    ns["report_context"] = report_context
    exec(statements[0], ns)  # noqa: S102 - the notebook's own line
    return ns["ctx"], ns


#: How each report asks for the run's withheld AUM totals (its notebook's call).
_RUN_WIDE_CALLS = {
    "00_bank_overview": "load_total_figures",
    "01_customer_segmentation": "load_total_aum",
    "03_outlet_benchmarking": "load_total_figures",
}


def test_every_report_decides_the_runs_aum_totals_with_the_runs_disclosure_parameters(
    ci_bank, tmp_path, monkeypatch
) -> None:
    """``dominance_p`` and ``protection_level`` set once in defaults.yaml reach 00, 01 and 03
    alike, through each notebook's own ``report_context`` line, and decide the run's withheld
    totals once: the first report computes the answer, the others read the same one back.

    On the CI bank R01's VIP AUM (dominated) is 63.5 % of R01's AUM (R01 alone in echelon 1):
    under ``1 / 1.5`` at the default level 0.5, nothing is pinned; over ``1 / 1.6`` at 0.6, R01
    is withheld with its outlets O001 and O002. A cached answer of other parameters is never
    read back: the defaults on the same processed folder compute again and withhold nothing.
    """
    import shutil

    from param_data import write_params_dir

    from bankanalysis.params import load_params

    processed = tmp_path / "processed"  # a fresh copy: no cached answer of another test
    shutil.copytree(ci_bank.processed, processed, ignore=shutil.ignore_patterns("_models"))
    seen: list[tuple] = []
    real = dt.protect_total_aum
    monkeypatch.setattr(dt, "protect_total_aum", lambda *a: seen.append(a[2:]) or real(*a))
    changed = write_params_dir(
        tmp_path / "changed", {"common.dominance_p": 0.3, "common.protection_level": 0.6}
    )
    defaults = write_params_dir(tmp_path / "defaults")
    for params, first, withheld in (
        (changed, (10, 0.3, 0.6), ({"R01"}, {"O001", "O002"})),
        (defaults, (10, 0.1, 0.5), (set(), set())),
    ):
        seen.clear()
        for stem, call in _RUN_WIDE_CALLS.items():
            region = None if stem == "00_bank_overview" else "R01"
            ctx, ns = _notebook_context(stem, load_params(params, stem, region), processed)
            assert (ns["dominance_p"], ns["protection_level"]) == first[1:]  # 01's own calls
            counts = getattr(dt, call)(ctx, ns)
            got = (
                dt.withheld_units(counts, "region", ctx.month),
                dt.withheld_units(counts, "outlet", ctx.month),
            )
            assert got == withheld, stem
        assert seen == [first]  # computed by 00, read back by 01 and 03
