"""The bank's static population: regions, outlets, products, customers, managers and devices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bankanalysis.synthetic.spec import (
    AGE,
    AUM_WEIGHT,
    CLOSE_HAZARD,
    DEVICE_STAFF_EQUIV,
    DRIFT,
    HOLD_PROBS,
    N_AUM,
    P_INDEX,
    PERSONA_MIX_NEW,
    PERSONA_MIX_STOCK,
    PHI,
    PRODUCT_IDS,
    PRODUCTS,
    REGIONS,
    S_CUSTOMERS,
    S_DEVICES,
    S_MANAGERS,
    S_MONTH_DEV,
    S_OUTLETS,
    STREETS,
    TENURE_Y,
    TIER_PROBS,
    WALLET_EFFICIENCY_EXPONENT,
    Calendar,
    chunk_rng,
    rng_for,
)

#: Tier thresholds the wealth tiers of :func:`_draw_wealth` are cut around (quality, VIP): the
#: reports' default ``tier_thresholds`` below private banking.
UPGRADE_THRESHOLDS: tuple[float, float] = (50_000.0, 500_000.0)
#: Share of the mass and quality customers planted just below the next tier (upgraders).
UPGRADER_SHARE = 0.03
#: Where the upgraders are planted: this fraction of the next threshold (low, high), as their
#: expected AUM over the last three month-ends of the window.
UPGRADER_BAND = (0.92, 0.98)

# --------------------------------------------------------------------------- dimensions


def build_regions(regions: tuple = REGIONS) -> pd.DataFrame:
    """Return the regions (default the eight: 1 central city, 3 key development, 4 expansion)."""
    return pd.DataFrame(
        {
            "region_id": [r[0] for r in regions],
            "name": [r[1] for r in regions],
            "echelon": np.array([r[2] for r in regions], dtype=np.int32),
        }
    )


def n_outlets_for(n_customers: int) -> int:
    """Number of outlets of a bank of ``n_customers`` (16 to 100, >= 2 per region)."""
    return max(16, min(100, n_customers // 400))


def _largest_remainder(total: int, shares: np.ndarray, minimum: int) -> np.ndarray:
    """Split ``total`` in proportion to ``shares``, at least ``minimum`` each, summing exactly."""
    base = np.full(len(shares), minimum, dtype=np.int64)
    rest = total - base.sum()
    raw = shares / shares.sum() * rest
    out = base + np.floor(raw).astype(np.int64)
    left = total - out.sum()
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    out[order[:left]] += 1
    return out


def build_outlets(
    n_customers: int, cal: Calendar, seed: int, regions: tuple = REGIONS
) -> pd.DataFrame:
    """Return outlets with type, staff, on-site devices and planted efficiency.

    Parameters
    ----------
    n_customers : int
        Bank size (sets the number of outlets).
    cal : Calendar
        The window (outlets open before it starts).
    seed : int
        Random seed.
    regions : tuple
        Rows like :data:`REGIONS` (see :func:`~bankanalysis.synthetic.spec.region_catalogue`);
        every region gets at least two outlets.

    Returns
    -------
    pandas.DataFrame
        Contract columns plus ``echelon``, ``n_devices`` (on-site devices), ``efficiency`` and
        ``weight`` (share of customers the outlet attracts).
    """
    rng = rng_for(seed, S_OUTLETS)
    n_out = max(n_outlets_for(n_customers), 2 * len(regions))
    per_region = _largest_remainder(n_out, np.array([r[3] for r in regions]), 2)
    rows = []
    k = 0
    for (rid, rname, ech, _, _), n in zip(regions, per_region, strict=True):
        city = rname[:-2]
        streets = rng.permutation(len(STREETS))
        n_flag = 2 if (n >= 12 or ech == 1) else 1
        p_comm = {1: 0.35, 2: 0.45, 3: 0.55}[ech]
        for j in range(n):
            k += 1
            if j < n_flag:
                otype = "flagship"
            else:
                otype = "community" if rng.random() < p_comm else "standard"
            street = STREETS[streets[j % len(STREETS)]]
            suffix = "" if j < len(STREETS) else str(j // len(STREETS) + 1)
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
    upgrader: np.ndarray  # float64 planted expected AUM just below a threshold, NaN when not
    activity: np.ndarray  # float32 activity multiplier
    split: np.ndarray  # float32 (n, 9) AUM split weights
    loan: np.ndarray  # float64 loan amount
    holds: np.ndarray  # bool (n, 16) initial holdings


def _draw_wealth(rng: np.random.Generator, tier: np.ndarray) -> np.ndarray:
    """Latent AUM level of each customer from their wealth tier (0 mass .. 3 private)."""
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


def _plant_upgraders(
    wealth: np.ndarray,
    tier: np.ndarray,
    persona: np.ndarray,
    n_months: int,
    seed: int,
    chunk: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Place :data:`UPGRADER_SHARE` of the mass and quality customers just below the next tier.

    An upgrader's latent level is set so that, with their persona's expected drift, their AUM
    averaged over the window's last three month-ends is a fraction ``c`` of the next threshold,
    ``c`` uniform in :data:`UPGRADER_BAND`; the monthly noise of the simulation moves some of
    them out of any band by the last month, the truth records where they were planted.

    Returns
    -------
    (wealth, upgrader)
        The levels with the upgraders', and each upgrader's planted AUM ``c x threshold``
        (NaN when not planted).
    """
    rng = chunk_rng(seed, chunk, S_CUSTOMERS, 1)  # its own stream: the others are unchanged
    pick = (tier <= 1) & (rng.random(len(tier)) < UPGRADER_SHARE)
    c = rng.uniform(*UPGRADER_BAND, len(tier))
    threshold = np.asarray(UPGRADE_THRESHOLDS)[np.minimum(tier, 1)]
    # the simulation's level is wealth * exp(g), g drifting by DRIFT a month from month 0; the
    # last three month-ends average exp(g) near exp((n_months - 2) * drift)
    target = c * threshold * np.exp(-(max(n_months, 2) - 2) * DRIFT[persona])
    upgrader = np.where(pick, c * threshold, np.nan)
    return np.where(pick, target, wealth), upgrader


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None]
    return np.minimum((u > cum).sum(axis=1), probs.shape[1] - 1)


