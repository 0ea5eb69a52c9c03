"""The self-check registry and the segmentation checks on the tiny and the CI bank."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bankanalysis import selfcheck as sc
from bankanalysis.exceptions import BankAnalysisError


def _ok(raw: Path, processed: Path, truth: Path) -> list[sc.CheckResult]:
    return [sc.CheckResult("demo.ok", 0.9, 0.8, True, f"truth in {truth.name}")]


def _boom(raw: Path, processed: Path, truth: Path) -> list[sc.CheckResult]:
    raise ValueError("planted file unreadable")


def test_register_is_idempotent_and_keeps_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sc, "CHECKS", [])
    sc.register(_ok)
    sc.register(_boom)
    sc.register(_ok)
    assert sc.CHECKS == [_ok, _boom]


def test_a_raising_check_fails_without_hiding_the_others(tmp_path: Path) -> None:
    results = sc.run_checks(tmp_path / "raw", tmp_path / "processed", [_boom, _ok])
    assert [r.name for r in results] == ["_boom", "demo.ok"]
    assert not results[0].passed and math.isnan(results[0].value)
    assert "planted file unreadable" in results[0].detail
    assert results[1].passed and results[1].detail == "truth in _truth"
    report = sc.SelfcheckReport(results, seed=1, n_customers=10, seconds=0.0, folder=None)
    assert not report.passed
    assert sc.SelfcheckReport([results[1]], 1, 10, 0.0, None).passed
    assert not sc.SelfcheckReport([], 1, 10, 0.0, None).passed


def test_format_table_shows_values_thresholds_and_verdicts() -> None:
    table = sc.format_table(
        [
            sc.CheckResult("a.check", 0.8354, 0.8, True, "k=6"),
            sc.CheckResult("b.longer_check", 0.5, 1.0, False, "2 of 4 cells"),
        ]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["check", "value", "threshold", "result", "detail"]
    assert lines[2].split() == ["a.check", "0.8354", "0.8000", "PASS", "k=6"]
    assert lines[3].split()[:4] == ["b.longer_check", "0.5000", "1.0000", "FAIL"]


def test_read_truth_names_the_folder_when_missing(tmp_path: Path) -> None:
    with pytest.raises(BankAnalysisError, match="personas"):
        sc.read_truth(tmp_path, "personas")


def test_tier_and_migration_checks_pass_on_the_tiny_bank(tiny_raw: Path, tmp_path: Path) -> None:
    from bankanalysis.data.prepare import prepare

    processed = tmp_path / "processed"
    prepare(tiny_raw, processed)
    (tier,) = sc.check_tiers(tiny_raw, processed, tiny_raw / "_truth")
    # 5 customers active at 2024-03 (C1-C5), all in the same tier both ways
    assert tier.passed and tier.value == 1.0
    assert tier.detail.startswith("5 of 5 customers at 2024-03")
    mig, up = sc.check_migration(tiny_raw, processed, tiny_raw / "_truth")
    # 2024-01 -> 2024-03: C1-C4 stay, C6 closed, C5 new: 6 customers in 25 cells
    assert mig.passed and mig.value == 1.0
    assert "2024-01 -> 2024-03, 6 customers" in mig.detail
    # the migration KPI agrees with the direct computation from raw holdings
    assert up.name == "segmentation.upward_migration_equal"
    assert up.passed and up.value == up.threshold


def test_direct_tiers_hand_computed(tiny_raw: Path) -> None:
    aum = sc._raw_aum(tiny_raw)
    t = sc._direct_tiers(aum, "2024-03", 3, [50000.0, 500000.0, 6000000.0])
    # averages: C1 71,000 quality; C2 1,500; C3 1,113,333 vip; C4 25,000; C5 3,500
    assert t.to_dict() == {"C1": 1, "C2": 0, "C3": 2, "C4": 0, "C5": 0}


@pytest.mark.slow
def test_segmentation_checks_pass_on_the_ci_bank(ci_bank) -> None:
    results = sc.run_checks(
        ci_bank.raw, ci_bank.processed, [sc.check_tiers, sc.check_migration, sc.check_personas]
    )
    by = {r.name: r for r in results}
    assert by["segmentation.tier_agreement"].value == 1.0
    assert by["segmentation.migration_cells_equal"].value == 1.0
    assert by["segmentation.persona_ari"].value >= 0.80, by["segmentation.persona_ari"].detail


def _campaign(lift: float, seed: int = 3, n: int = 40_000) -> pd.DataFrame:
    """Pairs with planted probabilities; within each score band the best third are leads, and
    being a lead adds ``lift`` to the probability of buying."""
    from bankanalysis.propensity.conversion import SCORE_BANDS

    rng = np.random.default_rng(seed)
    p = rng.uniform(0.0, 0.4, n)
    band = pd.cut(p, list(SCORE_BANDS), include_lowest=True)
    rank = pd.Series(p).groupby(band, observed=True).rank(pct=True).to_numpy()
    lead = rank > 2 / 3
    bought = rng.random(n) < p + lift * lead
    return pd.DataFrame(
        {"product": "fund", "band": band, "lead": lead, "bought": bought, "planted": p}
    )


def test_planted_uplift_recovers_a_planted_lift_and_refuses_a_wrong_one() -> None:
    o = _campaign(lift=0.05)
    observed, expected, se, matched = sc.planted_uplift(o, 0.05, 10)
    assert matched == int(o["lead"].sum())
    # leads are the best third of each band: even without a lift they would convert more
    selection = expected - 0.05
    assert 0.005 < selection < 0.05
    assert abs(observed - expected) <= 3 * se and observed > selection + 3 * se
    assert 0.001 < se < 0.01
    # assuming no lift, the measured uplift is far outside the tolerance
    _, none_expected, _, _ = sc.planted_uplift(o, 0.0, 10)
    assert abs(observed - none_expected) > 3 * se
    # and with no lift planted the measured uplift is only the selection
    observed0, expected0, se0, _ = sc.planted_uplift(_campaign(lift=0.0), 0.0, 10)
    assert abs(observed0 - expected0) <= 3 * se0


@pytest.mark.slow
def test_upgrade_and_lead_conversion_checks_pass_on_the_ci_bank(ci_bank) -> None:
    truth = ci_bank.raw / "_truth"
    planted = sc.read_truth(truth, "upgraders")
    assert len(planted) > 0 and set(planted["next_tier"]) <= {"quality", "vip"}
    assert planted["planted_fraction"].between(0.92, 0.98).all()
    results = sc.run_checks(
        ci_bank.raw, ci_bank.processed, [sc.check_upgraders, sc.check_lead_conversion]
    )
    by = {r.name: r for r in results}
    recall, precision = by["actions.upgrade_recall"], by["actions.upgrade_precision"]
    assert recall.passed and precision.passed, (recall.detail, precision.detail)
    # the bound comes from the raw balances: a share strictly between nothing and everything
    assert 0 < recall.threshold < 1 and 0 < precision.threshold <= 1
    lead = by["propensity.lead_uplift_vs_planted"]
    assert lead.passed and lead.threshold == 3.0, lead.detail
    assert "planted lift +0.00 pp" in lead.detail
