"""One chart theme for every report, with a CJK-capable font so Chinese names render."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "PALETTE",
    "TIER_COLORS",
    "cjk_font_family",
    "plot_echelon_bars",
    "plot_echelon_trends",
    "plot_league_scores",
    "plot_share_heatmap",
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
    "private": "#08306b",
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


# --------------------------------------------------------------------------- report charts
# Each function draws one report chart with pyplot (so the notebook's inline backend shows
# it) and returns the Figure; titles and axis labels are the reports' own.


def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0))


def plot_echelon_bars(echelons: pd.DataFrame, currency: str) -> Figure:
    """AUM per customer (thousands) and e-channel share by echelon, side by side.

    Parameters
    ----------
    echelons : DataFrame
        ``echelon_name, aum_per_customer, e_channel_share`` per echelon.
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
    sns.barplot(data=echelons, x="echelon_name", y="e_channel_share", ax=axes[1], color="#08519c")
    axes[1].set_title("E-channel replacement by echelon")
    axes[1].set_ylabel("share of transactions outside the counter")
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
    rotate_x: float = 0,
    width: float = 9,
    row_height: float = 0.45,
) -> Figure:
    """Annotated heat map of a grid of shares (rows x columns), one row per bar of height.

    Parameters
    ----------
    grid : DataFrame
        Values to colour; rows and columns labelled.
    title, xlabel, ylabel, cbar_label : str
        Texts of the chart.
    cmap : str
        Colour map. With ``center`` ``None`` the scale runs from 0 to 1.
    center : float, optional
        Value at the centre of a diverging colour map (e.g. 1.0 for attainment).
    fmt : str
        Format of the cell annotations.
    rotate_x : float
        Rotation of the column labels.
    width, row_height : float
        Figure width and height per row (inches).
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(width, row_height * len(grid) + 2))
    scale = {"vmin": 0, "vmax": 1} if center is None else {"center": center}
    sns.heatmap(
        grid, annot=True, fmt=fmt, cmap=cmap, cbar_kws={"label": cbar_label}, ax=ax, **scale
    )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if rotate_x:
        ax.tick_params(axis="x", rotation=rotate_x)
    fig.tight_layout()
    return fig


def plot_league_scores(league: pd.DataFrame) -> Figure:
    """Composite score of each region (0-1), coloured by echelon.

    Parameters
    ----------
    league : DataFrame
        ``region, echelon, score`` per region.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(8, 0.4 * len(league) + 1.5))
    data = league.assign(echelon=league["echelon"].astype(str))
    sns.barplot(data=data, y="region", x="score", hue="echelon", dodge=False, ax=ax)
    ax.set_title("Composite score within the echelon")
    ax.set_xlabel("composite score (mean percentile rank, 0-1)")
    ax.set_ylabel("region")
    ax.set_xlim(0, 1)
    fig.tight_layout()
    return fig
