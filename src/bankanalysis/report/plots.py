"""One chart theme for every report, with a CJK-capable font so Chinese names render."""

from __future__ import annotations

import logging
import textwrap
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "PALETTE",
    "TIER_COLORS",
    "cjk_font_family",
    "plot_cross_holding",
    "plot_dea_scores",
    "plot_device_rates",
    "plot_echelon_bars",
    "plot_echelon_trends",
    "plot_league_scores",
    "plot_lorenz",
    "plot_migration_matrix",
    "plot_pipeline",
    "plot_products_per_customer",
    "plot_ma_gaps",
    "plot_productivity_trends",
    "plot_sales_by_family",
    "plot_segment_sizes",
    "plot_segment_traits",
    "plot_self_service",
    "plot_share_heatmap",
    "plot_tier_mix",
    "percent_axis",
    "percent_colorbar",
    "set_theme",
]

logger = logging.getLogger(__name__)

#: Font families known to carry Chinese glyphs, most preferred first.
CJK_CANDIDATES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)

PALETTE = "colorblind"
TIER_COLORS = {
    "mass": "#9ecae1",
    "quality": "#4292c6",
    "vip": "#08519c",
    "private_banking": "#08306b",
}


@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """Return the first installed CJK-capable font family, or ``None``."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in CJK_CANDIDATES:
        if cand in names:
            return cand
    return None


def _has_bold(family: str | None) -> bool:
    """Whether ``family`` (or DejaVu Sans when ``None``) has a bold face installed."""
    from matplotlib import font_manager

    name = family or "DejaVu Sans"
    return any(
        f.name == name and font_manager.weight_dict.get(f.weight, f.weight) >= 600
        if isinstance(font_manager.weight_dict.get(f.weight, f.weight), int)
        else f.name == name and str(f.weight).lower() in ("bold", "heavy", "black")
        for f in font_manager.fontManager.ttflist
    )


def set_theme(context: str = "notebook") -> None:
    """Apply the project's seaborn theme and a CJK font fallback.

    Parameters
    ----------
    context : str
        seaborn context (``"notebook"``, ``"talk"``, ...).
    """
    import matplotlib as mpl
    import pandas as pd
    import seaborn as sns

    sns.set_theme(context=context, style="whitegrid", palette=PALETTE)
    # Styler tables do not escape by default: a name like "<img onerror=...>" would run
    pd.set_option("styler.format.escape", "html")
    family = cjk_font_family()
    fonts = ["DejaVu Sans"]
    if family:
        fonts = [family, "DejaVu Sans"]
    else:
        logger.warning(
            "no CJK font found: Chinese names will not render (install fonts-wqy-microhei)"
        )
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = fonts + list(mpl.rcParams["font.sans-serif"])
    mpl.rcParams["axes.unicode_minus"] = False
    mpl.rcParams["figure.dpi"] = 96
    mpl.rcParams["savefig.dpi"] = 96
    mpl.rcParams["figure.figsize"] = (8.0, 4.5)
    # bold titles only where the font has a bold face (WenQuanYi Micro Hei has none, and
    # matplotlib would print a findfont warning into every report cell)
    mpl.rcParams["axes.titleweight"] = "bold" if _has_bold(family) else "normal"
    # deterministic SVG/PNG output: no timestamps in metadata, fixed hash salt
    mpl.rcParams["svg.hashsalt"] = "bankanalysis"
    mpl.rcParams["path.simplify"] = True
    # in a notebook: 2x PNG with alt text, legends outside the data (report.figures)
    from bankanalysis.report.figures import register_display

    register_display()


# --------------------------------------------------------------------------- shared helpers
# Each chart function draws one report chart with pyplot (so the notebook's inline backend
# shows it) and returns the Figure; titles and axis labels are the reports' own.


def percent_axis(axis: Any) -> None:
    """Show an axis of shares (0-1) in percent (``0.25`` -> ``25%``)."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0))


def percent_colorbar(ax: Any) -> None:
    """Show the colour bar of a heat map of shares (0-1) in percent."""
    from matplotlib.ticker import PercentFormatter

    collections = [c for c in ax.collections if getattr(c, "colorbar", None) is not None]
    for mesh in collections:
        mesh.colorbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))


# --------------------------------------------------------------------------- overview charts
# (notebook 00; plot_share_heatmap is shared by every notebook)


