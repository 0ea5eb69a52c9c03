"""Typed report parameters: ``params/defaults.yaml`` merged with ``params/regions/<id>.yaml``.

Every notebook receives the :class:`CommonParams`; each notebook has its own subclass in
:data:`NOTEBOOK_PARAMS` (keyed by notebook stem) that adds its specific parameters. The YAML
files have two sections, ``common`` and ``notebooks.<stem>``; region files hold overrides only.

:func:`validate_batch_params` checks everything a batch needs *before* any kernel starts and
raises one :class:`~bankanalysis.exceptions.ParameterError` listing every problem found
(unknown keys, wrong types, thresholds not increasing, regions or months not in the data,
unsafe ids). YAML is read with ``yaml.safe_load`` only; parameters are never evaluated.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bankanalysis.contract import DEFAULT_CURRENCY, PRODUCT_FAMILIES
from bankanalysis.exceptions import ParameterError
from bankanalysis.params.fields import (
    CoverageProducts,
    PipelineWithin,
    PlanPath,
    PlanSeasonWeights,
    PlanStart,
    PlanYears,
    QuarterKpis,
    UpgradeTrendMonths,
    WealthCardProduct,
    check_safe_id,
)
from bankanalysis.params.yaml_text import yaml_scalar

__all__ = [
    "BATCH_ONLY_KEYS",
    "BenchmarkingParams",
    "CommonParams",
    "NOTEBOOK_PARAMS",
    "OverviewParams",
    "PlanParams",
    "PropensityParams",
    "RUNTIME_KEYS",
    "RUN_WIDE_KEYS",
    "SegmentationParams",
    "check_safe_id",
    "defaults_yaml",
    "load_params",
    "notebook_parameters",
    "schema_defaults",
    "validate_batch_params",
]

logger = logging.getLogger(__name__)

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

#: Keys the batch sets for each job; YAML files may not set them.
RUNTIME_KEYS: tuple[str, ...] = ("region_id", "processed_dir", "output_dir", "run_id")
#: Shared by every report and the run-wide decisions: set only in ``common`` of defaults.yaml.
RUN_WIDE_KEYS: tuple[str, ...] = tuple(
    "min_group_size tier_thresholds tier_months lookback_months dominance_p protection_level "
    "protect_outlet_counts".split()
)
_ONCE = "; one value for every report of a run (defaults.yaml, common section only)"
#: Keys used by the batch itself and not injected into the notebook.
BATCH_ONLY_KEYS: tuple[str, ...] = ("timeout_minutes",)
_SECTIONS = ("common", "notebooks")


# --------------------------------------------------------------------------- common


class CommonParams(BaseModel):
    """Parameters every notebook receives (see ``docs/architecture.md``).

    Strict: unknown keys are refused and values are not coerced (``"10"`` is not an int).
    This schema is the one source of default values: ``params/defaults.yaml`` is generated
    from it (:func:`defaults_yaml`) and the notebooks' parameter cells must equal it (a test
    checks both).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    #: ``"region"`` notebooks run once per region, ``"bank"`` notebooks once per run.
    scope: ClassVar[Literal["region", "bank"]] = "region"
    #: One line on the notebook, the comment of its section in ``params/defaults.yaml``.
    summary: ClassVar[str] = "every notebook gets these"

    region_id: str | None = Field(None, description="region of the report; set by the batch")
    processed_dir: str | None = Field(
        None, description="folder of the prepared data; set by the batch"
    )
    output_dir: str | None = Field(
        None, description="folder for the report's metrics and side files; set by the batch"
    )
    run_id: str | None = Field(None, description="id of the batch run; set by the batch")
    data_month: str | None = Field(
        None, description="analysis month YYYY-MM; null = last month of the data"
    )
    currency: str = Field(
        DEFAULT_CURRENCY,
        pattern=r"^[A-Z]{3}$",
        description="display currency (ISO 4217 code); money thresholds below are in it",
    )
    min_group_size: int = Field(
        10,
        ge=1,
        description=f"groups with fewer customers are suppressed{_ONCE} (customers)",
    )
    tier_thresholds: list[float] = Field(
        default_factory=lambda: [50000.0, 500000.0, 6000000.0],
        description=f"AUM lower bounds of quality, VIP, private banking{_ONCE} (currency units)",
    )
    tier_months: int = Field(
        3, ge=1, le=24, description=f"tiers use mean AUM of the last N month-ends{_ONCE} (months)"
    )
    lookback_months: int = Field(
        12,
        ge=1,
        le=60,
        description="customer growth and stock retention compare with this many months earlier "
        f"or the first month{_ONCE} (months)",
    )
    protect_outlet_counts: bool = Field(
        True,
        description="disclosure: withhold outlet counts of new customers of 1 to min_group_size"
        " - 1 (and one more outlet so the region total cannot give them back); false publishes "
        f"these operational counts as they are{_ONCE}; 03 and 02's workbooks (docs/privacy.md)",
    )
    materiality: float = Field(
        0.005,
        ge=0,
        le=0.5,
        description="differences smaller than this are ties in rankings and findings: for shares "
        "in absolute terms (0.005 = 0.5 pp), for other figures relative to the larger (0.5 %)",
    )
    dominance_p: float = Field(
        0.10,
        gt=0,
        lt=1,
        description="disclosure, one value for every report of a run (defaults.yaml, common "
        "section only): a tier's AUM is withheld when its customers other than the two largest "
        "hold less than this fraction of the largest (p % rule, docs/privacy.md; fraction)",
    )
    protection_level: float = Field(
        0.5,
        gt=0,
        le=1,
        description="disclosure, one value for every report of a run (defaults.yaml, common "
        "section only): a withheld AUM figure must stay uncertain by this fraction of its value "
        "either way for anyone combining the published figures (fraction)",
    )
    timeout_minutes: float = Field(
        20.0,
        gt=0,
        description="per-notebook timeout of the batch, not passed to the notebook; time spent "
        "on figures the whole run shares is added, up to twice this (minutes)",
    )

    @field_validator("region_id", "run_id")
    @classmethod
    def _safe_id(cls, v: str | None) -> str | None:
        if v is not None and check_safe_id(v) is not None:
            raise ValueError(check_safe_id(v, "id"))
        return v

    @field_validator("data_month")
    @classmethod
    def _month(cls, v: str | None) -> str | None:
        if v is not None and not _MONTH.match(v):
            raise ValueError(f"month {v!r} must look like YYYY-MM, e.g. 2025-12")
        return v

    @field_validator("tier_thresholds")
    @classmethod
    def _increasing(cls, v: list[float]) -> list[float]:
        if len(v) != 3:
            raise ValueError(
                f"needs exactly 3 AUM lower bounds (quality, VIP, private banking), got {len(v)}"
            )
        if v[0] <= 0 or any(b <= a for a, b in zip(v, v[1:], strict=False)):
            raise ValueError(f"must be positive and strictly increasing, got {v}")
        return v


