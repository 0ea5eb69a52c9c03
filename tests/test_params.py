"""Typed report parameters: merging, validation against the data, all problems at once."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from bankanalysis.exceptions import ParameterError
from bankanalysis.params import (
    NOTEBOOK_PARAMS,
    RUNTIME_KEYS,
    CommonParams,
    check_safe_id,
    load_params,
    notebook_parameters,
    validate_batch_params,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = ROOT / "params" / "defaults.yaml"


def _bank(products: list[str] | None = None) -> SimpleNamespace:
    regions = pd.DataFrame(
        {"region_id": ["R1", "R2"], "name": ["中心城区", "东部拓展区"], "echelon": [1, 3]}
    )
    return SimpleNamespace(
        regions=regions,
        months=["2024-01", "2024-02", "2024-03"],
        manifest={"fingerprint": "abc", "products": products or []},
    )


@pytest.fixture()
def params_dir(tmp_path: Path) -> Path:
    d = tmp_path / "params"
    (d / "regions").mkdir(parents=True)
    shutil.copy(DEFAULTS, d / "defaults.yaml")
    return d


def test_defaults_file_has_a_section_for_every_notebook_and_only_known_keys() -> None:
    data = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    assert set(data) == {"common", "notebooks"}
    assert list(data["notebooks"]) == list(NOTEBOOK_PARAMS)
    assert set(data["common"]) <= set(CommonParams.model_fields) - set(RUNTIME_KEYS)
    for nb, section in data["notebooks"].items():
        assert set(section or {}) <= set(NOTEBOOK_PARAMS[nb].model_fields) - set(RUNTIME_KEYS)


def test_every_parameter_line_of_the_defaults_has_a_comment() -> None:
    key_line = re.compile(r"^\s+[A-Za-z0-9_]+:")
    lines = [ln for ln in DEFAULTS.read_text(encoding="utf-8").splitlines() if key_line.match(ln)]
    assert lines, "no parameter lines found"
    missing = [ln for ln in lines if "#" not in ln]
    assert missing == []


def test_defaults_validate_for_every_notebook(params_dir: Path) -> None:
    for nb, cls in NOTEBOOK_PARAMS.items():
        p = load_params(params_dir, nb, "R1")
        assert set(p) == set(cls.model_fields)
        assert p["min_group_size"] == 10
        assert p["tier_thresholds"] == [50000.0, 500000.0, 6000000.0]
        assert p["region_id"] == ("R1" if cls.scope == "region" else None)


def test_region_overrides_common_and_notebook_sections(params_dir: Path) -> None:
    (params_dir / "regions" / "R2.yaml").write_text(
        "common:\n  min_group_size: 25\n  tier_months: 6\n", encoding="utf-8"
    )
    r2 = load_params(params_dir, "01_customer_segmentation", "R2")
    r1 = load_params(params_dir, "01_customer_segmentation", "R1")
    assert (r2["min_group_size"], r2["tier_months"]) == (25, 6)
    assert (r1["min_group_size"], r1["tier_months"]) == (10, 3)
    assert r2["currency"] == "CNY"


def test_notebook_parameters_leave_out_batch_only_keys(params_dir: Path) -> None:
    p = load_params(params_dir, "00_bank_overview", None)
    assert "timeout_minutes" in p
    assert "timeout_minutes" not in notebook_parameters(p)


def test_all_problems_listed_at_once(params_dir: Path) -> None:
    (params_dir / "regions" / "R1.yaml").write_text(
        "common:\n"
        "  min_group_size: '10'\n"  # wrong type (a string)
        "  tier_thresholds: [50000, 40000, 6000000]\n"  # not increasing
        "  colour: red\n"  # unknown key
        "  output_dir: /tmp/x\n"  # set by the batch
        "notebooks:\n"
        "  99_unknown: {}\n",
        encoding="utf-8",
    )
    (params_dir / "regions" / "R9.yaml").write_text("common: {}\n", encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        validate_batch_params(
            params_dir,
            ["R1", "中心城区", "../etc", "R3"],
            ["00_bank_overview", "01_customer_segmentation", "05_nope"],
            _bank(),
        )
    text = str(err.value)
    problems = err.value.problems
    expected = [
        "min_group_size: Input should be a valid integer",
        "tier_thresholds: must be positive and strictly increasing",
        "colour: unknown parameter",
        "output_dir: is set by the batch",
        "notebooks.99_unknown: unknown notebook",
        "R9.yaml: region 'R9' is not in the data",
        "did you mean the id 'R1'? parameters are ids, not names",
        "region id '../etc' is not a safe id",
        "region 'R3' is not in the data",
        "notebook '05_nope' is unknown",
    ]
    for fragment in expected:
        assert fragment in text, fragment
    # each problem once, although R1's file is read for several notebooks
    assert len(problems) == len(set(problems))
    assert err.value.exit_code == 2


def test_month_outside_the_data_and_malformed_month(params_dir: Path) -> None:
    (params_dir / "regions" / "R1.yaml").write_text(
        "common:\n  data_month: '2023-12'\n", encoding="utf-8"
    )
    (params_dir / "regions" / "R2.yaml").write_text(
        "common:\n  data_month: '2024-3'\n", encoding="utf-8"
    )
    with pytest.raises(ParameterError) as err:
        validate_batch_params(params_dir, None, ["01_customer_segmentation"], _bank())
    text = str(err.value)
    assert "data_month '2023-12' is outside the data (2024-01 .. 2024-03)" in text
    assert "month '2024-3' must look like YYYY-MM" in text
    assert len(err.value.problems) == 2


def test_product_parameters_must_exist_in_the_data(params_dir: Path) -> None:
    with pytest.raises(ParameterError) as err:
        validate_batch_params(
            params_dir, ["R1"], ["01_customer_segmentation"], _bank(["fund", "debit_card"])
        )
    assert "wealth_card_product: product id(s) wealth_card not in the data" in str(err.value)
    ok = validate_batch_params(
        params_dir, ["R1"], ["01_customer_segmentation"], _bank(["fund", "wealth_card"])
    )
    assert list(ok) == [("R1", "01_customer_segmentation")]


def test_batch_params_cover_every_job(params_dir: Path) -> None:
    out = validate_batch_params(params_dir, None, list(NOTEBOOK_PARAMS), _bank())
    assert set(out) == {
        (None, "00_bank_overview"),
        *{(r, nb) for r in ("R1", "R2") for nb in list(NOTEBOOK_PARAMS)[1:]},
    }
    assert out[("R2", "03_outlet_benchmarking")]["region_id"] == "R2"


def test_yaml_is_loaded_safely(params_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    (params_dir / "regions" / "R1.yaml").write_text(
        f"common: !!python/object/apply:os.system ['touch {marker}']\n", encoding="utf-8"
    )
    with pytest.raises(ParameterError, match="cannot be read as YAML"):
        load_params(params_dir, "01_customer_segmentation", "R1")
    assert not marker.exists()


def test_unsafe_ids_are_refused() -> None:
    assert check_safe_id("R01") is None
    assert check_safe_id("north-2_b") is None
    for bad in ("../R1", "a/b", "..", "", "a..b", "x" * 65):
        assert check_safe_id(bad) is not None, bad
    with pytest.raises(ParameterError, match="not a safe id"):
        load_params(DEFAULTS.parent, "01_customer_segmentation", "../../etc")


def test_notebook_parameter_cells_declare_the_common_parameters() -> None:
    """Every report notebook present declares each common parameter in its tagged cell."""
    found = 0
    for nb in NOTEBOOK_PARAMS:
        path = ROOT / "notebooks" / f"{nb}.ipynb"
        if not path.is_file():
            continue
        found += 1
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, nb
        src = "".join(tagged[0]["source"])
        declared = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=", src, flags=re.M))
        wanted = set(CommonParams.model_fields) - {"timeout_minutes"}
        assert wanted <= declared, (nb, wanted - declared)
    assert found >= 1
