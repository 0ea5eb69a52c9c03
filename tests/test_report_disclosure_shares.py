"""The regions', echelons' and bank's shares with a small side (report/disclosure_shares.py),
checked by an attacker of their own: a linear programme over what a run publishes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from bankanalysis.report import disclosure_outlet_tiers as rdo
from bankanalysis.report import disclosure_shares as ds
from bankanalysis.report.disclosure_plan import PlanCounts
from bankanalysis.report.disclosure_retention import withhold_metrics, withhold_standing
from bankanalysis.report.overview import Scorecard

K = 10
CARD = "wealth_card_matching"
MONTH = "2026-09"


def _frame(regions: dict[str, tuple[int, int, int]]) -> tuple[pd.DataFrame, dict[str, int]]:
    """``{region: (echelon, quality-and-above customers, card holders)}`` as
    :func:`~bankanalysis.report.disclosure_shares.level_share_counts` rows of one month, with
    the echelons and the bank added up."""
    rows = [("region", r, float(n), float(h)) for r, (_, n, h) in regions.items()]
    echelon_of = {r: e for r, (e, _, _) in regions.items()}
    for e in sorted(set(echelon_of.values())):
        mine = [v for r, v in regions.items() if v[0] == e]
        rows.append(
            ("echelon", str(e), float(sum(v[1] for v in mine)), float(sum(v[2] for v in mine)))
        )
    rows.append(
        (
            "bank",
            "bank",
            float(sum(v[1] for v in regions.values())),
            float(sum(v[2] for v in regions.values())),
        )
    )
    f = pd.DataFrame(rows, columns=["level", "id", "size", "part"])
    return f.assign(month=MONTH, kpi=CARD)[
        ["month", "kpi", "level", "id", "size", "part"]
    ], echelon_of


def _attack(
    f: pd.DataFrame,
    echelon_of: dict[str, int],
    pc: PlanCounts,
    outlet_region: dict[str, str] | None = None,
) -> dict[str, float]:
    """The narrowest interval an attacker gets for each small side of a withheld unit, from
    every unit's count, the published units' shares (hence both sides), the markers (``<k``:
    that side 1 to k - 1, the other at least k unless small too; ``x``: each side 0 or at
    least k, read as at least k; ``withheld``: at least 0) and the sums of the hierarchy
    (outlets to their region, regions to their echelon, echelons to the bank)."""
    units = [r.id if r.level == "outlet" else f"{r.level}={r.id}" for r in f.itertuples()]
    size = dict(zip(units, f["size"], strict=True))
    part = dict(zip(units, f["part"], strict=True))
    col = {(u, s): 2 * i + s for i, u in enumerate(units) for s in (0, 1)}
    a_eq, b_eq, bounds = [], [], [(0.0, None)] * (2 * len(units))

    def equal(coefs: dict[int, float], rhs: float) -> None:
        row = np.zeros(2 * len(units))
        for c, v in coefs.items():
            row[c] = v
        a_eq.append(row)
        b_eq.append(rhs)

    for u in units:
        equal({col[(u, 0)]: 1.0, col[(u, 1)]: 1.0}, size[u])
        st = pc.status.get((u, CARD, MONTH), "")
        sides = (part[u], size[u] - part[u])
        for s, v in enumerate(sides):
            if not st:
                bounds[col[(u, s)]] = (v, v)
            elif st == "primary":
                small = 0 < v < K
                bounds[col[(u, s)]] = (1.0, K - 1.0) if small else (float(K), None)
            elif st == "secondary":
                bounds[col[(u, s)]] = (float(K), None) if v >= K else (0.0, None)
    parents: dict[str, list[str]] = {}
    for o, r in (outlet_region or {}).items():
        parents.setdefault(f"region={r}", []).append(o)
    for r, e in echelon_of.items():
        parents.setdefault(f"echelon={e}", []).append(f"region={r}")
    parents["bank=bank"] = [u for u in units if u.startswith("echelon=")]
    for up, children in parents.items():
        for s in (0, 1):
            equal({**{col[(c, s)]: 1.0 for c in children}, col[(up, s)]: -1.0}, 0.0)
    widths = {}
    for u in units:
        for s, v in enumerate((part[u], size[u] - part[u])):
            if pc.status.get((u, CARD, MONTH)) and 0 < v < K:
                c = np.zeros(2 * len(units))
                c[col[(u, s)]] = 1.0
                lo = linprog(c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
                hi = linprog(-c, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
                assert lo.status == 0 and hi.status == 0
                widths[f"{u}/{s}"] = np.floor(-hi.fun + 1e-9) - np.ceil(lo.fun - 1e-9)
    return widths


def _with_outlets(outlets: dict[str, tuple[str, int, int]], echelon: dict[str, int]):
    """The frame of ``{outlet: (region, count, holders)}`` with its regions (``echelon``),
    echelons and the bank added up, and outlet -> region."""
    regions = {}
    for r, e in echelon.items():
        mine = [v for v in outlets.values() if v[0] == r]
        regions[r] = (e, sum(v[1] for v in mine), sum(v[2] for v in mine))
    f, eo = _frame(regions)
    rows = pd.DataFrame(
        [(MONTH, CARD, "outlet", o, float(n), float(h)) for o, (_, n, h) in outlets.items()],
        columns=f.columns,
    )
    return pd.concat([rows, f], ignore_index=True), eo, {o: v[0] for o, v in outlets.items()}


def test_a_regions_small_side_is_withheld_with_its_echelons_smallest_other_region():
    f, eo = _frame({"R1": (1, 27, 21), "R2": (1, 80, 50), "R3": (1, 120, 70), "R4": (2, 90, 60)})
    pc = ds.protect_level_shares(f, eo, K, {MONTH: "2026-Q3"})
    shown = {u: s for (u, _, p), s in pc.status.items() if p == MONTH}
    assert shown == {"region=R1": "primary", "region=R2": "secondary"}
    assert pc.of_level("region", "R1", CARD, "2026-Q3") == "primary"
    widths = _attack(f, eo, pc)
    assert widths and min(widths.values()) >= (K - 1) / 2


def test_without_the_decision_the_echelon_less_the_others_gives_the_side_back():
    f, eo = _frame({"R1": (1, 27, 21), "R2": (1, 80, 50), "R4": (2, 90, 60)})
    lone = PlanCounts({("region=R1", CARD, MONTH): "primary"}, k=K)
    assert _attack(f, eo, lone) == {"region=R1/1": 0.0}  # 6 without the card, exactly


def test_a_region_pinned_by_its_own_markers_is_withheld_alone_not_every_unit():
    # 18 split 9 and 9: two "<10" leave each exactly 9; 15 split 11 and 4: "x" (10 or more)
    # leaves the 4 at 1 to 5
    f, eo = _frame(
        {
            "R1": (1, 18, 9),
            "R2": (1, 15, 11),
            "R3": (1, 60, 30),
            "R4": (1, 70, 40),
            "R5": (2, 90, 50),
        }
    )
    pc = ds.protect_level_shares(f, eo, K)
    shown = {u: s for (u, _, _), s in pc.status.items()}
    assert shown["region=R1"] == shown["region=R2"] == "fail-safe"
    assert "region=R5" not in shown and "bank=bank" not in shown
    assert pc.safe
    assert min(_attack(f, eo, pc).values()) >= (K - 1) / 2


def test_a_region_of_fewer_than_k_customers_in_the_count_is_left_to_the_small_group_rule():
    f, eo = _frame({"R1": (1, 7, 3), "R2": (1, 80, 50), "R3": (1, 90, 60)})
    t = ds.share_table(f, eo, K)
    assert t.primary == () and t.left == frozenset({"region=R1"})
    assert ds.protect_level_shares(f, eo, K).status == {}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_many_small_regions_every_small_side_keeps_its_protection_interval(seed):
    rng = np.random.default_rng(seed)
    regions = {}
    for i in range(30):
        n = int(rng.integers(10, 60))
        regions[f"R{i:02d}"] = (1 + i % 3, n, int(rng.binomial(n, rng.uniform(0.5, 0.95))))
    f, eo = _frame(regions)
    pc = ds.protect_level_shares(f, eo, K)
    assert pc.safe
    widths = _attack(f, eo, pc)
    assert len(widths) >= 5
    assert min(widths.values()) >= (K - 1) / 2
    # the same data, the same cells
    assert ds.protect_level_shares(f, eo, K).status == pc.status


def test_share_counts_read_the_printed_rate_times_its_count():
    f = pd.DataFrame(
        {
            "level": ["region", "echelon", "outlet"],
            "id": ["R1", "1", "O1"],
            CARD: [21 / 27, 0.5, 0.5],
            "quality_plus_customers": [27, 40, 20],
            "product_coverage": [0.8, 0.75, 0.5],
            "customers": [180, 400, 90],
        }
    )
    out = ds.level_share_counts({MONTH: f})
    assert out[["kpi", "id", "size", "part"]].values.tolist() == [
        [CARD, "R1", 27.0, 21.0],
        [CARD, "1", 40.0, 20.0],
        [CARD, "O1", 20.0, 10.0],
        ["product_coverage", "R1", 180.0, 144.0],
        ["product_coverage", "1", 400.0, 300.0],
        ["product_coverage", "O1", 90.0, 45.0],
    ]


def test_the_scorecards_and_the_region_figures_show_the_runs_marker():
    regions = pd.DataFrame(
        {"region_id": ["R1", "R2"], CARD: [21 / 27, 0.625], "stock_retention": [0.9, 0.95]}
    )
    withheld = regions[[]].assign(**{CARD: False, "stock_retention": False})
    sc = Scorecard(regions, withheld, regions.iloc[0:0], "2025-09", min_group_size=K)
    run = PlanCounts(
        {("region=R1", CARD, MONTH): "primary", ("region=R2", CARD, MONTH): "secondary"}, k=K
    )

    class _Standing:  # the fields withhold_standing replaces
        regions = {MONTH: sc}
        echelons: dict = {}
        bank: dict = {}

    from dataclasses import make_dataclass

    Standing = make_dataclass("Standing", ["regions", "echelons", "bank"])
    out = withhold_standing(Standing({MONTH: sc}, {}, {}), run).regions[MONTH]
    assert [str(out.value(CARD, i)) for i in out.regions.index] == ["<10", "x"]
    assert out.value("stock_retention", 0) == 0.9
    assert np.isnan(out.regions.at[0, CARD])
    figures = withhold_metrics({CARD: 21 / 27}, run, "region", "R1", MONTH)
    assert str(figures[CARD]) == "<10"


def test_an_outlets_side_is_not_pinned_by_a_region_total_the_run_withholds():
    # the region's 5 holders, all at O1: with the region's total published O1 comes back
    # whatever is withheld (every outlet "withheld"); withheld by the run, O1 alone is "<10"
    holders = pd.Series([5, 0, 0], index=["O1", "O2", "O3"])
    size = pd.Series([40, 30, 50], index=["O1", "O2", "O3"])
    fixed = rdo.protect_outlet_group(holders, K, size=size, name="n_card_holders")
    assert fixed.tolist() == ["fail-safe"] * 3
    free = rdo.protect_outlet_group(
        holders, K, size=size, name="n_card_holders", total_withheld=True
    )
    assert free.tolist() == ["primary", "", ""]
    assert all(p.safe for p in free.attrs["protection"])


def test_a_withheld_regions_outlets_do_not_add_up_to_it():
    # R1's 6 without the card, 3 at each of its two outlets; R2 (withheld for R1) would come
    # back as the sum of its outlets, whose shares 03 prints: an outlet of R2 is withheld too
    f, eo, outlet_region = _with_outlets(
        {
            "O1": ("R1", 20, 17),
            "O2": ("R1", 20, 17),
            "O3": ("R2", 40, 25),
            "O4": ("R2", 40, 25),
            "O5": ("R3", 60, 35),
            "O6": ("R3", 60, 35),
        },
        {"R1": 1, "R2": 1, "R3": 1},
    )
    pc = ds.protect_level_shares(f, eo, K, outlet_region=outlet_region)
    assert pc.safe
    shown = {u: s for (u, _, _), s in pc.status.items()}
    assert shown["region=R1"] == "primary" and shown["O1"] == shown["O2"] == "primary"
    assert {"O3", "O4"} & set(shown)  # R2's outlets do not all stay published
    widths = _attack(f, eo, pc, outlet_region)
    assert min(widths.values()) >= (K - 1) / 2
    # with the regions decided alone (R2's outlets all published), R1 comes back
    alone = ds.protect_level_shares(f.loc[f["level"] != "outlet"], eo, K)
    published = {
        **alone.status,
        **{(o, CARD, MONTH): s for o, s in shown.items() if o in ("O1", "O2")},
    }
    assert min(_attack(f, eo, PlanCounts(published, k=K), outlet_region).values()) < (K - 1) / 2


def test_a_family_pinned_by_its_markers_is_withheld_not_the_whole_bank():
    # R1's 8 others are its outlets' 5 and 3, each outlet of 12 or 13 with both sides small:
    # whatever else is withheld, "<10" on all three leaves O1's others at 5 to 7
    f, eo, outlet_region = _with_outlets(
        {
            "O1": ("R1", 13, 8),
            "O2": ("R1", 12, 9),
            "O3": ("R2", 60, 30),
            "O4": ("R2", 70, 40),
            "O5": ("R3", 80, 50),
            "O6": ("R3", 90, 50),
        },
        {"R1": 1, "R2": 1, "R3": 1},
    )
    assert not ds.pinned_by_markers(8, 13, K)  # not pinned by its own markers alone
    pc = ds.protect_level_shares(f, eo, K, outlet_region=outlet_region)
    shown = {u: s for (u, _, _), s in pc.status.items()}
    assert pc.safe
    assert "fail-safe" in {shown.get("O1"), shown.get("O2"), shown.get("region=R1")}
    assert "bank=bank" not in shown and not {"O5", "O6"} <= set(shown)
    assert min(_attack(f, eo, pc, outlet_region).values()) >= (K - 1) / 2


def test_the_banks_own_row_shows_the_runs_marker():
    from bankanalysis.report import overview as rov
    from bankanalysis.report.disclosure_retention import withhold_scorecard

    kpis = list(rov.ov.SCORECARD_KPIS)
    regions = pd.DataFrame(
        {"region_id": ["R1"], "customers": [30], "base_customers": [28.0]}
        | {"quality_plus_customers": [18], "vip_plus_customers": [12]}
        | {k: [0.5] for k in kpis}
    )
    bank = regions.assign(region_id="all")
    withheld = regions[kpis].astype(bool) & False
    sc = Scorecard(regions, withheld, bank, "2025-09", min_group_size=K)
    run = PlanCounts(
        {("region=R1", CARD, MONTH): "fail-safe", ("bank=bank", CARD, MONTH): "fail-safe"}, k=K
    )
    out = withhold_scorecard(sc, run, MONTH)
    figures = rov.scorecard_metrics(out)
    assert str(figures[CARD]) == "withheld" and str(figures[f"{CARD}[region=R1]"]) == "withheld"
    assert figures["product_coverage"] == 0.5
    table = rov.scorecard_table(out, {"R1": "North"}, "CNY").frame
    card = [c for c in table.columns if c.startswith("Wealth-management-card")][0]
    assert table[card].tolist() == ["withheld", "withheld"]
