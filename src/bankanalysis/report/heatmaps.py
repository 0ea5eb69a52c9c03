"""What the matrix charts show: migration as row shares, cross-holding for the top products,
the reader's region picked out of bank-wide charts.

Pure functions prepare the numbers (row shares, colour limits, which products to keep, which
colour each region gets); the chart functions of :mod:`bankanalysis.report.plots` draw them.
Diagonals (customers who stayed in their tier, holders of a product "also holding" it) are
drawn in grey with their value and left out of the colour scale, so the moves off the
diagonal, a few percent each, are not washed out by a 90 % diagonal.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bankanalysis.rules.disclosure import suppressed_marker

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DIAGONAL_COLOUR",
    "HIGHLIGHT_COLOUR",
    "OTHER_COLOUR",
    "cross_holding_heatmap",
    "diagonal_mask",
    "highlight_colours",
    "highlighted_lines",
    "migration_heatmap",
    "migration_row_totals",
    "off_diagonal_vmax",
    "pivot_lines",
    "row_shares",
    "top_cross_holding",
]

logger = logging.getLogger(__name__)

#: Fill of the de-emphasised diagonal cells.
DIAGONAL_COLOUR = "#e6e6e6"
#: The reader's region in bank-wide charts, and every other region.
HIGHLIGHT_COLOUR = "#08519c"
OTHER_COLOUR = "#bdbdbd"
#: Annotation size in matrix charts (points; the old cross-holding chart used 7).
ANNOTATION_PT = 10


def diagonal_mask(matrix: pd.DataFrame) -> np.ndarray:
    """True where the row label equals the column label (stayed in the tier, same product).

    Examples
    --------
    >>> m = pd.DataFrame(0, index=["new", "Mass", "VIP"], columns=["Mass", "VIP", "closed"])
    >>> diagonal_mask(m).astype(int).tolist()
    [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    """
    rows = np.asarray([str(r) for r in matrix.index], dtype=object)[:, None]
    cols = np.asarray([str(c) for c in matrix.columns], dtype=object)[None, :]
    return np.asarray(rows == cols, dtype=bool).reshape(len(rows), cols.shape[1])


def row_shares(counts: pd.DataFrame, totals: pd.Series | None = None) -> pd.DataFrame:
    """Each cell as a share of its row (where the row's customers went), withheld cells kept NaN.

    Parameters
    ----------
    counts : DataFrame
        Customer counts; withheld small cells NaN.
    totals : Series, optional
        True row totals (including withheld cells); default the sum of the shown cells, so the
        shown shares of a row add up to 100 %.

    Returns
    -------
    DataFrame
        Shares (0-1); a row without customers is NaN.

    Examples
    --------
    >>> c = pd.DataFrame({"a": [90.0, 0.0], "b": [10.0, np.nan]}, index=["a", "b"])
    >>> row_shares(c).round(2).to_dict("list")
    {'a': [0.9, nan], 'b': [0.1, nan]}
    """
    total = counts.sum(axis=1, min_count=1) if totals is None else totals.reindex(counts.index)
    total = total.astype("float64").where(total > 0)
    return counts.astype("float64").div(total, axis=0)


def migration_row_totals(flows: pd.DataFrame) -> pd.Series:
    """The true total of each row of the migration chart, withheld cells included.

    A tier's row total is its ``customers_from`` of the (protected) tier-flow table; the
    ``new`` row's is the sum of ``new_in`` over the tiers. A total that is withheld (a marker
    rather than a number), or a ``new`` total with a withheld part, is NaN: that row's shares
    are not known and are not drawn, rather than computed from the cells left shown.

    Parameters
    ----------
    flows : DataFrame
        :func:`~bankanalysis.segmentation.migration.tier_flows`, as
        :func:`~bankanalysis.report.disclosure.protect_migration` publishes it (``mig.flows``).

    Returns
    -------
    Series
        Row total by row label (:func:`~bankanalysis.rules.tiers.tier_label`), ``new`` first.

    Examples
    --------
    >>> f = pd.DataFrame({"tier": ["mass", "vip"], "customers_from": [1005, 500],
    ...                   "new_in": [40, 10]})
    >>> migration_row_totals(f).to_dict()
    {'new': 50.0, 'Mass': 1005.0, 'VIP': 500.0}
    """
    from bankanalysis.report.format import as_float
    from bankanalysis.rules.tiers import tier_label

    new = [as_float(v) for v in flows["new_in"]]
    out = {"new": float(np.sum(new)) if not np.isnan(new).any() else np.nan}
    for tier, n in zip(flows["tier"], flows["customers_from"], strict=True):
        out[tier_label(str(tier))] = as_float(n)
    return pd.Series(out, dtype="float64")


def off_diagonal_vmax(shares: pd.DataFrame, floor: float = 0.01) -> float:
    """Top of the colour scale: the largest share off the diagonal (at least ``floor``).

    Examples
    --------
    >>> s = pd.DataFrame([[0.95, 0.05], [0.12, 0.88]], index=["a", "b"], columns=["a", "b"])
    >>> off_diagonal_vmax(s)
    0.12
    """
    values = shares.to_numpy(dtype="float64")[~diagonal_mask(shares)]
    values = values[np.isfinite(values)]
    return float(max(values.max(), floor)) if values.size else 1.0


def top_cross_holding(cross: pd.DataFrame, n: int = 10) -> tuple[pd.DataFrame, list[str]]:
    """The ``n`` products most held alongside the others, and the names left out.

    Products are ranked by the mean share of the other products' holders who also hold them
    (the column mean off the diagonal, withheld rows skipped): the products a relationship
    manager can cross-sell onto most of the book. Rows and columns keep the same products.

    Examples
    --------
    >>> cross = pd.DataFrame([[1, .8, .1], [.6, 1, .2], [.5, .9, 1]],
    ...                      index=list("abc"), columns=list("abc"))
    >>> top, rest = top_cross_holding(cross, 2)
    >>> list(top.index), list(top.columns), rest
    (['a', 'b'], ['a', 'b'], ['c'])
    """
    if len(cross.columns) <= n:
        return cross, []
    off = cross.astype("float64").mask(diagonal_mask(cross))
    order = off.mean(axis=0, skipna=True).fillna(-1).sort_values(ascending=False, kind="stable")
    keep = [c for c in cross.columns if c in set(order.index[:n])]
    rest = [c for c in order.index[n:]]
    rows = [r for r in cross.index if r in keep]
    return cross.loc[rows, keep], [str(r) for r in rest]


def highlight_colours(groups: Iterable[Any], highlight: Any = None) -> dict[Any, str]:
    """Colour per group of a bank-wide chart: the reader's region dark, the others grey.

    Examples
    --------
    >>> highlight_colours(["North", "South"], "South")
    {'North': '#bdbdbd', 'South': '#08519c'}
    """
    return {g: HIGHLIGHT_COLOUR if g == highlight else OTHER_COLOUR for g in groups}


def _annotations(
    shares: pd.DataFrame, withheld: np.ndarray, k: int | None, markers: Any = None
) -> np.ndarray:
    text = np.full(shares.shape, "", dtype=object)
    values = shares.to_numpy(dtype="float64")
    for i, j in np.ndindex(shares.shape):
        if withheld[i, j]:
            text[i, j] = (markers[i][j] if markers is not None else "") or suppressed_marker(k)
        elif np.isfinite(values[i, j]):
            v = values[i, j] * 100
            text[i, j] = f"{v:.0f}%" if v >= 10 or v == 0 else f"{v:.1f}%"
    return text


def _draw(
    shares: pd.DataFrame,
    withheld: np.ndarray,
    ax: Any,
    cmap: str,
    cbar_label: str,
    k: int | None,
    markers: Any = None,
) -> None:
    """Off-diagonal cells on a colour scale set by themselves; diagonal and withheld in grey."""
    import seaborn as sns
    from matplotlib.colors import ListedColormap
    from matplotlib.ticker import PercentFormatter

    if shares.empty:
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    diag = diagonal_mask(shares)
    text = _annotations(shares, withheld, k, markers)
    vmax = off_diagonal_vmax(shares)
    grey = ListedColormap([DIAGONAL_COLOUR])
    filler = shares.fillna(0.0)
    sns.heatmap(
        filler,
        mask=~(diag | withheld),
        cmap=grey,
        cbar=False,
        annot=text,
        fmt="",
        annot_kws={"fontsize": ANNOTATION_PT, "color": "#555555", "fontstyle": "italic"},
        linewidths=0.5,
        linecolor="white",
        ax=ax,
    )
    sns.heatmap(
        shares,
        mask=diag | withheld | shares.isna().to_numpy(),
        cmap=cmap,
        vmin=0,
        vmax=vmax,
        annot=text,
        fmt="",
        annot_kws={"fontsize": ANNOTATION_PT},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": cbar_label, "format": PercentFormatter(1.0, decimals=0)},
        ax=ax,
    )
    ax.grid(False)
    ax.tick_params(axis="x", rotation=30)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.tick_params(axis="y", rotation=0)


def migration_heatmap(
    counts: pd.DataFrame,
    t0: str,
    month: str,
    *,
    totals: pd.Series | None = None,
    min_group_size: int | None = None,
) -> Figure:
    """Tier migration as row shares: where each starting state's customers went.

    Parameters
    ----------
    counts : DataFrame
        Customers by state at ``t0`` (rows) and at ``month`` (columns), labelled; withheld
        small cells NaN (:func:`bankanalysis.report.segmentation.shown_matrix`).
    t0, month : str
        Start and end month.
    totals : Series, optional
        True row totals, withheld cells included (:func:`migration_row_totals` of the
        protected tier flows); a row whose total is NaN is not drawn. Without it, the shown
        cells' sum (the shares of a row with a withheld cell are then overstated).
    min_group_size : int, optional
        The disclosure threshold, for the marker of withheld cells (``counts.attrs["markers"]``,
        one text per cell by position as :func:`~bankanalysis.report.disclosure.protect_migration`
        sets it, names a cell withheld otherwise, e.g. ``"withheld"`` for the fail-safe).
    """
    import matplotlib.pyplot as plt

    shares = row_shares(counts, totals)
    withheld = counts.isna().to_numpy(dtype=bool)
    n_rows, n_cols = counts.shape
    fig, ax = plt.subplots(figsize=(max(6.5, 1.25 * n_cols + 2.5), max(3.5, 0.65 * n_rows + 1.8)))
    label = "share of the starting state's customers"
    _draw(shares, withheld, ax, "Blues", label, min_group_size, counts.attrs.get("markers"))
    ax.set_title(
        f"Tier migration {t0} -> {month}: where each tier's customers went\n"
        "(share of the row; grey diagonal = stayed, colour scale set by the moves)"
    )
    ax.set_xlabel(f"state at {month}")
    ax.set_ylabel(f"state at {t0}")
    fig.tight_layout()
    return fig


def cross_holding_heatmap(cross: pd.DataFrame, month: str, top: int = 10) -> Figure:
    """Cross-holding for the ``top`` products most held alongside others; the rest named below.

    Parameters
    ----------
    cross : DataFrame
        Share of the row product's holders also holding the column's (rows of small holder
        groups withheld as NaN), products by name.
    month : str
        Month for the title.
    top : int
        Products kept (rows and columns).
    """
    import matplotlib.pyplot as plt

    shown, rest = top_cross_holding(cross, top)
    withheld = shown.isna().to_numpy(dtype=bool)  # rows of small holder groups
    n = max(len(shown.columns), 1)
    fig, ax = plt.subplots(figsize=(max(7.0, 0.85 * n + 3), max(5.0, 0.6 * len(shown) + 2.2)))
    _draw(shown, withheld, ax, "Greens", "share also holding the column's product", None)
    scope = f"the {len(shown.columns)} products most held alongside others" if rest else ""
    ax.set_title(
        "Cross-holding: holders of the row's product who also hold the column's, "
        f"{month}" + (f"\n({scope}, of {len(cross.columns)})" if scope else "")
    )
    ax.set_xlabel("also holds")
    ax.set_ylabel("holds")
    if rest:
        fig.text(0.01, 0.005, "Not shown: " + ", ".join(rest), fontsize=9, color="#555555")
    fig.tight_layout(rect=(0, 0.03 if rest else 0, 1, 1))
    return fig


def pivot_lines(
    data: pd.DataFrame, value: str, group: str = "group", x: str = "month"
) -> pd.DataFrame:
    """``x`` (sorted) x ``group`` table of ``value`` for drawing one line per group.

    Examples
    --------
    >>> d = pd.DataFrame({"month": ["m2", "m1", "m1"], "group": ["a", "a", "b"], "v": [2, 1, 3]})
    >>> pivot_lines(d, "v").to_dict("list")
    {'a': [1.0, 2.0], 'b': [3.0, nan]}
    """
    table = data.pivot_table(index=x, columns=group, values=value, aggfunc="first", sort=True)
    table.columns.name = None
    return table.astype("float64")


def highlighted_lines(
    ax: Any, table: pd.DataFrame, highlight: Any = None, labels: Mapping[Any, str] | None = None
) -> None:
    """Draw one line per column of ``table``; the ``highlight`` column thick and dark on top.

    Without a highlight every line keeps the default colour cycle and its own legend entry (a
    bank-level report); with one, the legend names the highlighted line and "other regions".
    """
    colours = highlight_colours(table.columns, highlight) if highlight is not None else {}
    xs = np.arange(len(table.index))
    others_labelled = False
    for col in table.columns:
        mine = highlight is not None and col == highlight
        label = (labels or {}).get(col, str(col))
        if highlight is not None and not mine:  # one legend entry for all the other regions
            label = "_nolegend_" if others_labelled else "other regions"
            others_labelled = True
        ax.plot(
            xs,
            table[col].to_numpy(),
            marker="o" if mine else None,
            lw=2.8 if mine else 1.0,
            color=colours.get(col),
            zorder=3 if mine else 2,
            label=label,
        )
    ax.set_xticks(xs, [str(i) for i in table.index])