# --------------------------------------------------------------------------- 00 overview


class PlanParams(CommonParams):
    """The plan-tracking parameters of the reports with plan sections (00 and 03), declared once;
    see ``bankanalysis.planning``."""

    self_service_target: float = Field(
        3.0,
        gt=0,
        description="plan target: self-service banks (device sites) per physical outlet (ratio)",
    )
    plan_path: PlanPath
    plan_season_weights: PlanSeasonWeights
    plan_start: PlanStart
    plan_years: PlanYears
    quarter_kpis: QuarterKpis


class OverviewParams(PlanParams):
    """Parameters of ``00_bank_overview`` (whole bank, once per run); see ``bankanalysis.overview``."""

    scope: ClassVar[Literal["region", "bank"]] = "bank"
    summary: ClassVar[str] = "whole bank, once per run"

    coverage_products: CoverageProducts
    wealth_card_product: WealthCardProduct


# --------------------------------------------------------------------------- 01 segmentation


class SegmentationParams(CommonParams):
    """Parameters of ``01_customer_segmentation`` (per region)."""

    summary: ClassVar[str] = "per region"

    migration_months: int = Field(
        12,
        ge=1,
        le=60,
        description="month-ends between the two snapshots of the tier migration matrix (months)",
    )
    pipeline_within: PipelineWithin
    upgrade_trend_months: UpgradeTrendMonths
    segment_k_range: list[int] = Field(
        default_factory=lambda: [4, 8],
        description="behaviour segments per tier: smallest and largest number tried, k chosen "
        "by the criterion (segments)",
    )
    segment_method: Literal["kmeans", "gmm"] = Field(
        "kmeans",
        description="kmeans (k by silhouette) or gmm (Gaussian mixture, k by BIC)",
    )
    segment_sample_size: int = Field(
        5000,
        ge=100,
        description="customers per tier used to choose k and fit the segments, all when fewer "
        "(customers)",
    )
    segment_min_customers: int = Field(
        200, ge=10, description="tiers with fewer customers are kept as one segment (customers)"
    )
    segment_seed: int = Field(
        0, ge=0, description="random seed of the segmentation (same seed, same segments)"
    )
    coverage_products: CoverageProducts
    wealth_card_product: WealthCardProduct
    top_tier: Literal["quality", "vip", "private_banking"] = Field(
        "vip", description="AUM concentration: share of AUM held by this tier and above"
    )

    @field_validator("segment_k_range")
    @classmethod
    def _k_range(cls, v: list[int]) -> list[int]:
        if len(v) != 2 or not 2 <= v[0] <= v[1] <= 20:
            raise ValueError(f"must be [k_min, k_max] with 2 <= k_min <= k_max <= 20, got {v}")
        return v


