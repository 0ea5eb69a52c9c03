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

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from bankanalysis.report.disclosure import protect_migration, protect_tiers, tier_table
from bankanalysis.rules.disclosure import suppress_small_groups
from bankanalysis.rules.disclosure_secondary import PRIMARY, audit, protect
from bankanalysis.rules.tiers import TIERS

K = 10
#: A withheld AUM share is safe when its feasible interval is at least this share of its upper
#: end wide.
MONEY_WIDTH = 0.5


def _bounds_lp(n_vars, a_eq, b_eq, bounds, integer, target):
    """(min, max) of variable ``target`` subject to ``a_eq x = b_eq`` and ``bounds``."""
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(n_vars)
        c[target] = sign
        res = linprog(
            c,
            A_eq=np.array(a_eq) if a_eq else None,
            b_eq=np.array(b_eq) if b_eq else None,
            bounds=bounds,
            method="highs",
            integrality=np.array(integer, dtype=int),
        )
        assert res.status in (0, 3), res.message
        out.append(sign * res.fun if res.status == 0 else sign * np.inf)
    return out[0], out[1]


def attack_tiers(values: dict, reasons: dict, k: int) -> list[tuple[str, float, float, bool]]:
    """Every withheld tier figure of a ``metrics.json``: (key, lower, upper, safe).

    Published constraints: the region's customer total, every shown ``customer_share`` (times
    the total: a count), every shown ``aum_share`` (shares of AUM add up to 1) and the
    ``aum_share[tier_at_least=..]`` sentence.
    """
    n_total = values.get("customers")
    found = []
    tiers = [t for t in TIERS if f"customer_share[tier={t}]" in values]
    if n_total is None or not tiers:
        return found
    # counts
    unknown = [t for t in tiers if values[f"customer_share[tier={t}]"] is None]
    if unknown:
        known = sum(
            values[f"customer_share[tier={t}]"] * n_total for t in tiers if t not in unknown
        )
        bounds, integer = [], []
        for t in unknown:
            why = reasons.get(f"customer_share[tier={t}]", "")
            bounds.append((1, k - 1) if "fewer than" in why else (k, None))
            integer.append(1)
        a_eq, b_eq = [[1.0] * len(unknown)], [round(n_total - known)]
        for i, t in enumerate(unknown):
            if "fewer than" not in reasons.get(f"customer_share[tier={t}]", ""):
                continue
            lo, hi = _bounds_lp(len(unknown), a_eq, b_eq, bounds, integer, i)
            found.append(
                (f"customer_share[tier={t}]", lo, hi, lo <= 1 + 1e-6 and hi >= k - 1 - 1e-6)
            )
    # money (shares of the region's AUM)
    shares = {t: values.get(f"aum_share[tier={t}]") for t in tiers}
    unknown = [
        t
        for t in tiers
        if shares[t] is None and "withheld" in reasons.get(f"aum_share[tier={t}]", "")
    ]
    if unknown and any(v is not None for v in shares.values()):
        a_eq = [[1.0] * len(unknown)]
        b_eq = [1.0 - sum(v for t, v in shares.items() if v is not None and t not in unknown)]
        for key, s in values.items():
            if key.startswith("aum_share[tier_at_least=") and s is not None:
                top = list(TIERS)[list(TIERS).index(key.split("=")[1].rstrip("]")) :]
                a_eq.append([1.0 if t in top else 0.0 for t in unknown])
                b_eq.append(s - sum(shares[t] for t in top if t in tiers and t not in unknown))
        bounds = [(0, 1)] * len(unknown)
        for i, t in enumerate(unknown):
            if "fewer than" not in reasons.get(
                f"aum_share[tier={t}]", ""
            ) and "dominated" not in reasons.get(f"aum_share[tier={t}]", ""):
                continue
            lo, hi = _bounds_lp(len(unknown), a_eq, b_eq, bounds, [0] * len(unknown), i)
            found.append((f"aum_share[tier={t}]", lo, hi, hi - lo >= MONEY_WIDTH * hi - 1e-9))
    return found


# ---------------------------------------------------------------------- the R08 case by hand

#: Region R08 of the issue: 2,980 mass, 494 quality, 122 VIP and 5 private-banking customers
#: holding 6.5 %, 26.5 %, 48.1 % and 18.9 % of the AUM; the report says "VIP and above: 67.0 %".
R08 = pd.DataFrame(
    {
        "tier": list(TIERS),
        "customers": [2980, 494, 122, 5],
        "aum": [6.5e6, 26.5e6, 48.1e6, 18.9e6],
    }
)


def _metrics_of(region: pd.DataFrame, hidden: dict[str, str], top_share: float | None):
    """The metrics.json an R08 report would publish with the cells in ``hidden`` withheld."""
    n, a = region["customers"].sum(), region["aum"].sum()
    values, reasons = {"customers": int(n)}, {}
    why = {"primary": "withheld: fewer than 10 customers", "secondary": "withheld so that..."}
    for t, c, m in region.itertuples(index=False):
        for key, v, cell in (
            (f"customer_share[tier={t}]", c / n, f"customers[tier={t}]"),
            (f"aum_share[tier={t}]", m / a, f"aum[tier={t}]"),
        ):
            values[key] = None if cell in hidden else v
            if cell in hidden:
                reasons[key] = why[hidden[cell]]
    values["aum_share[tier_at_least=vip]"] = top_share
    return values, reasons


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


# ---------------------------------------------------------------------- the tier-flow table

FLOW_COLUMNS = ("from", "to", "net", "up_in", "down_in", "new_in", "up_out", "down_out", "lost")


