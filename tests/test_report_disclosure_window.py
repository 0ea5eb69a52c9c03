"""The joint decision over the run's new-customer counts and lost customers."""

from __future__ import annotations

import pandas as pd
import pytest
from attacker import attack_linear

from bankanalysis.report import disclosure_retention as dr
from bankanalysis.report import disclosure_window as dw
from bankanalysis.report.disclosure_plan import MOM, YOY, PlanCounts, protect_total_counts

K = 10
MONTHS = ["2025-01", "2025-02", "2025-03"]
ECHELON = {"R1": 1, "R2": 1, "R3": 2, "R4": 2}
#: Per region: base customers (2025-01), lost customers by 2025-03, new customers of 2025-01,
#: 2025-02 and 2025-03; none of the window's new customers left again, so the customers of
#: 2025-03 are base - lost + new of 2025-02 and 2025-03.
REGIONS = {
    "R1": (70, 4, 11, 10, 10),
    "R2": (190, 14, 20, 20, 20),
    "R3": (80, 6, 12, 12, 12),
    "R4": (300, 20, 30, 30, 30),
}


def _kpis() -> pd.DataFrame:
    rows = [
        (m, r, ECHELON[r], float(v[2 + i]))
        for r, v in REGIONS.items()
        for i, m in enumerate(MONTHS)
    ]
    return pd.DataFrame(rows, columns=["month", "region_id", "echelon", "new_customers"])


def _units(values: dict[str, float]) -> list[tuple[str, str, float]]:
    """``(level, id, value)`` of the regions, their echelons and the bank."""
    out = [("region", r, float(v)) for r, v in values.items()]
    for e in (1, 2):
        out.append(("echelon", str(e), float(sum(v for r, v in values.items() if ECHELON[r] == e))))
    out.append(("bank", "bank", float(sum(values.values()))))
    return out


def _window() -> dw.Window:
    base = {r: v[0] for r, v in REGIONS.items()}
    lost = {r: v[1] for r, v in REGIONS.items()}
    end = {r: v[0] - v[1] + v[3] + v[4] for r, v in REGIONS.items()}
    frame = pd.DataFrame(
        [
            ("2025-03", lv, i, b, n)
            for (lv, i, b), (_, _, n) in zip(_units(base), _units(lost), strict=True)
        ],
        columns=["month", "level", "id", "base", "lost"],
    )
    ends = pd.DataFrame(
        [("2025-03", lv, i, c) for lv, i, c in _units(end)],
        columns=["month", "level", "id", "customers"],
    )
    retention = dr.protect_retention(frame, ECHELON, K, {"2025-03": "2025-Q1"}).status
    return dw.Window(
        lost=frame, end=ends, bases={"2025-03": "2025-01"}, months=MONTHS, retention=retention
    )