# --------------------------------------------------------------------------- 02 propensity


class PropensityParams(CommonParams):
    """Parameters of ``02_cross_sell_propensity`` (per region); see ``bankanalysis.propensity``.

    Everything from ``products`` to ``random_state`` shapes the trained models and is part of
    the model-cache key; the rest only changes the region's offers and lead lists.
    """

    summary: ClassVar[str] = "per region; models are trained once for the whole bank and cached"

    products: list[str] | None = Field(
        None,
        description="restrict the targets to these product ids; null = every product with "
        "cross_sell = true",
    )
    horizon: int = Field(
        3,
        ge=1,
        le=12,
        description="label = customer holds the product this many months after the feature "
        "month (months)",
    )
    train_windows: int = Field(
        12,
        ge=1,
        le=36,
        description="monthly training windows, the latest ones whose outcome is known (months)",
    )
    max_train_rows: int = Field(
        200_000,
        ge=1_000,
        description="stratified, seeded subsample of training rows per product, for speed "
        "(customer-months)",
    )
    max_eval_rows: int = Field(
        400_000,
        ge=1_000,
        description="customers sampled (seeded) for the out-of-time evaluation (customers)",
    )
    min_buyers: int = Field(
        30,
        ge=5,
        description="fewer buyers in the training windows = no model for that product, "
        "reported (customers)",
    )
    min_eval_buyers: int = Field(
        10,
        ge=1,
        description="fewer buyers in the evaluation months = the product's model is not "
        "evaluated, reported (customers)",
    )
    eval_months: int = Field(
        1,
        ge=1,
        le=12,
        description="evaluation pools the latest months whose outcome is known, none of them "
        "used for training; more months = more buyers on small data (months)",
    )
    max_iter: int = Field(
        300,
        ge=10,
        le=2000,
        description="gradient-boosting iterations; early stopping may use fewer (trees)",
    )
    learning_rate: float = Field(0.1, gt=0, le=1, description="gradient-boosting shrinkage (0-1)")
    max_leaf_nodes: int = Field(4, ge=2, le=1024, description="leaves per tree (leaves)")
    min_samples_leaf: int = Field(100, ge=1, description="smallest leaf (customer-months)")
    additive: bool = Field(
        True,
        description="each tree uses one feature (boosted additive model: robust on small data, "
        "exact reason codes)",
    )
    calibration: Literal["isotonic", "sigmoid", "none"] = Field(
        "isotonic",
        description="probability calibration on a held-out slice: isotonic, sigmoid or none",
    )
    random_state: int = Field(
        0, ge=0, description="seed of sampling and models (same seed, same numbers)"
    )
    n_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="CPU threads per model fit; 1 is fastest when the batch runs notebooks in "
        "parallel (threads)",
    )
    offers_per_customer: int = Field(
        2,
        ge=1,
        le=10,
        description="next best offers per customer, top-k by probability x product value (offers)",
    )
    leads_per_sheet: int = Field(
        50,
        ge=1,
        le=100_000,
        description="leads per account manager, and per outlet for unassigned customers "
        "(customers)",
    )
    min_lead_probability: float = Field(
        0.02,
        ge=0,
        lt=1,
        description="offers with a lower probability are never leads: a list gets shorter "
        "instead of being padded with unlikely offers (0-1)",
    )
    n_reasons: int = Field(
        3,
        ge=1,
        le=5,
        description="reason codes per lead: features that raise the customer's score most "
        "(reasons)",
    )
    product_values: dict[str, float] = Field(
        default_factory=dict,
        description="value of one sale per product id, e.g. {wmp: 3.0}; missing products "
        "count 1.0 (relative value, no unit)",
    )
    use_model_cache: bool = Field(
        True,
        description="reuse models cached under <processed_dir>/_models for the same data and "
        "parameters",
    )
    coverage_products: CoverageProducts
    wealth_card_product: WealthCardProduct
    pipeline_within: PipelineWithin
    upgrade_trend_months: UpgradeTrendMonths


