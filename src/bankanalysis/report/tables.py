"""Tables a manager reads: one style, one suppressed-cell marker, formats from the KPI dictionary.

:func:`kpi_table` is the one way a report shows KPI values in a table: columns are labelled in
words with their units (from the dictionary), every cell is formatted by
:func:`bankanalysis.report.format.format_value`, a withheld small group shows the disclosure
marker (``<10``), a figure that cannot be computed shows ``n/a``, and the table sits in a scroll
container with a sticky first column so a wide table is never cut off.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    NOT_AVAILABLE,
    format_value,
    is_missing,
    kpi_label,
)
from bankanalysis.rules.disclosure import SECONDARY_MARKER, suppressed_marker

__all__ = [
    "KpiTable",
    "kpi_table",
    "shown_withheld_by_marker",
    "shown_withheld_cells",
    "style_table",
    "table_frame",
]


def style_table(
    df: pd.DataFrame,
    precision: int = 3,
    thousands: str | None = ",",
    na_rep: str | None = None,
    formatter: Any = None,
) -> Any:
    """A pandas ``Styler`` that escapes cells, index and column labels (Styler does not).

    For tables of labels and plain numbers; KPI values go through :func:`kpi_table`.

    Examples
    --------
    >>> html_ = style_table(pd.DataFrame({"<b>": ["<i>x</i>"]}, index=["<s>"])).to_html()
    >>> "<i>" in html_ or "<b>" in html_ or "<s>" in html_
    False
    """
    na = html.escape(NOT_AVAILABLE if na_rep is None else na_rep)
    return (
        df.style.format(
            formatter, precision=precision, thousands=thousands, na_rep=na, escape="html"
        )
        .format_index(escape="html", axis=0)
        .format_index(escape="html", axis=1)
    )


def table_frame(
    df: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    labels: Sequence[str] = (),
    currency: str = DEFAULT_CURRENCY,
    min_group_size: int | None = None,
    suppressed: pd.Series | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The text a KPI table shows: label columns as they are, KPI columns formatted.

    Parameters
    ----------
    df : DataFrame
        One row per unit (outlet, region, tier ...).
    columns : mapping
        ``{column of df: KPI id}`` for the value columns, in display order.
    labels : sequence of str
        Columns shown first as text (names), in order.
    currency : str
        Currency of money columns (named in their headers, not in cells).
    min_group_size : int, optional
        ``k`` of the disclosure rule, for the marker of withheld cells.
    suppressed : Series or DataFrame of bool, optional
        Which rows (Series, aligned on ``df``'s index) or cells (DataFrame with the value
        columns) are withheld; default ``df["suppressed"]`` when that column exists. A withheld
        cell shows the marker, any other missing cell ``n/a``.

    Returns
    -------
    DataFrame
        Strings only, headers in words with units.

    Examples
    --------
    >>> df = pd.DataFrame({"tier": ["mass", "vip"], "n": [120, 4], "s": [0.8, None],
    ...                    "suppressed": [False, True]})
    >>> table_frame(df, {"n": "customers", "s": "customer_share"}, labels=["tier"],
    ...             min_group_size=10).to_dict("records")
    [{'tier': 'mass', 'Customers': '120', 'Share of customers (%)': '80.0%'}, {'tier': 'vip', 'Customers': '<10', 'Share of customers (%)': '<10'}]
    """
    if suppressed is None and "suppressed" in df.columns:
        suppressed = df["suppressed"].astype(bool)
    marker = suppressed_marker(min_group_size)
    out = pd.DataFrame(index=df.index)
    for col in labels:
        out[col] = df[col].map(lambda v: NOT_AVAILABLE if is_missing(v) else str(v))
    for col, kpi in columns.items():
        if isinstance(suppressed, pd.DataFrame):
            withheld = suppressed[col] if col in suppressed.columns else None
        else:
            withheld = suppressed
        cells = []
        for idx, value in df[col].items():
            if withheld is not None and bool(withheld.get(idx, False)):
                cells.append(marker)
            else:
                cells.append(format_value(kpi, value, currency, unit=False, with_reason=False))
        out[kpi_label(kpi, currency)] = cells
    return out


