"""Typed report parameters: merging, validation against the data, all problems at once."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml
from param_data import DEFAULTS, MA_KPI_NEEDS_TRANSACTIONS, ma_kpi_refusal, write_params_dir
from pydantic import Field, ValidationError

from bankanalysis.exceptions import ParameterError
from bankanalysis.params import (
    BATCH_ONLY_KEYS,
    NOTEBOOK_PARAMS,
    RUN_WIDE_KEYS,
    RUNTIME_KEYS,
    CommonParams,
    PropensityParams,
    SegmentationParams,
    check_safe_id,
    defaults_yaml,
    load_params,
    notebook_parameters,
    schema_defaults,
    validate_batch_params,
)

ROOT = Path(__file__).resolve().parents[1]


def _bank(products: list[str] | None = None, support: dict | None = None) -> SimpleNamespace:
    regions = pd.DataFrame(
        {"region_id": ["R1", "R2"], "name": ["中心城区", "东部拓展区"], "echelon": [1, 3]}
    )
    manifest = {"fingerprint": "abc", "products": products or []}
    if support is not None:
        manifest["support"] = support
    return SimpleNamespace(
        regions=regions, months=["2024-01", "2024-02", "2024-03"], manifest=manifest
    )


def _support(absent: tuple[str, ...] = ()) -> dict:
    """What a 3-month extract supports, without the ``absent`` optional tables."""
    tables = ["transactions", "managers", "contacts", "devices", "device_months", "targets"]
    return {
        "tables": {t: t not in absent for t in tables},
        "months": {"first": "2024-01", "last": "2024-03", "n": 3},
        "products": {},
        "products_never_held": [],
    }


@pytest.fixture()
def params_dir(tmp_path: Path) -> Path:
    return write_params_dir(tmp_path)


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
        # the file holds exactly the schema's defaults, nothing more, nothing different
        assert p == {**schema_defaults(nb), "region_id": p["region_id"]}, nb


def test_committed_defaults_file_is_generated_from_the_schema() -> None:
    """``params/defaults.yaml`` is the schema's output: regenerate it after editing params.py."""
    assert DEFAULTS.read_text(encoding="utf-8") == defaults_yaml(), (
        "params/defaults.yaml is stale: run "
        "`bankanalysis params --defaults --out params/defaults.yaml`"
    )