def _draw_homes(
    rng: np.random.Generator, n: int, outlets: pd.DataFrame, n_months: int
) -> tuple[np.ndarray, ...]:
    """The first draws of :func:`draw_customers`: joining month, persona, wealth tier and level
    (before the outlet's wallet share) and home outlet.

    Returns
    -------
    (is_new, open_idx, persona, tier, wealth, outlet)
    """
    T = n_months
    # about 1.1% of the customers join per month of the window
    n_new = int(round(min(0.14, 0.011 * T) * n))
    is_new = np.zeros(n, dtype=bool)
    is_new[rng.permutation(n)[:n_new]] = True
    open_idx = np.zeros(n, dtype=np.int16)
    open_idx[is_new] = rng.integers(0, T, n_new)
    mix = np.where(is_new[:, None], PERSONA_MIX_NEW, PERSONA_MIX_STOCK)
    persona = categorical(rng, mix).astype(np.int8)
    tier = categorical(rng, TIER_PROBS[persona])
    wealth = _draw_wealth(rng, tier)

    # home outlet: low-discrepancy spread of every (joining month, persona, wealth) stratum over
    # outlets in proportion to their weight
    order = np.lexsort((wealth, persona, open_idx))
    pos = np.empty(n)
    pos[order] = np.mod(rng.random() + PHI * np.arange(n), 1.0)
    cumw = np.cumsum(outlets["weight"].to_numpy())
    cumw[-1] = 1.0 + 1e-12
    outlet = np.searchsorted(cumw, pos, side="right").astype(np.int32)
    return is_new, open_idx, persona, tier, wealth, outlet


def home_log_efficiency(
    n: int, outlets: pd.DataFrame, cal: Calendar, seed: int, chunk: int = 0
) -> float:
    """Sum over chunk ``chunk``'s ``n`` customers of the log efficiency of their home outlet.

    The bank's mean of it (the sum over every chunk divided by the bank's customers) centres
    the wallet share of :func:`draw_customers`; only the home-outlet draws are made.
    """
    homes = _draw_homes(chunk_rng(seed, chunk, S_CUSTOMERS), n, outlets, len(cal.labels))
    return float(np.log(outlets["efficiency"].to_numpy())[homes[-1]].sum())


def _draw_wealth_and_homes(
    rng: np.random.Generator,
    n: int,
    outlets: pd.DataFrame,
    n_months: int,
    seed: int,
    chunk: int,
    log_eff_mean: float | None,
) -> tuple[np.ndarray, ...]:
    """:func:`_draw_homes`, the outlet's wallet share and the planted upgraders.

    Returns
    -------
    (is_new, open_idx, persona, tier, wealth, upgrader, outlet)
    """
    is_new, open_idx, persona, tier, wealth, outlet = _draw_homes(rng, n, outlets, n_months)
    # efficient outlets also win a larger share of their customers' wallets
    log_eff = np.log(outlets["efficiency"].to_numpy())[outlet]
    centre = log_eff.mean() if log_eff_mean is None else log_eff_mean
    wealth = wealth * np.exp(WALLET_EFFICIENCY_EXPONENT * (log_eff - centre))
    wealth, upgrader = _plant_upgraders(wealth, tier, persona, n_months, seed, chunk)
    return is_new, open_idx, persona, tier, wealth, upgrader, outlet