# --------------------------------------------------------------------------- 03 benchmarking


class BenchmarkingParams(PlanParams):
    """Parameters of ``03_outlet_benchmarking`` (per region); see ``bankanalysis.benchmarking``."""

    summary: ClassVar[str] = "per region"

    peer_by: list[Literal["echelon", "outlet_type", "region_id"]] = Field(
        default_factory=lambda: ["echelon", "outlet_type"],
        min_length=1,
        description="peer group = outlets sharing these (echelon, outlet_type, region_id)",
    )
    peer_kpis: list[str] = Field(
        default_factory=lambda: [
            "customers_per_fte",
            "sales_per_fte",
            "aum_per_fte",
            "new_customers",
            "fee_income",
            "share_quality_plus",
            "product_coverage",
            "outlet_replacement_rate",
            "accounting_replacement_rate",
        ],
        min_length=1,
        description="KPIs ranked among peers, higher is better (KPI ids)",
    )
    coverage_products: CoverageProducts
    wealth_card_product: WealthCardProduct
    ma_kpi: str = Field(
        "sales_per_fte",
        description="monthly output compared with the peers' trailing moving average (KPI id)",
    )
    ma_window: int = Field(
        3, ge=1, le=12, description="months in the peers' trailing moving average (months)"
    )
    lagging_months: int = Field(
        3,
        ge=1,
        le=12,
        description="an outlet lags when below that average in each of the last N months (months)",
    )
    product_sales_standard: dict[str, float] = Field(
        default_factory=dict,
        description="product gaps: minimum sales per outlet and month by product family, e.g. "
        "{investment: 5}; families not named: 1 (a gap is a zero) (products)",
    )
    dea_inputs: list[str] = Field(
        default_factory=lambda: ["staff_fte", "devices"],
        min_length=1,
        description="DEA inputs: outlet KPI columns, strictly positive after offsets",
    )
    dea_outputs: list[str] = Field(
        default_factory=lambda: ["deposit_balance", "new_customers", "sales_total", "fee_income"],
        min_length=1,
        description="DEA outputs: outlet KPI columns, negative values clipped at 0",
    )
    dea_months: int = Field(
        6, ge=1, le=24, description="DEA uses each outlet's mean over the last N months (months)"
    )
    dea_orientation: Literal["input", "output"] = Field(
        "output",
        description="output (how much more with the same inputs) or input (how much less input)",
    )
    dea_rts: Literal["crs", "vrs"] = Field(
        "crs",
        description="crs (CCR, constant returns) or vrs (BCC, variable returns) for scores and "
        "targets",
    )
    dea_frontier_by: Literal["echelon", "outlet_type", "region_id"] | None = Field(
        "echelon",
        description="one DEA frontier per echelon; outlet_type, region_id or null (one frontier)",
    )
    dea_input_offsets: dict[str, float] = Field(
        default_factory=lambda: {"devices": 1.0},
        description="added to every outlet when some outlet has 0 in that input; the counter "
        "counts as one service point (input units)",
    )

    @field_validator("product_sales_standard")
    @classmethod
    def _families(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(PRODUCT_FAMILIES))
        if unknown:
            raise ValueError(
                f"unknown product famil(ies) {unknown}; families: {list(PRODUCT_FAMILIES)}"
            )
        negative = sorted(f for f, x in v.items() if x < 0)
        if negative:
            raise ValueError(f"standards must be >= 0, got negative ones for {negative}")
        return v


