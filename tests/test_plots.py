"""Report charts: every function returns a Figure with the report's titles, labels and data."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bankanalysis.report import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def _bar_values(ax: matplotlib.axes.Axes, horizontal: bool = False) -> list[float]:
    vals = [p.get_width() if horizontal else p.get_height() for p in ax.patches]
    return sorted(round(float(v), 6) for v in vals if not np.isnan(v) and v != 0)


def test_echelon_bars_show_thousands_and_shares() -> None:
    ech = pd.DataFrame(
        {
            "echelon_name": ["central", "key"],
            "aum_per_customer": [25000.0, 4000.0],
            "outlet_replacement_rate": [0.7, 0.4],
        }
    )
    fig = plots.plot_echelon_bars(ech, "CNY")
    left, right = fig.axes[:2]
    assert left.get_title() == "AUM per customer by echelon"
    assert left.get_ylabel() == "AUM per customer (thousand CNY)"
    assert _bar_values(left) == [4.0, 25.0]
    assert right.get_title() == "Outlet replacement rate by echelon"
    assert _bar_values(right) == [0.4, 0.7]
    assert right.yaxis.get_major_formatter()(0.25, 0) == "25%"
    assert left.get_xlabel() == right.get_xlabel() == "echelon"


def test_share_axes_and_colour_bars_read_in_percent() -> None:
    dev = pd.DataFrame({"outlet": ["A", "B"], "device_operating_rate": [0.25, 0.75]})
    ax = plots.plot_device_rates(dev, "2025-03").axes[0]
    assert ax.xaxis.get_major_formatter()(0.5, 0) == "50%"
    assert ax.get_xlabel().endswith("(%)")
    # attainment (actual / target) is a ratio shown in % too; percentiles (fmt ".0f") are not
    grid = pd.DataFrame({"coverage": [0.9, 1.1]}, index=["N", "S"])
    att = plots.plot_share_heatmap(grid, "t", center=1.0, cbar_label="actual / target")
    assert att.axes[1].yaxis.get_major_formatter()(1.0, 0) == "100%"
    pct = plots.plot_share_heatmap(grid * 100, "t", fmt=".0f", vmax=100)
    assert pct.axes[1].yaxis.get_major_formatter()(50.0, 0) != "5000%"
    from bankanalysis.report import propensity_charts as charts

    gains = pd.DataFrame(
        {
            "share_contacted": [0.0, 0.5, 1.0] * 2,
            "share_of_buyers": [0.0, 0.8, 1.0, 0.0, 0.5, 1.0],
            "ranking": ["model"] * 3 + ["random"] * 3,
            "product": "Fund",
        }
    )
    ax = charts.gains_figure(gains, "2025-09").axes[0]
    assert ax.xaxis.get_major_formatter()(0.5, 0) == ax.yaxis.get_major_formatter()(0.5, 0)
    assert ax.yaxis.get_major_formatter()(0.5, 0).endswith("%")
    assert ax.get_ylabel() == "share of buyers reached (%)"


def test_echelon_trends_plot_millions_and_skip_missing_deposits() -> None:
    trends = pd.DataFrame(
        {
            "month": ["2024-01", "2024-02", "2024-01", "2024-02"],
            "echelon": [1, 1, 2, 2],
            "aum": [2e6, 3e6, 5e6, 7e6],
            "new_deposits": [np.nan, 1e6, np.nan, 2e6],
        }
    )
    fig = plots.plot_echelon_trends(trends, "EUR")
    aum_ax, dep_ax = fig.axes[:2]
    assert aum_ax.get_ylabel() == "AUM (million EUR)"
    assert dep_ax.get_title() == "New deposits by echelon (change of the deposit balance)"
    aum = sorted(y for line in aum_ax.get_lines() for y in line.get_ydata())
    assert aum == [2.0, 3.0, 5.0, 7.0]
    dep = sorted(y for line in dep_ax.get_lines() for y in line.get_ydata())
    assert dep == [1.0, 2.0]


def test_share_heatmap_annotates_cells_and_labels_axes() -> None:
    grid = pd.DataFrame({"coverage": [0.5, 0.25]}, index=["North", "South"])
    fig = plots.plot_share_heatmap(grid, "KPIs", xlabel="KPI", ylabel="region", rotate_x=30)
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("KPIs", "KPI", "region")
    assert [t.get_text() for t in ax.texts] == ["50%", "25%"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["North", "South"]
    assert fig.axes[1].get_ylabel() == "share"  # colour bar
    assert fig.get_size_inches()[1] == pytest.approx(0.45 * 2 + 2)
    centred = plots.plot_share_heatmap(grid, "t", center=1.0, cbar_label="actual / target")
    assert centred.axes[1].get_ylabel() == "actual / target"


def test_league_scores_bars_per_region() -> None:
    league = pd.DataFrame(
        {"region": ["A", "B", "C"], "echelon": [1, 1, 2], "league_score": [0.25, 1.0, 0.5]}
    )
    fig = plots.plot_league_scores(league)
    ax = fig.axes[0]
    assert ax.get_title() == "Composite score within the echelon"
    assert ax.get_xlim() == (0.0, 1.0)
    assert _bar_values(ax, horizontal=True) == [0.25, 0.5, 1.0]


def test_sales_and_productivity_charts() -> None:
    sales = pd.DataFrame({"deposit": [1, 2], "loan": [3, 4]}, index=["A", "B"])
    ax = plots.plot_sales_by_family(sales, "2025-03").axes[0]
    assert ax.get_title() == "Product sales by family, 2025-03"
    assert ax.get_legend().get_title().get_text() == "family"
    assert _bar_values(ax, horizontal=True) == [1.0, 2.0, 3.0, 4.0]
    agg = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02"] * 2,
            "level": ["North", "North", "whole bank", "whole bank"],
            "customers_per_fte": [10.0, 12.0, 8.0, 9.0],
            "sales_per_fte": [np.nan, 2.0, np.nan, 1.0],
        }
    )
    left, right = plots.plot_productivity_trends(agg).axes[:2]
    assert (left.get_title(), right.get_ylabel()) == (
        "Customers per staff FTE",
        "products sold per FTE",
    )
    ys = sorted(y for line in right.get_lines() for y in line.get_ydata() if not np.isnan(y))
    assert ys == [1.0, 2.0]


def test_gap_dea_self_service_device_and_channel_charts() -> None:
    now = pd.DataFrame(
        {
            "outlet": ["A", "B"],
            "gap": [-2.0, 1.5],
            "position": ["below the peers' average", "at or above"],
        }
    )
    ax = plots.plot_ma_gaps(now, "gap title", "products per FTE").axes[0]
    assert ax.get_xlabel() == "gap (products per FTE)"
    assert sorted(round(p.get_width(), 6) for p in ax.patches if p.get_width()) == [-2.0, 1.5]
    long = pd.DataFrame(
        {"outlet": ["A", "A", "B", "B"], "measure": ["ccr", "bcc"] * 2, "score": [0.5, 0.8, 1, 1]}
    )
    fig = plots.plot_dea_scores(long, "DEA")
    assert fig.get_size_inches()[1] == pytest.approx(0.5 * 2 + 1.5)
    assert _bar_values(fig.axes[0], horizontal=True) == [0.5, 0.8, 1.0, 1.0]
    ss = pd.DataFrame(
        {"region": ["N", "S"], "ratio": [2.5, 3.5], "group": ["this region", "other regions"]}
    )
    ax = plots.plot_self_service(ss, 3.0, "2025-03").axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "target 3:1"
    assert _bar_values(ax, horizontal=True) == [2.5, 3.5]
    dev = pd.DataFrame({"outlet": ["A", "B"], "device_operating_rate": [0.25, 0.75]})
    ax = plots.plot_device_rates(dev, "2025-03").axes[0]
    assert ax.get_xlim() == (0.0, 1.0) and _bar_values(ax, horizontal=True) == [0.25, 0.75]


def test_segmentation_charts() -> None:
    comp = pd.DataFrame(
        {
            "tier": ["Mass", "VIP", "Mass", "VIP"],
            "scope": ["North", "North", "whole bank", "whole bank"],
            "share": [0.75, 0.25, 0.5, 0.5],
            "aum_share": [0.125, 0.875, 0.25, 0.75],
        }
    )
    left, right = plots.plot_tier_mix(comp, "2024-04").axes[:2]
    assert left.get_title() == "Share of customers by tier, 2024-04"
    assert [t.get_text() for t in left.get_xticklabels()] == [
        "Mass",
        "Quality",
        "VIP",
        "Private banking",
    ]
    assert _bar_values(right) == [0.125, 0.25, 0.75, 0.875]
    curve = pd.DataFrame({"customer_share": [0, 1], "aum_share": [0, 1], "scope": "A"})
    ax = plots.plot_lorenz(curve, "2024-04").axes[0]
    assert ax.get_lines()[-1].get_label() == "equal AUM"
    matrix = pd.DataFrame(
        [[1.0, np.nan], [2000.0, 3.0]], index=["new", "Mass"], columns=["Mass", "closed"]
    )
    ax = plots.plot_migration_matrix(matrix, "2024-02", "2024-04").axes[0]
    # row shares (issue 14 §5): the new row is 100 % Mass; Mass 2,000 of 2,003 stayed (grey)
    assert sorted(t.get_text() for t in ax.texts) == ["0.1%", "100%", "100%", "<k"]
    assert ax.get_ylabel() == "state at 2024-02"
    pipe = pd.DataFrame(
        {"outlet": ["A", "B"], "customers": [3, 4], "target tier": ["VIP", "Quality"]}
    )
    ax = plots.plot_pipeline(pipe, 0.1, "2024-04").axes[0]
    assert ax.get_title().startswith("Upgrade pipeline: customers within 10% below")
    prof = pd.DataFrame({"segment": ["Mass: savers"], "customers": [12], "tier": ["mass"]})
    assert _bar_values(plots.plot_segment_sizes(prof, "m").axes[0], horizontal=True) == [12.0]
    z = pd.DataFrame({"age": [0.0, 2.0]}, index=["a", "b"])
    ax = plots.plot_segment_traits(z, z.assign(age=[30.0, 50.0])).axes[0]
    assert [t.get_text() for t in ax.texts] == ["30.0", "50.0"]
    ppc = pd.DataFrame({"tier": ["Mass", "all tiers"], "products_per_customer": [1.5, 2.0]})
    assert _bar_values(plots.plot_products_per_customer(ppc, "m").axes[0]) == [1.5, 2.0]
    cross = pd.DataFrame({"Fund": [1.0, np.nan]}, index=["Fund", "Card"])
    ax = plots.plot_cross_holding(cross, "m").axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["100%", "<k"]
    assert ax.get_xlabel() == "also holds"


# --------------------------------------------------------------------------- chart content
# (issue 14 §5: migration as row shares with the diagonal de-emphasised, readable cross-holding,
# the reader's region highlighted)


def _migration_counts() -> pd.DataFrame:
    return pd.DataFrame(
        [[0.0, 40.0, 10.0, 0.0], [900.0, 60.0, np.nan, 40.0], [30.0, 450.0, 20.0, 0.0]],
        index=["new", "Mass", "VIP"],
        columns=["Mass", "VIP", "Private banking", "closed"],
    )


def test_migration_rows_are_shares_that_add_up_to_100_percent() -> None:
    from bankanalysis.report.heatmaps import row_shares

    shares = row_shares(_migration_counts())
    assert shares.sum(axis=1).round(12).tolist() == [1.0, 1.0, 1.0]
    assert shares.loc["new", "VIP"] == pytest.approx(0.8)
    assert shares.loc["Mass", "closed"] == pytest.approx(0.04)  # 40 of 1,000 shown
    assert np.isnan(shares.loc["Mass", "Private banking"])  # withheld stays withheld
    # with the true row total (a withheld cell of 5) the shown shares no longer add to 100 %
    true = row_shares(_migration_counts(), pd.Series({"new": 50, "Mass": 1005, "VIP": 500}))
    assert true.loc["Mass", "Mass"] == pytest.approx(900 / 1005)


def test_migration_chart_shares_use_the_true_row_totals_of_the_tier_flows() -> None:
    """Issue 14: a row with a withheld cell was divided by the sum of its shown cells only."""
    from bankanalysis.report.format import Suppressed
    from bankanalysis.report.heatmaps import migration_row_totals

    flows = pd.DataFrame(
        {
            "tier": ["mass", "vip", "private_banking"],
            "customers_from": [1030, Suppressed(10), 0],
            "new_in": [0, 40, 10],
        },
        dtype=object,
    )
    totals = migration_row_totals(flows)
    assert totals["new"] == 50.0 and totals["Mass"] == 1030.0 and np.isnan(totals["VIP"])
    fig = plots.plot_migration_matrix(_migration_counts(), "2024-01", "2024-04", 10, totals)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]
    # Mass: 900, 60 and 40 of 1,030 (30 withheld), not of the 1,000 shown
    assert {"87%", "5.8%", "3.9%", "<10", "80%"} <= set(texts)
    assert "90%" not in texts  # VIP's total is withheld: its row is not drawn
    # a withheld part of the new customers leaves the new row's total unknown
    flows.at[2, "new_in"] = Suppressed(10)
    assert np.isnan(migration_row_totals(flows)["new"])


def test_migration_colour_scale_ignores_the_diagonal() -> None:
    from bankanalysis.report.heatmaps import diagonal_mask, off_diagonal_vmax, row_shares

    shares = row_shares(_migration_counts())
    assert diagonal_mask(shares).sum() == 2  # Mass->Mass, VIP->VIP
    # the diagonal (90 % stayed in Mass, 90 % in VIP) does not set the scale; new->VIP 80 % does
    assert off_diagonal_vmax(shares) == pytest.approx(0.8)
    fig = plots.plot_migration_matrix(_migration_counts(), "2024-01", "2024-04", 10)
    ax = fig.axes[0]
    coloured = [m for m in ax.collections if m.get_cmap().name == "Blues"]
    assert len(coloured) == 1 and coloured[0].get_clim() == pytest.approx((0.0, 0.8))
    texts = {t.get_text() for t in ax.texts}
    assert {"90%", "80%", "<10", "4.0%", "6.0%"} <= texts
    # annotations are readable: at least 9 pt
    assert min(t.get_fontsize() for t in ax.texts) >= 9
    # the diagonal's labels are grey italic, the moves' are not
    diag = [t for t in ax.texts if t.get_text() == "90%"]
    assert diag and all(t.get_fontstyle() == "italic" for t in diag)


def test_migration_labels_do_not_collide() -> None:
    fig = plots.plot_migration_matrix(_migration_counts(), "2024-01", "2024-04")
    fig.canvas.draw()
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert not a.overlaps(b)
    cells = [t.get_window_extent(renderer) for t in ax.texts if t.get_text()]
    for i, a in enumerate(cells):
        assert not any(a.overlaps(b) for b in cells[i + 1 :])


def _cross(n: int = 16) -> pd.DataFrame:
    names = [f"P{i:02d}" for i in range(n)]
    rng = np.random.default_rng(7)
    popularity = np.linspace(0.9, 0.05, n)  # P00 most held alongside others
    values = np.clip(popularity[None, :] + rng.normal(0, 0.01, (n, n)), 0, 1)
    np.fill_diagonal(values, 1.0)
    cross = pd.DataFrame(values, index=names, columns=names)
    cross.iloc[3] = np.nan  # a small holder group withheld
    return cross


def test_cross_holding_keeps_the_top_products_readable() -> None:
    from bankanalysis.report.heatmaps import top_cross_holding

    top, rest = top_cross_holding(_cross(), 10)
    assert list(top.columns) == [f"P{i:02d}" for i in range(10)]
    assert list(top.index) == list(top.columns)
    assert rest == [f"P{i:02d}" for i in range(10, 16)]
    fig = plots.plot_cross_holding(_cross(), "2024-04")
    ax = fig.axes[0]
    assert len(ax.get_xticklabels()) == 10
    assert min(t.get_fontsize() for t in ax.texts) >= 9
    assert "of 16" in ax.get_title()
    assert any(t.get_text().startswith("Not shown: P10") for t in fig.texts)
    # the colour scale is set by the cross-holdings, not the 100 % diagonal
    coloured = [m for m in ax.collections if m.get_cmap().name == "Greens"]
    assert coloured[0].get_clim()[1] < 0.95
    small = plots.plot_cross_holding(_cross(4), "2024-04")
    assert len(small.axes[0].get_xticklabels()) == 4 and not small.texts


def test_the_readers_region_is_highlighted_in_bank_wide_lines() -> None:
    from matplotlib.colors import to_hex

    from bankanalysis.report.benchmarking_channels import plot_replacement_trends
    from bankanalysis.report.heatmaps import HIGHLIGHT_COLOUR, highlight_colours

    assert highlight_colours(["A", "B"], "B") == {"A": "#bdbdbd", "B": HIGHLIGHT_COLOUR}
    months = ["2024-01", "2024-02", "2024-03"]
    by_region = pd.DataFrame(
        {
            "month": months * 3,
            "group": ["North"] * 3 + ["South"] * 3 + ["East"] * 3,
            "outlet_replacement_rate": [0.5, 0.55, 0.6, 0.3, 0.32, 0.35, 0.4, 0.41, 0.42],
        }
    )
    by_echelon = by_region.assign(group="echelon 1")
    fig = plot_replacement_trends(by_region, by_echelon, highlight="South")
    left = fig.axes[0]
    lines = {tuple(line.get_ydata()): line for line in left.get_lines()}
    mine = lines[(0.3, 0.32, 0.35)]
    other = lines[(0.5, 0.55, 0.6)]
    assert to_hex(mine.get_color()) == HIGHLIGHT_COLOUR
    assert to_hex(other.get_color()) != to_hex(mine.get_color())
    assert mine.get_linewidth() > other.get_linewidth()
    legend = [t.get_text() for t in left.get_legend().get_texts()]
    assert sorted(legend) == ["South", "other regions"]
    assert [t.get_text() for t in left.get_xticklabels()] == months
    assert left.yaxis.get_major_formatter()(0.25, 0).startswith("25")
    assert left.yaxis.get_major_formatter()(0.25, 0).endswith("%")


def test_the_readers_bar_differs_in_the_self_service_chart() -> None:
    from matplotlib.colors import to_hex

    ss = pd.DataFrame(
        {
            "region": ["N", "S", "E"],
            "ratio": [2.5, 3.5, 1.0],
            "group": ["this region", "other regions", "other regions"],
        }
    )
    ax = plots.plot_self_service(ss, 3.0, "2025-03").axes[0]
    colour = {round(p.get_width(), 6): to_hex(p.get_facecolor()) for p in ax.patches}
    assert colour[2.5] != colour[3.5] and colour[3.5] == colour[1.0]


def test_matrix_charts_survive_empty_and_withheld_matrices() -> None:
    empty = pd.DataFrame(index=[], columns=[], dtype=float)
    assert plots.plot_migration_matrix(empty, "a", "b").axes[0].texts[0].get_text() == (
        "nothing to show"
    )
    withheld = pd.DataFrame(np.nan, index=["new", "Mass"], columns=["Mass", "closed"])
    ax = plots.plot_migration_matrix(withheld, "a", "b").axes[0]
    assert {t.get_text() for t in ax.texts} <= {"", "<k"}  # no 0 %, no nan %