def draw_customers(
    n: int,
    outlets: pd.DataFrame,
    cal: Calendar,
    seed: int,
    chunk: int = 0,
    log_eff_mean: float | None = None,
) -> Customers:
    """Draw personas, wealth, home outlets, dates and initial holdings of ``n`` customers.

    Parameters
    ----------
    n : int
        Number of customers (stock at the start plus those joining during the window) of the
        bank, or of the chunk ``chunk``.
    outlets : pandas.DataFrame
        From :func:`build_outlets`.
    cal : Calendar
        The window.
    seed : int
        Random seed.
    chunk : int
        Customer chunk (its random streams, :func:`~bankanalysis.synthetic.spec.chunk_rng`);
        chunk 0 draws exactly what a bank of ``n`` customers always drew.
    log_eff_mean : float, optional
        The bank's mean log efficiency of the customers' home outlets (from
        :func:`home_log_efficiency` summed over the chunks); default the mean over these ``n``
        customers (a bank of one chunk).

    Returns
    -------
    Customers
    """
    rng = chunk_rng(seed, chunk, S_CUSTOMERS)
    T = len(cal.labels)
    drawn = _draw_wealth_and_homes(rng, n, outlets, T, seed, chunk, log_eff_mean)
    is_new, open_idx, persona, tier, wealth, upgrader, outlet = drawn
    echelon = outlets["echelon"].to_numpy()[outlet]

    # dates
    first_start = cal.start[0]
    tenure_days = (
        TENURE_Y[persona, 0] + rng.random(n) * (TENURE_Y[persona, 1] - TENURE_Y[persona, 0])
    ) * 365.25
    since_stock = first_start - tenure_days.astype(np.int64).astype("timedelta64[D]")
    opened = outlets["opened"].to_numpy().astype("datetime64[D]")
    since_stock = np.maximum(since_stock, opened[outlet])
    day_in = (rng.random(n) * cal.days[open_idx]).astype(np.int64).astype("timedelta64[D]")
    since = np.where(is_new, cal.start[open_idx] + day_in, since_stock).astype("datetime64[D]")
    age0 = np.clip(rng.normal(AGE[persona, 0], AGE[persona, 1]), 18, 92)
    age0 = age0 + np.where(echelon == 3, 3.0, 0.0)
    since_year = since.astype("datetime64[Y]").astype(np.int64) + 1970
    birth_year = np.minimum(
        int(str(cal.labels[0])[:4]) - np.round(age0).astype(np.int64), since_year - 16
    )

    # closures: geometric hazard from the month after opening
    hazard = CLOSE_HAZARD[persona]
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
    probs = HOLD_PROBS[persona].copy()
    inv_cols = [P_INDEX[p] for p in ("time_deposit", "wmp", "fund", "insurance", "gold", "bond")]
    probs[:, inv_cols] = np.minimum(probs[:, inv_cols] * inv_mult[:, None], 0.95)
    probs[:, P_INDEX["trust"]] = np.where(
        wealth >= 1_000_000, np.where(persona == 2, 0.45, 0.15), 0.0
    )
    probs[:, P_INDEX["forex"]] *= np.where(tier >= 2, 3.0, 1.0)
    probs[:, P_INDEX["wealth_card"]] = np.where(
        wealth >= 50_000, np.maximum(probs[:, P_INDEX["wealth_card"]], 0.35), 0.02
    )
    probs[:, P_INDEX["safe_box"]] *= np.where(tier >= 2, 3.0, 1.0)
    # customers who join in the window start with fewer savings and investment products (their
    # cards and e-banking follow their persona)
    damped = [P_INDEX[p] for p in PRODUCT_IDS[1:N_AUM]] + [
        P_INDEX["personal_loan"],
        P_INDEX["safe_box"],
    ]
    probs[:, damped] *= np.where(is_new, 0.6, 1.0)[:, None]
    mob = P_INDEX["mobile_banking"]
    probs[:, mob] *= np.where(echelon == 3, 0.85, 1.0)
    holds = rng.random(probs.shape) < np.minimum(probs, 0.98)
    holds[:, P_INDEX["current_deposit"]] = True

    split = rng.gamma(2.0, 0.5, (n, N_AUM)).astype(np.float32) * AUM_WEIGHT.astype(np.float32)
    loan = np.round(np.exp(rng.normal(np.log(80_000), 0.6, n)), -2)
    activity = np.exp(rng.normal(0.0, 0.25, n)).astype(np.float32)
    # indices into contract.GENDERS (F, M, U)
    gender = categorical(rng, np.tile([0.49, 0.49, 0.02], (n, 1))).astype(np.int8)
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
        upgrader=upgrader,
        activity=activity,
        split=split,
        loan=loan,
        holds=holds,
    )


