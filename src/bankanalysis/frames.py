"""Small, fast operations on DataFrames that every layer shares.

pandas' ``Series.isin`` on Arrow-backed strings turns every value of the set into a Python
scalar first; with a million customer ids that costs about half a second per call. :func:`ids_in`
asks Arrow directly (a hash lookup in C++), with the same result.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["ids_in"]


def _arrow(values: pd.Series | pd.Index | np.ndarray | Iterable[object]) -> pa.Array:
    if isinstance(values, pd.Series | pd.Index):
        try:  # Arrow-backed columns hand their buffers over without a copy
            arr = pa.array(values, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array(values.to_numpy(dtype=object, na_value=None), from_pandas=True)
    else:
        arr = pa.array(list(values) if not isinstance(values, np.ndarray) else values.tolist())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.string())
    return arr


def ids_in(
    series: pd.Series, values: pd.Series | pd.Index | np.ndarray | Iterable[object]
) -> np.ndarray:
    """Boolean mask: which elements of ``series`` are among ``values`` (missing never match).

    Examples
    --------
    >>> ids_in(pd.Series(["C1", "C2", None, "C3"]), ["C3", "C1"]).tolist()
    [True, False, False, True]
    """
    left = _arrow(series)
    right = _arrow(values)
    if len(right) == 0 or len(left) == 0:
        return np.zeros(len(series), dtype=bool)
    if left.type != right.type:
        right = right.cast(left.type)
    mask = pc.is_in(left, value_set=right, skip_nulls=True)
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
