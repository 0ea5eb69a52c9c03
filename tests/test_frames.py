"""ids_in and map_few: the same answers as Series.isin and Series.map, without pandas' per-value
Python loops."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.frames import ids_in, map_few


def test_ids_in_matches_isin_on_text_ids_with_missing_values():
    s = pd.Series(["C1", "C2", None, "C3", "C2"], dtype="str")
    values = pd.Series(["C2", "C9", None], dtype="str")
    assert ids_in(s, values).tolist() == [False, True, False, False, True]
    assert ids_in(s, []).tolist() == [False] * 5
    assert ids_in(pd.Series([], dtype="str"), ["C1"]).tolist() == []


def test_ids_in_accepts_lists_arrays_indexes_and_numbers():
    s = pd.Series(["a", "b", "c"])
    assert ids_in(s, np.array(["c", "a"])).tolist() == [True, False, True]
    assert ids_in(s, pd.Index(["b"])).tolist() == [False, True, False]
    assert ids_in(pd.Series([1, 2, 3]), [3]).tolist() == [False, False, True]


def test_ids_in_agrees_with_isin_on_many_ids():
    rng = np.random.default_rng(0)
    s = pd.Series([f"C{i:05d}" for i in rng.integers(0, 20_000, 5_000)], dtype="str")
    v = pd.Series([f"C{i:05d}" for i in rng.integers(0, 20_000, 3_000)], dtype="str")
    assert (ids_in(s, v) == s.isin(v).to_numpy()).all()


def test_map_few_is_series_map_with_its_dtype_index_and_name() -> None:
    rng = np.random.default_rng(3)
    ids = pd.Series(rng.choice(["R01", "R02", "R03"], size=500), name="region_id")
    ids.index = ids.index + 7  # not a default index
    ints, texts = {"R01": 1, "R02": 1, "R03": 2}, {"R01": "1", "R02": "1", "R03": "2"}
    for lookup in (ints, texts, {"R01": 1, "R03": 2}):  # the last leaves R02 unmapped: NaN
        got, want = map_few(ids, lookup), ids.map(lookup)
        pd.testing.assert_series_equal(got, want, check_exact=True)
    assert map_few(ids, ints).dtype == "int64" and map_few(ids, ints).sum() == (
        (ids == "R03").sum() * 2 + (ids != "R03").sum()
    )
    assert map_few(ids, {"R01": 1, "R03": 2}).isna().sum() == (ids == "R02").sum() > 0
    # missing ids and an empty series: Series.map itself
    gaps = pd.Series(["R01", None, "R03"], dtype="str")
    pd.testing.assert_series_equal(map_few(gaps, ints), gaps.map(ints))
    empty = pd.Series([], dtype="str")
    pd.testing.assert_series_equal(map_few(empty, ints), empty.map(ints))
