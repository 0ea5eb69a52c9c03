"""The run's lost customers counted in SQL equal lost_counts' pandas frame, and the run's
retention answer built on them is computed once per data and parameters."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from bankanalysis.report import disclosure_retention as dr
from bankanalysis.report import retention_counts as rc
from bankanalysis.rules.months import base_month

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02"]
ECHELON = {"R1": 1, "R2": 1, "R3": 2}
OUTLETS = {"O1": "R1", "O2": "R1", "O3": "R2", "O4": "R3", "O5": "R3"}


def _seeded_months(seed: int = 7, n: int = 1500) -> pd.DataFrame:
    """``month, customer_id, region_id, outlet_id`` of ``n`` customers who join, leave and
    move between outlets (and regions) at random."""
    rng = np.random.default_rng(seed)
    rows = []
    outlets = list(OUTLETS)
    for i in range(n):
        first, last = sorted(rng.integers(0, len(MONTHS), size=2))
        home = outlets[rng.integers(len(outlets))]
        for m in MONTHS[first : last + 1]:
            if rng.random() < 0.05:  # moves to another outlet
                home = outlets[rng.integers(len(outlets))]
            if rng.random() < 0.03:  # a month without a row
                continue
            rows.append((m, f"C{i:04d}", OUTLETS[home], home))
    return pd.DataFrame(rows, columns=["month", "customer_id", "region_id", "outlet_id"])


def _bank(folder: Path, cm: pd.DataFrame, fingerprint: str) -> SimpleNamespace:
    folder.mkdir(parents=True, exist_ok=True)
    cm.sort_values(["month", "region_id", "customer_id"]).to_parquet(
        folder / "customer_month.parquet", index=False
    )
    return SimpleNamespace(
        folder=folder,
        manifest={"fingerprint": fingerprint},
        months=MONTHS,
        regions=pd.DataFrame({"region_id": list(ECHELON), "echelon": list(ECHELON.values())}),
        outlets=pd.DataFrame({"outlet_id": list(OUTLETS), "region_id": list(OUTLETS.values())}),
    )


def test_lost_counts_in_sql_are_the_pandas_frame_on_seeded_data(tmp_path: Path) -> None:
    cm = _seeded_months()
    bank = _bank(tmp_path, cm, "f1")
    for lookback in (12, 3):
        ends = dr.retention_months(MONTHS, MONTHS[-1], 5)
        got = rc.bank_lost_counts(bank, ends, MONTHS, lookback, ECHELON)
        want = dr.lost_counts(cm, ends, MONTHS, lookback, ECHELON)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        # the rows are real: every month-end has regions, echelons, outlets and the bank
        end = MONTHS[-1]
        base = base_month(MONTHS, end, lookback)
        b = cm.loc[cm["month"] == base]
        lost = ~b["customer_id"].isin(cm.loc[cm["month"] == end, "customer_id"])
        bank_row = got.loc[(got["month"] == end) & (got["level"] == "bank")].iloc[0]
        assert (bank_row["base"], bank_row["lost"]) == (float(len(b)), float(lost.sum()))
        assert 0 < bank_row["lost"] < bank_row["base"]
        assert set(got["level"]) == {"region", "echelon", "outlet", "bank"}


def test_the_run_s_retention_is_computed_once_per_data_and_parameters(
    tmp_path: Path, monkeypatch
) -> None:
    cm = _seeded_months()
    calls = []
    real = rc.bank_lost_counts

    def counted(*args, **kwargs):
        calls.append(args[3])  # the lookback
        return real(*args, **kwargs)

    monkeypatch.setattr(rc, "bank_lost_counts", counted)
    ctx = SimpleNamespace(bank=_bank(tmp_path / "a", cm, "f1"), month=MONTHS[-1], min_group_size=5)
    first = dr.load_retention(ctx, {"lookback_months": 12})
    again = dr.load_retention(ctx, {"lookback_months": 12})
    assert calls == [12] and first.status == again.status
    # the answer is protect_retention of lost_counts' pandas frame
    ends = dr.retention_months(MONTHS, MONTHS[-1], 5)
    lost = dr.lost_counts(cm, ends, MONTHS, 12, ECHELON)
    lost = lost.groupby(["month", "level", "id"], sort=False)[["base", "lost"]].sum().reset_index()
    expected = dr.protect_retention(lost, ECHELON, 5, ends, OUTLETS)
    assert first.status == expected.status and first.status
    # another lookback: counted again; another k: decided again from the same counts
    # (load_lost_counts keys them by data, month and lookback, not k)
    dr.load_retention(ctx, {"lookback_months": 3})
    other_k = dr.load_retention(SimpleNamespace(**{**vars(ctx), "min_group_size": 3}), {})
    assert calls == [12, 3]
    assert other_k.status == dr.protect_retention(lost, ECHELON, 3, ends, OUTLETS).status
    # other data (a customer dropped, a new fingerprint) in the same folder: never the old answer
    changed = cm.loc[cm["customer_id"] != cm["customer_id"].iloc[0]]
    ctx2 = SimpleNamespace(**{**vars(ctx), "bank": _bank(tmp_path / "a", changed, "f2")})
    dr.load_retention(ctx2, {"lookback_months": 12})
    assert calls == [12, 3, 12]