def _attack(counts, window: dw.Window) -> dict[str, tuple[float, float]]:
    """The attacker's bounds on every withheld lost count: each region's, echelon's and the
    bank's new customers of 2025-03, of 2025-02 (through the change on the month), of 2025-Q1
    and of the year as printed (``<k``: 1 to 9; withheld: at least 0; 2025-01 printed
    nowhere), the lost customers as the run prints them (retention times the base), the base
    and end customers, and per region the relation lost = base - end + new of 2025-02 and
    2025-03 - those who left again (at least 0, at most those new customers)."""
    cells: dict[str, float | str | None] = {}
    relations: list[dict[str, float]] = []
    units = [f"{lv}={i}" for lv, i, _ in _units(dict.fromkeys(REGIONS, 0.0))]
    value = {
        f"{lv}={i}": {m: v for m, v in zip(MONTHS, vals, strict=True)}
        for lv, i, vals in _units_of_months()
    }
    for u in units:
        for period in ("2025-01", "2025-02", "2025-03", "2025-Q1", "2025"):
            st = counts.status.get((u, "new_customers", period), "")
            if period == "2025-02" and counts.status.get((u, "new_customers", MOM)):
                st = st or "secondary"
            if period in ("2025-Q1", "2025"):
                v = sum(value[u].values())
            else:
                v = value[u][period]
            shown = "<k" if st == "primary" else None if st or period == "2025-01" else float(v)
            cells[f"n:new[{u},{period}]"] = shown
        relations.append(
            {f"n:new[{u},2025-{m:02d}]": 1.0 for m in (1, 2, 3)} | {f"n:new[{u},2025-Q1]": -1.0}
        )
        relations.append({f"n:new[{u},2025-Q1]": 1.0, f"n:new[{u},2025]": -1.0})
        st = window.retention.get((u, dr.KPI, "2025-03"), "")
        lost = float(window.lost.set_index(["level", "id"])["lost"][tuple(u.split("="))])
        cells[f"n:lost[{u}]"] = "<k" if st == "primary" else None if st else lost
    for period in ("2025-01", "2025-02", "2025-03", "2025-Q1", "2025"):
        fmts = ["n:new[{u},PERIOD]".replace("PERIOD", period)]
        for fmt in fmts + (["n:lost[{u}]"] if period == "2025-03" else []):
            for e in ("1", "2"):
                rel = {fmt.format(u=f"region={r}"): 1.0 for r, v in ECHELON.items() if str(v) == e}
                relations.append(rel | {fmt.format(u=f"echelon={e}"): -1.0})
            relations.append(
                {
                    fmt.format(u="echelon=1"): 1.0,
                    fmt.format(u="echelon=2"): 1.0,
                    fmt.format(u="bank=bank"): -1.0,
                }
            )
    for r, (base, lost, _, n2, n3) in REGIONS.items():
        end = base - lost + n2 + n3
        u = f"region={r}"
        cells[f"n:change[{u}]"] = float(base - end)
        cells[f"n:stay[{u}]"] = None
        cells[f"n:left[{u}]"] = None
        relations.append({f"n:lost[{u}]": 1.0, f"n:stay[{u}]": -1.0, f"n:change[{u}]": -1.0})
        relations.append(
            {
                f"n:stay[{u}]": 1.0,
                f"n:left[{u}]": 1.0,
                f"n:new[{u},2025-02]": -1.0,
                f"n:new[{u},2025-03]": -1.0,
            }
        )
    got = attack_linear(cells, relations, K)
    return {c: b for c, b in got.items() if c.startswith("n:lost[")}


def _units_of_months() -> list[tuple[str, str, list[float]]]:
    by_month = [
        _units({r: float(v[2 + i]) for r, v in REGIONS.items()}) for i in range(len(MONTHS))
    ]
    return [
        (lv, i, [by_month[m][j][2] for m in range(len(MONTHS))])
        for j, (lv, i, _) in enumerate(by_month[0])
    ]