class KpiTable:
    """A formatted KPI table that renders as escaped HTML in a scroll container.

    Notebooks display it directly; :attr:`frame` holds the strings shown (for tests).
    """

    def __init__(self, frame: pd.DataFrame, caption: str = "", note: str = "") -> None:
        self.frame = frame
        self.caption = caption
        self.note = note

    def to_html(self) -> str:
        """The table as HTML: escaped cells, first column sticky, numbers right-aligned."""
        styler = (
            self.frame.style.hide(axis="index")
            .format(escape="html")
            .format_index(escape="html", axis=1)
            .set_table_attributes('class="kpi-table"')
        )
        if self.caption:
            styler = styler.set_caption(html.escape(self.caption))
        body = styler.to_html()
        note = f'<p class="table-note">{html.escape(self.note)}</p>' if self.note else ""
        return f'<div class="table-scroll">{body}</div>{note}'

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def kpi_table(
    df: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    labels: Sequence[str] = (),
    currency: str = DEFAULT_CURRENCY,
    min_group_size: int | None = None,
    suppressed: pd.Series | pd.DataFrame | None = None,
    caption: str = "",
    note: str = "",
) -> KpiTable:
    """A KPI table for a report (see :func:`table_frame` for the parameters)."""
    frame = table_frame(
        df,
        columns,
        labels=labels,
        currency=currency,
        min_group_size=min_group_size,
        suppressed=suppressed,
    )
    return KpiTable(frame, caption=caption, note=note)


def shown_withheld_by_marker(min_group_size: int | None, *shown: Any) -> dict[str, int]:
    """How many cells of the tables a report shows carry each disclosure marker: ``"small"``
    the ``<k`` of a group of 1 to ``k - 1`` customers, ``"x"`` the marker of money held mostly
    by one or two customers or of a secondary cell.

    For the appendix of a report whose tables withhold cells by the small-group rule rather
    than through :mod:`bankanalysis.report.disclosure`'s protections: the count is read from
    what is shown, so a report that withholds nothing says 0.

    Parameters
    ----------
    min_group_size : int or None
        ``k`` of the disclosure rule (the marker ``<k``).
    *shown
        :class:`KpiTable`, DataFrames of displayed strings, sections (anything with a
        ``parts`` list, e.g. :class:`bankanalysis.report.propensity.Section`), lists of
        those; anything else (text, figures) holds no table cell.

    Examples
    --------
    >>> t = KpiTable(pd.DataFrame({"a": ["<10", "12"], "b": ["x", "n/a"]}))
    >>> shown_withheld_by_marker(10, t, [t], "<10 in a sentence is no cell")
    {'small': 2, 'x': 2}
    """
    small, other = suppressed_marker(min_group_size), SECONDARY_MARKER
    out = {"small": 0, "x": 0}
    for item in shown:
        if isinstance(item, KpiTable):
            item = item.frame
        if isinstance(item, pd.DataFrame):
            out["small"] += int(item.isin([small]).to_numpy().sum())
            out["x"] += int(item.isin([other]).to_numpy().sum())
        elif isinstance(item, list | tuple) or isinstance(getattr(item, "parts", None), list):
            inner = item if isinstance(item, list | tuple) else item.parts
            for key, n in shown_withheld_by_marker(min_group_size, *inner).items():
                out[key] += n
    return out


def shown_withheld_cells(min_group_size: int | None, *shown: Any) -> int:
    """How many cells of the tables a report shows carry a disclosure marker (``<k`` or
    ``x``: :func:`shown_withheld_by_marker`).

    Examples
    --------
    >>> t = KpiTable(pd.DataFrame({"a": ["<10", "12"], "b": ["x", "n/a"]}))
    >>> shown_withheld_cells(10, t, [t], "<10 in a sentence is no cell")
    4
    """
    return sum(shown_withheld_by_marker(min_group_size, *shown).values())