def plot_echelon_bars(echelons: pd.DataFrame, currency: str) -> Figure:
    """AUM per customer (thousands) and the outlet replacement rate by echelon, side by side.

    Parameters
    ----------
    echelons : DataFrame
        ``echelon_name, aum_per_customer, outlet_replacement_rate`` per echelon.
    currency : str
        Currency code for the axis label.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    sns.barplot(
        data=echelons,
        x="echelon_name",
        y=echelons["aum_per_customer"] / 1e3,
        ax=axes[0],
        color="#4292c6",
    )
    axes[0].set_title("AUM per customer by echelon")
    axes[0].set_ylabel(f"AUM per customer (thousand {currency})")
    sns.barplot(
        data=echelons, x="echelon_name", y="outlet_replacement_rate", ax=axes[1], color="#08519c"
    )
    axes[1].set_title("Outlet replacement rate by echelon")
    axes[1].set_ylabel("self-service share of outlet transactions (%)")
    percent_axis(axes[1].yaxis)
    for ax in axes:
        ax.set_xlabel("echelon")
        ax.tick_params(axis="x", rotation=15)
    fig.tight_layout()
    return fig


def plot_echelon_trends(trends: pd.DataFrame, currency: str) -> Figure:
    """AUM and new deposits (millions) by echelon, month by month.

    Parameters
    ----------
    trends : DataFrame
        ``month, echelon, aum, new_deposits`` (``monthly_trends`` output).
    currency : str
        Currency code for the axis labels.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    t = trends.assign(echelon=trends["echelon"].astype(str))
    dep = t.dropna(subset=["new_deposits"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    sns.lineplot(data=t, x="month", y=t["aum"] / 1e6, hue="echelon", marker="o", ax=axes[0])
    axes[0].set_title("AUM by echelon")
    axes[0].set_ylabel(f"AUM (million {currency})")
    sns.lineplot(
        data=dep, x="month", y=dep["new_deposits"] / 1e6, hue="echelon", marker="o", ax=axes[1]
    )
    axes[1].set_title("New deposits by echelon (change of the deposit balance)")
    axes[1].set_ylabel(f"new deposits (million {currency})")
    for ax in axes:
        ax.set_xlabel("month")
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig


def plot_share_heatmap(
    grid: pd.DataFrame,
    title: str,
    *,
    xlabel: str = "",
    ylabel: str = "",
    cbar_label: str = "share",
    cmap: str = "Blues",
    center: float | None = None,
    fmt: str = ".0%",
    vmax: float = 1.0,
    rotate_x: float = 0,
    rotate_y: float | None = None,
    width: float = 9,
    row_height: float = 0.45,
    pad: float = 2.0,
) -> Figure:
    """Annotated heat map of a grid of shares (rows x columns), one row per bar of height.

    Parameters
    ----------
    grid : DataFrame
        Values to colour; rows and columns labelled.
    title, xlabel, ylabel, cbar_label : str
        Texts of the chart.
    cmap : str
        Colour map. With ``center`` ``None`` the scale runs from 0 to ``vmax``.
    center : float, optional
        Value at the centre of a diverging colour map (e.g. 1.0 for attainment).
    fmt : str
        Format of the cell annotations.
    vmax : float
        Top of the colour scale (1 for shares, 100 for percentiles).
    rotate_x, rotate_y : float
        Rotation of the column and row labels (``rotate_y`` ``None``: seaborn's choice).
    width, row_height, pad : float
        Figure width, height per row and extra height for title and labels (inches).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(width, row_height * len(grid) + pad))
    scale = {"vmin": 0, "vmax": vmax} if center is None else {"center": center}
    sns.heatmap(
        grid, annot=True, fmt=fmt, cmap=cmap, cbar_kws={"label": cbar_label}, ax=ax, **scale
    )
    if fmt.endswith("%"):
        percent_colorbar(ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if rotate_x:
        ax.tick_params(axis="x", rotation=rotate_x)
    if rotate_y is not None:
        ax.tick_params(axis="y", rotation=rotate_y)
    fig.tight_layout()
    return fig


def plot_league_scores(league: pd.DataFrame) -> Figure:
    """Composite score of each region (0-1), coloured by echelon.

    Parameters
    ----------
    league : DataFrame
        ``region, echelon, league_score`` per region.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(8, 0.4 * len(league) + 1.5))
    data = league.assign(echelon=league["echelon"].astype(str))
    sns.barplot(data=data, y="region", x="league_score", hue="echelon", dodge=False, ax=ax)
    ax.set_title("Composite score within the echelon")
    ax.set_xlabel("composite score (mean percentile rank, 0-1)")
    ax.set_ylabel("region")
    ax.set_xlim(0, 1)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- benchmarking charts
# (notebook 03)


def plot_sales_by_family(sales: pd.DataFrame, month: str) -> Figure:
    """Stacked horizontal bars: product sales per outlet (rows) by family (columns)."""
    ax = sales.plot(kind="barh", stacked=True, figsize=(8, 0.45 * len(sales) + 1.5))
    ax.set_title(f"Product sales by family, {month}")
    ax.set_xlabel("new product holdings (count)")
    ax.set_ylabel("")
    ax.legend(title="family", bbox_to_anchor=(1.01, 1), loc="upper left")
    return ax.figure


def plot_productivity_trends(agg: pd.DataFrame) -> Figure:
    """Customers and products sold per staff FTE over the months, one line per ``level``."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = [
        ("customers_per_fte", "Customers per staff FTE", "customers per FTE"),
        ("sales_per_fte", "Products sold per staff FTE", "products sold per FTE"),
    ]
    for ax, (kpi, title, unit) in zip(axes, panels, strict=True):
        sns.lineplot(
            agg.dropna(subset=[kpi]),
            x="month",
            y=kpi,
            hue="level",
            style="level",
            markers=True,
            ax=ax,
        )
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.tick_params(axis="x", labelrotation=90)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_ma_gaps(now: pd.DataFrame, title: str, unit: str) -> Figure:
    """Each outlet's gap to its peers' moving average, red below and green at or above.

    Parameters
    ----------
    now : DataFrame
        ``outlet, gap, position`` (``moving_average_position`` output).
    title : str
        Chart title.
    unit : str
        Unit of the gap for the x axis label.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots()
    palette = {"below the peers' average": "#d62728", "at or above": "#2ca02c"}
    sns.barplot(now, x="gap", y="outlet", hue="position", dodge=False, palette=palette, ax=ax)
    ax.set_title(title)
    ax.set_xlabel(f"gap ({unit})")
    ax.set_ylabel("")
    ax.legend(title="")
    return fig


def plot_dea_scores(long: pd.DataFrame, title: str) -> Figure:
    """DEA efficiency measures per outlet (``outlet, measure, score``), 1 = frontier."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(9, 0.5 * long["outlet"].nunique() + 1.5))
    sns.barplot(long, x="score", y="outlet", hue="measure", ax=ax)
    ax.axvline(1.0, color="grey", lw=1)
    ax.legend(title="measure", bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_title(title)
    ax.set_xlabel("efficiency (1 = on the frontier)")
    ax.set_ylabel("")
    return fig


def plot_self_service(ss: pd.DataFrame, target: float, month: str) -> Figure:
    """Self-service sites per outlet by region against the target ratio.

    Parameters
    ----------
    ss : DataFrame
        ``region, ratio, group`` (``"this region"`` / ``"other regions"``).
    target : float
        The plan's ratio, drawn as a dashed line.
    month : str
        Month for the title.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots()
    palette = {"this region": "#08519c", "other regions": "#9ecae1"}
    sns.barplot(ss, x="ratio", y="region", hue="group", dodge=False, palette=palette, ax=ax)
    ax.axvline(target, color="#d62728", ls="--", label=f"target {target:g}:1")
    ax.set_title(f"Self-service banks per physical outlet, {month}")
    ax.set_xlabel("self-service sites per outlet")
    ax.set_ylabel("")
    ax.legend()
    return fig


def plot_device_rates(dev: pd.DataFrame, month: str) -> Figure:
    """Self-service device operating rate (0-1) per outlet (``outlet, device_operating_rate``)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots()
    sns.barplot(dev, x="device_operating_rate", y="outlet", color="#4292c6", ax=ax)
    ax.set_title(f"Self-service device operating rate by outlet, {month}")
    ax.set_xlabel("operating hours / available hours (%)")
    ax.set_ylabel("")
    ax.set_xlim(0, 1)
    percent_axis(ax.xaxis)
    return fig


# --------------------------------------------------------------------------- segmentation charts
# (notebook 01)


def plot_tier_mix(comp: pd.DataFrame, month: str) -> Figure:
    """Share of customers and of AUM by tier for the region, its echelon and the bank.

    Parameters
    ----------
    comp : DataFrame
        ``tier`` (labels), ``scope``, ``share``, ``aum_share``.
    month : str
        Month for the titles.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from bankanalysis.report.segmentation import TIER_ORDER

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = [("share", "Share of customers by tier"), ("aum_share", "Share of AUM by tier")]
    for ax, (col, title) in zip(axes, panels, strict=True):
        sns.barplot(comp, x="tier", y=col, hue="scope", order=list(TIER_ORDER), ax=ax)
        ax.set_title(f"{title}, {month}")
        ax.set_xlabel("")
        ax.set_ylabel("share (%)")
        percent_axis(ax.yaxis)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_lorenz(curve: pd.DataFrame, month: str) -> Figure:
    """Lorenz curves (``customer_share, aum_share`` per ``scope``) with the equality line.

    A scope the disclosure step withheld (``curve.attrs["note"]``, from
    :func:`~bankanalysis.report.segmentation.lorenz_comparison`) gets a legend entry saying so
    and the note under the chart: a missing line must not read as an oversight.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    note = str(curve.attrs.get("note", "") or "")
    fig, ax = plt.subplots(figsize=(6, 5))
    if len(curve):
        sns.lineplot(curve, x="customer_share", y="aum_share", hue="scope", ax=ax)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="equal AUM")
    for name in curve.attrs.get("withheld", ()):
        ax.plot([], [], linestyle="none", label=f"{name}: no curve (see below)")
    if note:
        fig.text(0.01, 0.01, textwrap.fill(note, 95), fontsize=7, va="bottom", ha="left")
        fig.subplots_adjust(bottom=0.25)
    ax.set_title(f"AUM concentration (Lorenz curve), {month}")
    ax.set_xlabel("customers, poorest first (%)")
    ax.set_ylabel("cumulative AUM share (%)")
    percent_axis(ax.xaxis)
    percent_axis(ax.yaxis)
    ax.legend(fontsize=8)
    return fig


def plot_migration_matrix(
    matrix: pd.DataFrame,
    t0: str,
    month: str,
    min_group_size: int | None = None,
    totals: pd.Series | None = None,
) -> Figure:
    """Tier migration ``t0`` -> ``month`` as row shares, diagonal de-emphasised.

    See :func:`bankanalysis.report.heatmaps.migration_heatmap` (``matrix``: counts, withheld
    cells NaN; ``totals``: the true row totals,
    :func:`~bankanalysis.report.heatmaps.migration_row_totals`).
    """
    from bankanalysis.report.heatmaps import migration_heatmap

    return migration_heatmap(matrix, t0, month, totals=totals, min_group_size=min_group_size)


def plot_pipeline(plot: pd.DataFrame, within: float, month: str) -> Figure:
    """Customers within ``within`` below a threshold per outlet, by target tier (labels)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from bankanalysis.rules.tiers import TIER_LABELS

    palette = {TIER_LABELS[t]: c for t, c in TIER_COLORS.items()}
    fig, ax = plt.subplots(figsize=(8, 0.35 * plot["outlet"].nunique() + 2))
    sns.barplot(plot, y="outlet", x="customers", hue="target tier", palette=palette, ax=ax)
    ax.set_title(f"Upgrade pipeline: customers within {within:.0%} below a threshold, {month}")
    ax.set_xlabel("customers")
    ax.set_ylabel("")
    return fig


def plot_segment_sizes(prof: pd.DataFrame, month: str) -> Figure:
    """Customers per behaviour segment (``segment, customers, tier``), coloured by tier."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from bankanalysis.rules.tiers import TIERS as DEFAULT_TIER_NAMES

    fig, ax = plt.subplots(figsize=(8, 0.35 * len(prof) + 1.5))
    sns.barplot(
        prof,
        y="segment",
        x="customers",
        hue="tier",
        hue_order=list(DEFAULT_TIER_NAMES),
        palette=TIER_COLORS,
        dodge=False,
        ax=ax,
    )
    ax.set_title(f"Behaviour segments by tier, {month}")
    ax.set_xlabel("customers")
    ax.set_ylabel("")
    ax.legend(title="tier", fontsize=8)
    return fig


def plot_segment_traits(z: pd.DataFrame, means: pd.DataFrame) -> Figure:
    """Heat map of segments' distance from the region average, annotated with their means."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(9, 0.4 * len(z) + 2))
    sns.heatmap(
        z,
        annot=means,
        fmt="",
        cmap="RdBu_r",
        center=0,
        cbar_kws={"label": "difference from region average (standard deviations)"},
        ax=ax,
    )
    ax.set_title("What sets each segment apart (cells: segment averages)")
    ax.set_xlabel("")
    ax.set_ylabel("")
    return fig


def plot_products_per_customer(ppc: pd.DataFrame, month: str) -> Figure:
    """Products per customer by tier label (``tier, products_per_customer``)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(7, 3.5))
    sns.barplot(ppc, x="tier", y="products_per_customer", color=TIER_COLORS["quality"], ax=ax)
    ax.set_title(f"Products per customer by tier, {month}")
    ax.set_xlabel("")
    ax.set_ylabel("products per customer")
    return fig


def plot_cross_holding(cross: pd.DataFrame, month: str, top: int = 10) -> Figure:
    """Cross-holding heat map of the ``top`` products most held alongside the others.

    See :func:`bankanalysis.report.heatmaps.cross_holding_heatmap`.
    """
    from bankanalysis.report.heatmaps import cross_holding_heatmap

    return cross_holding_heatmap(cross, month, top)
