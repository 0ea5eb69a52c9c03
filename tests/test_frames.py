"""ids_in: the same answer as Series.isin, without pandas' per-value Python loop."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.frames import ids_in


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
