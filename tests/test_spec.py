"""The synthetic bank's region catalogue: the built-in 8 regions and banks of many branches."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bankanalysis.cli import build_parser
from bankanalysis.exceptions import GenerateError
from bankanalysis.synthetic import generate_bank
from bankanalysis.synthetic.spec import DEFAULT_N_REGIONS, REGIONS, region_catalogue


def test_default_catalogue_is_the_built_in_bank():
    assert DEFAULT_N_REGIONS == 8
    assert region_catalogue() is REGIONS
    assert region_catalogue(8) is REGIONS


@pytest.mark.parametrize("n", [1, 3, 30, 120, 250])
def test_catalogue_of_n_regions(n: int):
    cat = region_catalogue(n)
    ids = [r[0] for r in cat]
    names = [r[1] for r in cat]
    assert len(cat) == n and len(set(ids)) == n and len(set(names)) == n
    assert ids == sorted(ids)
    assert all(name.endswith("分行") and len(name) == 4 for name in names)
    echelons = [r[2] for r in cat]
    assert echelons == sorted(echelons)  # central city first, expansion areas last
    if n >= 3:
        assert set(echelons) == {1, 2, 3}
    assert all(r[3] > 0 and 0.7 <= r[4] <= 2.5 for r in cat)
    assert region_catalogue(n) == cat  # no random draws


def test_catalogue_of_120_regions_has_three_sized_echelons():
    cat = region_catalogue(120)
    counts = pd.Series([r[2] for r in cat]).value_counts().to_dict()
    assert counts == {1: 12, 2: 36, 3: 72}
    assert cat[0][0] == "R001" and cat[-1][0] == "R120"


def test_too_many_or_no_regions_raise():
    with pytest.raises(GenerateError, match="--regions"):
        region_catalogue(0)
    with pytest.raises(GenerateError, match="--regions"):
        region_catalogue(10_000)


def test_cli_passes_the_region_count():
    args = build_parser().parse_args(["data", "generate", "--regions", "120", "--out", "x"])
    assert args.regions == 120
    assert build_parser().parse_args(["data", "generate"]).regions == 8


def test_bank_of_120_regions_is_valid_with_two_outlets_each(tmp_path: Path):
    from bankanalysis.data.validate import validate_raw

    raw = tmp_path / "raw"
    summary = generate_bank(raw, n_customers=1_500, n_months=2, seed=5, n_regions=120)
    assert summary["regions"] == 120
    regions = pd.read_parquet(raw / "regions.parquet")
    outlets = pd.read_parquet(raw / "outlets.parquet")
    customers = pd.read_parquet(raw / "customers.parquet", columns=["outlet_id"])
    assert regions["region_id"].tolist() == [r[0] for r in region_catalogue(120)]
    assert sorted(regions["echelon"].unique().tolist()) == [1, 2, 3]
    per_region = outlets.groupby("region_id").size()
    assert len(per_region) == 120 and per_region.min() >= 2
    assert customers["outlet_id"].isin(outlets["outlet_id"]).all()
    assert validate_raw(raw).violations == []
