"""How report charts are rendered: 2x PNG, alt text from the chart, legends outside the data.

Every Figure a report displays (``plt.show()``, ``display(fig)``, :func:`show_figure`) goes
through :func:`figure_png` once :func:`register_display` has run (``plots.set_theme`` calls it):

- the PNG is drawn at :data:`RESOLUTION` times the figure's dpi and displayed at its normal size
  (``width``/``height`` metadata), so it is sharp on high-resolution screens;
- its ``alt`` text is the chart's own title and key numbers (:func:`chart_alt`), or the text set
  with :func:`set_alt`; the HTML exporter writes it into the ``<img>``;
- legends sit outside the plotting area (:func:`place_legends_outside`), and a legend repeated
  on side-by-side panels is shown once.
"""

from __future__ import annotations

import base64
import io
import logging
import math
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

__all__ = [
    "RESOLUTION",
    "chart_alt",
    "figure_png",
    "place_legends_outside",
    "register_display",
    "set_alt",
    "show_figure",
]

logger = logging.getLogger(__name__)

#: Pixels drawn per displayed pixel (2 = sharp on high-resolution screens).
RESOLUTION = 2
#: Longest alt text (screen readers read it in one go).
MAX_ALT = 500
_ALT_ATTR = "_bankanalysis_alt"


# --------------------------------------------------------------------------- alt text


def set_alt(fig: Figure, text: str) -> Figure:
    """Give a chart its own alt text (instead of the one :func:`chart_alt` builds)."""
    setattr(fig, _ALT_ATTR, " ".join(str(text).split()))
    return fig


def _is_colorbar(ax: Axes) -> bool:
    return ax.get_label() == "<colorbar>"


def format_number(value: float, percent_of: float | None = None) -> str:
    """A number for alt text: percent when the axis shows shares, else 3-4 significant digits.

    Examples
    --------
    >>> format_number(0.257, percent_of=1.0), format_number(25000.0), format_number(2.5)
    ('25.7%', '25,000', '2.5')
    >>> format_number(-0.0), format_number(12.34), format_number(433.0)
    ('0', '12.3', '433')
    """
    if percent_of:
        return f"{value / percent_of * 100:.1f}%"
    if value == 0:
        return "0"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _axis_number(axis: Axis, value: float) -> str:
    from matplotlib.ticker import PercentFormatter

    fmt = axis.get_major_formatter()
    return format_number(value, fmt.xmax if isinstance(fmt, PercentFormatter) else None)


def _tick_label(labels: list[Any], positions: list[float], at: float) -> str:
    """The tick label nearest to position ``at`` (bars sit on their category's tick)."""
    if not labels:
        return ""
    i = min(range(len(positions)), key=lambda k: abs(positions[k] - at))
    return labels[i].get_text() if abs(positions[i] - at) < 0.5 else ""


def _bar_points(ax: Axes) -> tuple[list[tuple[str, float]], Axis]:
    """(label, value) of every drawn bar and the axis its values are read on."""
    from matplotlib.container import BarContainer

    points: list[tuple[str, float]] = []
    value_axis = ax.yaxis
    for cont in ax.containers:
        if not isinstance(cont, BarContainer):
            continue
        horizontal = getattr(cont, "orientation", None) == "horizontal"
        value_axis = ax.xaxis if horizontal else ax.yaxis
        cat_axis = ax.yaxis if horizontal else ax.xaxis
        ticks = list(cat_axis.get_majorticklocs())
        labels = list(cat_axis.get_majorticklabels())
        hue = cont.get_label() or ""
        hue = "" if hue.startswith("_") else hue
        for patch in cont.patches:
            value = patch.get_width() if horizontal else patch.get_height()
            if value is None or not math.isfinite(value):
                continue
            centre = (
                patch.get_y() + patch.get_height() / 2
                if horizontal
                else patch.get_x() + patch.get_width() / 2
            )
            name = _tick_label(labels, ticks, centre)
            label = " ".join(p for p in (name, f"({hue})" if hue and name else hue) if p)
            points.append((label or "a bar", float(value)))
    return points, value_axis


def _last_finite(line: Any) -> float | None:
    import numpy as np

    y = np.asarray(line.get_ydata(), dtype=float)
    finite = y[np.isfinite(y)]
    return float(finite[-1]) if finite.size else None


