"""The outlets' counts in 03's plan tables (bankanalysis.report.disclosure_plan), on hand-built
regions of three outlets, with the attacker's own linear programmes (tests/attacker.py)."""

from __future__ import annotations

import pandas as pd
from attacker import attack_linear

from bankanalysis.report.disclosure import failsafe_cells, failsafe_note, protect_outlet_counts
from bankanalysis.report.disclosure_plan import (
    MOM,
    YOY,
    month_status,
    protect_plan_counts,
    protect_total_counts,
    year_counts,
)

K = 10
NC = "new_customers"


def _monthly(counts: dict[str, list[float]], months: list[str], region: str = "R1") -> pd.DataFrame:
    """Outlet and region rows of new customers (the region = its outlets)."""
    rows = [
        {"month": m, "level": "outlet", "id": o, NC: v[i]}
        for o, v in counts.items()
        for i, m in enumerate(months)
    ]
    rows += [
        {"month": m, "level": "region", "id": region, NC: sum(v[i] for v in counts.values())}
        for i, m in enumerate(months)
    ]
    return pd.DataFrame(rows)


def _given(monthly: pd.DataFrame, month: str) -> dict[tuple[str, str], str]:
    """The outlet table's answer for the data month (protect_outlet_counts)."""
    now = monthly[(monthly["level"] == "outlet") & (monthly["month"] == month)]
    mine = now[["id", NC]].rename(columns={"id": "outlet_id"}).reset_index(drop=True)
    return month_status(mine, protect_outlet_counts(mine, K))


# Jan / Feb 2025, data month February (the second month of Q1): O1 has 4 new customers
FEB = _monthly({"O1": [20, 4], "O2": [30, 25], "O3": [12, 15]}, ["2025-01", "2025-02"])


def _reader(shown: dict[str, object]) -> tuple[dict, list[dict]]:
    """What a reader of the plan tables can set up for February's quarter: per outlet the
    month (changes table), the quarter so far (quarter table) and the change on the month;
    January is printed nowhere; the region's row prints all three."""
    cells: dict[str, object] = {"n:feb_R": 44.0, "n:q_R": 106.0, "n:jan_R": 62.0}
    rel = [
        {"n:feb_O1": 1, "n:feb_O2": 1, "n:feb_O3": 1, "n:feb_R": -1},
        {"n:jan_O1": 1, "n:jan_O2": 1, "n:jan_O3": 1, "n:jan_R": -1},
        {"n:q_O1": 1, "n:q_O2": 1, "n:q_O3": 1, "n:q_R": -1},
    ]
    for o in ("O1", "O2", "O3"):
        cells[f"n:jan_{o}"] = None
        cells[f"n:feb_{o}"] = shown[f"feb_{o}"]
        cells[f"n:q_{o}"] = shown[f"q_{o}"]
        rel.append({f"n:q_{o}": 1, f"n:jan_{o}": -1, f"n:feb_{o}": -1})
        if shown[f"mom_{o}"] is not None:  # month - change = the month before
            cells[f"n:mom_{o}"] = shown[f"mom_{o}"]
            rel.append({f"n:feb_{o}": 1, f"n:jan_{o}": -1, f"n:mom_{o}": -1})
    return cells, rel


def _marker(status: str) -> object:
    return {"primary": "<k", "secondary": None, "": "shown"}[status]