def test_a_lost_count_the_separate_decisions_leave_pinned_is_protected_by_the_joint_step() -> None:
    """R1 lost 4 of 70 customers and has 86 now, with 10 + 10 new customers since: lost <= 70
    - 86 + 20 = 4, so its "<10" is 1 .. 4; R3's 6 likewise 1 .. 6, and the bank's 44 less
    the published 14 and 20 says R1 + R3 = 10: both are pinned, 4 .. 4 and 6 .. 6. The
    separate new-customer decision withholds nothing (no count below 10); the joint step
    withholds further counts until both are at least 4.5 wide. On main (no joint step) the
    new-customer decision is the separate one, which the attacker reads as 4 .. 4."""
    window = _window()
    assert {u for (u, _, m), s in window.retention.items() if m == "2025-03" and s} == {
        "region=R1",
        "region=R3",
        "echelon=1",
        "echelon=2",
    }
    alone = protect_total_counts(_kpis(), "2025-03", K)
    # no count is below 10: only 2025-01, printed nowhere, counts as withheld
    assert {p for _, _, p in alone.status} == {"2025-01"}
    before = _attack(alone, window)
    assert before["n:lost[region=R1]"] == (4.0, 4.0)
    assert before["n:lost[region=R3]"] == (6.0, 6.0)

    joint = protect_total_counts(_kpis(), "2025-03", K, joint=dw.window_step(window, ECHELON, K))
    after = _attack(joint, window)
    for region in ("R1", "R3"):
        lo, hi = after[f"n:lost[region={region}]"]
        assert hi - lo >= (K - 1) / 2, (region, lo, hi)
    # only new-customer counts are added, and none for nothing: R1's count of 2025-02 (its
    # own relation), echelon 1's (whose relation pins R1 with R2's published 14), echelon 2's
    # (the bank's 72 less it gives echelon 1's back) and R3's (echelon 2's is R3's + R4's);
    # each is needed: without any one of them the attacker pins R1 again
    added = {key: s for key, s in joint.status.items() if key[2] not in (MOM, "2025-01")}
    assert added == {
        (u, "new_customers", "2025-02"): "secondary"
        for u in ("region=R1", "echelon=1", "echelon=2", "region=R3")
    }
    for u in sorted({u for u, _, _ in added}):
        fewer = PlanCounts(
            {key: s for key, s in joint.status.items() if key[0] != u or key[2] == "2025-01"},
            k=K,
        )
        lo, hi = _attack(fewer, window)["n:lost[region=R1]"]
        assert hi - lo < (K - 1) / 2, u
    assert joint.safe
    # deterministic: the same data give the same cells
    again = protect_total_counts(_kpis(), "2025-03", K, joint=dw.window_step(window, ECHELON, K))
    assert again.status == joint.status


def test_a_window_the_tables_do_not_print_gives_no_relation() -> None:
    """With the base month two quarters back the window holds months no printed cell adds up
    (2024-11 and 2024-12 are in no printed quarter and no modelled month): no relation, so
    nothing is withheld for it."""
    window = _window()
    far = dw.Window(
        lost=window.lost,
        end=window.end,
        bases={"2025-03": "2024-10"},
        months=["2024-10", "2024-11", "2024-12", *MONTHS],
        retention=window.retention,
    )
    kpis = _kpis()
    early = pd.DataFrame(
        [(m, r, ECHELON[r], 15.0) for m in ("2024-10", "2024-11", "2024-12") for r in REGIONS],
        columns=kpis.columns,
    )
    both = pd.concat([early, kpis], ignore_index=True)
    alone = protect_total_counts(both, "2025-03", K, n_quarters=1)
    joint = protect_total_counts(
        both, "2025-03", K, n_quarters=1, joint=dw.window_step(far, ECHELON, K)
    )
    assert joint.status == alone.status


