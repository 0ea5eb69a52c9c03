"""An attacker in the tests: recover withheld cells by linear programming over what is published.

The attacker knows every published number and what the markers mean (``"<k"``: 1 to ``k - 1``
customers; ``"x"``: hidden although not small, so at least ``k`` customers) and solves, with
HiGHS, for the smallest and largest value each withheld cell can take. A withheld count is safe
when that interval still covers ``1 .. k - 1``; a withheld AUM share when the interval is at
least :data:`MONEY_WIDTH` times its upper end wide (the attacker cannot pin it to within +-25 %).
The attacker is written here, independently of :mod:`bankanalysis.rules.disclosure_secondary`,
so that a bug there cannot hide itself.
"""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from attacker import (
    R08,
    K,
    _metrics_of,
    attack_flows,
    attack_region_totals,
    attack_tiers,
    cross_report_leaks,
    flow_leaks,
    tier_leaks,
    write_page,
)
from audit_env import auditing

from bankanalysis.report.disclosure import protect_migration, protect_tiers, tier_table
from bankanalysis.rules.disclosure import suppress_small_groups
from bankanalysis.rules.disclosure_secondary import PRIMARY, audit, protect
from bankanalysis.rules.tiers import TIERS

#: ``make audit`` runs the run-level tests on another bank: the checks that the unprotected
#: method leaks are properties of the CI bank and are left out there.
AUDIT = auditing()


def test_r08_old_method_leaks_private_banking_by_subtraction():
    old = suppress_small_groups(R08, "customers", K)
    assert old["suppressed"].tolist() == [False, False, False, True]
    hidden = {"customers[tier=private_banking]": "primary", "aum[tier=private_banking]": "primary"}
    values, reasons = _metrics_of(R08, hidden, 0.670)
    found = dict((key, (lo, hi, ok)) for key, lo, hi, ok in attack_tiers(values, reasons, K))
    lo, hi, ok = found["aum_share[tier=private_banking]"]
    assert lo == pytest.approx(0.189) and hi == pytest.approx(0.189) and not ok
    lo, hi, ok = found["customer_share[tier=private_banking]"]
    assert lo == hi == 5 and not ok  # 3,601 - 2,980 - 494 - 122
    # the library's own audit agrees
    table, primary = tier_table(R08, "vip", K)
    res = audit(table, dict.fromkeys(primary, PRIMARY), K).set_index("cell")
    assert not res["safe"].any()
    assert res.loc["aum[tier=private_banking]", "upper"] == pytest.approx(0.189)


def test_r08_new_method_hides_vip_too_and_the_interval_stays_wide():
    table, primary = tier_table(R08, "vip", K)
    assert primary == ["customers[tier=private_banking]", "aum[tier=private_banking]"]
    prot = protect(table, primary, K)
    # the smallest other tier completes both relations; the sentence stays published
    assert prot.status == {
        "aum[tier=private_banking]": "primary",
        "customers[tier=private_banking]": "primary",
        "aum[tier=vip]": "secondary",
        "customers[tier=vip]": "secondary",
    }
    values, reasons = _metrics_of(R08, prot.status, 0.670)
    found = dict((key, (lo, hi, ok)) for key, lo, hi, ok in attack_tiers(values, reasons, K))
    lo, hi, ok = found["aum_share[tier=private_banking]"]
    assert (lo, hi) == (pytest.approx(0.0), pytest.approx(0.670)) and ok  # 1 - 6.5 % - 26.5 %
    lo, hi, ok = found["customer_share[tier=private_banking]"]
    assert (lo, hi) == (1, 9) and ok  # private banking + VIP = 127, VIP >= 10
    assert prot.safe and protect(table, primary, K).status == prot.status  # deterministic


@pytest.mark.parametrize(
    "vip, pb, interval, safe",
    [
        (5, 5, (1, 9), True),  # 10 to share: either 1 .. 9
        (3, 9, (3, 9), True),  # 12: 3 .. 9, 6 wide (the full 1 .. 9 is not required)
        (5, 9, (5, 9), False),  # 14: 5 .. 9, 4 wide, under (10 - 1) / 2
        (2, 1, (1, 2), False),  # 3: 1 .. 2
    ],
)
def test_a_small_tier_count_is_judged_by_its_protection_interval(vip, pb, interval, safe):
    """The attacker's bar for a ``<k`` tier count is the documented one: an interval at least
    (k - 1) / 2 = 4.5 customers wide. VIP and private banking withheld (``<10``) beside 1,000
    mass and 200 quality customers: only their sum is published, by subtraction."""
    region = pd.DataFrame(
        {"tier": list(TIERS), "customers": [1000, 200, vip, pb], "aum": [1.0, 2.0, 3.0, 4.0]}
    )
    hidden = {"customers[tier=vip]": "primary", "customers[tier=private_banking]": "primary"}
    values, reasons = _metrics_of(region, hidden, None)
    found = {key: (lo, hi, ok) for key, lo, hi, ok in attack_tiers(values, reasons, K)}
    assert found["customer_share[tier=vip]"] == (*interval, safe)


def test_protect_tiers_blanks_the_frame_and_the_sentence_follows():
    rows = []
    for t, n, a in R08.itertuples(index=False):
        rows += [{"tier": t, "aum": a / n}] * n
    tiers = pd.DataFrame(rows).assign(tier=lambda d: pd.Categorical(d["tier"], categories=TIERS))
    comp = R08.assign(scope="region", share=R08["customers"] / 3601, aum_share=R08["aum"] / 1e8)
    comp = comp.assign(aum_per_customer=comp["aum"] / comp["customers"])
    out = protect_tiers(comp, tiers, "vip", K)
    assert out["count_protection"].tolist() == ["", "", "secondary", "primary"]
    assert out["money_protection"].tolist() == ["", "", "secondary", "primary"]
    assert out.loc[2:, ["customers", "aum_share", "aum_per_customer"]].isna().all().all()
    assert out.loc[0, "aum_share"] == pytest.approx(0.065)
    assert not out.attrs["top_share_hidden"]