def test_the_month_withheld_alone_comes_back_from_its_quarter_and_its_change() -> None:
    given = _given(FEB, "2025-02")
    # the outlet table withholds O1's 4 and O3's 15 (the region's 44 would give 4 back)
    assert given == {("O1", NC): "primary", ("O3", NC): "secondary"}
    # withholding those two months alone: O1's quarter so far (24) and its change (-16)
    # give February back, 4 exactly
    old = {"feb_O1": "<k", "feb_O2": 25.0, "feb_O3": None, "q_O1": 24.0, "q_O2": 55.0,
           "q_O3": 27.0, "mom_O1": -16.0, "mom_O2": -5.0, "mom_O3": 3.0}  # fmt: skip
    assert attack_linear(*_reader(old), K)["n:feb_O1"] == (4.0, 4.0)
    # protected: the changes of a withheld month are withheld too; the quarters stay shown
    # (January is printed nowhere, so 24 says only January + February)
    pc = protect_plan_counts(FEB, "2025-02", K, given)
    assert pc.status == {
        ("O1", NC, "2025-02"): "primary",
        ("O3", NC, "2025-02"): "secondary",
        ("O1", NC, MOM): "secondary",
        ("O1", NC, YOY): "secondary",
        ("O3", NC, MOM): "secondary",
        ("O3", NC, YOY): "secondary",
    }
    assert pc.safe
    new = {}
    for o, v in (("O1", (4, 24, -16)), ("O2", (25, 55, -5)), ("O3", (15, 27, 3))):
        for period, key, x in (
            ("2025-02", "feb", v[0]),
            ("2025-Q1", "q", v[1]),
            (MOM, "mom", v[2]),
        ):
            st = pc.of(o, NC, period)
            new[f"{key}_{o}"] = float(x) if not st else _marker(st)
    lo, hi = attack_linear(*_reader(new), K)["n:feb_O1"]
    assert (lo, hi) == (1.0, 9.0)


# Q1 2025, data month March: O1's quarter is 9 (3 + 2 + 4), every month of it small
MAR = _monthly(
    {"O1": [3, 2, 4], "O2": [20, 22, 25], "O3": [15, 14, 16]}, ["2025-01", "2025-02", "2025-03"]
)


def test_a_small_quarter_is_withheld_with_a_second_outlet_against_the_region() -> None:
    given = _given(MAR, "2025-03")
    assert given == {("O1", NC): "primary", ("O3", NC): "secondary"}
    pc = protect_plan_counts(MAR, "2025-03", K, given)
    # O1's quarter (9) is primary; the region's 121 minus O2's 67 and O3's 45 would give it
    # back, so O3's quarter (45, the smaller of the others) is withheld too
    assert pc.of("O1", NC, "2025-Q1") == "primary"
    assert pc.of("O3", NC, "2025-Q1") == "secondary"
    assert pc.of("O2", NC, "2025-Q1") == "" and pc.of("O2", NC, MOM) == ""
    # O2 shows its month: its February (22, via the change) is published and stays so
    assert pc.of("O2", NC, "2025-03") == ""
    assert pc.safe
    audit = pc.protection[0].audit.set_index("cell")
    # January and February of O1 are printed nowhere and small: audited as primary too
    assert {"[outlet=O1,month=2025-01]", "[outlet=O1,month=2025-02]"} <= set(audit.index)
    assert audit["safe"].all()
    # the appendix counts the printed cells only
    assert pc.protection[0].counts() == {"primary": 2, "secondary": 2}


def test_the_data_month_keeps_the_outlet_tables_status_and_nothing_is_withheld_without_the_policy() -> (
    None
):
    given = _given(MAR, "2025-03")
    pc = protect_plan_counts(MAR, "2025-03", K, given)
    month = {(o, c): s for (o, c, p), s in pc.status.items() if p == "2025-03"}
    assert month == given
    assert protect_plan_counts(MAR, "2025-03", K, given, protect_counts=False).status == {}
    # the bank report shows no outlet
    bank = MAR.loc[MAR["level"] == "region"]
    assert protect_plan_counts(bank, "2025-03", K).status == {}


def test_the_quarter_so_far_of_a_first_month_is_the_month_itself() -> None:
    # data month April: 2025-Q2 so far is April alone, one cell with one status
    apr = _monthly({"O1": [3, 2, 4, 5], "O2": [20, 22, 25, 30], "O3": [15, 14, 16, 12]},
                   ["2025-01", "2025-02", "2025-03", "2025-04"])  # fmt: skip
    given = _given(apr, "2025-04")
    pc = protect_plan_counts(apr, "2025-04", K, given)
    for o in ("O1", "O2", "O3"):
        assert pc.of(o, NC, "2025-Q2") == pc.of(o, NC, "2025-04")
    assert pc.of("O1", NC, "2025-04") == "primary"


