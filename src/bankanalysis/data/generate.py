"""The built-in synthetic bank, with the truth it was generated from.

:func:`generate_bank` writes every table of :data:`bankanalysis.contract.TABLES` into a raw
folder (Parquet by default, UTF-8 CSV on request) and the planted truth into ``_truth/``:

- ``personas.parquet``: each customer's behaviour persona (6 personas with clearly different
  channel mix, activity, age, tenure and product holdings);
- ``propensity.parquet`` and ``propensity_model.json``: for every cross-sell product and month,
  each active non-holder's true probability of holding the product at the next month-end,
  ``sigmoid(f_p(x_t))`` with ``x_t`` read only from what the processed ``customer_month`` row at
  ``t`` shows. The simulation draws the acquisitions from exactly these probabilities;
- ``outlet_efficiency.parquet``: each outlet's efficiency in (0, 1]. Customers and new customers
  are spread over outlets in proportion to ``efficiency * (staff_fte + 2 * devices)`` (a
  constant-returns production function), stratified by persona and wealth, and their assets scale
  with ``efficiency ** 0.8``, so deposits, new customers, sales and fee income follow inputs and
  efficiency with modest noise.

The simulation is vectorised over customers and runs month by month, writing the big tables
(holdings, transactions, the propensity truth) in per-month chunks, so a million customers fit in
a few GB. Same arguments, byte-identical files: every random draw comes from a stream derived from
``seed``, a component id and the month.

Nothing here reads the wall clock for data: the calendar ends at ``end_month``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bankanalysis.contract import CHANNELS, CONTACT_CHANNELS, TABLES, TXN_KINDS
from bankanalysis.exceptions import GenerateError

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- catalogue

#: (region_id, name, echelon, share of outlets, off-site self-service sites per outlet)
REGIONS: tuple[tuple[str, str, int, float, float], ...] = (
    ("R01", "明州分行", 1, 0.22, 2.4),
    ("R02", "东湖分行", 2, 0.14, 2.1),
    ("R03", "西港分行", 2, 0.13, 1.6),
    ("R04", "南桥分行", 2, 0.12, 1.9),
    ("R05", "北山分行", 3, 0.11, 1.3),
    ("R06", "青河分行", 3, 0.10, 0.9),
    ("R07", "云溪分行", 3, 0.09, 1.1),
    ("R08", "石岭分行", 3, 0.09, 0.7),
)

_STREETS: tuple[str, ...] = tuple(
    "人民路 解放路 中山路 建设路 新华路 和平路 长江路 黄河路 文化路 胜利路 东风路 光明路 朝阳路 湖滨路 江南路 "
    "滨江路 公园路 学府路 科技路 工业路 花园路 幸福路 青年路 环城路 北京路 上海路 南京路 广场路 站前路 金融街".split()
)

#: (product, name, family, in_aum, cross_sell, fee rate on purchases)
PRODUCTS: tuple[tuple[str, str, str, bool, bool, float], ...] = (
    ("current_deposit", "活期存款", "deposit", True, False, 0.0),
    ("time_deposit", "定期存款", "deposit", True, False, 0.0),
    ("wmp", "理财产品", "investment", True, True, 0.005),
    ("fund", "基金", "investment", True, True, 0.012),
    ("insurance", "保险", "insurance", True, True, 0.03),
    ("gold", "黄金", "investment", True, True, 0.008),
    ("bond", "国债", "investment", True, False, 0.002),
    ("trust", "信托计划", "investment", True, False, 0.01),
    ("forex", "外汇", "investment", True, False, 0.002),
    ("debit_card", "借记卡", "card", False, False, 0.0),
    ("wealth_card", "财富卡", "card", False, True, 0.0),
    ("credit_card", "信用卡", "card", False, True, 0.0),
    ("online_banking", "网上银行", "e_banking", False, False, 0.0),
    ("mobile_banking", "手机银行", "e_banking", False, True, 0.0),
    ("personal_loan", "个人贷款", "loan", False, True, 0.0),
    ("safe_box", "保管箱", "service", False, False, 0.0),
)
PRODUCT_IDS: tuple[str, ...] = tuple(p[0] for p in PRODUCTS)
_P = {p: i for i, p in enumerate(PRODUCT_IDS)}
_N_AUM = 9  # the first nine products are the in-AUM ones
_INVEST = np.array([_P[p] for p in ("wmp", "fund", "insurance", "gold", "bond", "trust", "forex")])
CROSS_SELL: tuple[str, ...] = tuple(p[0] for p in PRODUCTS if p[4])
_FEE_RATE = np.array([p[5] for p in PRODUCTS])
#: Relative weight of each in-AUM product when a customer's AUM is split over held products.
_AUM_WEIGHT = np.array([1.0, 2.5, 2.5, 1.5, 1.2, 0.4, 0.8, 3.0, 0.4])

PERSONAS: tuple[str, ...] = (
    "digital_saver",
    "branch_traditional",
    "wealth_investor",
    "young_borrower",
    "self_service",
    "dormant",
)
#: Persona mix of the stock of customers and of customers who join during the window.
_PERSONA_MIX_STOCK = np.array([0.22, 0.19, 0.07, 0.14, 0.16, 0.22])
_PERSONA_MIX_NEW = np.array([0.30, 0.05, 0.04, 0.35, 0.12, 0.14])
#: Wealth tier probabilities (mass, quality, VIP, private) by persona.
_TIER_PROBS = np.array(
    [
        [0.860, 0.130, 0.010, 0.000],
        [0.800, 0.175, 0.025, 0.000],
        [0.200, 0.480, 0.290, 0.030],
        [0.950, 0.048, 0.002, 0.000],
        [0.870, 0.120, 0.010, 0.000],
        [0.930, 0.065, 0.005, 0.000],
    ]
)
#: Age mean and sd, tenure range in years, monthly closure hazard, monthly AUM drift.
_AGE = np.array([[40, 6], [64, 8], [52, 8], [25, 3.5], [47, 8], [50, 14]], dtype=float)
_TENURE_Y = np.array([[1, 12], [8, 30], [4, 25], [0.2, 5], [2, 18], [2, 25]], dtype=float)
_CLOSE_HAZARD = np.array([0.004, 0.004, 0.002, 0.009, 0.004, 0.012])
_DRIFT = np.array([0.004, 0.002, 0.005, 0.010, 0.003, -0.008])
#: Mean monthly transactions by channel (counter, self_service, online, mobile, phone).
_CHANNEL_RATE = np.array(
    [
        [0.20, 0.30, 2.40, 2.20, 0.05],
        [1.80, 0.25, 0.05, 0.10, 0.15],
        [1.00, 0.30, 1.00, 1.20, 1.00],
        [0.10, 0.30, 0.30, 6.50, 0.05],
        [0.25, 2.60, 0.10, 0.30, 0.05],
        [0.01, 0.01, 0.00, 0.00, 0.00],
    ]
)
#: Initial holding probabilities by persona (columns in PRODUCT_IDS order).
# fmt: off
_HOLD_PROBS = np.array(
    [
        # cd td  wmp   fund  ins   gold  bond  trst  fx    deb   wc    cc    onl   mob   loan  safe
        [1, 0.75, 0.30, 0.20, 0.06, 0.04, 0.02, 0.0, 0.03, 0.97, 0.05, 0.15, 0.97, 0.97, 0.03, 0.01],
        [1, 0.85, 0.18, 0.04, 0.30, 0.08, 0.10, 0.0, 0.01, 0.90, 0.06, 0.04, 0.04, 0.05, 0.01, 0.08],
        [1, 0.60, 0.90, 0.75, 0.60, 0.35, 0.40, 0.3, 0.20, 0.95, 0.50, 0.50, 0.80, 0.85, 0.03, 0.25],
        [1, 0.05, 0.03, 0.06, 0.03, 0.02, 0.00, 0.0, 0.02, 0.98, 0.01, 0.85, 0.10, 0.99, 0.50, 0.00],
        [1, 0.30, 0.08, 0.04, 0.08, 0.03, 0.03, 0.0, 0.01, 0.98, 0.03, 0.08, 0.08, 0.15, 0.04, 0.02],
        [1, 0.08, 0.01, 0.01, 0.02, 0.01, 0.01, 0.0, 0.00, 0.50, 0.01, 0.02, 0.02, 0.03, 0.00, 0.00],
    ]
)
# fmt: on
#: Transaction kind probabilities by channel (columns in TXN_KINDS order).
_KIND_PROBS = np.array(
    [
        [0.30, 0.25, 0.15, 0.12, 0.06, 0.07, 0.05],
        [0.35, 0.50, 0.12, 0.00, 0.00, 0.03, 0.00],
        [0.02, 0.00, 0.45, 0.15, 0.08, 0.28, 0.02],
        [0.00, 0.00, 0.45, 0.10, 0.05, 0.38, 0.02],
        [0.00, 0.00, 0.30, 0.20, 0.10, 0.30, 0.10],
    ]
)
#: Largest fee on one purchase (large tickets and VIP customers get fee waivers).
_FEE_CAP = 3000.0
_KIND_BASE_AMOUNT = np.array([2000.0, 1000.0, 3000.0, 20000.0, 15000.0, 500.0, 20.0])
#: Monthly probability that a holder gives up a cross-sell product.
_DROP = {
    "wmp": 0.025,
    "fund": 0.020,
    "insurance": 0.005,
    "gold": 0.015,
    "wealth_card": 0.005,
    "credit_card": 0.010,
    "mobile_banking": 0.005,
    "personal_loan": 0.030,
}
#: Outlet capacity = staff_fte + DEVICE_STAFF_EQUIV * on-site devices (constant returns).
DEVICE_STAFF_EQUIV = 2.0
#: Customers' assets scale with ``efficiency ** WALLET_EFFICIENCY_EXPONENT`` of their home outlet.
WALLET_EFFICIENCY_EXPONENT = 0.8
TARGET_KPIS: tuple[str, ...] = (
    "new_customers",
    "deposit_balance",
    "aum",
    "fee_income",
    "sales_total",
)

#: The true propensity model: logit of acquiring product p next month, by product.
#: Terms are functions of the processed ``customer_month`` row, see :data:`TRUTH_FEATURES`.
PROPENSITY_MODEL: dict[str, dict[str, float]] = {
    "wmp": {
        "intercept": -4.7,
        "log_aum_c": 0.9,
        "hold_time_deposit": 0.5,
        "hold_fund": 0.5,
        "log_contact_3m": 0.3,
        "age_c": 0.25,
        "echelon_1": 0.2,
    },
    "fund": {
        "intercept": -5.3,
        "log_aum_c": 0.6,
        "hold_wmp": 0.7,
        "e_channel_share_3m": 0.9,
        "age_c": -0.3,
        "log_contact_3m": 0.2,
        "log_txn_3m": 0.15,
    },
    "insurance": {
        "intercept": -4.8,
        "age_c": 0.2,
        "age_c_sq": -0.7,
        "log_aum_c": 0.4,
        "log_contact_3m": 0.35,
        "hold_personal_loan": 0.5,
        "n_products": 0.08,
    },
    "gold": {
        "intercept": -5.5,
        "log_aum_c": 0.5,
        "age_c": 0.35,
        "hold_wmp": 0.4,
        "echelon_3": 0.25,
        "log_contact_3m": 0.2,
    },
    "credit_card": {
        "intercept": -5.2,
        "age_c": -0.6,
        "e_channel_share_3m": 0.9,
        "log_txn_3m": 0.3,
        "log_aum_c": 0.25,
        "hold_personal_loan": 0.4,
    },
    "wealth_card": {
        "intercept": -5.5,
        "log_aum_c": 1.6,
        "hold_wmp": 0.5,
        "log_contact_3m": 0.35,
    },
    "mobile_banking": {
        "intercept": -4.2,
        "age_c": -0.9,
        "hold_online_banking": 0.8,
        "log_txn_3m": 0.25,
        "e_channel_share_3m": 0.8,
    },
    "personal_loan": {
        "intercept": -6.0,
        "age_c": -0.7,
        "hold_credit_card": 0.7,
        "log_aum_c": -0.4,
        "log_txn_3m": 0.3,
        "tenure_y": 0.25,
    },
}
#: Definitions of the terms of :data:`PROPENSITY_MODEL` in processed ``customer_month`` columns.
TRUTH_FEATURES: dict[str, str] = {
    "log_aum_c": "(log1p(aum) - 9.5) / 2",
    "age_c": "(age - 45) / 15",
    "age_c_sq": "((age - 45) / 15) ** 2",
    "tenure_y": "min(tenure_months, 360) / 120",
    "e_channel_share_3m": "e_channel_share_3m",
    "log_txn_3m": "log1p(txn_n_3m)",
    "log_contact_3m": "log1p(contact_minutes_3m)",
    "n_products": "n_products",
    "echelon_1": "1 if echelon == 1 else 0",
    "echelon_3": "1 if echelon == 3 else 0",
    "hold_<product>": "hold_<product> (0/1)",
}

# Random stream ids (one per component) so that changing one part leaves the others' draws alone.
_S_REGIONS, _S_OUTLETS, _S_CUSTOMERS, _S_MANAGERS, _S_DEVICES, _S_TARGETS = range(1, 7)
_S_MONTH_HOLD, _S_MONTH_TXN, _S_MONTH_CONTACT, _S_MONTH_ACQ, _S_MONTH_DEV = range(11, 16)

_PHI = (np.sqrt(5.0) - 1.0) / 2.0

#: Bumped whenever the same arguments would give different data (written to ``_truth/.synthetic``
#: so cached generated banks can be recognised as stale).
GENERATOR_VERSION = 1


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), *keys])


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class Calendar:
    """Month-ends of the window.

    Attributes
    ----------
    labels : list of str
        ``YYYY-MM`` of every month, oldest first.
    start : numpy.ndarray
        First day of each month (``datetime64[D]``).
    end : numpy.ndarray
        Last day of each month (``datetime64[D]``).
    """

    labels: list[str]
    start: np.ndarray
    end: np.ndarray

    @property
    def days(self) -> np.ndarray:
        """Number of days in each month."""
        return (self.end - self.start).astype(np.int64) + 1


def make_calendar(end_month: str, n_months: int) -> Calendar:
    """Return the ``n_months`` months ending with ``end_month``.

    Parameters
    ----------
    end_month : str
        Last month, ``YYYY-MM``.
    n_months : int
        Number of months (>= 1).

    Returns
    -------
    Calendar
    """
    if n_months < 1:
        raise GenerateError(f"--months must be at least 1, got {n_months}.")
    try:
        last = np.datetime64(end_month, "M")
    except ValueError as exc:
        raise GenerateError(f"end_month must be YYYY-MM, got {end_month!r}.") from exc
    months = last - np.arange(n_months - 1, -1, -1)
    start = months.astype("datetime64[D]")
    end = (months + 1).astype("datetime64[D]") - 1
    return Calendar([str(m) for m in months], start, end)


# --------------------------------------------------------------------------- dimensions


def build_regions() -> pd.DataFrame:
    """Return the eight regions (1 central city, 3 key development, 4 expansion areas)."""
    return pd.DataFrame(
        {
            "region_id": [r[0] for r in REGIONS],
            "name": [r[1] for r in REGIONS],
            "echelon": np.array([r[2] for r in REGIONS], dtype=np.int32),
        }
    )


def n_outlets_for(n_customers: int) -> int:
    """Number of outlets of a bank of ``n_customers`` (16 to 100, >= 2 per region)."""
    return max(16, min(100, n_customers // 400))


def _largest_remainder(total: int, shares: np.ndarray, minimum: int) -> np.ndarray:
    base = np.full(len(shares), minimum, dtype=np.int64)
    rest = total - base.sum()
    raw = shares / shares.sum() * rest
    out = base + np.floor(raw).astype(np.int64)
    left = total - out.sum()
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    out[order[:left]] += 1
    return out


def build_outlets(n_customers: int, cal: Calendar, seed: int) -> pd.DataFrame:
    """Return outlets with type, staff, on-site devices and planted efficiency.

    Parameters
    ----------
    n_customers : int
        Bank size (sets the number of outlets).
    cal : Calendar
        The window (outlets open before it starts).
    seed : int
        Random seed.

    Returns
    -------
    pandas.DataFrame
        Contract columns plus ``echelon``, ``n_devices`` (on-site devices), ``efficiency`` and
        ``weight`` (share of customers the outlet attracts).
    """
    rng = _rng(seed, _S_OUTLETS)
    n_out = n_outlets_for(n_customers)
    per_region = _largest_remainder(n_out, np.array([r[3] for r in REGIONS]), 2)
    rows = []
    k = 0
    for (rid, rname, ech, _, _), n in zip(REGIONS, per_region, strict=True):
        city = rname[:-2]
        streets = rng.permutation(len(_STREETS))
        n_flag = 2 if (n >= 12 or ech == 1) else 1
        p_comm = {1: 0.35, 2: 0.45, 3: 0.55}[ech]
        for j in range(n):
            k += 1
            if j < n_flag:
                otype = "flagship"
            else:
                otype = "community" if rng.random() < p_comm else "standard"
            street = _STREETS[streets[j % len(_STREETS)]]
            suffix = "" if j < len(_STREETS) else str(j // len(_STREETS) + 1)
            name = f"{city}{street}{suffix}{'社区支行' if otype == 'community' else '支行'}"
            rows.append((f"O{k:03d}", rid, name, otype, ech))
    df = pd.DataFrame(rows, columns=["outlet_id", "region_id", "name", "outlet_type", "echelon"])
    n = len(df)
    otype = df["outlet_type"].to_numpy()
    lo = np.select([otype == "flagship", otype == "standard"], [28.0, 12.0], 5.0)
    hi = np.select([otype == "flagship", otype == "standard"], [40.0, 22.0], 10.0)
    # the central city's outlets are busier and better staffed
    staff = (lo + rng.random(n) * (hi - lo)) * np.where(df["echelon"].to_numpy() == 1, 1.2, 1.0)
    staff = np.round(staff * 2) / 2
    dlo = np.select([otype == "flagship", otype == "standard"], [5, 2], 1)
    dhi = np.select([otype == "flagship", otype == "standard"], [8, 5], 3)
    devices = rng.integers(dlo, dhi + 1)
    eff = np.clip(rng.beta(4.0, 2.0, n), 0.3, None)
    eff = np.round(eff / eff.max(), 4)
    first = cal.start[0]
    span = (first - np.datetime64("1990-01-01")).astype(np.int64) - 400
    opened_off = rng.integers(400, span, n)
    opened_off = np.where(otype == "flagship", span - (span - opened_off) // 3, opened_off)
    df["staff_fte"] = staff
    df["opened"] = first - opened_off.astype("timedelta64[D]")
    df["n_devices"] = devices.astype(np.int32)
    df["efficiency"] = eff
    w = eff * (staff + DEVICE_STAFF_EQUIV * devices)
    df["weight"] = w / w.sum()
    return df


def build_products() -> pd.DataFrame:
    """Return the product catalogue (contract columns)."""
    return pd.DataFrame(
        {
            "product": [p[0] for p in PRODUCTS],
            "name": [p[1] for p in PRODUCTS],
            "family": [p[2] for p in PRODUCTS],
            "in_aum": [p[3] for p in PRODUCTS],
            "cross_sell": [p[4] for p in PRODUCTS],
        }
    )


@dataclass
class Customers:
    """Static customer attributes (arrays of length n) and simulation state."""

    persona: np.ndarray  # int8
    outlet: np.ndarray  # int32 index into outlets
    manager: np.ndarray  # int32 index into managers, -1 none
    birth_year: np.ndarray  # int32
    gender: np.ndarray  # int8 into F, M, U
    since: np.ndarray  # datetime64[D]
    closed: np.ndarray  # datetime64[D], NaT when open
    open_idx: np.ndarray  # int16 month index of the first month-end held (0 for the stock)
    close_idx: np.ndarray  # int16 month index of the closing month (n_months when open)
    wealth: np.ndarray  # float64 latent AUM level
    activity: np.ndarray  # float32 activity multiplier
    split: np.ndarray  # float32 (n, 9) AUM split weights
    loan: np.ndarray  # float64 loan amount
    holds: np.ndarray  # bool (n, 16) initial holdings


def _draw_wealth(rng: np.random.Generator, tier: np.ndarray) -> np.ndarray:
    n = len(tier)
    u = rng.random(n)
    w = np.exp(np.log(100.0) + u * (np.log(45_000.0) - np.log(100.0)))
    q = np.exp(np.log(55_000.0) + u * (np.log(450_000.0) - np.log(55_000.0)))

    def pareto(lo: float, hi: float, alpha: float) -> np.ndarray:
        r = (lo / hi) ** alpha
        return lo * (1.0 - u * (1.0 - r)) ** (-1.0 / alpha)

    w = np.where(tier == 1, q, w)
    w = np.where(tier == 2, pareto(550_000.0, 5_500_000.0, 1.3), w)
    w = np.where(tier == 3, pareto(6_500_000.0, 60_000_000.0, 1.6), w)
    return w


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def draw_customers(n: int, outlets: pd.DataFrame, cal: Calendar, seed: int) -> Customers:
    """Draw personas, wealth, home outlets, dates and initial holdings of ``n`` customers.

    Parameters
    ----------
    n : int
        Number of customers (stock at the start plus those joining during the window).
    outlets : pandas.DataFrame
        From :func:`build_outlets`.
    cal : Calendar
        The window.
    seed : int
        Random seed.

    Returns
    -------
    Customers
    """
    rng = _rng(seed, _S_CUSTOMERS)
    T = len(cal.labels)
    # about 1.1% of the customers join per month of the window
    n_new = int(round(min(0.14, 0.011 * T) * n))
    is_new = np.zeros(n, dtype=bool)
    is_new[rng.permutation(n)[:n_new]] = True
    open_idx = np.zeros(n, dtype=np.int16)
    open_idx[is_new] = rng.integers(0, T, n_new)
    mix = np.where(is_new[:, None], _PERSONA_MIX_NEW, _PERSONA_MIX_STOCK)
    persona = _categorical(rng, mix).astype(np.int8)
    tier = _categorical(rng, _TIER_PROBS[persona])
    wealth = _draw_wealth(rng, tier)

    # home outlet: low-discrepancy spread of every (joining month, persona, wealth) stratum over
    # outlets in proportion to their weight
    order = np.lexsort((wealth, persona, open_idx))
    pos = np.empty(n)
    pos[order] = np.mod(rng.random() + _PHI * np.arange(n), 1.0)
    cumw = np.cumsum(outlets["weight"].to_numpy())
    cumw[-1] = 1.0 + 1e-12
    outlet = np.searchsorted(cumw, pos, side="right").astype(np.int32)
    echelon = outlets["echelon"].to_numpy()[outlet]
    # efficient outlets also win a larger share of their customers' wallets
    log_eff = np.log(outlets["efficiency"].to_numpy())[outlet]
    wealth = wealth * np.exp(WALLET_EFFICIENCY_EXPONENT * (log_eff - log_eff.mean()))

    # dates
    first_start = cal.start[0]
    tenure_days = (
        _TENURE_Y[persona, 0] + rng.random(n) * (_TENURE_Y[persona, 1] - _TENURE_Y[persona, 0])
    ) * 365.25
    since_stock = first_start - tenure_days.astype(np.int64).astype("timedelta64[D]")
    opened = outlets["opened"].to_numpy().astype("datetime64[D]")
    since_stock = np.maximum(since_stock, opened[outlet])
    day_in = (rng.random(n) * cal.days[open_idx]).astype(np.int64).astype("timedelta64[D]")
    since = np.where(is_new, cal.start[open_idx] + day_in, since_stock).astype("datetime64[D]")
    age0 = np.clip(rng.normal(_AGE[persona, 0], _AGE[persona, 1]), 18, 92)
    age0 = age0 + np.where(echelon == 3, 3.0, 0.0)
    since_year = since.astype("datetime64[Y]").astype(np.int64) + 1970
    birth_year = np.minimum(
        int(str(cal.labels[0])[:4]) - np.round(age0).astype(np.int64), since_year - 16
    )

    # closures: geometric hazard from the month after opening
    hazard = _CLOSE_HAZARD[persona]
    wait = rng.geometric(hazard)
    close_idx = np.minimum(open_idx.astype(np.int64) + wait, T).astype(np.int16)
    closing = close_idx < T
    cday = (rng.random(n) * cal.days[np.minimum(close_idx, T - 1)]).astype(np.int64)
    closed = np.where(
        closing,
        cal.start[np.minimum(close_idx, T - 1)] + cday.astype("timedelta64[D]"),
        np.datetime64("NaT", "D"),
    )

    # initial holdings: persona probabilities, investments more likely the wealthier
    inv_mult = np.array([0.6, 1.5, 2.0, 2.2])[tier]
    probs = _HOLD_PROBS[persona].copy()
    inv_cols = [_P[p] for p in ("time_deposit", "wmp", "fund", "insurance", "gold", "bond")]
    probs[:, inv_cols] = np.minimum(probs[:, inv_cols] * inv_mult[:, None], 0.95)
    probs[:, _P["trust"]] = np.where(wealth >= 1_000_000, np.where(persona == 2, 0.45, 0.15), 0.0)
    probs[:, _P["forex"]] *= np.where(tier >= 2, 3.0, 1.0)
    probs[:, _P["wealth_card"]] = np.where(
        wealth >= 50_000, np.maximum(probs[:, _P["wealth_card"]], 0.35), 0.02
    )
    probs[:, _P["safe_box"]] *= np.where(tier >= 2, 3.0, 1.0)
    # customers who join in the window start with fewer savings and investment products (their
    # cards and e-banking follow their persona)
    damped = [_P[p] for p in PRODUCT_IDS[1:_N_AUM]] + [_P["personal_loan"], _P["safe_box"]]
    probs[:, damped] *= np.where(is_new, 0.6, 1.0)[:, None]
    mob = _P["mobile_banking"]
    probs[:, mob] *= np.where(echelon == 3, 0.85, 1.0)
    holds = rng.random(probs.shape) < np.minimum(probs, 0.98)
    holds[:, _P["current_deposit"]] = True

    split = rng.gamma(2.0, 0.5, (n, _N_AUM)).astype(np.float32) * _AUM_WEIGHT.astype(np.float32)
    loan = np.round(np.exp(rng.normal(np.log(80_000), 0.6, n)), -2)
    activity = np.exp(rng.normal(0.0, 0.25, n)).astype(np.float32)
    gender = _categorical(rng, np.tile([0.49, 0.49, 0.02], (n, 1))).astype(np.int8)
    return Customers(
        persona=persona,
        outlet=outlet,
        manager=np.full(n, -1, dtype=np.int32),
        birth_year=birth_year.astype(np.int32),
        gender=gender,
        since=since,
        closed=closed,
        open_idx=open_idx,
        close_idx=close_idx,
        wealth=wealth,
        activity=activity,
        split=split,
        loan=loan,
        holds=holds,
    )


def assign_managers(
    cust: Customers, outlets: pd.DataFrame, cal: Calendar, seed: int
) -> pd.DataFrame:
    """Create account managers per outlet and assign them (mostly) to quality and VIP customers.

    Sets ``cust.manager`` in place and returns the managers table (contract columns).
    """
    rng = _rng(seed, _S_MANAGERS)
    n = len(cust.persona)
    w = cust.wealth
    p_assign = np.select([w >= 6e6, w >= 5e5, w >= 5e4], [1.0, 0.92, 0.55], 0.02)
    assigned = rng.random(n) < p_assign
    n_out = len(outlets)
    per_outlet = np.bincount(cust.outlet[assigned], minlength=n_out)
    n_mgr = np.maximum(1, np.round(per_outlet / 120.0)).astype(np.int64)
    first = np.concatenate([[0], np.cumsum(n_mgr)[:-1]])
    n_total = int(n_mgr.sum())
    mgr_outlet = np.repeat(np.arange(n_out), n_mgr)
    full_time = rng.random(n_total) < 0.8
    first_day = cal.start[0]
    hired = first_day - rng.integers(30, 15 * 365, n_total).astype("timedelta64[D]")
    hired = np.maximum(hired, outlets["opened"].to_numpy().astype("datetime64[D]")[mgr_outlet])
    pick = (rng.random(n) * n_mgr[cust.outlet]).astype(np.int64)
    cust.manager = np.where(assigned, first[cust.outlet] + pick, -1).astype(np.int32)
    return pd.DataFrame(
        {
            "manager_id": [f"M{i + 1:05d}" for i in range(n_total)],
            "outlet_id": outlets["outlet_id"].to_numpy()[mgr_outlet],
            "full_time": full_time,
            "hired": hired,
        }
    )


def build_devices(outlets: pd.DataFrame, cal: Calendar, seed: int) -> pd.DataFrame:
    """On-site devices of every outlet and off-site self-service sites per region.

    Off-site sites per outlet vary by region (see :data:`REGIONS`) so that some regions are
    below the plan's three self-service banks per outlet.
    """
    rng = _rng(seed, _S_DEVICES)
    T = len(cal.labels)
    first = cal.start[0]
    rows_region, rows_outlet, rows_site, rows_type, rows_inst = [], [], [], [], []
    for o in outlets.itertuples(index=False):
        k = int(o.n_devices)
        types = rng.choice(np.array(["atm", "crs", "kiosk"]), size=k, p=[0.45, 0.4, 0.15])
        span = max(1, int((first - np.datetime64(o.opened, "D")).astype(np.int64)))
        inst = np.datetime64(o.opened, "D") + rng.integers(0, span, k).astype("timedelta64[D]")
        rows_region += [o.region_id] * k
        rows_outlet += [o.outlet_id] * k
        rows_site += [f"S{o.outlet_id}"] * k
        rows_type += list(types)
        rows_inst += list(inst)
    for rid, _, _, _, ratio in REGIONS:
        n_out = int((outlets["region_id"] == rid).sum())
        n_sites = int(round(n_out * ratio))
        for s in range(n_sites):
            k = 1 + int(rng.poisson(0.6))
            types = rng.choice(np.array(["atm", "crs", "kiosk"]), size=k, p=[0.55, 0.4, 0.05])
            if T > 1 and rng.random() < 0.15:
                m = int(rng.integers(1, T))
                day = cal.start[m] + np.timedelta64(int(rng.integers(0, cal.days[m])), "D")
            else:
                day = first - np.timedelta64(int(rng.integers(30, 8 * 365)), "D")
            rows_region += [rid] * k
            rows_outlet += [None] * k
            rows_site += [f"S{rid}-{s + 1:03d}"] * k
            rows_type += list(types)
            rows_inst += [day] * k
    n = len(rows_site)
    return pd.DataFrame(
        {
            "device_id": [f"D{i + 1:05d}" for i in range(n)],
            "region_id": rows_region,
            "outlet_id": pd.array(rows_outlet, dtype="str"),
            "site_id": rows_site,
            "device_type": rows_type,
            "installed": np.array(rows_inst, dtype="datetime64[D]"),
        }
    )


def build_device_months(devices: pd.DataFrame, cal: Calendar, seed: int) -> pd.DataFrame:
    """Available and operating hours of every installed device per month."""
    rng = _rng(seed, _S_MONTH_DEV)
    inst = devices["installed"].to_numpy().astype("datetime64[D]")
    per_day = np.where(devices["device_type"].to_numpy() == "kiosk", 12.0, 24.0)
    quality = np.clip(rng.beta(12.0, 1.2, len(devices)), 0.4, 1.0)
    frames = []
    for t, label in enumerate(cal.labels):
        on = inst <= cal.end[t]
        days = (cal.end[t] - np.maximum(inst, cal.start[t])).astype(np.int64) + 1
        avail = np.round(per_day * days, 1)[on]
        rate = np.clip(quality[on] - rng.exponential(0.02, on.sum()), 0.0, 1.0)
        oper = np.minimum(np.floor(avail * rate * 10.0) / 10.0, avail)
        frames.append(
            pd.DataFrame(
                {
                    "month": label,
                    "device_id": devices["device_id"].to_numpy()[on],
                    "available_hours": avail.astype(np.float32),
                    "operating_hours": oper.astype(np.float32),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- arrow helpers


def _id_table(prefix: str, n: int) -> tuple[np.ndarray, int]:
    """Fixed-width ASCII ids ``<prefix><zero-padded number>`` as a numpy bytes array."""
    width = max(7 if prefix == "C" else 5, len(str(n)))
    ids = np.char.add(
        prefix.encode(), np.char.zfill(np.arange(1, n + 1).astype(f"S{width}"), width)
    )
    return ids, len(prefix) + width


def _fixed_strings(table: np.ndarray, width: int, idx: np.ndarray) -> pa.Array:
    """Arrow string array of ``table[idx]`` (all entries ``width`` bytes long), built zero-copy."""
    data = np.ascontiguousarray(table[idx])
    m = len(idx)
    offsets = np.arange(0, (m + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(m, pa.py_buffer(offsets), pa.py_buffer(data.view(np.uint8)))


def _dict_array(idx: np.ndarray, values: list[str] | np.ndarray) -> pa.Array:
    """Dictionary-encoded string column; negative indices are nulls."""
    idx = np.asarray(idx)
    mask = idx < 0
    indices = pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask if mask.any() else None)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(values), type=pa.string()))


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in schema
        ]
    )


class _ChunkWriter:
    """Write a table chunk by chunk as Parquet (dictionary columns kept) or UTF-8 CSV.

    Chunks are encoded on a background thread (Arrow releases the GIL), so the next month is
    simulated while the previous one is written; at most one chunk waits at a time.
    """

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, plain_cols: tuple[str, ...] = ()):
        self.fmt = fmt
        self.plain = _plain_schema(schema)
        self.rows = 0
        if fmt == "parquet":
            dict_cols = [f.name for f in schema if f.name not in plain_cols]
            self._w = pq.ParquetWriter(
                path,
                schema,
                compression="snappy",
                use_dictionary=dict_cols,
                store_schema=False,
            )
        else:
            self._w = pacsv.CSVWriter(path, self.plain)
        self.schema = schema
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future | None = None

    def _write(self, table: pa.Table) -> None:
        if self.fmt == "parquet":
            self._w.write_table(table.cast(self.schema), row_group_size=1 << 20)
        else:
            self._w.write_table(table.cast(self.plain))

    def write(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._write, table)

    def close(self) -> None:
        try:
            if self._pending is not None:
                self._pending.result()
        finally:
            self._pool.shutdown()
            self._w.close()


def _write_frame(df: pd.DataFrame, path_stem: Path, fmt: str, schema: pa.Schema) -> int:
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    w = _ChunkWriter(path_stem.with_suffix(f".{fmt}"), schema, fmt)
    w.write(table)
    w.close()
    return table.num_rows


_STR = pa.string()
_SCHEMAS: dict[str, pa.Schema] = {
    "regions": pa.schema([("region_id", _STR), ("name", _STR), ("echelon", pa.int32())]),
    "outlets": pa.schema(
        [
            ("outlet_id", _STR),
            ("region_id", _STR),
            ("name", _STR),
            ("outlet_type", _STR),
            ("staff_fte", pa.float64()),
            ("opened", pa.date32()),
        ]
    ),
    "products": pa.schema(
        [
            ("product", _STR),
            ("name", _STR),
            ("family", _STR),
            ("in_aum", pa.bool_()),
            ("cross_sell", pa.bool_()),
        ]
    ),
    "customers": pa.schema(
        [
            ("customer_id", _STR),
            ("outlet_id", _STR),
            ("manager_id", _STR),
            ("birth_year", pa.int32()),
            ("gender", _STR),
            ("since", pa.date32()),
            ("closed", pa.date32()),
        ]
    ),
    "managers": pa.schema(
        [
            ("manager_id", _STR),
            ("outlet_id", _STR),
            ("full_time", pa.bool_()),
            ("hired", pa.date32()),
        ]
    ),
    "devices": pa.schema(
        [
            ("device_id", _STR),
            ("region_id", _STR),
            ("outlet_id", _STR),
            ("site_id", _STR),
            ("device_type", _STR),
            ("installed", pa.date32()),
        ]
    ),
    "device_months": pa.schema(
        [
            ("month", _STR),
            ("device_id", _STR),
            ("available_hours", pa.float32()),
            ("operating_hours", pa.float32()),
        ]
    ),
    "targets": pa.schema(
        [("month", _STR), ("level", _STR), ("id", _STR), ("kpi", _STR), ("target", pa.float64())]
    ),
}
_DSTR = pa.dictionary(pa.int32(), pa.string())
_BIG_SCHEMAS: dict[str, pa.Schema] = {
    "holdings": pa.schema(
        [("month", _DSTR), ("customer_id", _STR), ("product", _DSTR), ("balance", pa.float64())]
    ),
    "transactions": pa.schema(
        [
            ("txn_date", pa.date32()),
            ("customer_id", _STR),
            ("outlet_id", _DSTR),
            ("channel", _DSTR),
            ("product", _DSTR),
            ("kind", _DSTR),
            ("amount", pa.float64()),
            ("fee_income", pa.float64()),
        ]
    ),
    "contacts": pa.schema(
        [
            ("contact_date", pa.date32()),
            ("customer_id", _STR),
            ("manager_id", _DSTR),
            ("channel", _DSTR),
            ("minutes", pa.float32()),
        ]
    ),
}


def _date_array(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    vals = np.asarray(days, dtype="datetime64[D]")
    if mask is not None and mask.any():
        vals = np.where(mask, np.datetime64("1970-01-01"), vals)
        return pa.array(vals, type=pa.date32(), mask=mask)
    return pa.array(vals, type=pa.date32())


# --------------------------------------------------------------------------- truth model


def truth_logits(feat: dict[str, np.ndarray], product: str) -> np.ndarray:
    """Logit of the planted propensity for ``product`` from customer-month features.

    Parameters
    ----------
    feat : dict of str to numpy.ndarray
        Term values (see :data:`TRUTH_FEATURES`) for a set of customer-months.
    product : str
        A cross-sell product.

    Returns
    -------
    numpy.ndarray
        ``f_p(x)``; the probability is its sigmoid.
    """
    spec = PROPENSITY_MODEL[product]
    z = np.full(len(feat["age_c"]), spec["intercept"], dtype=np.float64)
    for term, coef in spec.items():
        if term != "intercept":
            z += coef * feat[term]
    return z


def truth_features(
    age: np.ndarray,
    tenure_months: np.ndarray,
    aum: np.ndarray,
    holds: np.ndarray,
    txn_3m: np.ndarray,
    counter_3m: np.ndarray,
    contact_minutes_3m: np.ndarray,
    echelon: np.ndarray,
) -> dict[str, np.ndarray]:
    """Terms of the true propensity model from processed ``customer_month`` quantities.

    Parameters
    ----------
    age, tenure_months, aum : numpy.ndarray
        As in ``customer_month``.
    holds : numpy.ndarray
        Boolean (n, n_products) holding flags in catalogue order.
    txn_3m, counter_3m : numpy.ndarray
        Transactions in the last 3 months, all channels and at the counter.
    contact_minutes_3m : numpy.ndarray
        Account-manager contact minutes in the last 3 months.
    echelon : numpy.ndarray
        Region echelon (1, 2, 3).

    Returns
    -------
    dict of str to numpy.ndarray
        Every term of :data:`TRUTH_FEATURES` (``hold_<product>`` only for the products the model
        uses).
    """
    age_c = (age - 45.0) / 15.0
    feat = {
        "log_aum_c": (np.log1p(aum) - 9.5) / 2.0,
        "age_c": age_c,
        "age_c_sq": age_c**2,
        "tenure_y": np.minimum(tenure_months, 360) / 120.0,
        "e_channel_share_3m": np.where(
            txn_3m > 0, (txn_3m - counter_3m) / np.maximum(txn_3m, 1), 0.0
        ),
        "log_txn_3m": np.log1p(txn_3m.astype(np.float64)),
        "log_contact_3m": np.log1p(contact_minutes_3m.astype(np.float64)),
        "n_products": holds.sum(axis=1).astype(np.float64),
        "echelon_1": (echelon == 1).astype(np.float64),
        "echelon_3": (echelon == 3).astype(np.float64),
    }
    used = {t for spec in PROPENSITY_MODEL.values() for t in spec}
    for j, p in enumerate(PRODUCT_IDS):
        if f"hold_{p}" in used:
            feat[f"hold_{p}"] = holds[:, j].astype(np.float64)
    return feat


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# --------------------------------------------------------------------------- simulation


@dataclass
class _Writers:
    holdings: _ChunkWriter
    transactions: _ChunkWriter
    contacts: _ChunkWriter
    propensity: _ChunkWriter


def _tenure_months(since: np.ndarray, month_end: np.datetime64) -> np.ndarray:
    """Whole months from ``since`` to ``month_end``."""
    s_m = since.astype("datetime64[M]")
    e_m = np.datetime64(month_end, "M")
    months = (e_m - s_m).astype(np.int64)
    s_day = (since - s_m.astype("datetime64[D]")).astype(np.int64)
    e_day = int((month_end - e_m.astype("datetime64[D]")).astype(np.int64))
    return months - (s_day > e_day)


def _simulate(
    cust: Customers,
    outlets: pd.DataFrame,
    managers: pd.DataFrame,
    cal: Calendar,
    seed: int,
    writers: _Writers,
) -> pd.DataFrame:
    """Run the month-by-month simulation, writing holdings, transactions, contacts and truth.

    Returns the per-outlet, per-month actuals that the targets are planned from.
    """
    n = len(cust.persona)
    T = len(cal.labels)
    n_out = len(outlets)
    cid_table, cid_width = _id_table("C", n)
    outlet_ids = outlets["outlet_id"].tolist()
    out_region = pd.factorize(outlets["region_id"])[0]
    reg_first = np.array([np.flatnonzero(out_region == r)[0] for r in range(out_region.max() + 1)])
    reg_count = np.bincount(out_region)
    echelon = outlets["echelon"].to_numpy()[cust.outlet]
    ech_counter = np.array([0.0, 0.85, 1.0, 1.25])[echelon]
    ech_mobile = np.array([0.0, 1.1, 1.0, 0.9])[echelon]
    manager_ids = managers["manager_id"].tolist()
    holds = cust.holds.copy()
    prev_holds = np.zeros_like(holds)
    prev_active = np.zeros(n, dtype=bool)
    g = np.zeros(n)
    acq = np.zeros((n, len(CROSS_SELL)), dtype=bool)
    cs_idx = np.array([_P[p] for p in CROSS_SELL])
    drop_p = np.array([_DROP[p] for p in CROSS_SELL])
    hist_txn = np.zeros((3, n), dtype=np.int32)
    hist_counter = np.zeros((3, n), dtype=np.int32)
    hist_minutes = np.zeros((3, n), dtype=np.float64)
    chan_rate = _CHANNEL_RATE[cust.persona].astype(np.float64)
    chan_rate[:, 0] *= ech_counter
    chan_rate[:, 3] *= ech_mobile
    chan_rate *= 0.85 * cust.activity[:, None]
    family = np.array([p[2] for p in PRODUCTS])
    deposit_cols = np.flatnonzero(family == "deposit")
    actuals = []
    months_cat = list(cal.labels)

    for t in range(T):
        rng_h = _rng(seed, _S_MONTH_HOLD, t)
        rng_x = _rng(seed, _S_MONTH_TXN, t)
        rng_c = _rng(seed, _S_MONTH_CONTACT, t)
        rng_a = _rng(seed, _S_MONTH_ACQ, t)
        active = (cust.open_idx <= t) & (cust.close_idx > t)
        # joined during this month (the stock joined before the window)
        is_opening = (cust.since >= cal.start[t]) & (cust.since <= cal.end[t])
        # ---- holdings: apply last month's acquisitions and this month's drops
        if t > 0:
            cs_holds = holds[:, cs_idx]
            dropped = cs_holds & (rng_h.random(cs_holds.shape) < drop_p) & ~acq
            cs_holds = (cs_holds | acq) & ~dropped
            holds[:, cs_idx] = cs_holds
            g += rng_h.normal(_DRIFT[cust.persona], 0.04)
        level = cust.wealth * np.exp(g)
        a_idx = np.flatnonzero(active)
        h_act = holds[a_idx]
        w = cust.split[a_idx] * h_act[:, :_N_AUM]
        # the wealthy keep a smaller part of their assets in deposits
        w[:, :2] *= np.sqrt(np.minimum(1.0, 2e5 / level[a_idx]))[:, None]
        share = w / w.sum(axis=1, keepdims=True)
        bal_aum = np.round(share * level[a_idx, None], 2)
        aum = bal_aum.sum(axis=1)
        loan_bal = np.round(cust.loan[a_idx] * np.exp(-0.015 * t), 2)
        rows_c, rows_p = np.nonzero(h_act)
        bal = np.zeros(len(rows_c))
        in_aum = rows_p < _N_AUM
        bal[in_aum] = bal_aum[rows_c[in_aum], rows_p[in_aum]]
        is_loan = rows_p == _P["personal_loan"]
        bal[is_loan] = loan_bal[rows_c[is_loan]]
        writers.holdings.write(
            pa.table(
                {
                    "month": _dict_array(np.full(len(rows_c), t, dtype=np.int32), months_cat),
                    "customer_id": _fixed_strings(cid_table, cid_width, a_idx[rows_c]),
                    "product": _dict_array(rows_p.astype(np.int32), list(PRODUCT_IDS)),
                    "balance": pa.array(bal),
                }
            )
        )
        # new holdings this month (for purchase rows and sales actuals)
        new_hold = h_act & ~(prev_holds[a_idx] & prev_active[a_idx, None])
        if t == 0:
            new_hold &= is_opening[a_idx, None]

        # ---- transactions
        lam = chan_rate[a_idx].copy()
        no_online = ~h_act[:, _P["online_banking"]]
        no_mobile = ~h_act[:, _P["mobile_banking"]]
        rerouted = lam[:, 2] * no_online + lam[:, 3] * no_mobile
        lam[:, 2] *= ~no_online
        lam[:, 3] *= ~no_mobile
        lam[:, 0] += 0.3 * rerouted
        lam[:, 1] += 0.2 * rerouted
        first_day = np.where(is_opening[a_idx], cust.since[a_idx], cal.start[t])
        frac = (cal.end[t] - first_day).astype(np.int64) + 1
        lam *= (frac / cal.days[t])[:, None]
        counts = rng_x.poisson(lam)
        flat = np.repeat(np.arange(counts.size, dtype=np.int64), counts.ravel())
        r_cust = (flat // 5).astype(np.int64)  # row into a_idx
        r_chan = (flat % 5).astype(np.int8)
        del flat
        nr = len(r_cust)
        kind_cum = (np.cumsum(_KIND_PROBS, axis=1) + np.arange(5)[:, None]).ravel()
        r_kind = np.searchsorted(kind_cum, r_chan + rng_x.random(nr), side="right")
        r_kind = np.minimum(r_kind - 7 * r_chan.astype(np.int64), 6).astype(np.int8)
        r_prod = np.full(nr, -1, dtype=np.int8)
        k_dep, k_wd, k_tr, k_pur, k_red, k_pay, _k_fee = range(7)
        r_prod[(r_kind == k_dep) | (r_kind == k_wd) | (r_kind == k_tr)] = _P["current_deposit"]
        inv_rows = np.flatnonzero((r_kind == k_pur) | (r_kind == k_red))
        held_inv = h_act[r_cust[inv_rows]][:, _INVEST]
        cum = np.cumsum(held_inv, axis=1)
        n_inv = cum[:, -1]
        pick = (rng_x.random(len(inv_rows)) * n_inv).astype(np.int64) + 1
        col = np.argmax(cum >= pick[:, None], axis=1)
        has_inv = n_inv > 0
        r_prod[inv_rows[has_inv]] = _INVEST[col[has_inv]]
        r_kind[inv_rows[~has_inv]] = k_tr
        r_prod[inv_rows[~has_inv]] = _P["current_deposit"]
        pay_rows = np.flatnonzero(r_kind == k_pay)
        pc = h_act[r_cust[pay_rows]]
        r_prod[pay_rows] = np.where(
            pc[:, _P["credit_card"]],
            _P["credit_card"],
            np.where(pc[:, _P["debit_card"]], _P["debit_card"], -1),
        )
        # purchases of newly acquired investments and insurance
        nh_c, nh_p = np.nonzero(new_hold[:, _INVEST])
        if len(nh_c):
            nh_p = _INVEST[nh_p]
            pref = chan_rate[a_idx[nh_c]][:, [0, 2, 3]] + 1e-9
            pref[:, 1] *= h_act[nh_c, _P["online_banking"]]
            pref[:, 2] *= h_act[nh_c, _P["mobile_banking"]]
            ch = np.array([0, 2, 3])[_categorical(rng_x, pref / pref.sum(axis=1, keepdims=True))]
            r_cust = np.concatenate([r_cust, nh_c])
            r_chan = np.concatenate([r_chan, ch.astype(np.int8)])
            r_kind = np.concatenate([r_kind, np.full(len(nh_c), k_pur, dtype=np.int8)])
            r_prod = np.concatenate([r_prod, nh_p.astype(np.int8)])
            nr = len(r_cust)
        scale = np.clip((level[a_idx] / 20_000.0) ** 0.4, 0.3, 25.0)
        amount = _KIND_BASE_AMOUNT[r_kind] * scale[r_cust] * rng_x.lognormal(0.0, 0.7, nr)
        if len(nh_c):
            k0 = nr - len(nh_c)
            amount[k0:] = np.maximum(bal_aum[nh_c, nh_p], 100.0)
        amount = np.round(amount, 2)
        fee = np.where(
            r_kind == k_pur, np.minimum(amount * _FEE_RATE[np.maximum(r_prod, 0)], _FEE_CAP), 0.0
        )
        fee = np.where(r_kind == 6, amount, fee)
        fee = np.round(fee, 2)
        home = cust.outlet[a_idx[r_cust]]
        u = rng_x.random(nr)
        reg = out_region[home]
        other = reg_first[reg] + (rng_x.random(nr) * reg_count[reg]).astype(np.int64)
        r_out = np.where(r_chan == 0, np.where(u < 0.9, home, other), -1)
        r_out = np.where((r_chan == 1) & (u < 0.55), home, r_out)
        span = (cal.end[t] - first_day).astype(np.int64) + 1
        day = first_day[r_cust] + (rng_x.random(nr) * span[r_cust]).astype(np.int64).astype(
            "timedelta64[D]"
        )
        writers.transactions.write(
            pa.table(
                {
                    "txn_date": _date_array(day),
                    "customer_id": _fixed_strings(cid_table, cid_width, a_idx[r_cust]),
                    "outlet_id": _dict_array(r_out, outlet_ids),
                    "channel": _dict_array(r_chan, list(CHANNELS)),
                    "product": _dict_array(r_prod, list(PRODUCT_IDS)),
                    "kind": _dict_array(r_kind, list(TXN_KINDS)),
                    "amount": pa.array(amount),
                    "fee_income": pa.array(fee),
                }
            )
        )
        txn_n = np.bincount(r_cust, minlength=len(a_idx))
        counter_n = np.bincount(r_cust[r_chan == 0], minlength=len(a_idx))
        fee_cust = np.bincount(r_cust, weights=fee, minlength=len(a_idx))
        del r_cust, r_chan, r_kind, r_prod, amount, fee, r_out, day, home, u, reg, other

        # ---- account-manager contacts
        mgr = cust.manager[a_idx]
        lv = level[a_idx]
        rate = np.select([lv >= 6e6, lv >= 5e5, lv >= 5e4], [2.5, 1.2, 0.45], 0.1)
        n_contacts = np.where(mgr >= 0, rng_c.poisson(rate * frac / cal.days[t]), 0)
        c_rows = np.repeat(np.arange(len(a_idx)), n_contacts)
        nc = len(c_rows)
        c_chan = _categorical(rng_c, np.tile([0.2, 0.45, 0.25, 0.10], (nc, 1)))
        lo = np.array([20.0, 3.0, 1.0, 45.0])[c_chan]
        hi = np.array([90.0, 25.0, 6.0, 180.0])[c_chan]
        minutes = np.round(lo + rng_c.random(nc) * (hi - lo), 1).astype(np.float32)
        c_day = first_day[c_rows] + (rng_c.random(nc) * span[c_rows]).astype(np.int64).astype(
            "timedelta64[D]"
        )
        writers.contacts.write(
            pa.table(
                {
                    "contact_date": _date_array(c_day),
                    "customer_id": _fixed_strings(cid_table, cid_width, a_idx[c_rows]),
                    "manager_id": _dict_array(mgr[c_rows], manager_ids),
                    "channel": _dict_array(c_chan, list(CONTACT_CHANNELS)),
                    "minutes": pa.array(minutes),
                }
            )
        )
        minutes_cust = np.bincount(c_rows, weights=minutes.astype(np.float64), minlength=len(a_idx))

        # ---- 3-month windows (customers not active carry zeros)
        hist_txn = np.roll(hist_txn, 1, axis=0)
        hist_counter = np.roll(hist_counter, 1, axis=0)
        hist_minutes = np.roll(hist_minutes, 1, axis=0)
        hist_txn[0] = 0
        hist_counter[0] = 0
        hist_minutes[0] = 0.0
        hist_txn[0, a_idx] = txn_n
        hist_counter[0, a_idx] = counter_n
        hist_minutes[0, a_idx] = minutes_cust

        # ---- planted propensity and next month's acquisitions
        month_year = int(cal.labels[t][:4])
        feat = truth_features(
            age=(month_year - cust.birth_year[a_idx]).astype(np.float64),
            tenure_months=_tenure_months(cust.since[a_idx], cal.end[t]).astype(np.float64),
            aum=aum,
            holds=h_act,
            txn_3m=hist_txn[:, a_idx].sum(axis=0),
            counter_3m=hist_counter[:, a_idx].sum(axis=0),
            contact_minutes_3m=hist_minutes[:, a_idx].sum(axis=0),
            echelon=echelon[a_idx],
        )
        probs = np.empty((len(a_idx), len(CROSS_SELL)))
        for j, p in enumerate(CROSS_SELL):
            probs[:, j] = _sigmoid(truth_logits(feat, p))
        held_cs = h_act[:, cs_idx]
        probs[held_cs] = np.nan
        draw = rng_a.random(probs.shape, dtype=np.float32)
        acq = np.zeros((n, len(CROSS_SELL)), dtype=bool)
        acq[a_idx] = (draw < probs) & ~held_cs
        cols = {
            "month": _dict_array(np.full(len(a_idx), t, dtype=np.int32), months_cat),
            "customer_id": _fixed_strings(cid_table, cid_width, a_idx),
        }
        for j, p in enumerate(CROSS_SELL):
            cols[f"p_{p}"] = pa.array(probs[:, j].astype(np.float32), from_pandas=False)
        writers.propensity.write(pa.table(cols))

        # ---- outlet actuals for the targets
        o = cust.outlet[a_idx]
        actuals.append(
            pd.DataFrame(
                {
                    "t": t,
                    "outlet": np.arange(n_out),
                    "new_customers": np.bincount(o[is_opening[a_idx]], minlength=n_out),
                    "deposit_balance": np.bincount(
                        o, weights=bal_aum[:, deposit_cols].sum(axis=1), minlength=n_out
                    ),
                    "aum": np.bincount(o, weights=aum, minlength=n_out),
                    "fee_income": np.bincount(o, weights=fee_cust, minlength=n_out),
                    "sales_total": np.bincount(o, weights=new_hold.sum(axis=1), minlength=n_out)
                    if t > 0
                    else np.full(n_out, np.nan),
                }
            )
        )
        prev_holds = holds.copy()
        prev_active = active
        logger.debug(
            "month %s: %d active customers, %d transactions", cal.labels[t], len(a_idx), nr
        )
    return pd.concat(actuals, ignore_index=True)


def build_targets(
    actuals: pd.DataFrame, outlets: pd.DataFrame, cal: Calendar, seed: int
) -> pd.DataFrame:
    """Monthly outlet and region targets for :data:`TARGET_KPIS`.

    The plan is 3% above the bank's actual total, split over outlets half by their capacity
    (staff and devices, blind to efficiency) and half by their own track record (their share of
    the KPI over the window), so efficient outlets tend to beat their targets and inefficient
    ones to miss them.
    """
    rng = _rng(seed, _S_TARGETS)
    capacity = (
        outlets["staff_fte"].to_numpy() + DEVICE_STAFF_EQUIV * outlets["n_devices"].to_numpy()
    )
    capacity = capacity / capacity.sum()
    n_out = len(outlets)
    frames = []
    totals = actuals.groupby("t")[list(TARGET_KPIS)].sum(min_count=1)
    record = actuals.groupby("outlet")[list(TARGET_KPIS)].sum()
    record = record / record.sum().replace(0.0, 1.0)
    for t, label in enumerate(cal.labels):
        for kpi in TARGET_KPIS:
            total = totals.loc[t, kpi]
            if not np.isfinite(total):
                total = totals[kpi].dropna().iloc[0] if totals[kpi].notna().any() else 0.0
            plan = 0.5 * capacity + 0.5 * record[kpi].to_numpy()
            val = total * 1.03 * plan * rng.lognormal(0.0, 0.05, n_out)
            val = np.round(val) if kpi in ("new_customers", "sales_total") else np.round(val, -2)
            frames.append(
                pd.DataFrame(
                    {
                        "month": label,
                        "level": "outlet",
                        "id": outlets["outlet_id"].to_numpy(),
                        "region_id": outlets["region_id"].to_numpy(),
                        "kpi": kpi,
                        "target": val,
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    reg = (
        out.groupby(["month", "region_id", "kpi"], observed=True, sort=True)["target"]
        .sum()
        .reset_index()
        .rename(columns={"region_id": "id"})
    )
    reg["level"] = "region"
    out = pd.concat([out.drop(columns="region_id"), reg], ignore_index=True)
    return out[["month", "level", "id", "kpi", "target"]]


# --------------------------------------------------------------------------- entry point

_TRUTH_README = """# Planted truth of the synthetic bank

