"""What every region withholds in its tier table: computed once per run (report.scope_tiers)
and, through report.disclosure.region_tier_status, the same answer each region's report has."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pandas as pd
from disclosure_data import K, _bank_tiers

from bankanalysis.report import scope_tiers
from bankanalysis.report import segmentation as rs
from bankanalysis.report.disclosure import (
    COUNT_STATUS,
    MONEY_STATUS,
    protect_scope_tiers,
    protect_tiers,
    region_tier_status,
)
from bankanalysis.segmentation.composition import tier_comparison

THRESHOLDS = [50_000, 500_000, 6_000_000]


def _comp(bank: pd.DataFrame, region_id: str) -> pd.DataFrame:
    return rs.shown_tier_comparison(tier_comparison(bank, region_id), K)


def test_region_tier_status_is_what_each_regions_own_report_withholds() -> None:
    bank = _bank_tiers()
    comp = _comp(bank, "R2")
    status = region_tier_status(comp[comp["scope"] == "region"], bank, "vip", K)
    assert list(status) == ["R1", "R2", "R3"]
    # R1: 4 private-banking customers (< k) withheld, and with R1's total published the
    # smallest other count (vip, 15) too; R2 and R3 have no tier under k and every customer of
    # a tier holds the same AUM (no dominance): nothing withheld
    assert status["R1"][COUNT_STATUS] == {"private_banking", "vip"}
    assert "private_banking" in status["R1"][MONEY_STATUS]
    assert status["R2"] == {COUNT_STATUS: set(), MONEY_STATUS: set()}
    assert status["R3"] == {COUNT_STATUS: set(), MONEY_STATUS: set()}
    # the same answer as R1's own report (its protect_tiers on its own comparison)
    own = protect_tiers(_comp(bank, "R1"), bank[bank["region_id"] == "R1"], "vip", K)
    mine = own[own["scope"] == "region"]
    for col in (COUNT_STATUS, MONEY_STATUS):
        assert status["R1"][col] == {t for t, s in zip(mine["tier"], mine[col], strict=True) if s}


def test_scope_bars_are_the_same_with_the_status_computed_beforehand() -> None:
    bank = _bank_tiers()
    comp = protect_tiers(_comp(bank, "R2"), bank[bank["region_id"] == "R2"], "vip", K)
    status = region_tier_status(comp[comp["scope"] == "region"], bank, "vip", K)
    inside = protect_scope_tiers(comp, bank, 1, "vip", K)
    given = protect_scope_tiers(comp, bank, 1, "vip", K, hidden=status)
    pd.testing.assert_frame_equal(given, inside)
    # R1 withholds private banking's count: the echelon's share of it is withheld in R2's chart
    ech = given[given["scope"] == "echelon"].set_index("tier")
    assert ech.at["private_banking", COUNT_STATUS] == "secondary"


def test_other_regions_tables_log_no_warning(caplog, monkeypatch) -> None:
    """A report's log (printed into its HTML) says nothing about other regions' tables."""
    import bankanalysis.report.disclosure as rd

    unsafe = rd.Protection(status={}, audit=pd.DataFrame({"cell": ["c"], "safe": [False]}))
    monkeypatch.setattr(rd, "protect", lambda *a, **k: unsafe)
    # the fail-safe gives up too (a tier pinned by the region's published AUM)
    monkeypatch.setattr(rd, "fail_safe", lambda table, prot, *a, **k: prot)
    bank = _bank_tiers()
    comp = _comp(bank, "R2")
    with caplog.at_level(logging.WARNING, logger="bankanalysis.report.disclosure"):
        region_tier_status(comp[comp["scope"] == "region"], bank, "vip", K)
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="bankanalysis.report.disclosure"):
        protect_tiers(comp, bank[bank["region_id"] == "R2"], "vip", K)  # its own: warned
    # how many cells, never which or their values
    assert [r.getMessage() for r in caplog.records] == [
        "tier table: 1 withheld cell stays narrower than its protection interval "
        "(pinned by published totals)"
    ]


def test_region_tier_status_is_computed_once_per_data_and_parameters(tmp_path, monkeypatch) -> None:
    bank = _bank_tiers()
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0]["tier"].tolist())
        return region_tier_status(*args, **kwargs)

    monkeypatch.setattr(scope_tiers, "region_tier_status", counted)
    data = SimpleNamespace(manifest={"fingerprint": "f1"}, folder=tmp_path)
    ctx = SimpleNamespace(bank=data, month="2026-10", min_group_size=K)
    args = (bank, THRESHOLDS, 3, "vip", 0.1, 0.5)
    first = scope_tiers.load_region_tier_status(ctx, _comp(bank, "R2"), *args)
    again = scope_tiers.load_region_tier_status(ctx, _comp(bank, "R3"), *args)  # same tiers
    assert first == again == region_tier_status(_comp(bank, "R2").iloc[:4], bank, "vip", K)
    assert len(calls) == 1
    entries = [e for e in (tmp_path / "_models" / "region_tier_status").iterdir() if e.is_dir()]
    assert len(entries) == 1
    # another k, another month or fewer tiers shown: computed again, each its own entry
    scope_tiers.load_region_tier_status(
        SimpleNamespace(**{**vars(ctx), "min_group_size": 5}), _comp(bank, "R2"), *args
    )
    scope_tiers.load_region_tier_status(
        SimpleNamespace(**{**vars(ctx), "month": "2026-09"}), _comp(bank, "R2"), *args
    )
    two_tiers = _comp(bank, "R2")
    two_tiers = two_tiers[~((two_tiers["scope"] == "region") & (two_tiers["tier"] == "vip"))]
    scope_tiers.load_region_tier_status(ctx, two_tiers, *args)
    assert len(calls) == 4 and calls[-1] == ["mass", "quality", "private_banking"]
    # without a data fingerprint nothing is stored
    bare = SimpleNamespace(
        bank=SimpleNamespace(manifest={}, folder=tmp_path / "x"), month="2026-10", min_group_size=K
    )
    assert scope_tiers.load_region_tier_status(bare, _comp(bank, "R2"), *args) == first
    assert len(calls) == 5 and not (tmp_path / "x").exists()