def test_year_counts_follow_the_outlets_annual_targets() -> None:
    months = pd.DataFrame(
        {"month": [f"2025-{m:02d}" for m in range(1, 13)], "level": "outlet", "id": "O1",
         "kpi": NC, "target": 3.0}
    )  # fmt: skip
    assert year_counts(months, "2025-04") == (NC,)  # twelve month targets make a year's
    assert year_counts(months.iloc[:11], "2025-04") == ()


# Jan / Feb 2025, data month February: region R2 has two outlets and 3 new customers in
# February (2 and 1); R3 (one outlet) shares echelon 1 with it, R4 is echelon 2
_BANK = {"O1": ("R2", 1, [20, 2]), "O2": ("R2", 1, [25, 1]), "O3": ("R3", 1, [30, 40]),
         "O4": ("R4", 2, [60, 50])}  # fmt: skip
BANK_OK = pd.DataFrame(
    [
        {"month": m, "outlet_id": o, "region_id": r, "echelon": e, NC: float(v[i])}
        for o, (r, e, v) in _BANK.items()
        for i, m in enumerate(["2025-01", "2025-02"])
    ]
)


def test_a_region_of_three_new_customers_is_withheld_so_it_no_longer_pins_its_two_outlets() -> None:
    r2 = _monthly({"O1": [20, 2], "O2": [25, 1]}, ["2025-01", "2025-02"], "R2")
    # before: the region's row prints 3, so the outlets' "<k" (2 and 1) are each 1 or 2
    old = protect_plan_counts(r2, "2025-02", K)
    assert not old.safe
    audit = old.protection[0].audit.set_index("cell")
    assert audit.loc["[outlet=O1,month=2025-02]", ["lower", "upper"]].tolist() == [1.0, 2.0]
    cells = {"n:O1": "<k", "n:O2": "<k", "n:R": 3.0}
    rel = [{"n:O1": 1, "n:O2": 1, "n:R": -1}]
    assert attack_linear(cells, rel, K)["n:O1"] == (1.0, 2.0)
    # no withholding helps (the region's 3 is fixed here): the appendix says so
    assert failsafe_note(old).startswith("2 withheld cells could not be kept from being")
    # the run withholds R2's 3 (primary) and, since echelon 1's 43 minus R3's 40 would give
    # it back, secondary cells around it (R3's 40 and echelon 1's 43, protect's audited
    # choice); R2's changes and January (printed nowhere) go with it, and its quarter (48):
    # the months a change stands on count as known, so January + February = 48 would pin it
    tot = protect_total_counts(BANK_OK, "2025-02", K, years=())
    feb = {u: s for (u, c, p), s in tot.status.items() if p == "2025-02"}
    assert feb == {"region=R2": "primary", "region=R3": "secondary", "echelon=1": "secondary"}
    assert tot.of_level("region", "R2", NC, MOM) == "secondary"
    assert tot.of_level("region", "R2", NC, "2025-Q1") == "secondary"
    assert tot.of_level("region", "R4", NC, "2025-02") == ""
    assert tot.of_level("bank", "bank", NC, "2025-02") == ""
    assert tot.safe
    # after: the region's cells are withheld in 03's plan tables too, and the outlets are
    # each 1 to 9 again
    new = protect_plan_counts(r2, "2025-02", K, totals=tot)
    assert new.safe
    audit = new.protection[0].audit.set_index("cell")
    assert audit.loc["[outlet=O1,month=2025-02]", ["lower", "upper"]].tolist() == [1.0, 9.0]
    assert new.of_level("region", "R2", NC, "2025-02") == "primary"
    assert new.of("O1", NC, "2025-02") == "primary"
    cells["n:R"] = "<k"
    assert attack_linear(cells, rel, K)["n:O1"] == (1.0, 8.0)