def _managed(wealth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which customers get an account manager (mostly quality and VIP customers)."""
    w = wealth
    p_assign = np.select([w >= 6e6, w >= 5e5, w >= 5e4], [1.0, 0.92, 0.55], 0.02)
    return rng.random(len(w)) < p_assign


def _managers_per_outlet(per_outlet: np.ndarray) -> np.ndarray:
    """Managers of each outlet: one per 120 managed customers, at least one."""
    return np.maximum(1, np.round(per_outlet / 120.0)).astype(np.int64)


def _staff_draws(rng: np.random.Generator, n_total: int) -> tuple[np.ndarray, np.ndarray]:
    """Each manager's full-time flag and days from hiring to the window's start."""
    return rng.random(n_total) < 0.8, rng.integers(30, 15 * 365, n_total)


def managed_per_outlet(
    n: int,
    outlets: pd.DataFrame,
    cal: Calendar,
    seed: int,
    chunk: int = 0,
    log_eff_mean: float | None = None,
) -> np.ndarray:
    """Customers of chunk ``chunk`` (of ``n``) who get an account manager, per outlet.

    Summed over the chunks it sets the number of managers of every outlet
    (:func:`draw_managers`); only the draws the assignment depends on are made.
    """
    rng = chunk_rng(seed, chunk, S_CUSTOMERS)
    drawn = _draw_wealth_and_homes(rng, n, outlets, len(cal.labels), seed, chunk, log_eff_mean)
    wealth, outlet = drawn[4], drawn[6]
    assigned = _managed(wealth, chunk_rng(seed, chunk, S_MANAGERS))
    return np.bincount(outlet[assigned], minlength=len(outlets))


def draw_managers(
    per_outlet: np.ndarray, outlets: pd.DataFrame, cal: Calendar, seed: int, n_first: int
) -> pd.DataFrame:
    """The bank's account managers (contract columns).

    Parameters
    ----------
    per_outlet : numpy.ndarray
        Managed customers per outlet, over the whole bank (:func:`managed_per_outlet`).
    outlets : pandas.DataFrame
        From :func:`build_outlets`.
    cal : Calendar
        The window.
    seed : int
        Random seed.
    n_first : int
        Customers of the first chunk: the managers are drawn from its stream after its
        customers' assignment draws (as a bank of one chunk always drew them).

    Returns
    -------
    pandas.DataFrame
    """
    rng = rng_for(seed, S_MANAGERS)
    rng.random(n_first)  # the first chunk's assignment draws (:func:`assign_managers`)
    n_mgr = _managers_per_outlet(per_outlet)
    n_total = int(n_mgr.sum())
    mgr_outlet = np.repeat(np.arange(len(outlets)), n_mgr)
    full_time, days = _staff_draws(rng, n_total)
    hired = cal.start[0] - days.astype("timedelta64[D]")
    hired = np.maximum(hired, outlets["opened"].to_numpy().astype("datetime64[D]")[mgr_outlet])
    return pd.DataFrame(
        {
            "manager_id": [f"M{i + 1:05d}" for i in range(n_total)],
            "outlet_id": outlets["outlet_id"].to_numpy()[mgr_outlet],
            "full_time": full_time,
            "hired": hired,
        }
    )


def assign_managers(cust: Customers, per_outlet: np.ndarray, seed: int, chunk: int = 0) -> None:
    """Assign chunk ``chunk``'s customers (mostly quality and VIP) to their outlet's managers.

    Sets ``cust.manager`` (index into :func:`draw_managers`' table) in place.

    Parameters
    ----------
    cust : Customers
        The chunk's customers (:func:`draw_customers`).
    per_outlet : numpy.ndarray
        Managed customers per outlet over the whole bank (:func:`managed_per_outlet`).
    seed : int
        Random seed.
    chunk : int
        The customer chunk (its random stream).
    """
    rng = chunk_rng(seed, chunk, S_MANAGERS)
    assigned = _managed(cust.wealth, rng)
    n_mgr = _managers_per_outlet(per_outlet)
    first = np.concatenate([[0], np.cumsum(n_mgr)[:-1]])
    if chunk == 0:
        _staff_draws(rng, int(n_mgr.sum()))  # the managers' draws (:func:`draw_managers`)
    pick = (rng.random(len(assigned)) * n_mgr[cust.outlet]).astype(np.int64)
    cust.manager = np.where(assigned, first[cust.outlet] + pick, -1).astype(np.int32)


def build_devices(
    outlets: pd.DataFrame, cal: Calendar, seed: int, regions: tuple = REGIONS
) -> pd.DataFrame:
    """On-site devices of every outlet and off-site self-service sites per region.

    Off-site sites per outlet vary by region (see :data:`REGIONS`) so that some regions are
    below the plan's three self-service banks per outlet.
    """
    rng = rng_for(seed, S_DEVICES)
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
    for rid, _, _, _, ratio in regions:
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
    rng = rng_for(seed, S_MONTH_DEV)
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
