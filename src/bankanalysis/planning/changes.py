"""Month-on-month and year-on-year changes of KPIs, absent with a reason where the data lack
the month compared with."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.rules import kpis as kpi_dict
from bankanalysis.rules.months import shift_month

__all__ = ["changes"]

logger = logging.getLogger(__name__)


def _reason(base: str, have: set[str], first: str, value: float) -> str:
    if base not in have:
        return f"the data start at {first}, so {base} is not in them"
    if np.isnan(value):
        return f"no value for {base}"
    return ""


def changes(monthly: pd.DataFrame, month: str, kpi_ids: Sequence[str]) -> pd.DataFrame:
    """Each KPI at ``month`` against the month before and the same month a year before.

    Parameters
    ----------
    monthly : DataFrame
        ``month, level, id`` and KPI columns (:func:`bankanalysis.planning.periods.level_values`).
    month : str
        Data month.
    kpi_ids : sequence of str
        KPIs compared (those that are not columns are left out).

    Returns
    -------
    DataFrame
        One row per (level, id, KPI): ``value, value_prev_month, mom_change, mom_pct,
        value_year_ago, yoy_change, yoy_pct, mom_reason, yoy_reason``. Changes are
        differences in the KPI's unit (percentage points for shares); ``*_pct`` is the
        relative change (NaN for shares and for a base that is not positive); a reason says
        why a change is absent.
    """
    have = set(monthly["month"])
    first = min(have) if have else month
    prev, year_ago = shift_month(month, -1), shift_month(month, -12)
    ids = [k for k in kpi_ids if k in monthly.columns]
    idx = monthly.set_index(["level", "id", "month"])
    rows = []
    now = monthly.loc[monthly["month"] == month, ["level", "id"]].drop_duplicates()
    for lv, gid in now.itertuples(index=False):
        for k in ids:
            v = float(idx.at[(lv, gid, month), k])
            p = float(idx[k].get((lv, gid, prev), np.nan))
            y = float(idx[k].get((lv, gid, year_ago), np.nan))
            rows.append(
                {
                    "level": lv,
                    "id": gid,
                    "kpi": k,
                    "value": v,
                    "value_prev_month": p,
                    "value_year_ago": y,
                    "mom_reason": _reason(month, have, first, v) or _reason(prev, have, first, p),
                    "yoy_reason": _reason(month, have, first, v)
                    or _reason(year_ago, have, first, y),
                }
            )
    cols = [
        "level", "id", "kpi", "value", "value_prev_month", "mom_change", "mom_pct",
        "value_year_ago", "yoy_change", "yoy_pct", "mom_reason", "yoy_reason",
    ]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame(rows)
    share = out["kpi"].map(lambda k: kpi_dict.get(k).unit == "share")
    for base, tag in (("value_prev_month", "mom"), ("value_year_ago", "yoy")):
        out[f"{tag}_change"] = out["value"] - out[base]
        rel = out[f"{tag}_change"] / out[base].where(out[base] > 0)
        out[f"{tag}_pct"] = rel.where(~share)
    return out[cols]