def test_withhold_attainment_of_an_extract_without_targets_is_empty() -> None:
    from bankanalysis.report.disclosure_plan import PlanCounts, withhold_attainment

    empty = pd.DataFrame(
        {c: pd.Series(dtype="float64") for c in ("actual", "attainment", "target")}
    ).assign(region_id=pd.Series(dtype=object), kpi=pd.Series(dtype=object))
    empty["met"] = pd.Series(dtype=object)
    pc = PlanCounts({("region=R1", "new_customers", "2025-03"): "primary"})
    out = withhold_attainment(empty, pc, "2025-03")
    assert out.empty and "withheld" in out.columns
    assert out["actual"].dtype == "float64"


def _reading_x_as_at_least_k(cells: dict, rel: list[dict]) -> tuple[dict, list[dict]]:
    """The reader's view with what an ``"x"`` says of a count: at least ``k`` (``"<k"`` and a
    withheld ``None``, at least 0, as ``attack_linear`` reads them)."""
    cells, rel = dict(cells), list(rel)
    for c in [c for c, v in cells.items() if v == "x"]:
        cells[c], cells[f"{c}_over_k"], cells["n:k"] = None, None, float(K)
        rel.append({c: 1, f"{c}_over_k": -1, "n:k": -1})
    return cells, rel


def _read(st: str, value: float) -> object:
    return {"": value, "primary": "<k", "secondary": "x", "fail-safe": None}[st]


# Q1 2025 and April, data month April: O1's quarter is 3 (1 + 1 + 1) beside O2's 12, and the
# region's quarter (15) is printed: with O2's quarter shown as "x" (at least 10) O1's is 1 to 5
APR = _monthly({"O1": [1, 1, 1, 20], "O2": [4, 4, 4, 20]},
               ["2025-01", "2025-02", "2025-03", "2025-04"])  # fmt: skip


def _quarter_reader(pc) -> dict:
    cells = {
        "n:q_O1": _read(pc.of("O1", NC, "2025-Q1"), 3.0),
        "n:q_O2": _read(pc.of("O2", NC, "2025-Q1"), 12.0),
        "n:q_R": 15.0,
    }
    return attack_linear(
        *_reading_x_as_at_least_k(cells, [{"n:q_O1": 1, "n:q_O2": 1, "n:q_R": -1}]), K
    )


def test_a_small_quarter_pinned_by_the_regions_quarter_is_withheld_with_its_column(
    monkeypatch,
) -> None:
    from bankanalysis.report import disclosure_plan as dp

    given = _given(APR, "2025-04")
    assert given == {}  # April (20 and 20) is shown
    with monkeypatch.context() as m:  # the greedy search alone (main before the fail-safe)
        m.setattr(dp, "fail_safe", lambda table, prot, *a, **kw: prot)
        old = protect_plan_counts(APR, "2025-04", K, given)
    assert not old.safe
    assert old.of("O1", NC, "2025-Q1") == "primary" and old.of("O2", NC, "2025-Q1") == "secondary"
    assert _quarter_reader(old)["n:q_O1"] == (1.0, 5.0)  # narrower than 4.5
    new = protect_plan_counts(APR, "2025-04", K, given)
    assert new.safe
    # the quarter's column (both outlets) under "withheld"; April stays as the outlet table
    # shows it
    assert new.of("O1", NC, "2025-Q1") == new.of("O2", NC, "2025-Q1") == "fail-safe"
    assert new.of("O1", NC, "2025-04") == new.of("O2", NC, "2025-04") == ""
    assert str(new.value("O1", NC, "2025-Q1", 3.0)) == "withheld"
    assert _quarter_reader(new)["n:q_O1"] == (0.0, 15.0)
    # both were withheld already (primary, secondary): the appendix counts them as such
    assert new.protection[0].counts() == {"primary": 1, "secondary": 1}
    assert sorted(new.protection[0].failsafe) == [
        "[outlet=O1,quarter=2025-Q1]",
        "[outlet=O2,quarter=2025-Q1]",
    ]


