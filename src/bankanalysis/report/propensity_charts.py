"""Charts of notebook 02 (cross-sell propensity): chart data and figures.

Each ``*_figure`` function draws one chart with pyplot and returns its ``Figure`` (``None`` when
there is nothing to draw); :class:`bankanalysis.report.propensity.Section` displays and closes
it. Only notebook 02 draws these, so they live beside its report module rather than in the
shared :mod:`bankanalysis.report.plots`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from bankanalysis.propensity.evaluation import calibration_by_product, gains_by_product
from bankanalysis.report.format import kpi_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "calibration_figure",
    "calibration_plot_data",
    "expected_sales_figure",
    "expected_sales_plot_data",
    "gains_figure",
    "gains_plot_data",
]

logger = logging.getLogger(__name__)


def _name(product: str, product_names: Mapping[str, str]) -> str:
    return str(product_names.get(product, product))


def _label_scoped(df: pd.DataFrame, product_names: Mapping[str, str]) -> pd.DataFrame:
    """``product`` replaced by ``<name> (<scope>)`` (the product code when it has no name)."""
    out = df.copy()
    names = out["product"].map(lambda p: _name(p, product_names))
    out["product"] = names + " (" + out["scope"] + ")"
    return out


def gains_plot_data(
    evaluation: pd.DataFrame,
    region_id: str | None,
    min_buyers: int,
    product_names: Mapping[str, str],
) -> pd.DataFrame:
    """Cumulative gains per product for a faceted chart, products labelled ``name (scope)``.

    Parameters
    ----------
    evaluation : DataFrame
        ``PropensityBundle.evaluation``.
    region_id : str, optional
        Region whose customers are used when they include ``min_buyers`` buyers.
    min_buyers : int
        Fewer buyers in the region: the whole bank's customers (``scope`` says which).
    product_names : mapping
        Product code -> display name.

    Returns
    -------
    DataFrame
        As :func:`~bankanalysis.propensity.evaluation.gains_by_product`, ``product`` labelled.
    """
    gains = gains_by_product(evaluation, region_id=region_id, min_buyers=min_buyers)
    return _label_scoped(gains, product_names)


def calibration_plot_data(
    evaluation: pd.DataFrame,
    region_id: str | None,
    min_buyers: int,
    min_group_size: int,
    product_names: Mapping[str, str],
) -> pd.DataFrame:
    """Calibration bins per product for a faceted chart, small bins left out.

    Parameters
    ----------
    evaluation, region_id, min_buyers, product_names
        As for :func:`gains_plot_data`.
    min_group_size : int
        Bins with fewer customers are dropped.

    Returns
    -------
    DataFrame
        As :func:`~bankanalysis.propensity.evaluation.calibration_by_product`, ``product``
        labelled ``name (scope)``.
    """
    calib = calibration_by_product(evaluation, region_id=region_id, min_buyers=min_buyers)
    return _label_scoped(calib[calib["n"] >= min_group_size], product_names)


def _percent_axes(axes: Any) -> None:
    """Shares and probabilities (0-1) on both axes read in percent."""
    from bankanalysis.report.plots import percent_axis

    for ax in axes:
        percent_axis(ax.xaxis)
        percent_axis(ax.yaxis)


def _panels(data: pd.DataFrame, sharex: bool, sharey: bool) -> tuple[Figure, list[Any], list]:
    """One square panel per ``product`` of ``data`` (in the order they first appear), four to a
    row, each titled with the product: the layout seaborn's ``relplot(col="product",
    col_wrap=4)`` draws, built once with pyplot (the facet grid re-lays the figure out at every
    step: two thirds of the chart's time). Returns the figure, the axes and the products;
    ``data`` holds at least one product."""
    import matplotlib.pyplot as plt

    products = list(dict.fromkeys(data["product"].dropna()))
    ncols = min(4, len(products))
    nrows = -(-len(products) // ncols)
    fig, grid = plt.subplots(
        nrows,
        ncols,
        figsize=(2.6 * ncols, 2.6 * nrows),
        sharex=sharex,
        sharey=sharey,
        squeeze=False,
    )
    axes = list(grid.flat)
    for ax in axes[len(products) :]:
        fig.delaxes(ax)
    for ax, product in zip(axes, products, strict=False):
        ax.set_title(str(product))
    return fig, axes[: len(products)], products


def _product_lines(
    data: pd.DataFrame, x: str, y: str, sharex: bool, sharey: bool, **line_kw: Any
) -> tuple[Figure, list[Any]]:
    """One panel per product (:func:`_panels`), each a seaborn line of that product's rows of
    ``x`` against ``y`` drawn with ``line_kw``; the first panel alone keeps its legend (when
    the lines have one), for the caller to move beside the figure."""
    import seaborn as sns

    fig, axes, products = _panels(data, sharex=sharex, sharey=sharey)
    for ax, product in zip(axes, products, strict=True):
        sns.lineplot(
            data=data.loc[data["product"] == product],
            x=x,
            y=y,
            ax=ax,
            legend=ax is axes[0],
            **line_kw,
        )
    return fig, axes


def _finish_panels(fig: Figure, axes: list[Any], xlabel: str, ylabel: str, title: str) -> None:
    """The y label on the left panel of each row, the x label once under the figure (a label
    per column ran into its neighbour's), shares read in percent, then the layout and the
    title above it."""
    ncols = min(4, len(axes))
    for i, ax in enumerate(axes):
        ax.set_xlabel("")
        ax.set_ylabel(ylabel if i % ncols == 0 else "")
    fig.supxlabel(xlabel, fontsize="medium")
    _percent_axes(axes)
    fig.tight_layout()
    fig.suptitle(title, y=1.02)


def gains_figure(gains: pd.DataFrame, eval_month: str) -> Figure | None:
    """Cumulative gains of the model, the baseline and random contact, one panel per product.

    Returns
    -------
    Figure or None
        ``None`` when there is nothing to draw (no product has a model).
    """
    if gains.empty or gains["product"].isna().all():
        return None
    order = [r for r in ("model", "baseline", "random") if r in set(gains["ranking"])]
    order += [r for r in dict.fromkeys(gains["ranking"]) if r not in order]
    fig, axes = _product_lines(
        gains,
        "share_contacted",
        "share_of_buyers",
        sharex=True,
        sharey=True,
        hue="ranking",
        style="ranking",
        hue_order=order,
        style_order=order,
    )
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].get_legend().remove()
    fig.legend(
        handles,
        labels,
        title="ranking",
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
    )
    _finish_panels(
        fig,
        axes,
        "share of customers contacted (%)",
        "share of buyers reached (%)",
        f"Cumulative gains, out of time ({eval_month})",
    )
    return fig


def calibration_figure(calib: pd.DataFrame, eval_month: str) -> Figure | None:
    """Observed take-up rate against predicted probability per product, with the diagonal.

    Returns
    -------
    Figure or None
        ``None`` when no bin is large enough to show.
    """
    if calib.empty or calib["product"].isna().all():
        return None
    fig, axes = _product_lines(
        calib, "mean_predicted", "observed_rate", sharex=False, sharey=False, marker="o"
    )
    for ax in axes:
        lim = max(ax.get_xlim()[1], ax.get_ylim()[1])
        ax.plot([0, lim], [0, lim], color="grey", linestyle="--", linewidth=1)
    _finish_panels(
        fig,
        axes,
        "predicted probability (%)",
        "observed take-up rate (%)",
        f"Calibration, out of time ({eval_month})",
    )
    return fig


def expected_sales_plot_data(by_product: pd.DataFrame) -> pd.DataFrame:
    """The products of :func:`lead_product_summary` with figures, fewest expected sales first."""
    return by_product.dropna(subset=["expected_sales"]).sort_values("expected_sales")


def expected_sales_figure(by_product: pd.DataFrame, data_month: str) -> Figure | None:
    """Horizontal bars of the expected new products per product (withheld products left out).

    Returns
    -------
    Figure or None
        ``None`` when no product has figures to show.
    """
    plot = expected_sales_plot_data(by_product)
    if plot.empty:
        return None
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(7, 0.45 * len(plot) + 1.2))
    sns.barplot(data=plot, x="expected_sales", y="name", color=sns.color_palette()[0], ax=ax)
    ax.set_title(f"Expected new products from the lead lists, {data_month}")
    ax.set_xlabel(kpi_label("expected_sales"))
    ax.set_ylabel("")
    fig.tight_layout()
    return fig