Written by `bankanalysis data generate`. Only `bankanalysis.selfcheck`, the generator and tests
read this folder; the analytics never do.

- `personas.parquet`: `customer_id, persona`: the behaviour persona each customer was simulated
  from ({personas}).
- `propensity.parquet`: `month, customer_id, p_<product>` for every cross-sell product
  ({cross_sell}) and every customer active at the month-end: the true probability (float32) of
  holding the product at the next month-end, NaN when the product is already held. The simulation
  drew the acquisitions from exactly these probabilities.
- `propensity_model.json`: the logit `f_p(x_t)` of those probabilities: intercept and
  coefficients per product, and the definition of every term in processed `customer_month` columns.
- `outlet_efficiency.parquet`: `outlet_id, efficiency` in (0, 1]. Customers and new customers are
  spread over outlets in proportion to `efficiency * (staff_fte + {a} * devices)` (devices = on-site
  devices), and their assets scale with `efficiency^{g}` (relative to the bank's average), so
  outlet outputs follow inputs and efficiency.
- `.synthetic`: marker that this raw folder was generated (generator version, seed, size, months).
"""


def _persona_table(cust: Customers, n: int) -> pa.Table:
    cid_table, width = _id_table("C", n)
    return pa.table(
        {
            "customer_id": _fixed_strings(cid_table, width, np.arange(n)),
            "persona": _dict_array(cust.persona.astype(np.int32), list(PERSONAS)),
        }
    )


def _customers_frame(cust: Customers, outlets: pd.DataFrame, managers: pd.DataFrame) -> pa.Table:
    n = len(cust.persona)
    cid_table, width = _id_table("C", n)
    mid_table, mwidth = _id_table("M", max(len(managers), 1))
    has_mgr = cust.manager >= 0
    mgr = pc.if_else(
        pa.array(has_mgr),
        _fixed_strings(mid_table, mwidth, np.maximum(cust.manager, 0)),
        pa.scalar(None, pa.string()),
    )
    return pa.table(
        {
            "customer_id": _fixed_strings(cid_table, width, np.arange(n)),
            "outlet_id": _dict_array(cust.outlet, outlets["outlet_id"].tolist()).cast(pa.string()),
            "manager_id": mgr,
            "birth_year": pa.array(cust.birth_year, type=pa.int32()),
            "gender": _dict_array(cust.gender.astype(np.int32), ["F", "M", "U"]).cast(pa.string()),
            "since": _date_array(cust.since),
            "closed": _date_array(cust.closed, np.isnat(cust.closed)),
        }
    )


def generate_bank(
    out_dir: Path,
    n_customers: int = 50_000,
    n_months: int = 13,
    seed: int = 20261130,
    fmt: str = "parquet",
    end_month: str = "2026-10",
) -> dict:
    """Write the synthetic bank and its planted truth to ``out_dir``.

    Every table of the raw data contract is written (``<table>.parquet`` or ``<table>.csv``) and
    the truth goes to ``out_dir/_truth/``. Files are built in a temporary folder next to
    ``out_dir`` and moved in with :func:`os.replace`; files of the other format left over from an
    earlier run are removed, a ``.gitkeep`` is kept.

    Parameters
    ----------
    out_dir : Path
        Raw data folder, e.g. ``data/raw``.
    n_customers : int
        Customers in the ``customers`` table (the stock plus about 13% who join in the window).
    n_months : int
        Number of month-ends.
    seed : int
        Random seed; the same arguments give byte-identical files.
    fmt : {"parquet", "csv"}
        File format of the raw tables (the truth is always Parquet).
    end_month : str
        Last month-end, ``YYYY-MM``.

    Returns
    -------
    dict
        Summary for the CLI: folder, format, months, row counts per table, seconds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "raw"
    >>> generate_bank(d, n_customers=500, n_months=2)["rows.regions"]
    8
    """
    t0 = time.perf_counter()
    if fmt not in ("parquet", "csv"):
        raise GenerateError(f"format must be 'parquet' or 'csv', got {fmt!r}.")
    if n_customers < 100:
        raise GenerateError(f"--customers must be at least 100, got {n_customers}.")
    out_dir = Path(out_dir)
    cal = make_calendar(end_month, n_months)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-generate-", dir=out_dir.parent))
    try:
        summary = _generate_into(tmp, n_customers, cal, seed, fmt)
        _swap_in(tmp, out_dir, fmt)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {"out": str(out_dir), "format": fmt, **summary}
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    logger.info("generated %s customers x %d months in %s", n_customers, n_months, out_dir)
    return summary


def _generate_into(tmp: Path, n: int, cal: Calendar, seed: int, fmt: str) -> dict:
    truth = tmp / "_truth"
    truth.mkdir()
    regions = build_regions()
    outlets = build_outlets(n, cal, seed)
    products = build_products()
    cust = draw_customers(n, outlets, cal, seed)
    managers = assign_managers(cust, outlets, cal, seed)
    devices = build_devices(outlets, cal, seed)
    device_months = build_device_months(devices, cal, seed)
    rows: dict[str, int] = {}

    rows["regions"] = _write_frame(regions, tmp / "regions", fmt, _SCHEMAS["regions"])
    rows["outlets"] = _write_frame(
        outlets[list(_SCHEMAS["outlets"].names)], tmp / "outlets", fmt, _SCHEMAS["outlets"]
    )
    rows["products"] = _write_frame(products, tmp / "products", fmt, _SCHEMAS["products"])
    rows["managers"] = _write_frame(managers, tmp / "managers", fmt, _SCHEMAS["managers"])
    rows["devices"] = _write_frame(devices, tmp / "devices", fmt, _SCHEMAS["devices"])
    rows["device_months"] = _write_frame(
        device_months, tmp / "device_months", fmt, _SCHEMAS["device_months"]
    )
    w = _ChunkWriter(tmp / f"customers.{fmt}", _SCHEMAS["customers"], fmt)
    w.write(_customers_frame(cust, outlets, managers))
    w.close()
    rows["customers"] = w.rows

    prop_schema = pa.schema(
        [("month", _DSTR), ("customer_id", _STR)] + [(f"p_{p}", pa.float32()) for p in CROSS_SELL]
    )
    writers = _Writers(
        holdings=_ChunkWriter(
            tmp / f"holdings.{fmt}", _BIG_SCHEMAS["holdings"], fmt, ("customer_id", "balance")
        ),
        transactions=_ChunkWriter(
            tmp / f"transactions.{fmt}",
            _BIG_SCHEMAS["transactions"],
            fmt,
            ("customer_id", "amount", "fee_income"),
        ),
        contacts=_ChunkWriter(
            tmp / f"contacts.{fmt}", _BIG_SCHEMAS["contacts"], fmt, ("customer_id", "minutes")
        ),
        propensity=_ChunkWriter(
            truth / "propensity.parquet",
            prop_schema,
            "parquet",
            ("customer_id", *(f"p_{p}" for p in CROSS_SELL)),
        ),
    )
    try:
        actuals = _simulate(cust, outlets, managers, cal, seed, writers)
    finally:
        for wr in (writers.holdings, writers.transactions, writers.contacts, writers.propensity):
            wr.close()
    for name in ("holdings", "transactions", "contacts"):
        rows[name] = getattr(writers, name).rows
    targets = build_targets(actuals, outlets, cal, seed)
    rows["targets"] = _write_frame(targets, tmp / "targets", fmt, _SCHEMAS["targets"])

    # truth
    pq.write_table(_persona_table(cust, n), truth / "personas.parquet", store_schema=False)
    pq.write_table(
        pa.Table.from_pandas(
            outlets[["outlet_id", "efficiency"]], preserve_index=False
        ).replace_schema_metadata(None),
        truth / "outlet_efficiency.parquet",
        store_schema=False,
    )
    model = {
        "link": "logistic: p = 1 / (1 + exp(-f_p(x_t)))",
        "meaning": "probability that a customer active at month t who does not hold product p "
        "holds it at month t+1",
        "terms": TRUTH_FEATURES,
        "products": PROPENSITY_MODEL,
    }
    (truth / "propensity_model.json").write_text(
        json.dumps(model, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    (truth / "README.md").write_text(
        _TRUTH_README.format(
            personas=", ".join(PERSONAS),
            cross_sell=", ".join(CROSS_SELL),
            a=DEVICE_STAFF_EQUIV,
            g=WALLET_EFFICIENCY_EXPONENT,
        ),
        encoding="utf-8",
    )
    (truth / ".synthetic").write_text(
        f"generator_version={GENERATOR_VERSION}\nseed={seed}\ncustomers={n}\n"
        f"months={cal.labels[0]}..{cal.labels[-1]}\n",
        encoding="utf-8",
    )
    rows["truth.propensity"] = writers.propensity.rows
    summary: dict = {
        "customers": n,
        "regions": len(regions),
        "outlets": len(outlets),
        "months": f"{cal.labels[0]}..{cal.labels[-1]}",
    }
    summary.update({f"rows.{k}": v for k, v in rows.items()})
    return summary


def _swap_in(tmp: Path, out_dir: Path, fmt: str) -> None:
    """Move the generated files from ``tmp`` into ``out_dir`` (atomic per file)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    other = "csv" if fmt == "parquet" else "parquet"
    for table in TABLES:
        stale = out_dir / f"{table}.{other}"
        if stale.exists():
            stale.unlink()
    for f in sorted(tmp.iterdir()):
        if f.is_file():
            os.replace(f, out_dir / f.name)
    old_truth = out_dir / "_truth"
    parked = None
    if old_truth.exists():
        parked = tmp / "_truth.old"
        os.replace(old_truth, parked)
    os.replace(tmp / "_truth", old_truth)
    if parked is not None:
        shutil.rmtree(parked, ignore_errors=True)