def test_a_sentence_that_pins_the_small_tier_is_withheld_with_one_more_tier():
    # VIP has 7 customers, private banking none: "VIP and above hold 30 %" is VIP's own share.
    # No single extra cell protects it; the cheapest pair is mass + the sentence (0.3 + 0.3):
    # VIP + mass = 1 - quality = 60 %, so VIP lies anywhere in [0, 60 %].
    region = pd.DataFrame(
        {"tier": list(TIERS), "customers": [217, 37, 7, 0], "aum": [30.0, 40.0, 30.0, 0.0]}
    )
    table, primary = tier_table(region, "vip", K)
    prot = protect(table, primary, K)
    assert prot.status == {
        "aum[tier=vip]": "primary",
        "customers[tier=vip]": "primary",
        "aum[tier=mass]": "secondary",
        "aum_share[tier_at_least=vip]": "secondary",
        "customers[tier=quality]": "secondary",
    }
    values, reasons = _metrics_of(region, prot.status, None)
    reasons["aum_share[tier_at_least=vip]"] = "withheld so that..."
    found = {key: (lo, hi, ok) for key, lo, hi, ok in attack_tiers(values, reasons, K)}
    assert found["aum_share[tier=vip]"] == (pytest.approx(0.0), pytest.approx(0.6), True)
    assert found["customer_share[tier=vip]"] == (1, 9, True)  # VIP + quality = 44


def test_flow_table_attacker_on_the_hand_matrix():
    from disclosure_data import MATRIX, _flows

    from bankanalysis.report.segmentation import flows_table

    before = _flows(MATRIX)
    small = before["closed_out"].between(1, K - 1)
    naive = flows_table(
        before.assign(closed_out=before["closed_out"].mask(small), suppressed=small),
        "t0",
        "t1",
        K,
    ).frame
    # the old way: VIP's 4 lost blanked, but lost_customers (166) minus 150 and 12 gives it back
    leaks = [f for f in attack_flows(naive.iloc[:, :10].values.tolist(), K, lost=166) if not f[4]]
    assert ("VIP", "lost", 4, 4, False) in leaks
    mig = protect_migration(MATRIX, before, K)
    table = flows_table(mig.flows, "t0", "t1", K).frame
    found = attack_flows(table.iloc[:, :10].values.tolist(), K, lost=166)
    assert found and all(ok for *_, ok in found), found


#: A tiny bank: region R2 has 7 customers, fewer than k (docs/privacy.md: "A region smaller
#: than k"); R1 shares its echelon, R3 is alone in echelon 2.
TINY_REGIONS = pd.DataFrame(
    {
        "month": "2025-03",
        "region_id": ["R1", "R2", "R3"],
        "echelon": [1, 1, 2],
        "customers": [500, 7, 300],
        "aum": [5e7, 9e6, 3e7],
    }
)


def _published_totals(withheld: dict[str, str]):
    """What the run publishes about region totals: each region's reports print their own
    total unless it is small; the overview prints echelons and the bank unless withheld."""
    from bankanalysis.report.overview import bank_metrics, echelon_metrics

    rm = TINY_REGIONS
    ech = rm.groupby("echelon", as_index=False).agg(
        regions=("region_id", "size"), customers=("customers", "sum"), aum=("aum", "sum")
    )
    ech = ech.assign(
        aum_per_customer=ech["aum"] / ech["customers"],
        accounting_replacement_rate=0.5,
        outlet_replacement_rate=0.5,
    )
    em = echelon_metrics(ech, K, withheld)
    bank = bank_metrics(rm.assign(month="2025-03"), 3, "2025-03", withheld)["customers"]
    regions = {
        r: (None if n < K else float(n))
        for r, n in zip(rm["region_id"], rm["customers"], strict=True)
    }
    echelons = {
        e: (float(v) if isinstance(v, int | float) else None)
        for e in (1, 2)
        for v in [em[f"customers[echelon={e}]"]]
    }
    return regions, echelons, (float(bank) if isinstance(bank, int | float) else None)


def test_a_region_smaller_than_k_cannot_be_worked_out_from_the_totals():
    from bankanalysis.report.disclosure_grid import protect_region_totals

    reasons = {"R2": "withheld: fewer than 10 customers"}
    echelon_of = {"R1": 1, "R2": 1, "R3": 2}
    # without the step: echelon 1 (507) - R1 (500) = 7
    regions, echelons, bank = _published_totals({})
    (found,) = attack_region_totals(regions, reasons, echelon_of, echelons, bank, K)
    assert found[1] == found[2] == 7 and not found[3]
    # the step withholds echelon 1's total and the bank's (the regions' own reports still
    # print R1 and R3, so hiding those in the overview alone would not help)
    withheld = protect_region_totals(TINY_REGIONS, "2025-03", K)
    assert withheld == {
        "customers[region=R2]": "primary",
        "customers[echelon=1]": "secondary",
        "customers": "secondary",
    }
    regions, echelons, bank = _published_totals(withheld)
    assert echelons == {1: None, 2: 300.0} and bank is None
    (found,) = attack_region_totals(regions, reasons, echelon_of, echelons, bank, K)
    assert found[1] == 1 and found[2] == 9 and found[3]


@pytest.mark.run_level
@pytest.mark.slow
def test_no_figure_is_recoverable_by_combining_the_reports_of_a_run(ci_run):
    """The overview and every region report of the CI batch, read together: nothing one
    report withholds is printed by another, no region total comes back from the echelon and
    bank totals, no withheld tier figure from the scope bars 01 records, no withheld region
    month from the trends 03 records (each region's AUM and FTE taken as published)."""
    from attacker import read_run, scope_bar_leaks, trend_leaks

    from bankanalysis.data.load import load_processed

    aum, fte = _region_aum(ci_run.processed), _region_fte(ci_run.processed)
    regions = load_processed(ci_run.processed).regions  # the bank's structure: public
    echelon_of = {str(r): int(e) for r, e in zip(regions["region_id"], regions["echelon"], strict=True)}  # fmt: skip
    leaks, checked = cross_report_leaks(ci_run.run_dir, K, aum, fte, echelon_of)
    assert not leaks, leaks
    assert checked
    # the tier-mix scope bars each 01 records were attacked, counts and AUM
    per_region, run_regions, ov, ov_why = read_run(ci_run.run_dir)
    assert {ci_run.region_a, ci_run.region_b} <= set(run_regions) <= set(echelon_of)
    scope, n_scope = scope_bar_leaks(per_region, echelon_of, ov, ov_why, K, aum)
    assert not scope and n_scope, (scope, n_scope)
    # every 03 records its trends (region, echelon, bank; every month); no CI region is
    # smaller than k, so nothing is withheld there and nothing to attack (the hand-built run
    # of test_trend_levels_recorded_in_metrics_are_attacked_across_the_run shows the attack)
    assert trend_leaks(per_region, echelon_of, K, fte) == ([], 0)
    months = {m for _, m in fte}
    for rid, reports in per_region.items():
        (trends,) = [d for d, _, nb in reports if nb == "03_outlet_benchmarking"]
        bank = {k for k in trends if k.startswith("customers_per_fte[level=bank,month=")}
        assert {k.split("month=")[1].rstrip("]") for k in bank} == months, rid
        assert all(trends[k] is not None for k in bank)