def test_the_joint_step_withholds_the_same_counts_when_its_pieces_go_to_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The step's audit and search ask :class:`PieceIntervals`, which solves a small piece as
    its own memoised programme and a large one in the warm-started model of the whole joint
    table: with every piece sent to the model (``SMALL_PIECE = 0``, as the 120-region bank's
    one piece of 3,183 withheld cells is) the step withholds the same four counts of 2025-02
    as above (R1, echelon 1, echelon 2, R3)."""
    from bankanalysis.rules import disclosure_pieces as dp

    window = _window()
    step = dw.window_step(window, ECHELON, K)
    small = protect_total_counts(_kpis(), "2025-03", K, joint=step)
    monkeypatch.setattr(dp, "SMALL_PIECE", 0)
    model = protect_total_counts(_kpis(), "2025-03", K, joint=dw.window_step(window, ECHELON, K))
    assert model.status == small.status
    added = {key for key, s in model.status.items() if key[2] == "2025-02" and s == "secondary"}
    assert added == {
        (u, "new_customers", "2025-02")
        for u in ("region=R1", "echelon=1", "echelon=2", "region=R3")
    }


#: A bank of 13 months (data month 2026-10): R1 had 1 new customer in 2025-11 and 1 in 2025-12,
#: months the run prints nowhere (only 2025-Q4, 2025-10 through the change on the year, and
#: later months), lost none of its 100 base customers by 2025-12 (a retention of 100 %, not a
#: small group) and has 102: both its new customers stayed. One of R2's new customers of the
#: window left again; nobody else's did.
YEAR_MONTHS = [f"2025-{m}" for m in ("10", "11", "12")] + [f"2026-{m:02d}" for m in range(1, 11)]
YEAR_NEW = {r: dict.fromkeys(YEAR_MONTHS, 20.0 + 3 * i) for i, r in enumerate(ECHELON)}
YEAR_NEW["R1"].update({"2025-11": 1.0, "2025-12": 1.0})
YEAR_BASE = {"R1": 100, "R2": 200, "R3": 150, "R4": 300}
YEAR_LOST = {"R1": 0, "R2": 12, "R3": 15, "R4": 20}
YEAR_LEFT = {"R1": 0, "R2": 1, "R3": 0, "R4": 0}


def _year_bank() -> tuple[pd.DataFrame, dw.Window]:
    kpis = pd.DataFrame(
        [(m, r, ECHELON[r], YEAR_NEW[r][m]) for r in ECHELON for m in YEAR_MONTHS],
        columns=["month", "region_id", "echelon", "new_customers"],
    )
    window = {r: YEAR_NEW[r]["2025-11"] + YEAR_NEW[r]["2025-12"] for r in ECHELON}
    end = {r: YEAR_BASE[r] - YEAR_LOST[r] + window[r] - YEAR_LEFT[r] for r in ECHELON}
    rows = zip(_units(YEAR_BASE), _units(YEAR_LOST), strict=True)
    lost = pd.DataFrame(
        [("2025-12", lv, i, b, n) for (lv, i, b), (_, _, n) in rows],
        columns=["month", "level", "id", "base", "lost"],
    )
    ends = pd.DataFrame(
        [("2025-12", lv, i, c) for lv, i, c in _units(end)],
        columns=["month", "level", "id", "customers"],
    )
    retention = dr.protect_retention(lost, ECHELON, K, {"2025-12": "2025-Q4"}).status
    return kpis, dw.Window(
        lost=lost,
        end=ends,
        bases={"2025-12": "2025-10"},
        months=YEAR_MONTHS,
        retention=retention,
    )


def _attack_year(counts: PlanCounts) -> dict[str, tuple[float, float]]:
    """The attacker's bounds on R1's new customers of 2025-11 and 2025-12 from what the run
    prints of the bank of :func:`_year_bank`: every unit's data month, 2025-10 (through the
    change on the year) and 2026-09 (through the change on the month), its quarters and its
    year to date, unless withheld (``<k``: 1 to 9); every unit's lost customers, base and end
    customers at 2025-12; the units adding up; and per unit lost = base - end + the
    window's new customers - those of them who left again."""
    cells: dict[str, float | str | None] = {}
    relations: list[dict[str, float]] = []
    months = {
        u: {m: v for m, v in zip(YEAR_MONTHS, vals, strict=True)} for u, vals in _year_units()
    }
    quarters = {"2025-Q4": YEAR_MONTHS[:3]} | {
        f"2026-Q{q}": YEAR_MONTHS[3 * q : 3 * q + 3] for q in (1, 2, 3)
    }
    change = {"2025-10": YOY, "2026-09": MOM, "2026-10": "2026-10"}
    for u, value in months.items():
        for m, v in value.items():
            st = counts.status.get((u, "new_customers", change.get(m, m)), "")
            st = st or counts.status.get((u, "new_customers", m), "")
            if m not in change:  # printed nowhere, not even as "<10"
                cells[f"n:new[{u},{m}]"] = None
            else:
                cells[f"n:new[{u},{m}]"] = "<k" if st == "primary" else None if st else float(v)
        for label, ms in [*quarters.items(), ("2026", YEAR_MONTHS[3:])]:
            st = counts.status.get((u, "new_customers", label), "")
            v = sum(value[m] for m in ms)
            cells[f"n:new[{u},{label}]"] = "<k" if st == "primary" else None if st else float(v)
            relations.append({f"n:new[{u},{m}]": 1.0 for m in ms} | {f"n:new[{u},{label}]": -1.0})
    _, window = _year_bank()
    frame = window.lost.assign(
        unit=[f"{lv}={i}" for lv, i in zip(window.lost["level"], window.lost["id"], strict=True)]
    )
    end = dict(zip(frame["unit"], window.end["customers"], strict=True))
    for r in frame.itertuples(index=False):
        st = window.retention.get((r.unit, dr.KPI, "2025-12"), "")
        cells[f"n:lost[{r.unit}]"] = "<k" if st == "primary" else None if st else float(r.lost)
        cells[f"n:change[{r.unit}]"] = float(r.base - end[r.unit])
        cells[f"n:stay[{r.unit}]"] = cells[f"n:left[{r.unit}]"] = None
        relations.append(
            {f"n:lost[{r.unit}]": 1.0, f"n:stay[{r.unit}]": -1.0, f"n:change[{r.unit}]": -1.0}
        )
        relations.append(
            {f"n:stay[{r.unit}]": 1.0, f"n:left[{r.unit}]": 1.0}
            | {f"n:new[{r.unit},{m}]": -1.0 for m in ("2025-11", "2025-12")}
        )
    for fmt in [f"n:new[{{u}},{m}]" for m in YEAR_MONTHS] + ["n:lost[{u}]"]:
        for e in ("1", "2"):
            rel = {fmt.format(u=f"region={r}"): 1.0 for r, v in ECHELON.items() if str(v) == e}
            relations.append(rel | {fmt.format(u=f"echelon={e}"): -1.0})
        ech = {fmt.format(u=f"echelon={e}"): 1.0 for e in ("1", "2")}
        relations.append(ech | {fmt.format(u="bank=bank"): -1.0})
    got = attack_linear(cells, relations, K)
    return {m: got[f"n:new[region=R1,{m}]"] for m in ("2025-11", "2025-12")}


