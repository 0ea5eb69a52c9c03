"""Chart rendering: 2x PNG at the same displayed size, alt text from the chart, legends outside."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bankanalysis.report import figures, plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _png_size(b64: str) -> tuple[int, int]:
    png = base64.b64decode(b64)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_png_is_drawn_at_twice_the_displayed_size() -> None:
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.plot([0, 1], [0, 1])
    data, meta = figures.figure_png(fig)
    width, height = _png_size(data)
    assert figures.RESOLUTION == 2
    assert (width, height) == (2 * meta["width"], 2 * meta["height"]) or (
        abs(width - 2 * meta["width"]) <= 1 and abs(height - 2 * meta["height"]) <= 1
    )
    # bbox "tight" trims the white margin, so at most 400 x 300 displayed pixels
    assert 300 <= meta["width"] <= 400 and 200 <= meta["height"] <= 300
    assert meta["alt"].startswith("Chart.")


def test_alt_text_names_the_title_and_the_extremes_in_the_axis_format() -> None:
    dev = pd.DataFrame({"outlet": ["North", "South"], "device_operating_rate": [0.25, 0.75]})
    fig = plots.plot_device_rates(dev, "2025-03")
    assert figures.chart_alt(fig) == (
        "Chart. Self-service device operating rate by outlet, 2025-03: "
        "highest South 75.0%; lowest North 25.0%."
    )


def test_alt_text_of_lines_gives_each_lines_latest_value() -> None:
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [10.0, 12.0, float("nan")], label="North")
    ax.plot([1, 2, 3], [1500.0, 1600.0, 1700.0], label="whole bank")
    ax.plot([1, 3], [0, 0], label="_hidden")
    ax.axvline(2, label="target")  # a vertical reference line has no latest value
    ax.set_title("Customers per FTE")
    assert figures.chart_alt(fig) == (
        "Chart. Customers per FTE: latest values: North 12, whole bank 1,700."
    )


def test_alt_text_names_seaborn_lines_by_their_legend_entries() -> None:
    import seaborn as sns

    trends = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02"] * 2,
            "scope": ["North"] * 2 + ["bank"] * 2,
            "share": [0.5, 0.625, 0.25, 0.375],
        }
    )
    fig, ax = plt.subplots()
    sns.lineplot(trends, x="month", y="share", hue="scope", ax=ax)
    plots.percent_axis(ax.yaxis)
    ax.set_title("Coverage")
    assert figures.chart_alt(fig) == "Chart. Coverage: latest values: North 62.5%, bank 37.5%."


def test_alt_text_of_a_heatmap_names_its_lowest_and_highest_cell() -> None:
    grid = pd.DataFrame({"coverage": [0.5, 0.25], "growth": [0.75, 0.1]}, index=["N", "S"])
    fig = plots.plot_share_heatmap(grid, "KPIs by region")
    assert figures.chart_alt(fig) == (
        "Chart. KPIs by region: lowest cell S / growth 10.0%, highest N / growth 75.0%."
    )
    # and its colour bar reads in % like the cells
    assert fig.axes[1].yaxis.get_major_formatter()(0.5, 0) == "50%"


def test_explicit_alt_wins_and_is_cut_to_a_readable_length() -> None:
    fig, ax = plt.subplots()
    ax.set_title("ignored")
    figures.set_alt(fig, "Sales  rose\n to 5")
    assert figures.chart_alt(fig) == "Sales rose to 5"
    fig2, ax2 = plt.subplots()
    ax2.set_title("x" * 900)
    assert len(figures.chart_alt(fig2)) == figures.MAX_ALT


def test_legends_move_outside_the_data_and_repeats_are_dropped() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    for ax in (left, right):
        ax.plot([0, 1], [0, 1], label="North")
        ax.plot([0, 1], [1, 0], label="bank")
        ax.legend()
    figures.place_legends_outside(fig)
    assert left.get_legend() is None  # same entries as the right panel's legend
    leg = right.get_legend()
    fig.canvas.draw()
    box = leg.get_window_extent()
    assert box.x0 >= right.bbox.x1  # right of the plotting area, covering no data


def test_a_left_panel_legend_goes_right_of_its_row() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    left.plot([0, 1], [0, 1], label="only on the left")
    left.legend()
    right.plot([0, 1], [0, 1])
    figures.place_legends_outside(fig)
    fig.canvas.draw()
    box = left.get_legend().get_window_extent()
    assert box.x0 >= right.bbox.x1
    # a legend already outside is left where its chart put it
    sales = pd.DataFrame({"deposit": [1, 2], "loan": [3, 4]}, index=["A", "B"])
    f2 = plots.plot_sales_by_family(sales, "2025-03")
    before = f2.axes[0].get_legend().get_bbox_to_anchor().bounds
    figures.place_legends_outside(f2)
    assert f2.axes[0].get_legend().get_bbox_to_anchor().bounds == before


def test_register_display_is_a_no_op_outside_ipython() -> None:
    assert figures.register_display() is False


def test_alt_text_is_read_before_a_repeated_legend_is_dropped() -> None:
    import seaborn as sns

    df = pd.DataFrame({"x": ["a", "b"] * 2, "y": [1.0, 2.0, 3.0, 4.0], "g": ["N", "N", "S", "S"]})
    fig, (left, right) = plt.subplots(1, 2)
    for ax, title in ((left, "Left"), (right, "Right")):
        sns.lineplot(df, x="x", y="y", hue="g", ax=ax)
        ax.set_title(title)
    _, meta = figures.figure_png(fig)
    assert meta["alt"] == ("Chart. Left: latest values: N 2, S 4. Right: latest values: N 2, S 4.")
    assert left.get_legend() is None and right.get_legend() is not None


def test_show_figure_displays_the_2x_png_with_its_alt_and_closes_the_figure(monkeypatch) -> None:
    import IPython.display

    shown = []
    monkeypatch.setattr(
        IPython.display, "display", lambda obj, **kw: shown.append((obj, kw["metadata"]))
    )
    fig, ax = plt.subplots(figsize=(3, 2), dpi=100)
    ax.bar(["a"], [1.0])
    figures.show_figure(fig, alt="One bar of height 1")
    ((data, meta),) = shown
    assert meta["image/png"]["alt"] == "One bar of height 1"
    width, _ = _png_size(data["image/png"])
    assert abs(width - 2 * meta["image/png"]["width"]) <= 1
    assert not plt.fignum_exists(fig.number)