def _region_fte(processed) -> dict[tuple[str, str], float]:
    """Every region's staff FTE per month, as its outlet tables publish them."""
    from bankanalysis.benchmarking.kpis import outlet_kpis
    from bankanalysis.data.load import load_processed

    kpis = outlet_kpis(load_processed(processed).outlet_month())
    fte = kpis.groupby(["region_id", "month"])["staff_fte"].sum()
    return {(str(r), str(m)): float(v) for (r, m), v in fte.items()}


def _region_aum(processed) -> dict[str, float]:
    """Every region's AUM at the data month as 01 computes its tier shares (taken as
    published: the strongest reading for the scope bars' AUM shares)."""
    from bankanalysis.data.load import load_processed
    from bankanalysis.rules.tiers import customer_tiers

    bank = load_processed(processed)
    months = list(bank.months)
    cm = bank.customer_month(
        months=months[-3:], columns=["outlet_id", "region_id", "echelon", "aum"]
    )
    tiers = customer_tiers(cm, months[-1], [50000, 500000, 6000000], 3)
    return {str(r): float(v) for r, v in tiers.groupby("region_id")["aum"].sum().items()}


@pytest.mark.run_level
@pytest.mark.slow
def test_no_withheld_tier_figure_is_recoverable_from_metrics(ci_run):
    """Every segmentation report of the CI batch: no withheld tier figure can be narrowed."""
    leaks, checked = tier_leaks(ci_run.run_dir)
    assert not leaks, leaks
    assert checked  # the CI bank has small tiers: the attacker had something to attack


@pytest.mark.run_level
@pytest.mark.slow
def test_no_withheld_flow_is_recoverable_from_the_report(ci_run):
    """The tier-flow table of every segmentation report, with lost_customers of its metrics."""
    leaks, checked = flow_leaks(ci_run.run_dir)
    assert not leaks, leaks
    assert checked


@pytest.mark.run_level
@pytest.mark.slow
def test_every_region_of_the_ci_bank_keeps_its_tier_figures(ci_bank):
    """The R08 subtraction on every region (not only the batch's two): the tier table, the
    sentence and the customer total as the segmentation notebook publishes them."""
    from bankanalysis.data.load import load_processed
    from bankanalysis.report import segmentation as rs
    from bankanalysis.report.disclosure import protected_top_share
    from bankanalysis.report.metrics import MetricsRecorder
    from bankanalysis.rules.tiers import customer_tiers
    from bankanalysis.segmentation import tier_comparison, top_tier_aum_share

    bank = load_processed(ci_bank.processed)
    months = list(bank.months)
    cm = bank.customer_month(
        months=months[-3:], columns=["outlet_id", "region_id", "echelon", "aum"]
    )
    tiers_all = customer_tiers(cm, months[-1], [50000, 500000, 6000000], 3)

    def attack(protected: bool) -> tuple[list, int]:
        leaks, checked = [], 0
        for region in sorted(tiers_all["region_id"].astype(str).unique()):
            tiers = tiers_all[tiers_all["region_id"] == region]
            comp = rs.shown_tier_comparison(tier_comparison(tiers_all, region), K)
            share = top_tier_aum_share(tiers, "vip")
            if protected:
                comp = protect_tiers(comp, tiers, "vip", K)
                share = protected_top_share(comp, share, K)
            rec = MetricsRecorder(None)
            rec.record("customers", len(tiers))
            rec.record_many(rs.tier_metrics(comp, K))
            rec.record_many(rs.concentration_metrics(0.5, share, "vip"))
            for key, lo, hi, ok in attack_tiers(rec.values, rec.reasons, K):
                checked += 1
                if not ok:
                    leaks.append((region, key, lo, hi))
        return leaks, checked

    old_leaks, _ = attack(protected=False)
    assert old_leaks  # the small-group rule alone gives figures back (12 of 16 on this bank)
    leaks, checked = attack(protected=True)
    assert not leaks, leaks
    assert checked