def test_cli_prints_and_writes_the_generated_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bankanalysis.cli import main

    assert main(["params", "--defaults"]) == 0
    assert capsys.readouterr().out == defaults_yaml()
    out = tmp_path / "defaults.yaml"
    assert main(["params", "--defaults", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == defaults_yaml()
    assert main(["params"]) == 2  # nothing asked


def test_generated_defaults_follow_a_changed_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: a changed default in the schema changes the generated file."""
    before = defaults_yaml()
    assert "    horizon: 3 # label = customer holds the product" in before

    class Changed(PropensityParams):
        horizon: int = Field(6, description=PropensityParams.model_fields["horizon"].description)

    monkeypatch.setitem(NOTEBOOK_PARAMS, "02_cross_sell_propensity", Changed)
    assert "    horizon: 6 # label = customer holds the product" in defaults_yaml()


def test_every_parameter_has_a_description() -> None:
    for nb, cls in NOTEBOOK_PARAMS.items():
        for name, field in cls.model_fields.items():
            assert field.description and len(field.description) > 10, (nb, name)


def test_wealth_card_product_may_be_null(params_dir: Path) -> None:
    """A bank without a wealth card sets ``wealth_card_product: null``."""
    assert SegmentationParams(wealth_card_product=None).wealth_card_product is None
    (params_dir / "regions" / "R1.yaml").write_text(
        "notebooks:\n"
        "  00_bank_overview: {wealth_card_product: null}\n"
        "  01_customer_segmentation: {wealth_card_product: null}\n",
        encoding="utf-8",
    )
    out = validate_batch_params(
        params_dir, ["R1"], ["01_customer_segmentation"], _bank(["fund", "debit_card"])
    )
    assert out[("R1", "01_customer_segmentation")]["wealth_card_product"] is None
    assert load_params(params_dir, "00_bank_overview", "R1")["wealth_card_product"] is None
    with pytest.raises(ParameterError, match="wealth_card_product"):
        validate_batch_params(params_dir, ["R2"], ["01_customer_segmentation"], _bank(["fund"]))


def test_region_overrides_common_and_notebook_sections(params_dir: Path) -> None:
    (params_dir / "regions" / "R2.yaml").write_text(
        "common:\n  materiality: 0.02\n"
        "notebooks:\n  01_customer_segmentation:\n    migration_months: 6\n",
        encoding="utf-8",
    )
    r2 = load_params(params_dir, "01_customer_segmentation", "R2")
    r1 = load_params(params_dir, "01_customer_segmentation", "R1")
    assert (r2["materiality"], r2["migration_months"]) == (0.02, 6)
    assert (r1["materiality"], r1["migration_months"]) == (0.005, 12)
    assert r2["currency"] == "CNY"


def test_disclosure_parameters_are_set_once_for_every_report(tmp_path: Path) -> None:
    """``dominance_p`` and ``protection_level`` decide the run's withheld totals for every
    report at once: set in the common section they reach every notebook; a region's or a
    notebook's own value is refused (naming the file and the key), so no run mixes two."""
    changed = write_params_dir(
        tmp_path / "a", {"common.dominance_p": 0.3, "common.protection_level": 0.6}
    )
    for nb in NOTEBOOK_PARAMS:
        region = None if NOTEBOOK_PARAMS[nb].scope == "bank" else "R1"
        p = load_params(changed, nb, region)
        assert (p["dominance_p"], p["protection_level"]) == (0.3, 0.6), nb
    override = write_params_dir(
        tmp_path / "b",
        files={
            "regions/R1.yaml": "common:\n  dominance_p: 0.2\n",
            "regions/R2.yaml": "notebooks:\n  01_customer_segmentation:\n"
            "    protection_level: 0.7\n",
        },
    )
    assert load_params(override, "00_bank_overview", None)["dominance_p"] == 0.1
    with pytest.raises(ParameterError) as err:
        load_params(override, "03_outlet_benchmarking", "R1")
    assert "R1.yaml: common.dominance_p: decides disclosure for every report" in str(err.value)
    assert "set it in the common section of defaults.yaml, not per region" in str(err.value)
    with pytest.raises(
        ParameterError,
        match=r"R2.yaml: notebooks.01_customer_segmentation."
        r"protection_level: decides .* not per notebook",
    ):
        load_params(override, "01_customer_segmentation", "R2")
    assert RUN_WIDE_KEYS == (
        "min_group_size",
        "tier_thresholds",
        "tier_months",
        "lookback_months",
        "dominance_p",
        "protection_level",
        "protect_outlet_counts",  # 03 and 02's workbooks decide the outlets' new customers
    )
    assert set(RUN_WIDE_KEYS) <= set(CommonParams.model_fields)
    # the schema's defaults are the library's (the functions' defaults when called bare)
    from bankanalysis.rules.disclosure_secondary import (
        DEFAULT_DOMINANCE_P,
        DEFAULT_PROTECTION_LEVEL,
    )

    assert (CommonParams().dominance_p, CommonParams().protection_level) == (
        DEFAULT_DOMINANCE_P,
        DEFAULT_PROTECTION_LEVEL,
    )


def test_group_size_tier_and_look_back_parameters_are_set_once_for_every_report(
    tmp_path: Path,
) -> None:
    """``min_group_size``, ``tier_thresholds``, ``tier_months`` and ``lookback_months`` feed
    decisions made once for the whole run (the withheld counts, AUM totals and stock retention,
    the bank-wide tier figures): set in the common section they reach every notebook; a
    region's or a notebook's own value is refused, naming the file and the key."""
    changed = write_params_dir(
        tmp_path / "a",
        {
            "common.min_group_size": 5,
            "common.tier_thresholds": [10000, 100000, 1000000],
            "common.tier_months": 6,
            "common.lookback_months": 3,
        },
    )
    for nb in NOTEBOOK_PARAMS:
        region = None if NOTEBOOK_PARAMS[nb].scope == "bank" else "R1"
        p = load_params(changed, nb, region)
        assert (
            p["min_group_size"],
            p["tier_thresholds"],
            p["tier_months"],
            p["lookback_months"],
        ) == (5, [10000, 100000, 1000000], 6, 3), nb
    override = write_params_dir(
        tmp_path / "b",
        files={
            "regions/R1.yaml": "common:\n  min_group_size: 5\n",
            "regions/R2.yaml": "common:\n  tier_thresholds: [10000, 100000, 1000000]\n",
            "regions/R3.yaml": "notebooks:\n  03_outlet_benchmarking:\n    tier_months: 6\n",
            "regions/R4.yaml": "notebooks:\n  01_customer_segmentation:\n    lookback_months: 6\n",
        },
    )
    assert load_params(override, "00_bank_overview", None)["min_group_size"] == 10
    for region, where in (
        ("R1", "R1.yaml: common.min_group_size"),
        ("R2", "R2.yaml: common.tier_thresholds"),
    ):
        with pytest.raises(ParameterError) as err:
            load_params(override, "01_customer_segmentation", region)
        assert f"{where}: decides disclosure for every report" in str(err.value)
        assert "set it in the common section of defaults.yaml, not per region" in str(err.value)
    with pytest.raises(
        ParameterError,
        match=r"R3.yaml: notebooks.03_outlet_benchmarking.tier_months: decides .* not per notebook",
    ):
        load_params(override, "03_outlet_benchmarking", "R3")
    # another notebook of R3 does not read that section: its parameters load
    assert load_params(override, "01_customer_segmentation", "R3")["tier_months"] == 3
    # the stock retention 01 prints is decided with the look-back of the whole run
    with pytest.raises(
        ParameterError,
        match=r"R4.yaml: notebooks.01_customer_segmentation.lookback_months: decides .* not per "
        "notebook",
    ):
        load_params(override, "01_customer_segmentation", "R4")
    assert load_params(override, "03_outlet_benchmarking", "R4")["lookback_months"] == 12


def test_notebook_parameters_leave_out_batch_only_keys(params_dir: Path) -> None:
    p = load_params(params_dir, "00_bank_overview", None)
    assert "timeout_minutes" in p
    assert "timeout_minutes" not in notebook_parameters(p)


def test_all_problems_listed_at_once(params_dir: Path) -> None:
    (params_dir / "regions" / "R1.yaml").write_text(
        "common:\n"
        "  materiality: '0.01'\n"  # wrong type (a string)
        "  tier_thresholds: [50000, 40000, 6000000]\n"  # run-wide: never per region
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
        "materiality: Input should be a valid number",
        "R1.yaml: common.tier_thresholds: decides disclosure for every report",
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
    assert (
        "wealth_card_product: product id(s) wealth_card not in the product table; known: "
        "debit_card, fund; set wealth_card_product: null if this bank has no wealth card"
    ) in str(err.value)
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


# --------------------------------------------------------------------------- notebook cells


def _parameter_cell(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters', want 1"
    src = tagged[0]["source"]
    return "".join(src) if isinstance(src, list) else src


def _cell_problems(src: str, notebook: str) -> list[str]:
    """Differences between a parameters cell and the schema of ``notebook`` (empty = agree).

    The cell must be plain ``name = literal`` lines assigning every notebook parameter of the
    schema (batch-only keys excepted) exactly once, each to the schema's default.
    """
    cls = NOTEBOOK_PARAMS[notebook]
    defaults = schema_defaults(notebook)
    wanted = [n for n in cls.model_fields if n not in BATCH_ONLY_KEYS]
    problems: list[str] = []
    values: dict[str, object] = {}
    for node in ast.parse(src).body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            problems.append(f"line {node.lineno}: not a plain `name = value` assignment")
            continue
        name = node.targets[0].id
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            problems.append(f"{name}: value is not a literal")
            continue
        if name in values:
            problems.append(f"{name}: assigned twice")
        values[name] = value
    problems += [f"{n}: missing from the cell" for n in wanted if n not in values]
    problems += [f"{n}: not a parameter of {notebook}" for n in values if n not in wanted]
    for name in wanted:
        if name in values and (
            values[name] != defaults[name]
            or isinstance(values[name], bool) != isinstance(defaults[name], bool)
        ):
            problems.append(f"{name}: cell has {values[name]!r}, schema default {defaults[name]!r}")
    if not problems:
        try:  # strict validation: right types too ("3" is not 3)
            cls.model_validate(values)
        except ValidationError as exc:
            problems.append(f"cell values do not validate: {exc}")
    return problems


@pytest.mark.parametrize("notebook", list(NOTEBOOK_PARAMS))
def test_notebook_parameter_cell_equals_the_schema_defaults(notebook: str) -> None:
    """Every notebook of the registry exists and its parameters cell IS the schema's defaults."""
    path = ROOT / "notebooks" / f"{notebook}.ipynb"
    assert path.is_file(), f"{notebook} is registered in NOTEBOOK_PARAMS but has no notebook"
    assert _cell_problems(_parameter_cell(path), notebook) == []


def test_the_cell_check_catches_every_kind_of_disagreement() -> None:
    """Control: a wrong value, a missing, an unknown and a duplicated name are all reported."""
    nb = "01_customer_segmentation"
    good = "\n".join(
        f"{n} = {v!r}" for n, v in schema_defaults(nb).items() if n not in BATCH_ONLY_KEYS
    )
    assert _cell_problems(good, nb) == []
    bad = (
        good.replace("min_group_size = 10", "min_group_size = 5")
        .replace("segment_seed = 0\n", "")
        .replace("top_tier = 'vip'", "top_tier = 'vip'\ncolour = 'red'\ncurrency = 'EUR'")
    )
    problems = _cell_problems(bad, nb)
    assert "min_group_size: cell has 5, schema default 10" in problems
    assert "segment_seed: missing from the cell" in problems
    assert f"colour: not a parameter of {nb}" in problems
    assert "currency: assigned twice" in problems
    assert _cell_problems(good.replace("segment_seed = 0", "segment_seed = False"), nb) != []
    last = len(good.splitlines()) + 1
    assert _cell_problems(good + "\nprint(1)", nb) == [
        f"line {last}: not a plain `name = value` assignment"
    ]


# --------------------------------------------------------------------------- propensity


def test_training_settings_defaults_agree_with_the_schema() -> None:
    """``propensity.TrainingSettings`` mirrors PropensityParams: same defaults."""
    from bankanalysis.propensity.training import TrainingSettings

    defaults = schema_defaults("02_cross_sell_propensity")
    compared = {}
    for f in dataclasses.fields(TrainingSettings):
        if f.name not in defaults:
            continue
        value = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
        if isinstance(value, tuple):
            value = list(value)
        compared[f.name] = value
    assert {k: defaults[k] for k in compared} == compared
    assert {"horizon", "train_windows", "max_iter", "tier_thresholds"} <= set(compared)


def test_tier_popularity_baseline_defaults_agree_with_the_schema() -> None:
    from bankanalysis.propensity.models import TierPopularityBaseline

    defaults = schema_defaults("02_cross_sell_propensity")
    compared = {}
    for name, p in inspect.signature(TierPopularityBaseline.__init__).parameters.items():
        if name in defaults and p.default is not inspect.Parameter.empty:
            value = p.default
            compared[name] = list(value) if isinstance(value, tuple) else value
    assert {k: defaults[k] for k in compared} == compared


def test_a_parameter_needing_a_missing_table_stops_the_batch_with_one_message(
    params_dir: Path,
) -> None:
    """ma_kpi and dea_inputs have no fallback: one message per parameter, naming the table."""
    (params_dir / "regions" / "R1.yaml").write_text(
        "notebooks:\n  03_outlet_benchmarking:\n    ma_kpi: fee_income\n"
        "    dea_inputs: [staff_fte, customers]\n",
        encoding="utf-8",
    )
    (params_dir / "regions" / "R2.yaml").write_text(MA_KPI_NEEDS_TRANSACTIONS, encoding="utf-8")
    bank = _bank(support=_support(("transactions",)))
    with pytest.raises(ParameterError) as err:
        validate_batch_params(params_dir, None, ["03_outlet_benchmarking"], bank)
    problems = err.value.problems
    assert problems == [
        ma_kpi_refusal("all regions") + "; the moving-average comparison "
        "has no fallback. Set ma_kpi to an outlet KPI this extract measures, e.g. "
        "aum, new_deposits, deposit_balance"
    ]
    assert err.value.exit_code == 2
    # without transactions the default peer KPIs fall back: nothing stops the batch
    fallbacks: list[str] = []
    (params_dir / "regions" / "R1.yaml").unlink()
    (params_dir / "regions" / "R2.yaml").unlink()
    validate_batch_params(params_dir, None, ["03_outlet_benchmarking"], bank, fallbacks)
    left_out = [f for f in fallbacks if "left out of the peer comparison" in f]
    assert [f.split(": ")[1] for f in left_out] == ["peer_kpis"] * 3
    assert all(f.startswith("03_outlet_benchmarking (all regions): peer_kpis: ") for f in left_out)
    assert any(
        "fee_income (Intermediary (fee) income) needs the transactions table" in f for f in left_out
    )
    assert sum("left out of the DEA outputs" in f for f in fallbacks) == 1


def test_every_dea_output_unmeasured_stops_and_an_unmeasured_input_stops(
    params_dir: Path,
) -> None:
    (params_dir / "regions" / "R1.yaml").write_text(
        "notebooks:\n  03_outlet_benchmarking:\n    dea_outputs: [fee_income]\n"
        "    dea_inputs: [staff_fte, device_operating_rate]\n",
        encoding="utf-8",
    )
    bank = _bank(support=_support(("transactions", "devices", "device_months")))
    with pytest.raises(ParameterError) as err:
        validate_batch_params(params_dir, ["R1"], ["03_outlet_benchmarking"], bank)
    text = str(err.value)
    assert "03_outlet_benchmarking (R1): dea_outputs: every DEA output needs a table" in text
    assert (
        "dea_inputs: device_operating_rate (Self-service device operating rate) needs the "
        "devices table and the device_months table, which this extract lack" in text
    )
    assert len(err.value.problems) == 2


def test_short_data_falls_back_and_is_recorded(params_dir: Path) -> None:
    """3 months: migration, growth and propensity fall back as the reports say; no error."""
    fallbacks: list[str] = []
    out = validate_batch_params(
        params_dir, ["R2"], list(NOTEBOOK_PARAMS), _bank(support=_support()), fallbacks
    )
    assert len(out) == 4
    assert fallbacks == [
        "00_bank_overview (bank), 01_customer_segmentation (R2), 02_cross_sell_propensity (R2), "
        "03_outlet_benchmarking (R2): lookback_months: the data hold 3 months up to 2024-03: "
        "customer growth and stock retention compare 2024-03 with the first month 2024-01, "
        "2 months earlier instead of 12",
        "01_customer_segmentation (R2): migration_months: the data hold 3 months up to "
        "2024-03: the tier migration compares 2024-03 with the first month 2024-01, 2 months "
        "earlier instead of 12",
        "02_cross_sell_propensity (R2): horizon: the data hold 3 months up to 2024-03; horizon 3 "
        "and eval_months 1 need at least 7: no product gets a model and the report says why "
        "(shorten the horizon or lower eval_months)",
    ]


def test_data_prepared_without_support_are_not_checked(params_dir: Path) -> None:
    fallbacks: list[str] = []
    validate_batch_params(params_dir, None, list(NOTEBOOK_PARAMS), _bank(), fallbacks)
    assert fallbacks == []


# --------------------------------------------------------------------------- summary parameters


@pytest.mark.parametrize("notebook", list(NOTEBOOK_PARAMS))
def test_every_report_has_the_parameters_its_summary_reads(notebook: str) -> None:
    """The summary's scorecard parameters are the report's own: none falls back silently."""
    from bankanalysis.params import OverviewParams
    from bankanalysis.report.standing import scorecard_params

    fields = NOTEBOOK_PARAMS[notebook].model_fields
    read = scorecard_params(schema_defaults(notebook))
    assert set(read) <= set(fields)
    # one definition: same default and meaning as in the bank overview
    for name in read:
        assert fields[name].description == OverviewParams.model_fields[name].description
        assert fields[name].get_default(call_default_factory=True) == OverviewParams.model_fields[
            name
        ].get_default(call_default_factory=True)


@pytest.mark.parametrize(
    "notebook", ["01_customer_segmentation", "02_cross_sell_propensity", "03_outlet_benchmarking"]
)
def test_a_region_override_of_the_summary_parameters_reaches_the_summary(
    params_dir: Path, notebook: str
) -> None:
    from bankanalysis.report.standing import scorecard_params

    (params_dir / "regions" / "R1.yaml").write_text(
        f"notebooks:\n  {notebook}:\n    coverage_products: 2\n    wealth_card_product: null\n",
        encoding="utf-8",
    )
    p = load_params(params_dir, notebook, "R1")
    assert scorecard_params(p) == {
        "tier_thresholds": [50000.0, 500000.0, 6000000.0],
        "tier_months": 3,
        "lookback_months": 12,
        "coverage_products": 2,
        "wealth_card_product": None,
    }
    assert scorecard_params(load_params(params_dir, notebook, "R2"))["coverage_products"] == 3


def test_summary_parameters_are_validated_in_every_report(params_dir: Path) -> None:
    (params_dir / "regions" / "R1.yaml").write_text(
        "notebooks:\n  02_cross_sell_propensity:\n    coverage_products: '3'\n"
        "    wealth_card_product: 7\n",
        encoding="utf-8",
    )
    with pytest.raises(ParameterError) as err:
        load_params(params_dir, "02_cross_sell_propensity", "R1")
    text = str(err.value)
    assert "notebooks.02_cross_sell_propensity.coverage_products" in text
    assert "notebooks.02_cross_sell_propensity.wealth_card_product" in text


def test_plan_parameters_are_declared_once_for_the_reports_with_plan_sections() -> None:
    from bankanalysis.params import BenchmarkingParams, OverviewParams, PlanParams

    plan = set(PlanParams.model_fields) - set(CommonParams.model_fields)
    assert {"self_service_target", "plan_path", "quarter_kpis"} <= plan
    assert issubclass(OverviewParams, PlanParams) and issubclass(BenchmarkingParams, PlanParams)
    assert not plan & set(SegmentationParams.model_fields)


def test_upgrade_band_is_one_definition_for_the_list_and_the_workbooks(params_dir: Path) -> None:
    """Notebook 02 puts notebook 01's upgrade list into the workbooks: same band, same trend."""
    from bankanalysis.params import PropensityParams, SegmentationParams

    for name in ("pipeline_within", "upgrade_trend_months"):
        seg, prop = SegmentationParams.model_fields[name], PropensityParams.model_fields[name]
        assert (seg.description, seg.default) == (prop.description, prop.default)
    (params_dir / "regions" / "R1.yaml").write_text(
        "notebooks:\n  02_cross_sell_propensity:\n    pipeline_within: 0.2\n"
        "    upgrade_trend_months: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ParameterError, match="upgrade_trend_months"):
        load_params(params_dir, "02_cross_sell_propensity", "R1")
    (params_dir / "regions" / "R1.yaml").write_text(
        "notebooks:\n  02_cross_sell_propensity:\n    pipeline_within: 0.2\n", encoding="utf-8"
    )
    p = load_params(params_dir, "02_cross_sell_propensity", "R1")
    assert (p["pipeline_within"], p["upgrade_trend_months"]) == (0.2, 3)