# --------------------------------------------------------------------------- registry

#: Parameter class per notebook stem, in run order.
NOTEBOOK_PARAMS: dict[str, type[CommonParams]] = {
    "00_bank_overview": OverviewParams,
    "01_customer_segmentation": SegmentationParams,
    "02_cross_sell_propensity": PropensityParams,
    "03_outlet_benchmarking": BenchmarkingParams,
}


# --------------------------------------------------------------------------- defaults file

_DEFAULTS_HEADER = """\
# Report parameters: defaults for every notebook of the batch (`bankanalysis run`).
# GENERATED from the schema in src/bankanalysis/params.py by `bankanalysis params --defaults`;
# edit the schema (default and description of the field), then regenerate this file:
#   bankanalysis params --defaults --out params/defaults.yaml
# Layout:
#   common:     parameters every notebook receives
#   notebooks:  one section per notebook (file stem), notebook-specific parameters
# Region overrides live in params/regions/<region_id>.yaml with the same layout and only the keys
# they change. Parameters are ids and numbers, never display labels. region_id, processed_dir,
# output_dir and run_id are set by the batch and may not appear here.
# Unknown keys and wrong types are refused (exit code 2).
"""


def schema_defaults(notebook: str) -> dict[str, Any]:
    """Return the default value of every parameter of one notebook, from the schema.

    Parameters
    ----------
    notebook : str
        Notebook stem, a key of :data:`NOTEBOOK_PARAMS`.

    Returns
    -------
    dict
        ``{field: default}`` in declaration order, runtime and batch-only keys included.

    Examples
    --------
    >>> schema_defaults("00_bank_overview")["lookback_months"]
    12
    """
    return NOTEBOOK_PARAMS[notebook]().model_dump()


def _yaml_lines(cls: type[CommonParams], names: Iterable[str], indent: str) -> list[str]:
    defaults = cls().model_dump()
    return [
        f"{indent}{name}: {yaml_scalar(defaults[name])} # {cls.model_fields[name].description}"
        for name in names
    ]


def defaults_yaml() -> str:
    """Return the text of ``params/defaults.yaml``, generated from the schema.

    Every parameter a YAML file may set appears with its schema default and, as a comment,
    its description (with the unit). Runtime keys (:data:`RUNTIME_KEYS`) are left out; they
    are set by the batch.

    Returns
    -------
    str
        The commented YAML; :func:`load_params` reads it back to exactly the schema defaults.
    """
    common = [n for n in CommonParams.model_fields if n not in RUNTIME_KEYS]
    lines = [_DEFAULTS_HEADER, f"common: # {CommonParams.summary}"]
    lines += _yaml_lines(CommonParams, common, "  ")
    lines += ["", "notebooks:"]
    for stem, cls in NOTEBOOK_PARAMS.items():
        own = [n for n in cls.model_fields if n not in CommonParams.model_fields]
        lines.append(f"  {stem}: # {cls.summary}")
        lines += _yaml_lines(cls, own, "    ")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- loading