@pytest.mark.run_level
def test_tier_mix_bars_of_echelon_and_bank_give_no_small_tier_back_on_the_ci_bank(ci_bank):
    """Every region's 01 chart: its echelon's and the bank's tier shares and AUM shares (the
    chart's data, read exactly, from protect_scope_tiers as 01 calls it) with every region's
    own published tier counts, tier AUM and totals (a region's AUM total unknown where the
    run withholds it: protect_total_aum, as 01 reads it)."""
    import numpy as np
    from attacker import attack_scope_aum_shares, attack_scope_shares

    from bankanalysis.data.load import load_processed
    from bankanalysis.report import segmentation as rs
    from bankanalysis.report.disclosure import protect_scope_tiers
    from bankanalysis.report.disclosure_totals import protect_total_aum, withheld_units
    from bankanalysis.rules.tiers import customer_tiers
    from bankanalysis.segmentation import tier_comparison

    bank = load_processed(ci_bank.processed)
    months = list(bank.months)
    cm = bank.customer_month(
        months=months[-3:], columns=["outlet_id", "region_id", "echelon", "aum"]
    )
    tiers_all = customer_tiers(cm, months[-1], [50000, 500000, 6000000], 3)
    regions = sorted(tiers_all["region_id"].astype(str).unique())
    aum_withheld = withheld_units(protect_total_aum(tiers_all, months[-1], K), "region", months[-1])
    own = {
        r: protect_tiers(
            rs.shown_tier_comparison(tier_comparison(tiers_all, r), K),
            tiers_all[tiers_all["region_id"] == r],
            "vip",
            K,
            aum_withheld=r in aum_withheld,
        )
        for r in regions
    }
    counts = {
        r: {
            str(t): (None if np.isnan(v) else float(v))
            for t, v, s in zip(c["tier"], c["customers"], c["scope"], strict=True)
            if s == "region"
        }
        for r, c in own.items()
    }
    totals = tiers_all.groupby("region_id").size().astype(float).to_dict()
    echelon = tiers_all.groupby("region_id")["echelon"].first()

    def column(comp, scope, col):
        rows = comp[comp["scope"] == scope]
        return {
            str(t): (None if np.isnan(v) else float(v))
            for t, v in zip(rows["tier"], rows[col], strict=True)
        }

    # the AUM bars: every region's tier AUM as its report publishes it, its AUM total taken
    # as published (the strongest reading) and the true values of the withheld cells
    aum = {r: column(c, "region", "aum") for r, c in own.items()}
    true_aum = {r: column(tier_comparison(tiers_all, r), "region", "aum") for r in regions}
    # the cells that need protection (small group or dominance); a secondary cell is only
    # there to protect them and has no interval of its own
    primary = {
        (r, str(t))
        for r, c in own.items()
        for t, s, why in zip(c["tier"], c["scope"], c["money_protection"], strict=True)
        if s == "region" and why in ("primary", "dominance")
    }
    true = {
        (r, t): v for r, cells in true_aum.items() for t, v in cells.items() if (r, t) in primary
    }
    aum_totals = {r: sum(cells.values()) for r, cells in true_aum.items()}
    known_aum = {r: None if r in aum_withheld else v for r, v in aum_totals.items()}

    def leaks(protected: bool) -> tuple[list, list]:
        out, out_aum = [], []
        for r in regions:
            e = echelon[r]
            comp = own[r]
            if protected:
                comp = protect_scope_tiers(comp, tiers_all, e, "vip", K)
            members = [q for q in regions if echelon[q] == e]
            for scope, group in (("echelon", members), ("bank", regions)):
                n = float(sum(totals[q] for q in group))
                cells = {q: counts[q] for q in group}
                found = attack_scope_shares(cells, totals, column(comp, scope, "share"), n, K)
                out += [(r, scope, *f) for f in found if not f[4]]
                a = float(sum(aum_totals[q] for q in group))
                for known in (a, None):  # the scope's AUM published, or only the ratios
                    found = attack_scope_aum_shares(
                        {q: aum[q] for q in group},
                        known_aum,
                        column(comp, scope, "aum_share"),
                        known,
                        true,
                    )
                    out_aum += [(r, scope, *f) for f in found if not f[4]]
        return out, out_aum

    if not AUDIT:  # a property of the CI bank, not of every bank (make audit)
        plain, plain_aum = leaks(protected=False)
        assert plain  # the plain bars give withheld tier counts back (28 attacks) ...
        assert plain_aum  # ... and withheld tier AUM (62 attacks, scope AUM known or not)
    assert leaks(protected=True) == ([], [])


def _trend_levels(kpis: pd.DataFrame, region_month: pd.DataFrame | None) -> dict:
    """Every region's 03 trends as it publishes them (protect_levels as 03 calls it)."""
    from bankanalysis.report import benchmarking as rb
    from bankanalysis.report.disclosure_grid import protect_levels

    out = {}
    for r, e in kpis.groupby("region_id")["echelon"].first().items():
        levels, _ = rb.level_aggregates(kpis, r, int(e), str(r))
        out[str(r)] = protect_levels(levels, K, region_month=region_month)
    return out


def _trend_attack(kpis: pd.DataFrame, protected: bool) -> tuple[list, list]:
    from attacker import attack_levels, level_leaks

    regions = kpis.groupby(["month", "region_id"], as_index=False).agg(
        customers=("customers", "sum"), echelon=("echelon", "first")
    )
    published = _trend_levels(kpis, regions if protected else None)
    echelon = kpis.groupby("region_id")["echelon"].first().astype(int)
    fte = kpis.groupby(["region_id", "month"])["staff_fte"].sum()
    found = attack_levels(
        published,
        {str(r): int(e) for r, e in echelon.items()},
        {(str(r), str(m)): float(v) for (r, m), v in fte.items()},
        K,
    )
    return found, level_leaks(found, K)


