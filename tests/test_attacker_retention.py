"""The attacker on the regions' lost customers (stock retention) across a run."""

from __future__ import annotations

import pytest
from attacker import K
from attacker_retention import attack_lost, retention_leaks

ECHELON = {"R1": 1, "R2": 1, "R3": 2, "R4": 2}


def test_a_withheld_retention_comes_back_from_the_bank_minus_the_other_regions() -> None:
    # the overview before: R1's retention withheld (4 lost), every other region's and the
    # bank's printed: 44 - 14 - 6 - 20
    shown = {"R2": ("shown", 14.0), "R3": ("shown", 6.0), "R4": ("shown", 20.0)}
    found = attack_lost({"R1": ("<k", None), **shown}, dict.fromkeys((1, 2)), 44.0, ECHELON)
    assert found == [("R1", 4.0, 4.0, False)]
    # R1 and R3 withheld (both small) but their echelons printed (18 and 26 lost, to 0.1 % of
    # 260 and 380 base customers: +-0.13 and +-0.19): each echelon minus its other region
    echelons = {1: (17.87, 18.13), 2: (25.81, 26.19)}
    both = {"R1": ("<k", None), "R2": ("shown", 14.0), "R3": ("<k", None), "R4": ("shown", 20.0)}
    assert attack_lost(both, echelons, 44.0, ECHELON) == [
        ("R1", 4.0, 4.0, False),
        ("R3", 6.0, 6.0, False),
    ]
    # the echelons withheld as well (disclosure_retention's answer): R1 + R3 = 10
    assert attack_lost(both, dict.fromkeys((1, 2)), 44.0, ECHELON) == [
        ("R1", 1.0, 9.0, True),
        ("R3", 1.0, 9.0, True),
    ]


@pytest.mark.run_level
@pytest.mark.slow
def test_no_lost_customer_count_is_recoverable_by_combining_the_retention_figures_of_a_run(
    ci_run,
):
    """The overview's retention of every region and the bank (its metrics.json) and of every
    echelon (its quarter table), with the bases its customers and growth give: no withheld
    region's lost customers come back from the echelons and the bank."""
    from bankanalysis.data.load import load_processed

    regions = load_processed(ci_run.processed).regions  # the bank's structure: public
    echelon_of = {str(r): int(e) for r, e in zip(regions["region_id"], regions["echelon"], strict=True)}  # fmt: skip
    leaks, _ = retention_leaks(ci_run.run_dir, echelon_of, K)
    assert not leaks, leaks