def _read_yaml(path: Path, problems: list[str]) -> dict[str, Any]:
    """Read one parameter file (safe loader) and check its two-section layout."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{path}: cannot be read as YAML ({exc}); fix the file")
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(f"{path}: must be a mapping with sections 'common' and 'notebooks'")
        return {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _SECTIONS:
            problems.append(
                f"{path}: unknown section {key!r}; allowed sections are 'common' and 'notebooks'"
            )
            continue
        if value is None:
            value = {}
        if not isinstance(value, dict):
            problems.append(
                f"{path}: section {key!r} must be a mapping, got {type(value).__name__}"
            )
            continue
        out[key] = value
    for stem, section in out.get("notebooks", {}).items():
        if stem not in NOTEBOOK_PARAMS:
            problems.append(
                f"{path}: notebooks.{stem}: unknown notebook; known: {', '.join(NOTEBOOK_PARAMS)}"
            )
        elif section is not None and not isinstance(section, dict):
            problems.append(f"{path}: notebooks.{stem} must be a mapping")
    return out


def _layer(
    data: dict[str, Any], notebook: str, path: Path, problems: list[str], region: bool = False
) -> list[tuple[str, str, Any]]:
    """Return ``(key, where, value)`` triples a file contributes to one notebook (``region``:
    the file is a region's overrides, which may not set :data:`RUN_WIDE_KEYS`)."""
    cls = NOTEBOOK_PARAMS[notebook]
    common_fields = set(CommonParams.model_fields)
    items: list[tuple[str, str, Any]] = []
    run_wide = (
        ": decides disclosure for every report of the run at once (counts, AUM totals, "
        "retention, tier figures); set it in the common section of defaults.yaml"
    )
    for key, value in (data.get("common") or {}).items():
        where = f"{path}: common.{key}"
        if key in RUNTIME_KEYS:
            problems.append(f"{where}: is set by the batch for each job; remove it")
        elif key in RUN_WIDE_KEYS and region:
            problems.append(f"{where}{run_wide}, not per region")
        elif key not in common_fields:
            problems.append(
                f"{where}: unknown parameter; common parameters are "
                f"{', '.join(sorted(common_fields - set(RUNTIME_KEYS)))} "
                "(notebook-specific ones go under notebooks.<name>)"
            )
        else:
            items.append((key, where, value))
    section = (data.get("notebooks") or {}).get(notebook) or {}
    if isinstance(section, dict):
        for key, value in section.items():
            where = f"{path}: notebooks.{notebook}.{key}"
            if key in RUNTIME_KEYS:
                problems.append(f"{where}: is set by the batch for each job; remove it")
            elif key in RUN_WIDE_KEYS:
                problems.append(f"{where}{run_wide}, not per notebook")
            elif key not in cls.model_fields:
                problems.append(
                    f"{where}: unknown parameter; {notebook} accepts "
                    f"{', '.join(sorted(set(cls.model_fields) - set(RUNTIME_KEYS)))}"
                )
            else:
                items.append((key, where, value))
    return items


def _merge(
    params_dir: Path,
    notebook: str,
    region_id: str | None,
    problems: list[str],
    cache: dict[Path, dict[str, Any]] | None = None,
) -> dict[str, Any] | None:
    """Merge defaults and the region's overrides for one notebook and validate them."""
    cache = {} if cache is None else cache
    if notebook not in NOTEBOOK_PARAMS:
        problems.append(f"notebook {notebook!r} is unknown; known: {', '.join(NOTEBOOK_PARAMS)}")
        return None
    cls = NOTEBOOK_PARAMS[notebook]
    files = [params_dir / "defaults.yaml"]
    if not files[0].is_file():
        problems.append(f"{files[0]}: missing; every batch needs the defaults file")
    if region_id is not None:
        files.append(params_dir / "regions" / f"{region_id}.yaml")
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    for i, f in enumerate(files):
        if not f.is_file():
            continue
        if f not in cache:
            cache[f] = _read_yaml(f, problems)
        for key, where, value in _layer(cache[f], notebook, f, problems, region=i > 0):
            merged[key] = value
            source[key] = where
    merged["region_id"] = region_id if cls.scope == "region" else None
    try:
        model = cls.model_validate(merged)
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            where = source.get(key, f"{notebook} ({region_id or 'bank'}): {key}")
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {msg} (got {err.get('input')!r})")
        return None
    return model.model_dump()


def load_params(params_dir: str | Path, notebook: str, region_id: str | None) -> dict[str, Any]:
    """Return the validated parameters of one notebook for one region.

    Parameters
    ----------
    params_dir : str or Path
        Folder holding ``defaults.yaml`` and ``regions/``.
    notebook : str
        Notebook stem, a key of :data:`NOTEBOOK_PARAMS`.
    region_id : str or None
        Region whose overrides apply; ``None`` for bank-level notebooks.

    Returns
    -------
    dict
        Every parameter of the notebook's class (defaults filled in), ``region_id`` set.

    Raises
    ------
    ParameterError
        Listing every problem of the files involved.
    """
    problems: list[str] = []
    if region_id is not None and check_safe_id(region_id, "region id"):
        raise ParameterError([check_safe_id(region_id, "region id")], source=str(params_dir))
    out = _merge(Path(params_dir), notebook, region_id, problems)
    if problems or out is None:
        raise ParameterError(list(dict.fromkeys(problems)), source=str(params_dir))
    return out


def notebook_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Return the parameters to inject into a notebook (batch-only keys removed)."""
    return {k: v for k, v in params.items() if k not in BATCH_ONLY_KEYS}


def _month_fields(params: Mapping[str, Any]) -> list[str]:
    return [k for k, v in params.items() if k.endswith("_month") and isinstance(v, str)]


def _product_fields(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """Parameters holding product ids: names ending in ``_product`` or ``_products``."""
    out: dict[str, list[str]] = {}
    for k, v in params.items():
        if k.endswith("_product") and isinstance(v, str):
            out[k] = [v]
        elif k.endswith("_products") and isinstance(v, list):
            out[k] = [str(x) for x in v]
    return out


def _null_hint(cls: type[CommonParams], key: str) -> str:
    """For an optional product role (may be null): how to say the bank has none."""
    field = cls.model_fields.get(key)
    if field is None or type(None) not in get_args(field.annotation):
        return ""
    role = key.removesuffix("_product").replace("_", " ")
    return f"; set {key}: null if this bank has no {role}"


def _support_findings(
    jobs: Mapping[tuple[str | None, str], Mapping[str, Any]],
    support: Mapping[str, Any] | None,
    regions: list[str],
    problems: list[str],
    fallbacks: list[str] | None,
) -> None:
    """Check every job against what the data support; one line per finding.

    Regions with the same finding are named together (``all regions`` when every one), and so
    are notebooks (a parameter several reports share, e.g. ``lookback_months``).
    """
    from bankanalysis.data.support_check import check_params_support

    where: dict[tuple[str, str, bool], list[str | None]] = {}
    for (r, nb), p in jobs.items():
        for f in check_params_support(p, support):
            where.setdefault((nb, f.text(), f.fatal), []).append(r)
    scoped: dict[tuple[str, bool], list[str]] = {}
    for (nb, text, fatal), rs in where.items():
        named = [r for r in rs if r is not None]
        scope = "bank" if not named else ", ".join(named)
        if len(named) > 1 and set(named) == set(regions):
            scope = "all regions"
        scoped.setdefault((text, fatal), []).append(f"{nb} ({scope})")
    for (text, fatal), nbs in scoped.items():
        line = f"{', '.join(nbs)}: {text}"
        if fatal:
            problems.append(line)
        else:
            logger.warning("fallback: %s", line)
            if fallbacks is not None:
                fallbacks.append(line)


def validate_batch_params(
    params_dir: str | Path,
    regions: Iterable[str] | None,
    notebooks: Iterable[str],
    bank: Any,
    fallbacks: list[str] | None = None,
) -> dict[tuple[str | None, str], dict[str, Any]]:
    """Validate every job's parameters of a batch against the files and the data, all at once.

    Parameters
    ----------
    params_dir : str or Path
        Folder holding ``defaults.yaml`` and ``regions/``.
    regions : iterable of str or None
        Region ids to run; ``None`` = every region of the data.
    notebooks : iterable of str
        Notebook stems to run.
    bank : object
        Processed data (``bankanalysis.data.load.load_processed``): uses ``bank.regions``
        (DataFrame with ``region_id`` and ``name``), ``bank.months`` and
        ``bank.manifest["support"]`` (what the data can support).
    fallbacks : list of str, optional
        Filled with one sentence per parameter that needs something the data lack and falls
        back as the report documents (:func:`bankanalysis.data.support_check.check_params_support`);
        each is also logged as a warning.

    Returns
    -------
    dict
        ``{(region_id, notebook): params}``; bank-level notebooks have ``region_id`` ``None``.

    Raises
    ------
    ParameterError
        With every problem found: unknown keys, wrong types, thresholds, unknown regions,
        months outside the data (fields ending in ``_month``), product ids not in the data
        (fields ending in ``_product``/``_products``), unsafe ids, override files of regions
        not in the data, and parameters needing data the extract lacks with no fallback
        (e.g. ``ma_kpi`` needing the transactions table when there is none).
    """
    params_dir = Path(params_dir)
    problems: list[str] = []
    known = [str(r) for r in bank.regions["region_id"].tolist()]
    names = dict(zip(bank.regions["name"].astype(str), known, strict=False))
    months = list(bank.months)
    manifest = getattr(bank, "manifest", None) or {}
    products = set(manifest.get("products") or [])
    support = manifest.get("support")
    wanted = known if regions is None else [str(r) for r in regions]
    ok_regions: list[str] = []
    for r in wanted:
        hint = ""
        if r in names and r not in known:
            hint = f" (did you mean the id {names[r]!r}? parameters are ids, not names)"
        if check_safe_id(r, "region id"):
            problems.append(f"{check_safe_id(r, 'region id')}{hint}")
        elif r not in known:
            more = " ..." if len(known) > 10 else ""
            problems.append(
                f"region {r!r} is not in the data{hint}; known regions: {', '.join(known[:10])}{more}"
            )
        else:
            ok_regions.append(r)
    nbs = list(notebooks)
    for nb in nbs:
        if nb not in NOTEBOOK_PARAMS:
            problems.append(f"notebook {nb!r} is unknown; known: {', '.join(NOTEBOOK_PARAMS)}")
    regions_dir = params_dir / "regions"
    if regions_dir.is_dir():
        for f in sorted(regions_dir.glob("*.yaml")):
            if f.stem not in known:
                problems.append(
                    f"{f}: region {f.stem!r} is not in the data; rename or remove the file"
                )
    cache: dict[Path, dict[str, Any]] = {}
    out: dict[tuple[str | None, str], dict[str, Any]] = {}
    for nb in nbs:
        if nb not in NOTEBOOK_PARAMS:
            continue
        targets: list[str | None] = [None] if NOTEBOOK_PARAMS[nb].scope == "bank" else ok_regions
        for r in targets:
            p = _merge(params_dir, nb, r, problems, cache)
            if p is None:
                continue
            for key, ids in _product_fields(p).items():
                unknown = [i for i in ids if products and i not in products]
                if unknown:
                    problems.append(
                        f"{nb} ({r or 'bank'}): {key}: product id(s) {', '.join(unknown)} "
                        f"not in the product table; known: {', '.join(sorted(products)[:12])}"
                        + _null_hint(NOTEBOOK_PARAMS[nb], key)
                    )
            for key in _month_fields(p):
                if months and p[key] not in months:
                    problems.append(
                        f"{nb} ({r or 'bank'}): {key} {p[key]!r} is outside the data "
                        f"({months[0]} .. {months[-1]})"
                    )
            out[(r, nb)] = p
    _support_findings(out, support, ok_regions, problems, fallbacks)
    if problems:
        raise ParameterError(list(dict.fromkeys(problems)), source=str(params_dir))
    return out