def _tiny_kpis() -> pd.DataFrame:
    """Outlet KPIs of two months: region R2 (6 then 7 customers) shares echelon 1 with R1."""
    rows = []
    for m in ("2025-01", "2025-02"):
        for o, r, e, c, f, s, a in [
            ("O1", "R1", 1, 400, 8, 120, 9e6),
            ("O2", "R1", 1, 300, 6, 90, 7e6),
            ("O3", "R2", 1, 6, 2, 4, 3e5),
            ("O4", "R3", 2, 500, 10, 200, 1.2e7),
        ]:
            n = c + (m == "2025-02")
            rows.append(
                dict(month=m, outlet_id=o, region_id=r, echelon=e, customers=n, staff_fte=f,
                     sales_total=s, aum=a)
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_trend_levels_of_echelon_and_bank_give_no_small_region_month_back():
    """A region of 6-7 customers inside echelon 1: 03's echelon and bank lines (per FTE, the
    FTE published by the outlet tables) minus the other regions' own lines gave its customers,
    sales and AUM back; protect_levels with the run's region totals withholds those months."""
    kpis = _tiny_kpis()
    found, leaks = _trend_attack(kpis, protected=False)
    assert {(r, m, f) for r, m, f, *_ in leaks} == {
        ("R2", m, f) for m in ("2025-01", "2025-02") for f in ("customers", "sales_total", "aum")
    }
    exact = {(r, m, f): (lo, hi) for r, m, f, lo, hi in found}
    assert exact[("R2", "2025-02", "customers")] == pytest.approx((7, 7))
    assert exact[("R2", "2025-01", "aum")] == pytest.approx((3e5, 3e5))

    found, leaks = _trend_attack(kpis, protected=True)
    assert not leaks, leaks
    assert len(found) == 6  # R2's two months, three figures each, all attacked
    shown = _trend_levels(kpis, kpis.groupby(["month", "region_id"], as_index=False).agg(
        customers=("customers", "sum"), echelon=("echelon", "first")))  # fmt: skip
    withheld = shown["R1"].groupby("level")["withheld"].agg(["all", "any"])
    assert withheld["all"].to_dict() == {"R1": False, "echelon 1": True, "whole bank": True}
    assert withheld["any"].to_dict() == withheld["all"].to_dict()
    assert not shown["R3"].query("level == 'R3'")["withheld"].any()


@pytest.mark.run_level
def test_trend_levels_give_no_small_region_month_back_on_the_ci_bank(ci_bank):
    """Every region's 03 trends on the CI bank, read together with the FTE of every outlet.
    No CI region is smaller than k, so the trends withhold nothing there; each region in turn
    is made small (3 customers in its first outlet and none in the others, every month; staff,
    sales and AUM kept) and attacked: the plain trends give its months back, protect_levels'
    none."""
    from attacker import LEVEL_FIGURES

    from bankanalysis.benchmarking.kpis import outlet_kpis
    from bankanalysis.data.load import load_processed

    bank = load_processed(ci_bank.processed)
    kpis = outlet_kpis(bank.outlet_month())
    sizes = kpis.groupby(["month", "region_id"])["customers"].sum()
    assert (sizes >= K).all()
    found, leaks = _trend_attack(kpis, protected=True)
    assert not found and not leaks  # nothing withheld, nothing to recover
    months = kpis["month"].nunique()
    for r in sorted(kpis["region_id"].unique()):
        in_r = kpis["region_id"] == r
        first = in_r & (kpis["outlet_id"] == kpis.loc[in_r, "outlet_id"].min())
        shrunk = kpis.assign(customers=kpis["customers"].mask(in_r, 0).mask(first, 3))
        _, leaks = _trend_attack(shrunk, protected=False)
        assert {(q, f) for q, _, f, *_ in leaks} == {
            (r, f) for f in ("customers", "sales_total", "aum")
        }, r
        own = shrunk[shrunk["region_id"] == r].groupby("month")
        measured = sum(int(own[f].sum(min_count=1).notna().sum()) for f in LEVEL_FIGURES.values())
        assert len(leaks) == measured >= 3 * months - 3, r  # sales are absent from one month
        found, leaks = _trend_attack(shrunk, protected=True)
        assert not leaks, (r, leaks[:3])
        assert len(found) == 3 * months, r  # every month of the region, three figures


def _fake_run(tmp_path, region_metrics: dict[str, dict], echelon_of: dict[str, int], overview):
    """A run folder as the batch writes it (manifest, the overview's and each region's
    ``metrics.json``), for :func:`cross_report_leaks` on hand-built figures."""
    import json

    jobs, regions = [], [{"region_id": r, "echelon": e} for r, e in echelon_of.items()]
    for (rid, nb), rec in region_metrics.items():
        folder = tmp_path / rid / nb
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(
            json.dumps({**rec.values, "_reasons": rec.reasons}), encoding="utf-8"
        )
        jobs.append({"region_id": rid, "notebook": nb, "html": f"{rid}/{nb}.html"})
    (tmp_path / "_bank" / "00_bank_overview").mkdir(parents=True)
    (tmp_path / "_bank" / "00_bank_overview" / "metrics.json").write_text(
        json.dumps(overview), encoding="utf-8"
    )
    (tmp_path / "manifest.json").write_text(
        json.dumps({"jobs": jobs, "regions": regions}), encoding="utf-8"
    )
    return tmp_path


def test_scope_bars_recorded_in_metrics_are_attacked_across_the_run(tmp_path):
    """01 records its echelon's and the bank's tier bars; cross_report_leaks reads them with
    every region's own tier figures. Unprotected bars (the region's protect_tiers only) give
    R1's 4 private-banking customers and their AUM back; protect_scope_tiers' bars none."""
    from disclosure_data import _bank_tiers

    from bankanalysis.report import segmentation as rs
    from bankanalysis.report.disclosure import protect_scope_tiers
    from bankanalysis.report.metrics import MetricsRecorder
    from bankanalysis.segmentation.composition import tier_comparison

    bank = _bank_tiers()
    echelon_of = {"R1": 1, "R2": 1, "R3": 2}
    sizes = bank.groupby("region_id").size()
    aum = bank.groupby("region_id")["aum"].sum().to_dict()
    overview = {f"customers[region={r}]": int(n) for r, n in sizes.items()}
    overview |= {"customers[echelon=1]": 207, "customers[echelon=2]": 155, "customers": 362}

    def run(folder, protected: bool):
        out = {}
        for rid, rows in bank.groupby("region_id"):
            e = echelon_of[rid]
            comp = rs.shown_tier_comparison(tier_comparison(bank, rid), K)
            comp = protect_tiers(comp, rows, "vip", K)
            if protected:
                comp = protect_scope_tiers(comp, bank, e, "vip", K)
            rec = MetricsRecorder(None)
            rec.record("customers", len(rows))
            rec.record_many(rs.tier_metrics(comp, K, e))
            out[(rid, "01_customer_segmentation")] = rec
        return cross_report_leaks(_fake_run(folder, out, echelon_of, overview), K, aum)

    rec = MetricsRecorder(None)
    rec.record_many(rs.tier_metrics(protect_tiers(rs.shown_tier_comparison(
        tier_comparison(bank, "R2"), K), bank[bank["region_id"] == "R2"], "vip", K), K, 1))  # fmt: skip
    # the keys 01 records: the region's own and its echelon's and the bank's bars
    assert rec.values["customer_share[echelon=1,tier=mass]"] == pytest.approx(110 / 207)
    assert rec.values["customer_share[level=bank,tier=private_banking]"] == pytest.approx(30 / 362)
    assert rec.values["customer_share[tier=private_banking]"] == pytest.approx(11 / 108)
    leaks, checked = run(tmp_path / "plain", protected=False)
    pb = {(r, key, q, t): (lo, hi) for r, key, q, t, lo, hi in leaks}
    # R2's report: the echelon's share (15 of 207) minus R2's 11 gives R1's 4 back exactly
    lo, hi = pb[("R2", "customer_share[echelon=1]", "R1", "private_banking")]
    assert lo == pytest.approx(4) and hi == pytest.approx(4)
    lo, hi = pb[("R2", "aum_share[echelon=1]", "R1", "private_banking")]
    assert lo == pytest.approx(4 * 6e6) and hi == pytest.approx(4 * 6e6)
    assert {key for _, key, *_ in leaks} == {
        f"{kind}[{scope}]"
        for kind in ("customer_share", "aum_share")
        for scope in ("echelon=1", "level=bank")
    }
    leaks, checked = run(tmp_path / "protected", protected=True)
    assert not leaks, leaks
    # R1's withheld count and AUM (its VIP is withheld as secondary: not judged), attacked
    # through 5 sets of bars (3 reports' bank bars, 2 reports' echelon bars), the AUM with
    # the scope's AUM known and not: 5 x (1 + 2)
    assert checked == 15


def test_trend_levels_recorded_in_metrics_are_attacked_across_the_run(tmp_path):
    """03 records its region's, echelon's and bank's trends every month; cross_report_leaks
    reads every 03 of the run with the FTE the outlet tables publish. Without the run's region
    totals (protect_levels on the level's own size only) R2's months come back; with them
    nothing does."""
    from bankanalysis.report import benchmarking as rb
    from bankanalysis.report.disclosure_grid import protect_levels
    from bankanalysis.report.metrics import MetricsRecorder

    kpis = _tiny_kpis()
    echelon_of = {"R1": 1, "R2": 1, "R3": 2}
    region_month = kpis.groupby(["month", "region_id"], as_index=False).agg(
        customers=("customers", "sum"), echelon=("echelon", "first")
    )
    fte = {(str(r), str(m)): float(v) for (r, m), v in kpis.groupby(["region_id", "month"])["staff_fte"].sum().items()}  # fmt: skip

    def run(folder, protected: bool):
        out = {}
        for rid, e in echelon_of.items():
            levels, _ = rb.level_aggregates(kpis, rid, e, f"Region {rid}")
            levels = protect_levels(levels, K, region_month=region_month if protected else None)
            rec = MetricsRecorder(None)
            rec.record_many(rb.level_metrics(levels, f"Region {rid}", e, K))
            out[(rid, "03_outlet_benchmarking")] = rec
        return out, cross_report_leaks(_fake_run(folder, out, echelon_of, {}), K, None, fte)

    out, (leaks, checked) = run(tmp_path / "plain", protected=False)
    r1 = out[("R1", "03_outlet_benchmarking")]
    # R1's report: its own line, echelon 1's (R1 + R2) and the bank's, every month
    assert r1.values["customers_per_fte[month=2025-01]"] == pytest.approx(700 / 14)
    assert r1.values["customers_per_fte[echelon=1,month=2025-01]"] == pytest.approx(706 / 16)
    assert r1.values["sales_per_fte[level=bank,month=2025-02]"] == pytest.approx(414 / 26)
    r2 = out[("R2", "03_outlet_benchmarking")]
    assert r2.values["aum_per_fte[month=2025-02]"] is None
    assert r2.reasons["aum_per_fte[month=2025-02]"] == "withheld: fewer than 10 customers"
    bounds = {(r, m, f): (lo, hi) for _, r, m, f, lo, hi in leaks}
    assert set(bounds) == {
        ("R2", m, f) for m in ("2025-01", "2025-02") for f in ("customers", "sales_total", "aum")
    }
    assert bounds[("R2", "2025-02", "customers")] == pytest.approx((7, 7))
    assert checked == 6
    out, (leaks, checked) = run(tmp_path / "protected", protected=True)
    assert not leaks, leaks
    assert checked == 6  # R2's two months, three figures each
    r1 = out[("R1", "03_outlet_benchmarking")]
    assert r1.values["customers_per_fte[echelon=1,month=2025-01]"] is None
    assert r1.reasons["customers_per_fte[echelon=1,month=2025-01]"] == (
        "withheld so that a withheld figure cannot be worked out from it"
    )
    assert r1.values["customers_per_fte[month=2025-01]"] == pytest.approx(700 / 14)


# --------------------------------------------------------------------------- every HTML table of a run


TIER_HEADER = ["Tier", "Customers", "Share of customers (%)"]


def _r08_page(tmp_path, vip_in_tier_table: str, vip_in_segments: str, pb_share: str = "&lt;10"):
    """R08's 01 page (issue 17): the tier table and the behaviour-segment table."""
    write_page(
        tmp_path / "run" / "R08" / "01_customer_segmentation.html",
        (
            "Tiers",
            TIER_HEADER,
            [
                ["Mass", "2,980", "82.8%"],
                ["Quality", "494", "13.7%"],
                ["VIP", vip_in_tier_table, "3.4%" if vip_in_tier_table != "x" else "x"],
                ["Private banking", "&lt;10", pb_share],
            ],
        ),
        (
            "Behaviour segments within each tier",
            ["Tier", "Customers", "Behaviour segments"],
            [["Mass", "2,980", "4"], ["Quality", "494", "3"], ["VIP", vip_in_segments, "1"]],
        ),
    )
    return tmp_path / "run"


def test_read_figure_keeps_the_rounding_of_what_is_printed():
    from attacker import read_figure

    assert read_figure("1,234") == ("number", 1233.5, 1234.5, "")
    assert read_figure("12.3%") == ("number", pytest.approx(12.25), pytest.approx(12.35), "%")
    assert read_figure("-4,695,019 CNY") == ("number", -4695019.5, -4695018.5, "CNY")
    assert read_figure("+0.5 pp")[1:] == (pytest.approx(0.45), pytest.approx(0.55), "pp")
    assert read_figure("3.99 m CNY")[1:3] == (pytest.approx(3.985e6), pytest.approx(3.995e6))
    assert read_figure("<10") == ("small", 1.0, 9.0, "")
    assert read_figure("x")[0] == "x"
    for text in ("n/a (no value for 2025-10)", "0.820 (0.810-0.832)", "1=", "–", "2026-Q1"):
        assert read_figure(text)[0] == "text", text


def test_attack_a_finds_a_withheld_tier_printed_by_another_table_of_the_page(tmp_path):
    from attacker import linear_leaks, run_tables, same_figure_leaks

    # the tier table withholds VIP (x) to protect private banking; the segment table prints it
    run = _r08_page(tmp_path / "plain", "x", "122")
    tables = run_tables(run)
    assert [(t.section, len(t.rows)) for t in tables] == [
        ("Tiers", 4),
        ("Behaviour segments within each tier", 3),
    ]
    found = same_figure_leaks(tables)
    assert found["withheld"] == 4  # VIP's count and share, private banking's count and share
    # the columns are the same figure: Mass and Quality agree in both tables
    assert [(f[1], f[2], f[3], f[5]) for f in found["leak"]] == [
        ("vip", "Customers", "x", "customers / vip: 122")
    ]
    # attack B with the printed twin: 3,601 * [82.75 %, 82.85 %] .. gives the total, minus
    # 2,980 + 494 + 122 leaves private banking 3 to 8 customers, narrower than 4.5
    lin = linear_leaks(tables, printed=found["printed"])
    ((table, unit, header, lo, hi),) = lin["leak"]
    assert (unit, header) == ("Private banking", "Customers") and hi - lo < 4.5
    # protected: the segment table withholds VIP as the tier table does
    run = _r08_page(tmp_path / "protected", "x", "x")
    found = same_figure_leaks(run_tables(run))
    assert found["leak"] == [] and found["withheld"] == 5
    lin = linear_leaks(run_tables(run), printed=found["printed"])
    assert lin["leak"] == [] and lin["attacked"] == 2


def test_attack_a_does_not_take_another_figure_for_the_withheld_one(tmp_path):
    from attacker import run_tables, same_figure_leaks

    # the second table prints another value for Mass: another figure (a gap, another month)
    run = tmp_path / "run"
    write_page(
        run / "R01" / "03_outlet_benchmarking.html",
        ("Outlets", ["outlet", "New customers"], [["North", "25"], ["South", "&lt;10"]]),
        ("Peer ranks", ["outlet", "New customers"], [["North", "+4"], ["South", "-2"]]),
        ("Change", ["Scope", "KPI", "2026-10", "On the month"],
         [["South", "New customers", "6", "+1"]]),
    )  # fmt: skip
    found = same_figure_leaks(run_tables(run))
    assert found["leak"] == []
    assert [(f[4].split(" (")[1], f[5]) for f in found["different"]] == [
        ("Peer ranks)", "new customers / south: -2")
    ]
    # the change table's 2026-10 column shares no printed outlet with the outlet table: it
    # cannot be told from the data alone and is left for a reader (the change "+1" is not it)
    assert [f[5] for f in found["ambiguous"]] == ["2026-10 / new customers / south: 6"]
    # another region's page names its own outlets: never compared
    write_page(
        run / "R02" / "03_outlet_benchmarking.html",
        ("Outlets", ["outlet", "New customers"], [["South", "7"]]),
    )
    assert len(same_figure_leaks(run_tables(run))["ambiguous"]) == 1


def _outlet_page(run, small_col: list[str]):
    write_page(
        run / "R01" / "03_outlet_benchmarking.html",
        (
            "Outlet KPIs",
            ["outlet", "Accounts opened", "New customers", "AUM per customer (CNY)"],
            [
                ["North", "10", "50", "70,000"],
                ["South", "20", small_col[0], "80,000"],
                ["East", "30", small_col[1], "90,000"],
                ["Total", "60", "84", "81,000"],
            ],
        ),
    )
    return run


def test_attack_b_recovers_a_blank_by_subtraction_from_a_total_row(tmp_path):
    from attacker import linear_leaks, run_tables

    # "Accounts opened" is printed in full and confirms the total row; AUM per customer is
    # a ratio and is not added up
    tables = run_tables(_outlet_page(tmp_path / "a", ["&lt;10", "30"]))
    lin = linear_leaks(tables)
    assert lin["relations"] == [
        (tables[0].name, ["Accounts opened: bank (total) = sum of its units",
                          "New customers: bank (total) = sum of its units"])
    ]  # fmt: skip
    assert lin["leak"] == [(tables[0].name, "South", "New customers", 4.0, 4.0)]
    assert lin["attacked"] == 1
    # protected: East withheld too (x, at least 0): South is anywhere from 1 to 9
    lin = linear_leaks(run_tables(_outlet_page(tmp_path / "b", ["&lt;10", "x"])))
    assert lin["leak"] == [] and lin["attacked"] == 1


def test_attack_b_sets_up_no_relation_the_table_does_not_bear_out(tmp_path):
    from attacker import linear_leaks, run_tables

    # the "Total" row is an average on the printed column (20, not 60): no relation, nothing
    # attacked, and the rejection is named
    run = tmp_path / "run"
    write_page(
        run / "R01" / "03_outlet_benchmarking.html",
        ("Outlet KPIs", ["outlet", "Accounts opened", "New customers"],
         [["North", "10", "50"], ["South", "20", "&lt;10"], ["East", "30", "30"],
          ["Total", "20", "84"]]),
    )  # fmt: skip
    lin = linear_leaks(run_tables(run))
    assert lin["relations"] == [] and lin["attacked"] == 0 and lin["leak"] == []
    assert [r for _, r in lin["rejected"]] == [
        "bank (total) = sum of its units: 1 of 1 printed columns disagree"
    ]


def test_attack_b_reads_shares_against_their_base_column(tmp_path):
    from attacker import linear_leaks, run_tables

    # R08 with the old blanking: private banking's share is its count over the total; the
    # other shares give the total (3,596 / 99.9 %), so the <10 comes back as 5 (4 to 8 with
    # the rounding of the shares)
    run = tmp_path / "run"
    write_page(
        run / "R08" / "01_customer_segmentation.html",
        ("Tiers", TIER_HEADER,
         [["Mass", "2,980", "82.8%"], ["Quality", "494", "13.7%"], ["VIP", "122", "3.4%"],
          ["Private banking", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    lin = linear_leaks(run_tables(run))
    found = {(u, h): (lo, hi) for _, u, h, lo, hi in lin["leak"]}
    assert set(found) == {("Private banking", "Customers")}
    lo, hi = found[("Private banking", "Customers")]
    assert lo <= 5 <= hi and hi - lo < 4.5
    assert lin["attacked"] == 2  # the count and the share


@functools.cache
def _html_attack(run_dir):
    """Attacks A and B on every HTML table of a run (once per run and session)."""
    from attacker import linear_leaks, run_tables, same_figure_leaks

    tables = run_tables(run_dir)
    twins = same_figure_leaks(tables)
    lin = linear_leaks(tables, printed=twins["printed"])
    return tables, twins, lin


@pytest.mark.run_level
@pytest.mark.slow
def test_every_html_table_of_a_run_is_read(ci_run):
    """The parser reads every page of the run (index, overview, each region's 01/02/03) and
    finds the withheld cells and the relations the attacks need."""
    tables, twins, lin = _html_attack(ci_run.run_dir)
    pages = {p.relative_to(ci_run.run_dir).as_posix() for p in ci_run.html_files}
    pages.discard("kpis.html")  # the KPI dictionary: no figure of the bank
    assert {t.page for t in tables} == pages
    assert all(len(t.header) >= 2 and t.rows for t in tables)
    assert twins["withheld"] > 0 and lin["relations"]
    if not AUDIT:  # the CI batch: 81 tables on 8 pages, 500 withheld cells (258 before 03's
        # plan tables withheld the outlets' new customers: 44 more, every period and change;
        # 149 more since the regions' and echelons' counts of 1 to k-1 are withheld run-wide,
        # with their attainment, year to date, changes and secondary cells; 41 more since the
        # stock retention of a region, echelon or outlet with 1 to k-1 lost customers is,
        # all in the quarter tables: the overview's 19, R01's 03 8, R02's 03 14; 2 more since
        # 03's attainment grid withholds a region's new customers the run withholds (R01's and
        # R02's region rows printed their 1 to k-1 new customers as attainment), 2 fewer since
        # two outlets' retention in R02's quarter table, pinned by the region's, read
        # 'withheld' (the fail-safe's marker, not counted here) instead of '<10' and 'x';
        # 6 more since 03 withholds an outlet's share of quality-and-above customers where
        # 01 withholds the count, one decision for both: R02's 7 (already '<10' in 01) and,
        # so that the region's 49 does not give it back, O'Brien's 42 ('x' in 01's count and
        # adequacy ratio), both outlets' share in 03's outlet table and peer-gap table;
        # 8 more since the rates over an outlet's quality-and-above customers follow that
        # count: O'Brien's manager and contact-plan coverage in R02's 01 (2), its contact-plan
        # coverage in 02's outlet scorecards (1) and its wealth-card matching at the five
        # quarter ends of 03's quarter table (5), all 'x'; 3 more since 02's outlet
        # scorecards withhold what the workbooks withhold: R01's lead conversion rates (the
        # workbook's leads issued gave 10.2 % x 88 = 9 converted leads back), '<10' and 'x',
        # and the service minutes over the 'x' VIP customers of the first outlet; R02's two
        # rates read 'withheld', not counted here); 36 more since 02 withholds a rate whose
        # numerator is a small group of customers: the conversion of last period's leads
        # where 1 to k-1 bought (with the compared leads' conversion and its difference) and
        # the region's top-decile capture and lift where 1 to k-1 buyers are in the
        # best-scored tenth, R01's 02 22, R02's 02 14, all '<10'); 7 fewer since the new-customer
        # counts are decided jointly with the lost customers: 6 more 'x' in 03 (R01's 2025-Q4
        # and 2026-Q1 in its quarter table, its 2026-Q1 attainment and met/missed in the plan
        # table, echelon 2's 2025-Q4 and 2026-Q1 in R02's quarter table),
        # 5 more 'x' and 6 fewer '<10' in the overview's plan table, and 9 '<10' and 3 'x' of
        # its quarter table now under the fail-safe's 'withheld', not counted here; that table
        # is read at all since label_columns takes 'withheld' for a figure, not a label;
        # 6 fewer since a component of more than SEARCH_PIECE withheld cells takes its
        # secondary cells from one programme per cell (programme_choice): the run-wide
        # new-customer counts of the regions and echelons, every month, withhold fewer 'x' --
        # the overview prints a region's 2025-Q4, 2026-Q1 and 2026-Q2 and another's 2026-Q2
        # that the candidate search withheld, and 03's plan table their attainment;
        # 32 fewer since that programme is asked of one warm-started model of the table
        # (WarmChoice), which names other cells where the cheapest point is not unique: the
        # same run-wide new-customer counts, in the overview's plan, quarter and change tables
        # and 03's of R01, R02 and R03 (fewer) and R04 (2 more), every attack passing);
        # 2 more since the run decides the shares of the regions with their outlets, echelons
        # and the bank (disclosure_shares): the overview's quarter table withholds R05's and
        # R07's wealth-card matching at 2025-Q4 ('x'), which keeps R07's outlets' small card
        # side from coming back)
        assert len(pages) == 8 and len(tables) == 81
        assert twins["withheld"] == 502
        # the tier tables (shares tied to the counts), the plan tables (region = its
        # outlets), the overview (bank = its regions or echelons)
        named = {name.split("#")[0] for name, _ in lin["relations"]}
        assert "_bank/00_bank_overview.html" in named
        assert f"{ci_run.region_a}/01_customer_segmentation.html" in named


@pytest.mark.run_level
@pytest.mark.slow
def test_no_withheld_cell_is_printed_elsewhere_or_recovered_from_its_table_in_the_html(ci_run):
    """Attack A (a withheld cell printed as the same figure by another table of the run) and
    attack B (bounds by LP over the table's own totals and shares, with A's twins pinned)."""
    _, twins, lin = _html_attack(ci_run.run_dir)
    assert twins["leak"] == [], twins["leak"]
    assert lin["leak"] == [], lin["leak"]
    assert lin["attacked"] > 0


@pytest.mark.run_level
@pytest.mark.slow
def test_no_withheld_cell_has_an_unresolved_twin_in_the_html(ci_run):
    """A withheld cell whose unit and figure another table prints as a number the units alone
    cannot tell apart (no unit printed by both): each pair is for a reader to check, and the
    test fails until none is left (docs/privacy.md lists the known ones)."""
    _, twins, _ = _html_attack(ci_run.run_dir)
    pairs = sorted({(w, u, h, m, o, p) for w, u, h, m, o, p in twins["ambiguous"]})
    assert pairs == [], "\n".join(map(str, pairs))