def test_the_outlet_tables_fail_safe_is_kept_in_the_plan_tables(monkeypatch) -> None:
    from bankanalysis.report import disclosure as rd

    jan = _monthly({"O1": [3], "O2": [12], "O3": [0]}, ["2025-01"])
    now = jan[jan["level"] == "outlet"][["id", NC]].rename(columns={"id": "outlet_id"})
    with monkeypatch.context() as m:  # before: 15 - "x" (at least 10) leaves O1's 3 at 1 .. 5
        m.setattr(rd, "fail_safe", lambda table, prot, *a, **kw: prot)
        old = protect_outlet_counts(now.reset_index(drop=True), K)
    assert old[NC].tolist() == ["primary", "secondary", ""]
    cells = {"n:O1": "<k", "n:O2": "x", "n:O3": 0.0, "n:R": 15.0}
    rel = [{"n:O1": 1, "n:O2": 1, "n:O3": 1, "n:R": -1}]
    assert attack_linear(*_reading_x_as_at_least_k(cells, rel), K)["n:O1"] == (1.0, 5.0)
    hidden = protect_outlet_counts(now.reset_index(drop=True), K)
    assert hidden[NC].tolist() == ["fail-safe"] * 3  # the zero too: "withheld" says nothing
    assert hidden.attrs["protection"][0].safe
    cells.update({"n:O1": None, "n:O2": None, "n:O3": None})
    assert attack_linear(*_reading_x_as_at_least_k(cells, rel), K)["n:O1"] == (0.0, 15.0)
    # the plan tables show the same month under the same marker and audit it again
    pc = protect_plan_counts(jan, "2025-01", K, month_status(now.reset_index(drop=True), hidden))
    assert {pc.of(o, NC, "2025-01") for o in ("O1", "O2", "O3")} == {"fail-safe"}
    assert pc.safe
    # 03's appendix: the zero the fail-safe added (O1's and O2's were withheld already), and
    # the plan tables' three cells under "withheld" for the count its marker count leaves out
    assert failsafe_note(hidden, pc).startswith(
        "Cells withheld by the fail-safe of the disclosure step: 1 with the whole row or column"
    )
    assert failsafe_cells(pc) == 3


def test_a_regions_count_pinned_by_the_banks_is_withheld_with_its_month(monkeypatch) -> None:
    from bankanalysis.report import disclosure_plan as dp

    # R1 (3) is echelon 1 alone, R2 (12) echelon 2; the bank's 15 is published
    ok = pd.DataFrame({"month": "2025-03", "region_id": ["R1", "R2"], "echelon": [1, 2],
                       NC: [3.0, 12.0]})  # fmt: skip
    rel = [{"n:R1": 1, "n:E1": -1}, {"n:R2": 1, "n:E2": -1}, {"n:E1": 1, "n:E2": 1, "n:B": -1}]

    def reader(tot) -> tuple[float, float]:
        cells = {
            f"n:{u}": _read(tot.of_level(level, gid, NC, "2025-03"), v)
            for u, level, gid, v in (
                ("R1", "region", "R1", 3.0),
                ("R2", "region", "R2", 12.0),
                ("E1", "echelon", "1", 3.0),
                ("E2", "echelon", "2", 12.0),
            )
        }
        cells["n:B"] = 15.0
        return attack_linear(*_reading_x_as_at_least_k(cells, rel), K)["n:R1"]

    with monkeypatch.context() as m:
        m.setattr(dp, "fail_safe", lambda table, prot, *a, **kw: prot)
        old = protect_total_counts(ok, "2025-03", K, years=())
    assert not old.safe
    assert reader(old) == (1.0, 5.0)  # 15 - R2's "x" (at least 10)
    new = protect_total_counts(ok, "2025-03", K, years=())
    assert new.safe
    # the first step is enough: R1's row and its echelon's month under "withheld" (at least
    # 0, no longer 1 .. 9); R2 and echelon 2 keep their "x"
    assert new.of_level("region", "R1", NC, "2025-03") == "fail-safe"
    assert new.of_level("echelon", "1", NC, "2025-03") == "fail-safe"
    assert new.of_level("region", "R2", NC, "2025-03") == "secondary"
    assert new.of_level("bank", "bank", NC, "2025-03") == ""
    assert reader(new) == (0.0, 5.0)  # 5 wide: at least (k - 1) / 2
    assert sorted(new.protection[0].failsafe) == [
        "[echelon=1,month=2025-03]",
        "[region=R1,month=2025-03]",
    ]
