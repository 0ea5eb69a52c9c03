"""The one small-group rule: 1 to k-1 customers withheld, zero shown, unknown withheld."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bankanalysis.rules.disclosure import (
    is_small,
    suppress_small_cells,
    suppress_small_groups,
    suppressed_marker,
)


def test_is_small_withholds_one_to_k_minus_one_and_unknown():
    assert is_small([0, 1, 9, 10, 11, math.nan], 10).tolist() == [
        False,
        True,
        True,
        False,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="at least 1"):
        is_small([1], 0)


def test_suppress_small_groups_blanks_every_figure_of_the_row():
    df = pd.DataFrame(
        {"tier": ["mass", "vip", "private_banking"], "customers": [120, 4, 0], "aum": [1e6, 3e6, 0]}
    )
    out = suppress_small_groups(df, "customers", 10)
    assert out["suppressed"].tolist() == [False, True, False]
    assert out.loc[1, ["customers", "aum"]].isna().all()
    assert out.loc[2, "aum"] == 0 and out.loc[0, "aum"] == 1e6
    assert df["aum"].tolist() == [1e6, 3e6, 0]  # input untouched


def test_suppress_small_cells_matrix():
    m = pd.DataFrame({"a": [0, 3, 12], "b": [10, 9, 1]})
    out = suppress_small_cells(m, 10)
    assert out["a"].tolist()[0] == 0 and math.isnan(out["a"][1]) and out["a"][2] == 12
    assert out["b"][0] == 10 and out["b"][1:].isna().all()


def test_marker_names_k():
    assert suppressed_marker(10) == "<10"
    assert suppressed_marker(None) == "<k"