def _line_points(ax: Axes) -> list[tuple[str, float]]:
    """(name, last finite value) of every data line, named by its label or its legend entry.

    Vertical reference lines (one x) are left out; seaborn's unlabelled lines are named by
    the legend entry of the same colour and style.
    """
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D

    lines = [
        ln
        for ln in ax.get_lines()
        if len(ln.get_xdata())
        and len({str(x) for x in ln.get_xdata()}) > 1
        or len(ln.get_xdata()) == 1
    ]
    out: list[tuple[str, float]] = []
    unnamed = []
    for ln in lines:
        label = str(ln.get_label())
        value = _last_finite(ln)
        if value is None:
            continue
        if label.startswith("_"):
            unnamed.append((ln, value))
        else:
            out.append((label, value))
    leg = ax.get_legend()
    if leg is not None and unnamed:
        for handle, text in zip(leg.legend_handles, leg.get_texts(), strict=False):
            if not isinstance(handle, Line2D):
                continue
            for ln, value in unnamed:
                if to_rgba(ln.get_color()) == to_rgba(handle.get_color()) and (
                    ln.get_linestyle() == handle.get_linestyle()
                ):
                    out.append((text.get_text(), value))
                    break
    return out


def _heatmap_range(ax: Axes) -> str:
    """Lowest and highest cell of a heat map, with their row and column labels."""
    import numpy as np
    from matplotlib.collections import QuadMesh

    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    if not meshes:
        return ""
    arr = np.ma.masked_invalid(np.ma.asarray(meshes[0].get_array(), dtype=float))
    if arr.count() == 0:
        return ""
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    grid = arr.reshape(len(rows), -1) if rows and arr.size % len(rows) == 0 else None
    percent = 1.0 if any(t.get_text().endswith("%") for t in ax.texts) else None

    def cell(flat_index: int) -> str:
        value = format_number(float(arr.ravel()[flat_index]), percent)
        if grid is None or len(cols) != grid.shape[1]:
            return value
        r, c = divmod(flat_index, grid.shape[1])
        return f"{rows[r]} / {cols[c]} {value}"

    return (
        f"lowest cell {cell(int(np.ma.argmin(arr.ravel())))}, "
        f"highest {cell(int(np.ma.argmax(arr.ravel())))}"
    )


def _axes_alt(ax: Axes) -> str:
    title = ax.get_title() or ax.get_ylabel() or ax.get_xlabel()
    facts: list[str] = []
    bars, value_axis = _bar_points(ax)
    if bars:
        hi = max(bars, key=lambda p: p[1])
        lo = min(bars, key=lambda p: p[1])
        facts.append(f"highest {hi[0]} {_axis_number(value_axis, hi[1])}")
        if len(bars) > 1:
            facts.append(f"lowest {lo[0]} {_axis_number(value_axis, lo[1])}")
    lines = _line_points(ax)
    if lines:
        facts.append(
            "latest values: "
            + ", ".join(f"{name} {_axis_number(ax.yaxis, v)}" for name, v in lines[:6])
        )
    heat = _heatmap_range(ax)
    if heat:
        facts.append(heat)
    if not facts:
        return title
    return f"{title}: {'; '.join(facts)}" if title else "; ".join(facts)


def chart_alt(fig: Figure) -> str:
    """Alt text of a chart: its title(s) and key numbers (highest, lowest, latest values).

    The text given with :func:`set_alt` wins. Each panel contributes its title and, for bars,
    the highest and lowest bar; for lines, each line's latest value; for heat maps, the lowest
    and highest cell, all formatted like the axis (shares in %).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.bar(["North", "South"], [3.0, 5.0]); _ = ax.set_title("Sales")
    >>> chart_alt(fig)
    'Chart. Sales: highest South 5; lowest North 3.'
    >>> plt.close(fig)
    """
    own = getattr(fig, _ALT_ATTR, None)
    if own:
        return own[:MAX_ALT]
    parts = []
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        parts.append(sup.get_text())
    parts += [p for p in (_axes_alt(ax) for ax in fig.axes if not _is_colorbar(ax)) if p]
    text = " ".join(". ".join(parts).split()) or "a chart without title"
    text = f"Chart. {text}."
    return text if len(text) <= MAX_ALT else text[: MAX_ALT - 1] + "…"