def _cell_bounds(text: str, k: int) -> tuple[float, float | None]:
    """What a published table cell tells: a number, ``<k`` (1..k-1) or ``x`` (>= k)."""
    text = text.strip().replace(",", "")
    if text == f"<{k}":
        return 1, k - 1
    if text == "x":
        return k, None
    v = float(text)
    return v, v


def attack_flows(rows: list[list[str]], k: int, lost: float | None = None):
    """Every ``<k`` count of the tier-flow table: (tier, column, lower, upper, safe).

    ``rows``: tier label then the published cells in :data:`FLOW_COLUMNS` order (retention
    left out). Relations an attacker knows: customers at the start = upgraded out + downgraded
    out + lost + stayed; now = upgraded in + downgraded in + new + stayed; net = now - start;
    every upgrade out of a tier is an upgrade into another (and so for downgrades); the lost
    customers add up to ``lost_customers`` of metrics.json.
    """
    names = [(i, c) for i in range(len(rows)) for c in (*FLOW_COLUMNS, "stay")]
    pos = {n: j for j, n in enumerate(names)}
    bounds, a_eq, b_eq = [], [], []
    for i, row in enumerate(rows):
        cells = dict(zip(FLOW_COLUMNS, row[1:], strict=False))
        for c in FLOW_COLUMNS:
            if c == "net":
                text = cells[c].strip().replace(",", "").replace("−", "-")
                bounds.append((-np.inf, None) if text in (f"<{k}", "x") else (float(text),) * 2)
            else:
                bounds.append(_cell_bounds(cells[c], k))
        bounds.append((0, None))  # stayed in the tier: never published

        def eq(coefs, rhs=0.0):
            row_ = np.zeros(len(names))
            for name, coef in coefs.items():
                row_[pos[name]] += coef
            a_eq.append(row_)
            b_eq.append(rhs)

        eq(
            {
                (i, "from"): 1,
                (i, "up_out"): -1,
                (i, "down_out"): -1,
                (i, "lost"): -1,
                (i, "stay"): -1,
            }
        )
        eq({(i, "to"): 1, (i, "up_in"): -1, (i, "down_in"): -1, (i, "new_in"): -1, (i, "stay"): -1})
        eq({(i, "net"): 1, (i, "to"): -1, (i, "from"): 1})
    for a, b in (("up_out", "up_in"), ("down_out", "down_in")):
        eq({**{(i, a): 1 for i in range(len(rows))}, **{(i, b): -1 for i in range(len(rows))}})
    if lost is not None:
        eq({(i, "lost"): 1 for i in range(len(rows))}, lost)
    found = []
    for i, row in enumerate(rows):
        for c, text in zip(FLOW_COLUMNS, row[1:], strict=False):
            # net change is a difference, not a group: withheld with its group, but its own
            # value (e.g. 0 when every move of the row is a shown 0) reveals no customer
            if text.strip() != f"<{k}" or c == "net":
                continue
            integer = [1] * len(names)
            lo, hi = _bounds_lp(
                len(names), [list(r) for r in a_eq], b_eq, bounds, integer, pos[(i, c)]
            )
            found.append((row[0], c, lo, hi, hi - lo >= (k - 1) / 2 - 1e-6))
    return found


def test_flow_table_attacker_on_the_hand_matrix():
    from test_report_disclosure import MATRIX, _flows

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


class _Tables(HTMLParser):
    """Cell texts of every ``<table>`` of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


# ---------------------------------------------------------------------- every report of a batch


def tier_leaks(run_dir: Path) -> tuple[list, int]:
    """Withheld tier figures of every segmentation report's metrics.json that the attacker
    narrows below their protection interval, and how many it attacked."""
    files = sorted(Path(run_dir).glob("*/01_customer_segmentation/metrics.json"))
    assert files
    leaks, checked = [], 0
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        reasons = data.pop("_reasons", {})
        # the report ran to the end: the tier figures and the sentence were published
        assert all(f"customer_share[tier={t}]" in data for t in TIERS), (f, sorted(data))
        assert "aum_share[tier_at_least=vip]" in data, f
        for key, lo, hi, ok in attack_tiers(data, reasons, K):
            checked += 1
            if not ok:
                leaks.append((str(f), key, lo, hi))
    return leaks, checked


def flow_leaks(run_dir: Path) -> tuple[list, int]:
    """The same for the tier-flow table of every segmentation report (with its
    ``lost_customers``)."""
    pages = sorted(Path(run_dir).glob("*/01_customer_segmentation.html"))
    assert pages
    leaks, checked = [], 0
    for page in pages:
        parser = _Tables()
        parser.feed(page.read_text(encoding="utf-8"))
        flows = [t for t in parser.tables if t and any("Upgraded out" in c for c in t[0])]
        assert len(flows) == 1, page
        metrics = json.loads((page.parent / page.stem / "metrics.json").read_text("utf-8"))
        rows = [r[:10] for r in flows[0][1:] if r]
        for found in attack_flows(rows, K, lost=metrics.get("lost_customers")):
            checked += 1
            if not found[4]:
                leaks.append((page.parent.name, *found))
    return leaks, checked


@pytest.mark.slow
def test_no_withheld_tier_figure_is_recoverable_from_metrics(ci_run):
    """Every segmentation report of the CI batch: no withheld tier figure can be narrowed."""
    leaks, checked = tier_leaks(ci_run.run_dir)
    assert not leaks, leaks
    assert checked  # the CI bank has small tiers: the attacker had something to attack


@pytest.mark.slow
def test_no_withheld_flow_is_recoverable_from_the_report(ci_run):
    """The tier-flow table of every segmentation report, with lost_customers of its metrics."""
    leaks, checked = flow_leaks(ci_run.run_dir)
    assert not leaks, leaks
    assert checked


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
