"""Report shaping of notebook 02 (cross-sell propensity): tables, sentences, charts and metrics.

The analytics live in :mod:`bankanalysis.propensity` (features, models, evaluation, offers, lead
lists); this module turns their results into what the report shows, one :class:`Section` per
part of the notebook (charts: :mod:`bankanalysis.report.propensity_charts`). Every KPI goes
through the dictionary (:mod:`bankanalysis.rules.kpis`): tables are
:func:`~bankanalysis.report.tables.kpi_table`, sentences use
:func:`~bankanalysis.report.format.format_value`, metrics are keyed by KPI id (per product
``model_auc[product=fund]``; the region's customers ``model_auc[product=fund,region=R01]``).
Small groups are withheld by :mod:`bankanalysis.rules.disclosure`. Names from the data are
HTML-escaped in every sentence.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from bankanalysis.propensity.evaluation import evaluation_table
from bankanalysis.propensity.leads import leads_by_product
from bankanalysis.propensity.training import PropensityBundle
from bankanalysis.report.chart_findings import calibration_sentence, gains_sentence
from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    Absent,
    Suppressed,
    format_change,
    format_number,
    format_value,
    kpi_label,
)
from bankanalysis.report.propensity_charts import (
    calibration_figure,
    calibration_plot_data,
    expected_sales_figure,
    gains_figure,
    gains_plot_data,
)
from bankanalysis.report.tables import KpiTable, kpi_table
from bankanalysis.rules.disclosure import is_small_part, suppress_small_groups
from bankanalysis.rules.kpis import metric_key

if TYPE_CHECKING:
    from bankanalysis.report.context import ReportContext

__all__ = [
    "BANK_METRICS",
    "Section",
    "calibration_section",
    "evaluation_section",
    "gains_section",
    "load_bank_evaluation",
    "offers_section",
    "product_names",
    "EVALUATION_KPIS",
    "INTERVAL_KPIS",
    "REGION_EVALUATION_COLUMNS",
    "REGION_KPIS",
    "TOP_DECILE_COLUMNS",
    "bank_evaluation_table",
    "evaluation_metrics",
    "evaluation_text",
    "interval_text",
    "no_model_reason",
    "with_interval",
    "model_note",
    "lead_product_summary",
    "lead_product_table",
    "offer_metrics",
    "offer_summary_text",
    "region_evaluation",
    "region_evaluation_table",
    "skipped_products_text",
    "undefined_auc_note",
]

logger = logging.getLogger(__name__)

#: Columns of :func:`~bankanalysis.propensity.evaluation.evaluation_table` shown for the whole
#: bank, and their KPI ids, in display order.
EVALUATION_KPIS: dict[str, str] = {
    "n": "evaluation_customers",
    "buyers": "evaluation_buyers",
    "base_rate": "take_up_rate",
    "auc": "model_auc",
    "baseline_auc": "baseline_auc",
    "pr_auc": "model_pr_auc",
    "lift": "top_decile_lift",
    "baseline_lift": "baseline_top_decile_lift",
    "capture": "top_decile_capture",
    "brier": "model_brier_score",
    "ece": "calibration_error",
}
#: Columns shown for the region's customers, and their KPI ids.
REGION_KPIS: dict[str, str] = {
    "n": "evaluation_customers",
    "buyers": "evaluation_buyers",
    "auc": "model_auc",
    "lift": "top_decile_lift",
    "capture": "top_decile_capture",
}
#: Figures of the region's evaluation withheld when a product has few buyers in the region.
REGION_EVALUATION_COLUMNS: tuple[str, ...] = ("buyers", "auc", "lift", "capture", "ece")
#: Figures of the region's evaluation that give the buyers among the best-scored tenth back
#: (capture x buyers; lift x the tenth's share of the buyers): withheld when those are small.
TOP_DECILE_COLUMNS: tuple[str, ...] = ("lift", "capture")
#: Figures shown with a bootstrap interval (``<col>_low``, ``<col>_high`` of the evaluation
#: table) and their KPI ids; the bounds are recorded as ``<kpi>[product=<p>,bound=low|high]``.
INTERVAL_KPIS: dict[str, str] = {"auc": "model_auc", "lift": "top_decile_lift"}
#: Bootstrap resamples and coverage of the intervals.
BOOTSTRAP_RESAMPLES = 200
INTERVAL_LEVEL = 0.95
#: An AUC interval at least this wide is called out in words (few buyers).
WIDE_AUC_INTERVAL = 0.1
#: Per-product figures of the whole bank recorded in ``metrics.json``.
BANK_METRICS: tuple[str, ...] = (
    "auc",
    "pr_auc",
    "lift",
    "capture",
    "brier",
    "ece",
    "baseline_auc",
    "baseline_lift",
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _name(product: str, product_names: Mapping[str, str]) -> str:
    return str(product_names.get(product, product))


def _missing(value: Any) -> bool:
    try:
        return value is None or not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


# --------------------------------------------------------------------------- header


def model_note(bundle: PropensityBundle, product_names: Mapping[str, str] | None = None) -> str:
    """How the models were fitted and evaluated, for the appendix (the title and the summary
    already name the region and the data month), with each model's training sample size.

    Examples
    --------
    >>> from bankanalysis.propensity.training import TrainingSettings
    >>> b = PropensityBundle(TrainingSettings(horizon=3, max_train_rows=200_000), [], "2025-12",
    ...                      "2025-09", ["2025-05", "2025-06"], [], [])
    >>> model_note(b)
    'Models fitted on 2 monthly windows (2025-05 to 2025-06), evaluated on 2025-09; the label is holding the product 3 month(s) later.'
    >>> b.train_rows.update({"fund": 200_000, "gold": 1_234})
    >>> print(model_note(b, {"fund": "Funds"}).split("later. ")[1])
    Each model was fitted on a seeded sample of at most 200,000 customer-months of the bank's training windows (max_train_rows): Funds 200,000, gold 1,234 customer-months.
    """
    if not bundle.train_months:
        return f"No model could be fitted: {bundle.no_model_reason}."
    first, last = bundle.train_months[0], bundle.train_months[-1]
    text = (
        f"Models fitted on {len(bundle.train_months)} monthly windows ({first} to {last}), "
        f"evaluated on {bundle.eval_period}; the label is holding the product "
        f"{bundle.settings.horizon} month(s) later."
    )
    if not bundle.train_rows:
        return text
    names = product_names or {}
    sizes = ", ".join(
        f"{_name(p, names)} {format_number(n, 0)}" for p, n in bundle.train_rows.items()
    )
    return (
        f"{text} Each model was fitted on a seeded sample of at most "
        f"{format_number(bundle.settings.max_train_rows, 0)} customer-months of the bank's "
        f"training windows (max_train_rows): {sizes} customer-months."
    )


# --------------------------------------------------------------------------- evaluation


def region_evaluation_table(
    evaluation: pd.DataFrame, region_id: str, min_group_size: int, fraction: float = 0.1
) -> pd.DataFrame:
    """The out-of-time figures of one region's customers, small groups withheld.

    Parameters
    ----------
    evaluation : DataFrame
        ``PropensityBundle.evaluation``.
    region_id : str
        Region whose customers are evaluated.
    min_group_size : int
        ``k`` of the disclosure rule: products with 1 to k-1 buyers in the region get NaN in
        :data:`REGION_EVALUATION_COLUMNS` (the buyer count included); 0 buyers are shown.
    fraction : float
        Top share for lift and capture.

    Returns
    -------
    DataFrame
        As :func:`~bankanalysis.propensity.evaluation.evaluation_table`, plus ``suppressed``
        and ``top_suppressed``: the buyers among the best-scored tenth (capture x buyers) are
        1 to k-1 customers, so capture and lift (:data:`TOP_DECILE_COLUMNS`, which give them
        back beside the printed buyers) are NaN.

    Examples
    --------
    The 4 best-scored of 40 customers are 4 of the 20 buyers (capture 20.0 %): withheld.

    >>> ev = pd.DataFrame({"product": ["fund"] * 40, "region_id": "R1",
    ...                    "y": [0] * 20 + [1] * 20, "p_model": [i / 40 for i in range(40)],
    ...                    "p_baseline": 0.5})
    >>> t = region_evaluation_table(ev, "R1", 10)
    >>> t[["buyers", "capture", "top_suppressed"]].values.tolist()
    [[20.0, nan, True]]
    """
    table = evaluation_table(evaluation, region_id=region_id, fraction=fraction)
    table = suppress_small_groups(
        table, "buyers", min_group_size, value_cols=list(REGION_EVALUATION_COLUMNS)
    )
    top = is_small_part(table["capture"], table["buyers"], min_group_size)
    table["top_suppressed"] = top & ~table["suppressed"].astype(bool).to_numpy()
    for col in TOP_DECILE_COLUMNS:
        table.loc[table["top_suppressed"], col] = float("nan")
    return table


def _labelled(table: pd.DataFrame, product_names: Mapping[str, str]) -> pd.DataFrame:
    out = table.copy()
    out.insert(0, "product name", [_name(p, product_names) for p in out["product"]])
    return out


def bank_evaluation_table(
    bank_eval: pd.DataFrame, product_names: Mapping[str, str], currency: str = DEFAULT_CURRENCY
) -> KpiTable:
    """The whole bank's out-of-time figures per product (the model is the same for every region).

    Parameters
    ----------
    bank_eval : DataFrame
        :func:`~bankanalysis.propensity.evaluation.evaluation_table` of the whole bank.
    product_names : mapping
        Product code -> display name (the code when missing).
    """
    table = kpi_table(
        _labelled(bank_eval, product_names),
        EVALUATION_KPIS,
        labels=["product name"],
        currency=currency,
        caption="Whole bank, evaluation month(s)",
        note=f"Model AUC and top-decile lift with their {INTERVAL_LEVEL:.0%} bootstrap interval "
        f"in brackets ({BOOTSTRAP_RESAMPLES} stratified resamples of the evaluated customers).",
    )
    for col, kpi in INTERVAL_KPIS.items():
        if f"{col}_low" not in bank_eval.columns:
            continue
        header = kpi_label(kpi, currency)
        table.frame[header] = [
            with_interval(kpi, value, low, high, currency)
            for value, low, high in zip(
                bank_eval[col], bank_eval[f"{col}_low"], bank_eval[f"{col}_high"], strict=True
            )
        ]
    return table


def with_interval(
    kpi: str, value: Any, low: Any, high: Any, currency: str = DEFAULT_CURRENCY
) -> str:
    """A figure and its interval as one cell: ``"0.761 (0.742-0.780)"``; the figure alone
    (or ``n/a``) when a bound is missing.

    Examples
    --------
    >>> with_interval("model_auc", 0.7612, 0.7421, 0.7803)
    '0.761 (0.742-0.780)'
    >>> with_interval("model_auc", 0.7612, float("nan"), 0.78)
    '0.761'
    """

    def f(v: Any) -> str:
        return format_value(kpi, v, currency, unit=False, with_reason=False)

    if _missing(value) or _missing(low) or _missing(high):
        return f(value)
    return f"{f(value)} ({f(low)}-{f(high)})"


def interval_text(
    bank_eval: pd.DataFrame, bundle: PropensityBundle, product_names: Mapping[str, str]
) -> str:
    """Markdown: products whose AUC interval is wide (at least :data:`WIDE_AUC_INTERVAL`), and
    why: few buyers in the evaluation month(s); "" when none is.

    Examples
    --------
    >>> from bankanalysis.propensity.training import TrainingSettings
    >>> b = PropensityBundle(TrainingSettings(), ["gold"], "2025-12", "2025-09", ["2025-06"],
    ...                      [], [])
    >>> ev = pd.DataFrame({"product": ["gold"], "buyers": [18], "auc_low": [0.61],
    ...                    "auc_high": [0.83]})
    >>> print(interval_text(ev, b, {"gold": "Gold"}))
    The AUC interval is wide for Gold (0.61-0.83, 18 buyers): with so few buyers in 2025-09 its figures are uncertain; pooling more evaluation months (eval_months) narrows them.
    """
    if bank_eval.empty or "auc_low" not in bank_eval.columns:
        return ""
    width = bank_eval["auc_high"] - bank_eval["auc_low"]
    wide = bank_eval[width >= WIDE_AUC_INTERVAL]
    if wide.empty:
        return ""
    items = [
        f"{_e(_name(r.product, product_names))} ({r.auc_low:.2f}-{r.auc_high:.2f}, "
        f"{format_value('evaluation_buyers', r.buyers)} buyers)"
        for r in wide.itertuples()
    ]
    listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    one = len(items) == 1
    return (
        f"The AUC interval{' is' if one else 's are'} wide for {listed}: with so few buyers in "
        f"{bundle.eval_period} {'its' if one else 'their'} figures are uncertain; pooling more "
        "evaluation months (eval_months) narrows them."
    )


def no_model_reason(bundle: PropensityBundle) -> str:
    """Why no product has a model, in one line (for the run index and ``metrics.json``).

    Examples
    --------
    >>> from bankanalysis.propensity.training import TrainingSettings
    >>> b = PropensityBundle(TrainingSettings(), ["gold"], "2025-12", "2025-09", ["2025-06"],
    ...                      [], [], skipped={"gold": "too few buyers in training: 3 in 2025-06"})
    >>> no_model_reason(b)
    'no product has a model: gold: too few buyers in training: 3 in 2025-06'
    """
    if bundle.no_model_reason:
        return f"no product has a model: {bundle.no_model_reason}"
    if not bundle.skipped:
        return "no product has a model"
    return "no product has a model: " + "; ".join(f"{p}: {w}" for p, w in bundle.skipped.items())


def region_evaluation(
    region_eval: pd.DataFrame,
    product_names: Mapping[str, str],
    region_name: str,
    min_group_size: int,
    currency: str = DEFAULT_CURRENCY,
) -> KpiTable:
    """The region's customers' figures per product; withheld cells show the disclosure marker.

    Parameters
    ----------
    region_eval : DataFrame
        :func:`region_evaluation_table`.
    product_names : mapping
        Product code -> display name.
    region_name : str
        For the caption.
    min_group_size : int
        ``k`` of the disclosure rule (the marker's text).

    A product whose AUC is n/a although not withheld (no buyer, or only buyers, among the
    region's evaluated customers) is named in the table's note with that reason.
    """
    table = _labelled(region_eval, product_names)
    top = (
        table["top_suppressed"].astype(bool)
        if "top_suppressed" in table
        else pd.Series(False, index=table.index)
    )
    withheld = pd.DataFrame(
        {
            c: table["suppressed"].astype(bool) & (c in REGION_EVALUATION_COLUMNS)
            | top & (c in TOP_DECILE_COLUMNS)
            for c in REGION_KPIS
        },
        index=table.index,
    )
    return kpi_table(
        table,
        REGION_KPIS,
        labels=["product name"],
        currency=currency,
        min_group_size=min_group_size,
        suppressed=withheld,
        caption=f"Customers of {region_name}, evaluation month",
        note=undefined_auc_note(table),
    )


def undefined_auc_note(table: pd.DataFrame) -> str:
    """Why a shown row has no AUC or lift: nobody (or everybody) among the evaluated bought.

    ``table``: :func:`region_evaluation_table` with ``product name``; withheld rows are left
    out (their marker says why). Plain text (the table escapes its note).

    Examples
    --------
    >>> t = pd.DataFrame({"product name": ["Gold", "Fund", "Card"], "n": [65, 40, 12],
    ...                   "buyers": [0, 4, 12], "auc": [float("nan"), 0.7, float("nan")],
    ...                   "suppressed": [False, False, False]})
    >>> print(undefined_auc_note(t))
    AUC and lift are n/a for Gold (none of its 65 evaluated customers bought it: no buyer to rank) and Card (all 12 evaluated customers bought it: no non-buyer to rank against).
    """
    items = []
    withheld = table["suppressed"] if "suppressed" in table else pd.Series(False, table.index)
    for name, n, buyers, auc, small in zip(
        table["product name"], table["n"], table["buyers"], table["auc"], withheld, strict=True
    ):
        if bool(small) or not _missing(auc) or _missing(buyers) or _missing(n):
            continue
        count = format_value("evaluation_customers", n)
        if int(buyers) == 0:
            items.append(
                f"{name} (none of its {count} evaluated customers bought it: no buyer to rank)"
            )
        elif int(buyers) == int(n):
            items.append(
                f"{name} (all {count} evaluated customers bought it: no non-buyer to rank against)"
            )
    if not items:
        return ""
    listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"AUC and lift are n/a for {listed}."


def evaluation_metrics(
    bundle: PropensityBundle,
    bank_eval: pd.DataFrame,
    region_eval: pd.DataFrame,
    region_id: str,
    min_group_size: int,
) -> dict[str, Any]:
    """The evaluation KPIs the report records, keyed by KPI id.

    Returns
    -------
    dict
        Per modelled product ``<kpi>[product=<p>]`` for each of :data:`BANK_METRICS` (whole
        bank), ``model_auc[product=<p>,region=<region_id>]`` (the region's customers:
        :class:`~bankanalysis.report.format.Suppressed` for a small group,
        :class:`~bankanalysis.report.format.Absent` without buyers), and
        ``products_modelled``, ``products_without_model``, ``models_beating_baseline``, and
        the bootstrap bounds ``model_auc[product=<p>,bound=low]`` / ``bound=high`` (likewise
        ``top_decile_lift``) where they could be computed.
        A figure that cannot be computed is an ``Absent`` with its reason, never NaN.
    """
    out: dict[str, Any] = {}
    for row in bank_eval.itertuples():
        for col in BANK_METRICS:
            value = getattr(row, col)
            key = metric_key(EVALUATION_KPIS[col], product=row.product)
            out[key] = (
                Absent(f"not computable on the {row.buyers} buyers of {bundle.eval_period}")
                if _missing(value)
                else value
            )
        for col, kpi in INTERVAL_KPIS.items():
            for bound in ("low", "high"):
                value = getattr(row, f"{col}_{bound}")
                if not _missing(value):
                    out[metric_key(kpi, product=row.product, bound=bound)] = value
    for row in region_eval.itertuples():
        key = metric_key("model_auc", product=row.product, region=region_id)
        if row.suppressed:
            out[key] = Suppressed(min_group_size)
        elif _missing(row.auc):
            out[key] = Absent(f"no buyers among the region's customers in {bundle.eval_period}")
        else:
            out[key] = row.auc
    out["products_modelled"] = len(bundle.models)
    out["products_without_model"] = len(bundle.skipped)
    out["models_beating_baseline"] = (
        int((bank_eval["auc"] > bank_eval["baseline_auc"]).sum())
        if len(bank_eval)
        else Absent(no_model_reason(bundle))
    )
    return out


def skipped_products_text(bundle: PropensityBundle, product_names: Mapping[str, str]) -> str:
    """Markdown: the products without a model and why ("" when every product has one).

    Examples
    --------
    >>> from bankanalysis.propensity.training import TrainingSettings
    >>> b = PropensityBundle(TrainingSettings(), ["gold"], "2025-12", "2025-09", ["2025-06"],
    ...                      [], [], skipped={"gold": "too few buyers in training: 3 in 2025-06"})
    >>> print(skipped_products_text(b, {"gold": "Gold <bar>"}))
    **Products without a model:**
    <BLANKLINE>
    - Gold &lt;bar&gt;: too few buyers in training: 3 in 2025-06
    """
    if not bundle.skipped:
        return ""
    lines = [f"- {_e(_name(p, product_names))}: {_e(why)}" for p, why in bundle.skipped.items()]
    return "**Products without a model:**\n\n" + "\n".join(lines)


def evaluation_text(bank_eval: pd.DataFrame, bundle: PropensityBundle) -> str:
    """One Markdown sentence: how often and by how much the model beats the tier baseline.

    When no product has a model, the sentence says so (the reasons are
    :func:`skipped_products_text`).
    """
    if bank_eval.empty and bundle.no_model_reason:
        return (
            f"**No product has a model**: {_e(bundle.no_model_reason)}. This report has no "
            "evaluation, charts, offers or leads."
        )
    if bank_eval.empty:
        return (
            f"**No product has a model**: none of the {len(bundle.products)} cross-sell products "
            "had enough buyers to learn from and to evaluate (reasons below), so this report has "
            "no evaluation, charts, offers or leads."
        )
    better = int((bank_eval["auc"] > bank_eval["baseline_auc"]).sum())
    auc = format_value("model_auc", bank_eval["auc"].median())
    base = format_value("baseline_auc", bank_eval["baseline_auc"].median())
    capture = format_value("top_decile_capture", bank_eval["capture"].median())
    return (
        f"The model ranks better than the tier baseline for **{better} of {len(bank_eval)}** "
        f"products; median out-of-time AUC {auc} against {base} for the baseline, and the top "
        f"10% of customers by score hold on median {capture} of the buyers."
    )


# --------------------------------------------------------------------------- offers and leads


def offer_metrics(summary: Mapping[str, float], modelled: bool = True) -> dict[str, Any]:
    """The offer KPIs of :func:`~bankanalysis.propensity.leads.offer_summary`, keyed by KPI id.

    Parameters
    ----------
    summary : mapping
        :func:`~bankanalysis.propensity.leads.offer_summary`.
    modelled : bool
        Whether any product has a model; without one the expected sales cannot be computed
        and are absent (with the reason), not 0.

    Per-customer figures without customers are absent too, never NaN.
    """
    keys = (
        "customers",
        "products_per_customer",
        "leads",
        "expected_sales",
        "expected_new_products_per_customer",
        "expected_sales_all_offers",
    )
    expected = ("expected_sales", "expected_new_products_per_customer", "expected_sales_all_offers")
    out: dict[str, Any] = {}
    for k in keys:
        if not modelled and k in expected:
            out[k] = Absent("no product has a model")
        elif _missing(summary[k]):
            out[k] = Absent("no active customers")
        else:
            out[k] = summary[k]
    return out


def offer_summary_text(summary: Mapping[str, float], currency: str = DEFAULT_CURRENCY) -> str:
    """One Markdown paragraph on what working the leads should bring.

    Parameters
    ----------
    summary : mapping
        From :func:`~bankanalysis.propensity.leads.offer_summary`.

    Examples
    --------
    >>> s = {"customers": 1200, "products_per_customer": 2.5, "leads": 100,
    ...      "expected_sales": 12.4, "expected_new_products_per_customer": 0.0103,
    ...      "products_per_customer_after": 2.5103, "expected_sales_all_offers": 30.2}
    >>> print(offer_summary_text(s))
    1,200 active customers hold 2.50 products on average. Working the 100 leads should bring about **12 new products** (+0.01 products per customer); making every customer's top offer(s) would bring about 30.
    """

    def f(kpi: str, value: float) -> str:
        return format_value(kpi, value, currency)

    if not summary["leads"]:
        return (
            f"{f('customers', summary['customers'])} active customers hold "
            f"{f('products_per_customer', summary['products_per_customer'])} on average. "
            "There are no offers and no leads: no product has a model."
        )
    per_customer = format_change(
        "expected_new_products_per_customer", summary["expected_new_products_per_customer"]
    )
    return (
        f"{f('customers', summary['customers'])} active customers hold "
        f"{f('products_per_customer', summary['products_per_customer'])} on average. Working "
        f"the {f('leads', summary['leads'])} leads should bring about "
        f"**{f('expected_sales', summary['expected_sales'])} new products** ({per_customer} "
        "per customer); making every customer's top offer(s) would bring about "
        f"{f('expected_sales_all_offers', summary['expected_sales_all_offers'])}."
    )


def lead_product_summary(
    leads: pd.DataFrame, min_group_size: int, product_names: Mapping[str, str]
) -> pd.DataFrame:
    """Leads, mean probability and expected sales per product, small groups withheld.

    Parameters
    ----------
    leads : DataFrame
        The lead lists (``product``, ``customer_id``, ``probability``).
    min_group_size : int
        ``k`` of the disclosure rule: products with 1 to k-1 leads get NaN figures (the lead
        count included).
    product_names : mapping
        Product code -> display name.

    Returns
    -------
    DataFrame
        ``name, product, leads, mean_probability, expected_sales, suppressed``, one row per
        product with leads.
    """
    by_product = suppress_small_groups(leads_by_product(leads), "leads", min_group_size)
    by_product.insert(0, "name", [_name(p, product_names) for p in by_product["product"]])
    return by_product


def lead_product_table(by_product: pd.DataFrame, min_group_size: int) -> KpiTable:
    """:func:`lead_product_summary` as a KPI table (product names, no codes)."""
    return kpi_table(
        by_product,
        {
            "leads": "leads",
            "mean_probability": "lead_mean_probability",
            "expected_sales": "expected_sales",
        },
        labels=["name"],
        min_group_size=min_group_size,
    )


# --------------------------------------------------------------------------- sections


@dataclass
class Section:
    """What one section of the report shows (in order) and the KPIs it records.

    Attributes
    ----------
    parts : list
        Markdown text (``str``), :class:`~bankanalysis.report.tables.KpiTable` or matplotlib
        ``Figure``, in display order.
    metrics : dict
        ``{metrics key: value}`` (KPI ids; absent values as ``Absent``/``Suppressed``).
    """

    parts: list[Any] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def show(self, recorder: Any = None) -> None:
        """Record the metrics (when a recorder is given) and display the parts in a notebook."""
        from IPython.display import Markdown, display

        if recorder is not None and self.metrics:
            recorder.record_many(self.metrics)
        for part in self.parts:
            if isinstance(part, str):
                display(Markdown(part))
            elif hasattr(part, "savefig"):
                import matplotlib.pyplot as plt

                display(part)
                plt.close(part)
            else:
                display(part)


def product_names(products: pd.DataFrame) -> dict[str, str]:
    """Product code -> display name from the product catalogue.

    Examples
    --------
    >>> product_names(pd.DataFrame({"product": ["fund"], "name": ["基金"]}))
    {'fund': '基金'}
    """
    return dict(zip(products["product"].astype(str), products["name"].astype(str), strict=True))


def _frame_digest(frame: pd.DataFrame) -> str:
    """A digest of a frame's columns, rows and their order (the bootstrap follows the order)."""
    import hashlib

    h = hashlib.sha256(repr(list(frame.columns)).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()[:32]


def load_bank_evaluation(ctx: ReportContext, bundle: PropensityBundle) -> pd.DataFrame:
    """The bank's evaluation table with bootstrap intervals (:func:`evaluation_table` of every
    customer of the out-of-time sample, :data:`BOOTSTRAP_RESAMPLES` resamples), computed once.

    Every region's report shows the same bank-wide table (0.5 s of bootstrap on the
    137,000-row sample of a 24,000-customer bank, more as the sample grows towards
    ``max_eval_rows``), so it is stored under ``<processed>/_models/bank_evaluation`` per data,
    evaluation sample (a digest of ``bundle.evaluation``), interval parameters and package
    source by :func:`~bankanalysis.propensity.cache.cached_for_data`, and read back by the
    other reports. Without a data fingerprint it is computed, not stored.
    """
    from bankanalysis.propensity.cache import cached_for_data

    ev = bundle.evaluation
    digest = "" if ev is None else _frame_digest(ev)
    seed = bundle.settings.random_state
    params = {
        "what": "bank evaluation",
        "evaluation": digest,
        "rows": 0 if ev is None else len(ev),
        "n_boot": BOOTSTRAP_RESAMPLES,
        "level": INTERVAL_LEVEL,
        "random_state": seed,
    }

    def build() -> pd.DataFrame:
        return evaluation_table(
            ev, n_boot=BOOTSTRAP_RESAMPLES, level=INTERVAL_LEVEL, random_state=seed
        )

    return cached_for_data(getattr(ctx, "bank", None), "bank_evaluation", params, build)[0]


def evaluation_section(
    bundle: PropensityBundle, ctx: ReportContext, names: Mapping[str, str]
) -> Section:
    """How good are the models: the verdict, products without a model, the bank's and the
    region's figures per product, and their KPIs."""
    bank_eval = load_bank_evaluation(ctx, bundle)
    region_eval = region_evaluation_table(bundle.evaluation, str(ctx.region_id), ctx.min_group_size)
    parts: list[Any] = [evaluation_text(bank_eval, bundle)]
    skipped = skipped_products_text(bundle, names)
    if skipped:
        parts.append(skipped)
    if not bank_eval.empty:
        parts.append(bank_evaluation_table(bank_eval, names, ctx.currency))
        wide = interval_text(bank_eval, bundle, names)
        if wide:
            parts.append(wide)
        parts.append(
            region_evaluation(region_eval, names, ctx.region_name, ctx.min_group_size, ctx.currency)
        )
    metrics = evaluation_metrics(
        bundle, bank_eval, region_eval, str(ctx.region_id), ctx.min_group_size
    )
    return Section(parts, metrics)


_NO_MODEL = (
    "No product has a model, so there is no {what} (see the products without a model above)."
)


def gains_section(
    bundle: PropensityBundle, ctx: ReportContext, min_buyers: int, names: Mapping[str, str]
) -> Section:
    """The cumulative-gains chart (region's customers where they hold ``min_buyers`` buyers)."""
    gains = gains_plot_data(bundle.evaluation, ctx.region_id, min_buyers, names)
    fig = gains_figure(gains, bundle.eval_month)
    if fig is None:
        return Section([_NO_MODEL.format(what="gains chart")])
    return Section([fig, gains_sentence(gains)])


def calibration_section(
    bundle: PropensityBundle, ctx: ReportContext, min_buyers: int, names: Mapping[str, str]
) -> Section:
    """The calibration chart; bins with fewer than ``min_group_size`` customers left out."""
    calib = calibration_plot_data(
        bundle.evaluation, ctx.region_id, min_buyers, ctx.min_group_size, names
    )
    fig = calibration_figure(calib, bundle.eval_month)
    if fig is not None:
        return Section([fig, calibration_sentence(calib)])
    if not bundle.models:
        return Section([_NO_MODEL.format(what="calibration chart")])
    return Section(["No calibration bin holds enough customers to show."])


def offers_section(
    summary: Mapping[str, float],
    leads: pd.DataFrame,
    ctx: ReportContext,
    bundle: PropensityBundle,
    names: Mapping[str, str],
) -> Section:
    """What working the leads should bring: the sentence, leads per product and the chart.

    Parameters
    ----------
    summary : mapping
        :func:`~bankanalysis.propensity.leads.offer_summary`.
    leads : DataFrame
        The region's lead lists.
    """
    parts: list[Any] = [offer_summary_text(summary, ctx.currency)]
    by_product = lead_product_summary(leads, ctx.min_group_size, names)
    if not by_product.empty:
        parts.append(lead_product_table(by_product, ctx.min_group_size))
        fig = expected_sales_figure(by_product, bundle.data_month)
        if fig is not None:
            parts.append(fig)
    return Section(parts, offer_metrics(summary, modelled=bool(bundle.models)))
