"""The synthetic bank's catalogue, behaviour parameters, random streams and calendar.

Pure constants and the month calendar: what the bank offers (regions, products), how its
customer personas behave, and the seeded random streams every other module draws from, so
that changing one component leaves the others' draws alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bankanalysis.exceptions import GenerateError

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

#: Region count of the built-in bank (:data:`REGIONS`); other counts use :func:`region_catalogue`.
DEFAULT_N_REGIONS = len(REGIONS)
#: Largest number of regions :func:`region_catalogue` can name (distinct two-character cities).
_CITY_FIRST = "明东西南北青云石金玉清安长平新宁江山华德"
_CITY_SECOND = "州湖港桥山河溪岭城江阳川林泉原"
#: Relative outlet share of one region by echelon (central city > key development > expansion).
_ECHELON_SHARE = {1: 0.22, 2: 0.13, 3: 0.09}


def region_catalogue(
    n_regions: int = DEFAULT_N_REGIONS,
) -> tuple[tuple[str, str, int, float, float], ...]:
    """Regions of a bank with ``n_regions`` secondary branches, as rows like :data:`REGIONS`.

    ``n_regions == 8`` returns :data:`REGIONS` itself (the built-in bank, unchanged). Other counts
    get distinct Chinese two-character city names (``<city>分行``), three echelons (about 10%
    central-city, 30% key-development, the rest expansion areas; at least one of each from three
    regions on), outlet shares by echelon and off-site self-service sites per outlet spread
    evenly (golden-ratio sequence) between 0.7 and 2.5. Deterministic: no random draws.

    Parameters
    ----------
    n_regions : int
        Number of regions, 1 to the number of distinct city names (more than 250).

    Returns
    -------
    tuple of (region_id, name, echelon, share of outlets, off-site sites per outlet)
        Region ids are ``R01``.. (``R001``.. from 100 regions on).

    Examples
    --------
    >>> cat = region_catalogue(120)
    >>> len(cat), cat[0][0], cat[-1][0], sorted({r[2] for r in cat})
    (120, 'R001', 'R120', [1, 2, 3])
    """
    if n_regions == DEFAULT_N_REGIONS:
        return REGIONS
    names = [f"{a}{b}分行" for b in _CITY_SECOND for a in _CITY_FIRST if a != b]
    if not 1 <= n_regions <= len(names):
        raise GenerateError(f"--regions must be between 1 and {len(names)}, got {n_regions}.")
    width = max(2, len(str(n_regions)))
    n1 = max(1, round(0.1 * n_regions))
    n2 = max(1 if n_regions >= 3 else 0, round(0.3 * n_regions))
    rows = []
    for i in range(n_regions):
        ech = 1 if i < n1 else (2 if i < n1 + n2 else 3)
        offsite = round(0.7 + 1.8 * ((i * PHI) % 1.0), 1)
        rows.append((f"R{i + 1:0{width}d}", names[i], ech, _ECHELON_SHARE[ech], offsite))
    return tuple(rows)


STREETS: tuple[str, ...] = tuple(
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
P_INDEX = {p: i for i, p in enumerate(PRODUCT_IDS)}
N_AUM = 9  # the first nine products are the in-AUM ones
INVEST = np.array(
    [P_INDEX[p] for p in ("wmp", "fund", "insurance", "gold", "bond", "trust", "forex")]
)
CROSS_SELL: tuple[str, ...] = tuple(p[0] for p in PRODUCTS if p[4])
FEE_RATE = np.array([p[5] for p in PRODUCTS])
#: Relative weight of each in-AUM product when a customer's AUM is split over held products.
AUM_WEIGHT = np.array([1.0, 2.5, 2.5, 1.5, 1.2, 0.4, 0.8, 3.0, 0.4])

PERSONAS: tuple[str, ...] = (
    "digital_saver",
    "branch_traditional",
    "wealth_investor",
    "young_borrower",
    "self_service",
    "dormant",
)
#: Persona mix of the stock of customers and of customers who join during the window.
PERSONA_MIX_STOCK = np.array([0.22, 0.19, 0.07, 0.14, 0.16, 0.22])
PERSONA_MIX_NEW = np.array([0.30, 0.05, 0.04, 0.35, 0.12, 0.14])
#: Wealth tier probabilities (mass, quality, VIP, private) by persona.
TIER_PROBS = np.array(
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
AGE = np.array([[40, 6], [64, 8], [52, 8], [25, 3.5], [47, 8], [50, 14]], dtype=float)
TENURE_Y = np.array([[1, 12], [8, 30], [4, 25], [0.2, 5], [2, 18], [2, 25]], dtype=float)
CLOSE_HAZARD = np.array([0.004, 0.004, 0.002, 0.009, 0.004, 0.012])
DRIFT = np.array([0.004, 0.002, 0.005, 0.010, 0.003, -0.008])
#: Mean monthly transactions by channel (counter, self_service, online, mobile, phone).
CHANNEL_RATE = np.array(
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
HOLD_PROBS = np.array(
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
KIND_PROBS = np.array(
    [
        [0.30, 0.25, 0.15, 0.12, 0.06, 0.07, 0.05],
        [0.35, 0.50, 0.12, 0.00, 0.00, 0.03, 0.00],
        [0.02, 0.00, 0.45, 0.15, 0.08, 0.28, 0.02],
        [0.00, 0.00, 0.45, 0.10, 0.05, 0.38, 0.02],
        [0.00, 0.00, 0.30, 0.20, 0.10, 0.30, 0.10],
    ]
)
#: Largest fee on one purchase (large tickets and VIP customers get fee waivers).
FEE_CAP = 3000.0
KIND_BASE_AMOUNT = np.array([2000.0, 1000.0, 3000.0, 20000.0, 15000.0, 500.0, 20.0])
#: Monthly probability that a holder gives up a cross-sell product.
DROP = {
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


# Random stream ids (one per component) so that changing one part leaves the others' draws alone.
S_REGIONS, S_OUTLETS, S_CUSTOMERS, S_MANAGERS, S_DEVICES, S_TARGETS = range(1, 7)
S_MONTH_HOLD, S_MONTH_TXN, S_MONTH_CONTACT, S_MONTH_ACQ, S_MONTH_DEV = range(11, 16)

#: Key that marks the random streams of the second and later customer chunks (see
#: :func:`chunk_rng`); not zero, and no component id, so no chunk stream is another stream.
S_CHUNK = 31

PHI = (np.sqrt(5.0) - 1.0) / 2.0

#: Bumped whenever the same arguments would give different data (written to ``_truth/.synthetic``
#: so cached generated banks can be recognised as stale). 3: banks of more than
#: :data:`CHUNK_CUSTOMERS` customers are generated in chunks with their own random streams (a
#: bank of one chunk is the same data as version 2 gave).
GENERATOR_VERSION = 3

#: Largest number of customers drawn and simulated at once: the generator's memory grows with
#: this, not with the bank (a 1M bank peaked at 0.66 GB with 250,000, 0.44 GB with 125,000,
#: 1.0 GB with 500,000, at about the same CPU time; docs/scale.md).
CHUNK_CUSTOMERS = 250_000


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """The random stream of one component (and month) of the bank generated from ``seed``."""
    return np.random.default_rng([int(seed), *keys])


def chunk_rng(seed: int, chunk: int, *keys: int) -> np.random.Generator:
    """The random stream of one component (and month) of customer chunk ``chunk``.

    Chunk 0 draws from the stream a bank of one chunk always drew from (:func:`rng_for` of the
    same keys), so a bank of at most :data:`CHUNK_CUSTOMERS` customers is unchanged; every later
    chunk gets its own stream (the keys followed by :data:`S_CHUNK` and the chunk number).

    Examples
    --------
    >>> chunk_rng(7, 0, 3).random() == rng_for(7, 3).random()
    True
    >>> chunk_rng(7, 1, 3).random() == rng_for(7, 3).random()
    False
    """
    if chunk == 0:
        return rng_for(seed, *keys)
    return rng_for(seed, *keys, S_CHUNK, chunk)


def chunk_sizes(n: int, chunk_customers: int = CHUNK_CUSTOMERS) -> list[int]:
    """Sizes of the customer chunks of a bank of ``n``: as few as fit, as equal as possible.

    Parameters
    ----------
    n : int
        Customers of the bank.
    chunk_customers : int
        Largest chunk.

    Returns
    -------
    list of int
        ``ceil(n / chunk_customers)`` sizes summing to ``n``; the first ones are one larger when
        ``n`` does not split evenly.

    Examples
    --------
    >>> chunk_sizes(3000), chunk_sizes(1000, 400), chunk_sizes(1_000_000, 250_000)
    ([3000], [334, 333, 333], [250000, 250000, 250000, 250000])
    """
    if chunk_customers < 1:
        raise GenerateError(f"chunk size must be at least 1, got {chunk_customers}.")
    k = -(-n // chunk_customers)
    base, extra = divmod(n, k)
    return [base + (i < extra) for i in range(k)]


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