# --------------------------------------------------------------------------- legends


def _legend_is_outside(ax: Axes) -> bool:
    leg = ax.get_legend()
    anchor = leg.get_bbox_to_anchor()
    box = ax.bbox
    return anchor.x0 >= box.x1 - 1 or anchor.y1 <= box.y0 + 1 or anchor.x1 <= box.x0 + 1


def _rightmost_in_row(ax: Axes, axes: list[Axes]) -> Axes:
    """The panel furthest right among those level with ``ax`` (``ax`` itself when alone)."""
    me = ax.get_position()
    row = [ax] + [
        o
        for o in axes
        if o is not ax
        and o.get_visible()
        and o.get_position().y0 < me.y1
        and o.get_position().y1 > me.y0
    ]
    return max(row, key=lambda a: a.get_position().x1)


def place_legends_outside(fig: Figure) -> Figure:
    """Move every legend out of the plotting areas; a legend repeated on panels is kept once.

    A legend goes to the right of the rightmost panel of its row, top-aligned (bottom-aligned
    when that panel has a legend of its own), so it covers no data. Legends already outside
    their axes are left alone.
    """
    axes = [ax for ax in fig.axes if not _is_colorbar(ax) and ax.get_visible()]
    seen: set[tuple[str, ...]] = set()
    for ax in sorted(axes, key=lambda a: -a.get_position().x1):
        leg = ax.get_legend()
        if leg is None:
            continue
        key = tuple(t.get_text() for t in leg.get_texts())
        if key in seen:
            leg.remove()
            continue
        seen.add(key)
    for ax in axes:
        leg = ax.get_legend()
        if leg is None or _legend_is_outside(ax):
            continue
        host = _rightmost_in_row(ax, axes)
        if host is not ax and host.get_legend() is not None:
            leg.set_loc("lower left")
            leg.set_bbox_to_anchor((1.01, 0.0), transform=host.transAxes)
        else:
            leg.set_loc("upper left")
            leg.set_bbox_to_anchor((1.01, 1.0), transform=host.transAxes)
    return fig


# --------------------------------------------------------------------------- rendering


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def figure_png(fig: Figure) -> tuple[str, dict[str, Any]]:
    """The figure as a base64 PNG at :data:`RESOLUTION` x, with display size and alt text.

    Returns
    -------
    tuple of (str, dict)
        Base64 PNG and its metadata ``{"width", "height", "alt"}`` (width and height in
        displayed pixels, half the drawn ones at 2x), as IPython's PNG formatter returns them.
    """
    alt = chart_alt(fig)  # before legends move: a repeated legend still names its lines
    place_legends_outside(fig)
    buf = io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=fig.dpi * RESOLUTION,
        bbox_inches="tight",
        facecolor="white",
        metadata={"Software": None},
    )
    png = buf.getvalue()
    width, height = _png_size(png)
    meta = {
        "width": max(1, round(width / RESOLUTION)),
        "height": max(1, round(height / RESOLUTION)),
        "alt": alt,
    }
    return base64.b64encode(png).decode("ascii"), meta


def show_figure(fig: Figure, alt: str | None = None) -> None:
    """Display a chart in the notebook (2x PNG with alt text) and close it.

    Parameters
    ----------
    fig : Figure
        The chart.
    alt : str, optional
        Its alt text; default :func:`chart_alt` (title and key numbers).
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    if alt:
        set_alt(fig, alt)
    data, meta = figure_png(fig)
    display(
        {"image/png": data, "text/plain": f"<Figure: {meta['alt']}>"},
        raw=True,
        metadata={"image/png": meta},
    )
    plt.close(fig)


def register_display() -> bool:
    """Make IPython display every Figure with :func:`figure_png` (no-op outside IPython).

    Loads the notebook's matplotlib backend first: the inline backend installs its own Figure
    formatters when it loads and would otherwise replace this one.

    Returns
    -------
    bool
        Whether a running IPython shell was configured.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook stack
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    plt.close(plt.figure())  # resolves (loads) the backend now
    formatters = shell.display_formatter.formatters
    for mime, formatter in formatters.items():
        if mime != "image/png":
            formatter.pop(Figure, None)
    formatters["image/png"].for_type(Figure, figure_png)
    return True
