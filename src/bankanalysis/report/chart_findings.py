"""What a chart found, in one or two sentences generated from the numbers it draws.

Sections whose text explains how to read a chart (behaviour segments, cross-holding, cumulative
gains, calibration) add a finding for this region from these pure functions: the largest and
the most distinctive behaviour segment, the most common product pair and the weakest
cross-sell among the most held product's holders, the lift of the top decile, and whether the
probabilities of the highest-probability bin over- or under-state take-up. Small groups are
never described (:mod:`bankanalysis.rules.disclosure`); when nothing can be said, the sentence
says why.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bankanalysis.report.format import format_number
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.tiers import tier_label

__all__ = [
    "TOP_SHARE",
    "TRAIT_WORDS",
    "calibration_sentence",
    "gains_sentence",
    "product_pair_sentences",
    "segment_sentences",
]

logger = logging.getLogger(__name__)

#: Share of customers contacted whose gains the finding states (the top decile).
TOP_SHARE = 0.1
#: Behaviour traits in words, and whether their mean is a share (shown in %) or a number.
TRAIT_WORDS: dict[str, tuple[str, str]] = {
    "age": ("average age", "years"),
    "tenure_years": ("average tenure", "years"),
    "activity": ("average activity", "transactions a month"),
    "n_products": ("average number of products held", ""),
    "share_counter": ("share of transactions at the counter", "%"),
    "share_self_service": ("share of transactions on self-service devices", "%"),
    "share_online": ("share of transactions online", "%"),
    "share_mobile": ("share of transactions on mobile", "%"),
    "has_investment": ("share holding an investment product", "%"),
    "has_loan": ("share holding a loan", "%"),
}


def _pct(share: float, decimals: int = 1) -> str:
    return format_number(100 * float(share), decimals) + "%"


def _count(n: float) -> str:
    return format_number(float(n), 0)


def _trait(trait: str, value: float) -> str:
    unit = TRAIT_WORDS[trait][1]
    if unit == "%":
        return _pct(value)
    return f"{format_number(value, 1)} {unit}".strip()


# --------------------------------------------------------------------------- segmentation


def segment_sentences(
    profiles: pd.DataFrame,
    features: pd.DataFrame,
    min_group_size: int,
    described: pd.Index | None = None,
) -> str:
    """The largest behaviour segment and the one that differs most from the region's average
    (among the tiers split into segments: a tier kept whole is not a behaviour segment).

    Parameters
    ----------
    profiles : DataFrame
        Segment profiles (``tier, name, customers`` and the trait means), every segment,
        small ones included (they are counted, never described).
    features : DataFrame
        The region's customers' behaviour features (the region's averages and spread).
    min_group_size : int
        ``k``: segments of 1 to ``k - 1`` customers are withheld.
    described : Index, optional
        The segments (index labels of ``profiles``) the chart shows
        (:func:`~bankanalysis.report.segments.shown_segments`); only those are named, so
        that a sentence gives back no segment the chart leaves out to protect a tier's count.

    Examples
    --------
    >>> prof = pd.DataFrame({"tier": ["mass", "mass"], "name": ["digital", "branch-loyal"],
    ...                      "customers": [300, 100], "share_counter": [0.1, 0.7]})
    >>> feats = pd.DataFrame({"share_counter": [0.1] * 300 + [0.7] * 100})
    >>> print(segment_sentences(prof, feats, 10))
    The largest behaviour segment is Mass: digital, 300 customers (75.0% of the region's 400 in segments). The most distinctive is Mass: branch-loyal: share of transactions at the counter 70.0% against 25.0% for the region's customers on average (1.7 standard deviations above).
    """
    if profiles.empty or float(profiles["customers"].sum()) == 0:
        return "No behaviour segment could be formed: the region has no customers to group."
    total = float(profiles["customers"].sum())
    small = is_small(profiles["customers"], min_group_size)
    shown = profiles.loc[~small & (profiles["customers"] > 0)]
    if described is not None:
        shown = shown.loc[shown.index.isin(described)]
    withheld = int(small.sum())
    hidden = (
        f" {withheld} segment(s) of 1 to {min_group_size - 1} customers are withheld."
        if withheld
        else ""
    )
    if shown.empty:
        return (
            f"Every behaviour segment has fewer than {min_group_size} customers, so none is "
            "described." + hidden
        )

    def label(row: pd.Series) -> str:
        return f"{tier_label(str(row['tier']))}: {row['name']}"

    top = shown.loc[shown["customers"].idxmax()]
    out = (
        f"The largest behaviour segment is {label(top)}, {_count(top['customers'])} customers "
        f"({_pct(top['customers'] / total)} of the region's {_count(total)} in segments)."
    )
    traits = [t for t in TRAIT_WORDS if t in shown.columns and t in features.columns]
    sd = features[traits].std(ddof=0)
    mean = features[traits].mean()
    traits = [t for t in traits if sd[t] > 0 and math.isfinite(sd[t])]
    # a tier kept whole (too few customers to split) is a tier, not a behaviour segment
    per_tier = profiles.groupby("tier", observed=True)["tier"].transform("size")
    split = shown.loc[per_tier.loc[shown.index].gt(1)]
    if traits and not split.empty:
        z = (split[traits] - mean[traits]) / sd[traits]
        stacked = z.abs().stack()
        if not stacked.empty and stacked.max() > 0:
            i, trait = stacked.idxmax()
            row, zz = split.loc[i], float(z.at[i, trait])
            out += (
                f" The most distinctive is {label(row)}: {TRAIT_WORDS[trait][0]} "
                f"{_trait(trait, row[trait])} against {_trait(trait, mean[trait])} for the "
                f"region's customers on average ({format_number(abs(zz), 1)} standard "
                f"deviations {'above' if zz > 0 else 'below'})."
            )
    return out + hidden


def product_pair_sentences(
    cm: pd.DataFrame, min_group_size: int, product_names: Mapping[str, str]
) -> str:
    """The product pair most customers hold together, and the product least often added by
    the holders of the most held product (the cross-holding chart's weakest cell in its most
    popular row).

    Parameters
    ----------
    cm : DataFrame
        One row per customer of the region with ``hold_<product>`` columns (0/1).
    min_group_size : int
        ``k``: pairs held by 1 to ``k - 1`` customers are not named; products with fewer
        holders are not described (the chart leaves their row blank).
    product_names : mapping
        Product code -> display name.

    Examples
    --------
    >>> cm = pd.DataFrame({"hold_a": [1] * 40 + [0] * 12, "hold_b": [1] * 30 + [0] * 22,
    ...                    "hold_c": [1] * 2 + [0] * 38 + [1] * 12})
    >>> print(product_pair_sentences(cm, 10, {"a": "Deposit", "b": "Fund"}))
    The products most often held together are Deposit and Fund: 30 customers hold both (75.0% of Deposit's 40 holders, 100.0% of Fund's 30). Of Deposit's holders, the fewest also hold Fund: 75.0%, the widest cross-selling gap among the products shown.
    """
    cols = [c for c in cm.columns if c.startswith("hold_")]
    if len(cols) < 2 or cm.empty:
        return "Fewer than two products are held in the region, so there is no pair to describe."
    h = cm[cols].fillna(0).to_numpy("float64")
    co = h.T @ h
    n = np.diag(co).copy()
    names = [product_names.get(c.removeprefix("hold_"), c.removeprefix("hold_")) for c in cols]
    pairs = [
        (co[i, j], i, j)
        for i in range(len(cols))
        for j in range(i + 1, len(cols))
        if co[i, j] > 0 and not is_small([co[i, j]], min_group_size)[0]
    ]
    if not pairs:
        return (
            f"No two products are held together by at least {min_group_size} customers, so no "
            "pair is named."
        )
    both, i, j = max(pairs, key=lambda p: (p[0], -p[1], -p[2]))
    out = (
        f"The products most often held together are {names[i]} and {names[j]}: "
        f"{_count(both)} customers hold both ({_pct(both / n[i])} of {names[i]}'s "
        f"{_count(n[i])} holders, {_pct(both / n[j])} of {names[j]}'s {_count(n[j])})."
    )
    popular = int(np.argmax(n))
    others = [c for c in range(len(cols)) if c != popular]
    # a pair held by 1 to k-1 customers is a small group: never the one named
    others = [
        c
        for c in others
        if co[popular, c] == 0 or not is_small([co[popular, c]], min_group_size)[0]
    ]
    if others and not is_small([n[popular]], min_group_size)[0]:
        weakest = min(others, key=lambda c: (co[popular, c], c))
        out += (
            f" Of {names[popular]}'s holders, the fewest also hold {names[weakest]}: "
            f"{_pct(co[popular, weakest] / n[popular])}, the widest cross-selling gap among the "
            "products shown."
        )
    return out


# --------------------------------------------------------------------------- propensity


def _captured(curve: pd.DataFrame, at: float) -> float:
    c = curve.sort_values("share_contacted")
    return float(np.interp(at, c["share_contacted"], c["share_of_buyers"]))


def gains_sentence(gains: pd.DataFrame, top: float = TOP_SHARE) -> str:
    """What contacting the top ``top`` of customers by score brings, for the best and the
    weakest product: the share of buyers reached, the lift over random contact and the tier
    baseline.

    Parameters
    ----------
    gains : DataFrame
        :func:`~bankanalysis.report.propensity_charts.gains_plot_data` (``product`` labelled
        with its scope, ``ranking`` model / baseline / random).
    top : float
        Share of customers contacted (0.1 = the top decile).

    Examples
    --------
    >>> x = [0.0, 0.1, 1.0]
    >>> g = pd.DataFrame({"product": ["Fund (region)"] * 6, "ranking": ["model"] * 3 + ["baseline"] * 3,
    ...                   "share_contacted": x * 2, "share_of_buyers": [0, 0.4, 1, 0, 0.2, 1]})
    >>> print(gains_sentence(g))
    Contacting the top 10% of customers by score reaches 40.0% of the buyers of Fund (region): a lift of 4.0, four times the buyers a random tenth would bring, against 20.0% (lift 2.0) by the tier baseline.
    """
    if gains.empty:
        return ""
    rows = []
    for product, g in gains.groupby("product", sort=True):
        by = {r: c for r, c in g.groupby("ranking")}
        if "model" not in by:
            continue
        model = _captured(by["model"], top)
        base = _captured(by["baseline"], top) if "baseline" in by else float("nan")
        rows.append((str(product), model, base))
    if not rows:
        return ""
    rows.sort(key=lambda r: (-r[1], r[0]))
    decile = f"{format_number(top * 100, 0)}%"

    def lift(share: float) -> str:
        return format_number(share / top, 1)

    best, model, base = rows[0]
    whole = round(model / top)
    words = {2: "twice", 3: "three times", 4: "four times", 5: "five times"}
    near = abs(model / top - whole) < 0.05  # "four times" only for a lift shown as 4.0
    times = words[whole] if near and whole in words else f"{lift(model)} times"
    fraction = "tenth" if top == 0.1 else f"{decile} of customers"
    out = (
        f"Contacting the top {decile} of customers by score reaches {_pct(model)} of the buyers "
        f"of {best}: a lift of {lift(model)}, {times} the buyers a random {fraction} would bring"
    )
    if math.isfinite(base):
        out += f", against {_pct(base)} (lift {lift(base)}) by the tier baseline"
    out += "."
    if len(rows) > 1:
        worst, w_model, w_base = rows[-1]
        out += f" Weakest: {worst}, {_pct(w_model)} of its buyers (lift {lift(w_model)})"
        if math.isfinite(w_base) and w_model <= w_base:
            out += ", no better than the tier baseline"
        out += "."
    beaten = [r[0] for r in rows if math.isfinite(r[2]) and r[1] <= r[2]]
    if beaten and len(rows) > 2:
        out += f" The model reaches no more buyers than the baseline for {len(beaten)} of {len(rows)} products."
    return out


def calibration_sentence(calib: pd.DataFrame, z: float = 2.0) -> str:
    """Whether the probabilities of each product's highest-probability bin shown over- or
    under-state take-up, beyond sampling error (``z`` standard errors of the observed rate).

    Parameters
    ----------
    calib : DataFrame
        :func:`~bankanalysis.report.propensity_charts.calibration_plot_data` (small bins
        already left out): ``product, n, mean_predicted, observed_rate``.
    z : float
        Standard errors (binomial, at the predicted rate) a gap must exceed to count.

    Examples
    --------
    >>> c = pd.DataFrame({"product": ["Fund (region)", "Fund (region)", "Loan (bank)"],
    ...                   "n": [500, 200, 400], "mean_predicted": [0.05, 0.40, 0.30],
    ...                   "observed_rate": [0.05, 0.25, 0.31]})
    >>> print(calibration_sentence(c))
    In the highest-probability bin shown, the predicted probability matches the observed take-up within sampling error for 1 of 2 products; it over-states take-up for Fund (region) (40.0% predicted, 25.0% observed among 200 customers): read its top leads' probabilities as upper bounds.
    """
    if calib.empty:
        return ""
    over, under, fine = [], [], 0
    for product, g in calib.groupby("product", sort=True):
        top = g.loc[g["mean_predicted"].idxmax()]
        p, obs, n = float(top["mean_predicted"]), float(top["observed_rate"]), float(top["n"])
        se = math.sqrt(max(p * (1 - p), 1e-12) / n) if n > 0 else float("inf")
        text = f"{product} ({_pct(p)} predicted, {_pct(obs)} observed among {_count(n)} customers)"
        if p - obs > z * se:
            over.append(text)
        elif obs - p > z * se:
            under.append(text)
        else:
            fine += 1
    total = fine + len(over) + len(under)
    out = (
        "In the highest-probability bin shown, the predicted probability matches the observed "
        f"take-up within sampling error for {fine} of {total} products"
    )
    if over:
        out += (
            f"; it over-states take-up for {'; '.join(over[:3])}: read its top leads' "
            "probabilities as upper bounds"
            if len(over) == 1
            else f"; it over-states take-up for {'; '.join(over[:3])}: read their top leads' "
            "probabilities as upper bounds"
        )
    if under:
        out += f"; it under-states take-up for {'; '.join(under[:3])}"
    return out + "."
