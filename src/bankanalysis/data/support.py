"""What the prepared data can support: recorded in the manifest for parameter checks.

Real extracts are partial, small and skewed (issue 13): a table may be missing, a product held
by nobody, a peer group a single outlet, every balance zero. :func:`data_support` summarises
these facts of a prepared bank once, as plain JSON-ready values, so that parameters and report
sections can be checked against them before any kernel starts.
"""

from __future__ import annotations

import logging

import pandas as pd

from bankanalysis.contract import ECHELONS, TABLE_ORDER

logger = logging.getLogger(__name__)

#: Optional raw tables whose presence decides which KPIs and report sections can be computed.
OPTIONAL_TABLES: tuple[str, ...] = tuple(
    t
    for t in TABLE_ORDER
    if t
    in (
        "transactions",
        "managers",
        "contacts",
        "devices",
        "device_months",
        "targets",
    )
)


def _count_or_none(value: object) -> int | None:
    return None if pd.isna(value) else int(value)


def data_support(
    tables_present: list[str],
    months: list[str],
    regions: pd.DataFrame,
    outlet_month: pd.DataFrame,
    product_counts: pd.DataFrame,
    aum_range: tuple[float, float] | None,
) -> dict:
    """Summarise what a prepared bank can support.

    Parameters
    ----------
    tables_present : list of str
        Raw tables present (a header-only optional table counts as absent).
    months : list of str
        Sorted data months.
    regions : pandas.DataFrame
        ``region_id, echelon``.
    outlet_month : pandas.DataFrame
        ``month, outlet_id, region_id, echelon, outlet_type`` (outlets open at each month end).
    product_counts : pandas.DataFrame
        ``month, product, holders, buyers``: customers holding each product at the month end,
        and customers active at the previous month end who did not hold it then and do now
        (NA in the first month).
    aum_range : (float, float) or None
        Smallest and largest customer AUM over all month ends; None without customer months.

    Returns
    -------
    dict
        JSON-ready: ``tables`` (optional table -> present), ``months`` (first, last, n),
        ``products`` (product -> ``holders`` and ``buyers`` by month), ``products_never_held``,
        ``outlets_per_peer_group`` (echelon x outlet type at the data month),
        ``outlets_per_region`` (at the data month), ``regions_per_echelon`` (every echelon of
        the contract, 0 when none), ``balances`` (``aum_min``, ``aum_max``, ``vary``).

    Examples
    --------
    >>> regions = pd.DataFrame({"region_id": ["R1"], "echelon": [1]})
    >>> om = pd.DataFrame({"month": ["2024-01"], "outlet_id": ["O1"], "region_id": ["R1"],
    ...                    "echelon": [1], "outlet_type": ["flagship"]})
    >>> pc = pd.DataFrame({"month": ["2024-01"], "product": ["card"], "holders": [0],
    ...                    "buyers": [pd.NA]})
    >>> s = data_support(["regions"], ["2024-01"], regions, om, pc, (0.0, 0.0))
    >>> s["products_never_held"], s["balances"]["vary"], s["regions_per_echelon"]["1"]
    (['card'], False, 1)
    """
    present = set(tables_present)
    data_month = months[-1] if months else None
    products: dict[str, dict[str, dict[str, int | None]]] = {}
    for row in product_counts.itertuples(index=False):
        entry = products.setdefault(str(row.product), {"holders": {}, "buyers": {}})
        entry["holders"][str(row.month)] = _count_or_none(row.holders)
        entry["buyers"][str(row.month)] = _count_or_none(row.buyers)
    never = [p for p, e in products.items() if not any(n for n in e["holders"].values() if n)]

    last = outlet_month[outlet_month["month"] == data_month]
    groups = (
        last.groupby(["echelon", "outlet_type"], observed=True)
        .size()
        .reset_index(name="outlets")
        .sort_values(["echelon", "outlet_type"], ignore_index=True)
    )
    per_region = last.groupby("region_id", observed=True).size()
    per_region = per_region.reindex(sorted(regions["region_id"]), fill_value=0)
    per_echelon = regions.groupby("echelon").size()
    vary = aum_range is not None and aum_range[1] > aum_range[0]
    return {
        "tables": {t: t in present for t in OPTIONAL_TABLES},
        "months": {
            "first": months[0] if months else None,
            "last": data_month,
            "n": len(months),
        },
        "products": products,
        "products_never_held": never,
        "outlets_per_peer_group": [
            {
                "echelon": int(r.echelon),
                "outlet_type": str(r.outlet_type),
                "outlets": int(r.outlets),
            }
            for r in groups.itertuples(index=False)
        ],
        "outlets_per_region": {str(k): int(v) for k, v in per_region.items()},
        "regions_per_echelon": {str(e): int(per_echelon.get(e, 0)) for e in ECHELONS},
        "balances": {
            "aum_min": None if aum_range is None else aum_range[0],
            "aum_max": None if aum_range is None else aum_range[1],
            "vary": bool(vary),
        },
    }