def _year_units() -> list[tuple[str, list[float]]]:
    by_month = [_units({r: YEAR_NEW[r][m] for r in ECHELON}) for m in YEAR_MONTHS]
    return [
        (f"{lv}={i}", [by_month[m][j][2] for m in range(len(YEAR_MONTHS))])
        for j, (lv, i, _) in enumerate(by_month[0])
    ]


def test_a_count_only_the_bank_pins_is_protected_by_withholding_the_bank_s_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """R1's 1 new customer of 2025-11 (and of 2025-12) is printed nowhere, yet the bank's
    2025-Q4 less its 2025-10 (printed through its change on the year) gives the bank's
    customers new in 2025-11 and 2025-12; with every unit's lost, base and end customers
    that leaves one customer who left again to spread over the regions, and R1's two stayed
    (lost 0, base 100, end 102): its 2025-11 is 0 .. 3 whatever the regions' and echelons'
    cells withhold (the fail-safe's steps included). The last step withholds the bank's
    count of 2025-10, hence its change on the year, with echelon 1's (the bank's is the
    echelons' sum): R1's months are then at least 4.5 wide. The bank's data month, quarters
    and year stay published."""
    kpis, window = _year_bank()
    assert not any(window.retention.values())  # every lost count is 0 or at least 10
    joint = protect_total_counts(kpis, "2026-10", K, joint=dw.window_step(window, ECHELON, K))
    assert joint.safe
    for month, (lo, hi) in _attack_year(joint).items():
        assert hi - lo >= (K - 1) / 2, (month, lo, hi)
    bank = {p: s for (u, _, p), s in joint.status.items() if u == "bank=bank"}
    assert bank["yoy"] == bank["2025-10"] == "secondary"
    assert "mom" not in bank and not {"2026-10", "2025-Q4", "2026-Q3", "2026"} & set(bank)
    assert joint.status[("echelon=1", "new_customers", "2025-10")] == "secondary"

    monkeypatch.setattr(dw, "_bank_changes", lambda table, prot, own, k: prot)
    without = protect_total_counts(kpis, "2026-10", K, joint=dw.window_step(window, ECHELON, K))
    assert not without.safe
    assert ("bank=bank", "new_customers", "yoy") not in without.status
    lo, hi = _attack_year(without)["2025-11"]
    assert (lo, hi) == (0.0, 3.0)
