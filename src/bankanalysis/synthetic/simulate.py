"""The month-by-month simulation: holdings, transactions, contacts and acquisitions."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from bankanalysis.contract import CHANNELS, CONTACT_CHANNELS, TXN_KINDS
from bankanalysis.synthetic.population import Customers, categorical
from bankanalysis.synthetic.spec import (
    CHANNEL_RATE,
    CROSS_SELL,
    DRIFT,
    DROP,
    FEE_CAP,
    FEE_RATE,
    INVEST,
    KIND_BASE_AMOUNT,
    KIND_PROBS,
    N_AUM,
    P_INDEX,
    PRODUCT_IDS,
    PRODUCTS,
    S_MONTH_ACQ,
    S_MONTH_CONTACT,
    S_MONTH_HOLD,
    S_MONTH_TXN,
    Calendar,
    chunk_rng,
    rng_for,
)
from bankanalysis.synthetic.truth import sigmoid, truth_features, truth_logits
from bankanalysis.synthetic.writer import (
    ChunkWriter,
    date_array,
    dict_array,
    fixed_strings,
    id_table,
)

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- seasonality

#: Personal deposits by calendar month (January first), relative to a flat year: year-end
#: bonuses lift them in December, the Spring Festival and the peak-season campaign carry them up
#: through the first quarter (highest at the end of March), they ebb in spring as savings go
#: into investments and consumption, with small pushes at the half-year and the quarter-ends.
#: Multiplies every customer's deposit balances at the month-end, so new deposits (the
#: month-on-month change of the balances) peak in the first quarter (about +7% of the balances)
#: and are negative in April-May: the plan's peak season, and month-on-month and year-on-year
#: changes that mean something.
DEPOSIT_SEASON = np.array([1.04, 1.07, 1.08, 1.05, 1.03, 1.04, 1.02, 1.01, 1.02, 1.0, 0.99, 1.01])
#: Random stream of the yearly strength of the pattern (not used by the other components).
S_SEASON = 21
#: The pattern's strength varies by year in [1 - SEASON_SPREAD, 1 + SEASON_SPREAD] (seeded).
SEASON_SPREAD = 0.25


def deposit_season(labels: list[str], seed: int) -> np.ndarray:
    """The deposit factor of each month of the window (:data:`DEPOSIT_SEASON` raised to a seeded
    strength drawn once per calendar year, so years differ but the same seed gives the same
    bank).

    Examples
    --------
    >>> f = deposit_season(["2024-11", "2025-03", "2025-10"], seed=7)
    >>> bool(f[1] > f[2] == 1.0 > f[0])
    True
    """
    years = sorted({int(m[:4]) for m in labels})
    strength = {
        y: 1.0 + SEASON_SPREAD * (2.0 * rng_for(seed, S_SEASON, y).random() - 1.0) for y in years
    }
    return np.array([DEPOSIT_SEASON[int(m[5:7]) - 1] ** strength[int(m[:4])] for m in labels])


# --------------------------------------------------------------------------- simulation


@dataclass
class Writers:
    """The chunk writers the month loop feeds: three raw tables and the propensity truth."""

    holdings: ChunkWriter
    transactions: ChunkWriter
    contacts: ChunkWriter
    propensity: ChunkWriter


def _tenure_months(since: np.ndarray, month_end: np.datetime64) -> np.ndarray:
    """Whole months from ``since`` to ``month_end``."""
    s_m = since.astype("datetime64[M]")
    e_m = np.datetime64(month_end, "M")
    months = (e_m - s_m).astype(np.int64)
    s_day = (since - s_m.astype("datetime64[D]")).astype(np.int64)
    e_day = int((month_end - e_m.astype("datetime64[D]")).astype(np.int64))
    return months - (s_day > e_day)


def simulate(
    cust: Customers,
    outlets: pd.DataFrame,
    managers: pd.DataFrame,
    cal: Calendar,
    seed: int,
    writers: Writers,
    chunk: int = 0,
    ids: tuple[np.ndarray, int] | None = None,
) -> pd.DataFrame:
    """Run the month-by-month simulation, writing holdings, transactions, contacts and truth.

    Parameters
    ----------
    cust : Customers
        The customers of the bank, or of one chunk of it.
    outlets, managers : pandas.DataFrame
        The bank's outlets and managers.
    cal : Calendar
        The window.
    seed : int
        Random seed.
    writers : Writers
        Where the rows go.
    chunk : int
        The customer chunk (its monthly random streams,
        :func:`~bankanalysis.synthetic.spec.chunk_rng`).
    ids : (numpy.ndarray, int), optional
        The customers' ids and their width (:func:`~bankanalysis.synthetic.writer.id_table`);
        default ``C0000001`` on.

    Returns
    -------
    pandas.DataFrame
        The per-outlet, per-month actuals that the targets are planned from: sums over these
        customers (:func:`add_actuals` adds up those of the chunks).
    """
    n = len(cust.persona)
    T = len(cal.labels)
    n_out = len(outlets)
    cid_table, cid_width = id_table("C", n) if ids is None else ids
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
    cs_idx = np.array([P_INDEX[p] for p in CROSS_SELL])
    drop_p = np.array([DROP[p] for p in CROSS_SELL])
    hist_txn = np.zeros((3, n), dtype=np.int32)
    hist_counter = np.zeros((3, n), dtype=np.int32)
    hist_minutes = np.zeros((3, n), dtype=np.float64)
    chan_rate = CHANNEL_RATE[cust.persona].astype(np.float64)
    chan_rate[:, 0] *= ech_counter
    chan_rate[:, 3] *= ech_mobile
    chan_rate *= 0.85 * cust.activity[:, None]
    family = np.array([p[2] for p in PRODUCTS])
    deposit_cols = np.flatnonzero(family == "deposit")
    season = deposit_season(list(cal.labels), seed)
    actuals = []
    months_cat = list(cal.labels)

    for t in range(T):
        rng_h = chunk_rng(seed, chunk, S_MONTH_HOLD, t)
        rng_x = chunk_rng(seed, chunk, S_MONTH_TXN, t)
        rng_c = chunk_rng(seed, chunk, S_MONTH_CONTACT, t)
        rng_a = chunk_rng(seed, chunk, S_MONTH_ACQ, t)
        active = (cust.open_idx <= t) & (cust.close_idx > t)
        # joined during this month (the stock joined before the window)
        is_opening = (cust.since >= cal.start[t]) & (cust.since <= cal.end[t])
        # ---- holdings: apply last month's acquisitions and this month's drops
        if t > 0:
            cs_holds = holds[:, cs_idx]
            dropped = cs_holds & (rng_h.random(cs_holds.shape) < drop_p) & ~acq
            cs_holds = (cs_holds | acq) & ~dropped
            holds[:, cs_idx] = cs_holds
            g += rng_h.normal(DRIFT[cust.persona], 0.04)
        level = cust.wealth * np.exp(g)
        a_idx = np.flatnonzero(active)
        h_act = holds[a_idx]
        w = cust.split[a_idx] * h_act[:, :N_AUM]
        # the wealthy keep a smaller part of their assets in deposits
        w[:, :2] *= np.sqrt(np.minimum(1.0, 2e5 / level[a_idx]))[:, None]
        share = w / w.sum(axis=1, keepdims=True)
        bal_aum = share * level[a_idx, None]
        bal_aum[:, deposit_cols] *= season[t]  # the seasonal deposit pattern
        bal_aum = np.round(bal_aum, 2)
        aum = bal_aum.sum(axis=1)
        loan_bal = np.round(cust.loan[a_idx] * np.exp(-0.015 * t), 2)
        rows_c, rows_p = np.nonzero(h_act)
        bal = np.zeros(len(rows_c))
        in_aum = rows_p < N_AUM
        bal[in_aum] = bal_aum[rows_c[in_aum], rows_p[in_aum]]
        is_loan = rows_p == P_INDEX["personal_loan"]
        bal[is_loan] = loan_bal[rows_c[is_loan]]
        writers.holdings.write(
            pa.table(
                {
                    "month": dict_array(np.full(len(rows_c), t, dtype=np.int32), months_cat),
                    "customer_id": fixed_strings(cid_table, cid_width, a_idx[rows_c]),
                    "product": dict_array(rows_p.astype(np.int32), list(PRODUCT_IDS)),
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
        no_online = ~h_act[:, P_INDEX["online_banking"]]
        no_mobile = ~h_act[:, P_INDEX["mobile_banking"]]
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
        kind_cum = (np.cumsum(KIND_PROBS, axis=1) + np.arange(5)[:, None]).ravel()
        r_kind = np.searchsorted(kind_cum, r_chan + rng_x.random(nr), side="right")
        r_kind = np.minimum(r_kind - 7 * r_chan.astype(np.int64), 6).astype(np.int8)
        r_prod = np.full(nr, -1, dtype=np.int8)
        k_dep, k_wd, k_tr, k_pur, k_red, k_pay, _k_fee = range(7)
        r_prod[(r_kind == k_dep) | (r_kind == k_wd) | (r_kind == k_tr)] = P_INDEX["current_deposit"]
        inv_rows = np.flatnonzero((r_kind == k_pur) | (r_kind == k_red))
        held_inv = h_act[r_cust[inv_rows]][:, INVEST]
        cum = np.cumsum(held_inv, axis=1)
        n_inv = cum[:, -1]
        pick = (rng_x.random(len(inv_rows)) * n_inv).astype(np.int64) + 1
        col = np.argmax(cum >= pick[:, None], axis=1)
        has_inv = n_inv > 0
        r_prod[inv_rows[has_inv]] = INVEST[col[has_inv]]
        r_kind[inv_rows[~has_inv]] = k_tr
        r_prod[inv_rows[~has_inv]] = P_INDEX["current_deposit"]
        pay_rows = np.flatnonzero(r_kind == k_pay)
        pc = h_act[r_cust[pay_rows]]
        r_prod[pay_rows] = np.where(
            pc[:, P_INDEX["credit_card"]],
            P_INDEX["credit_card"],
            np.where(pc[:, P_INDEX["debit_card"]], P_INDEX["debit_card"], -1),
        )
        # purchases of newly acquired investments and insurance
        nh_c, nh_p = np.nonzero(new_hold[:, INVEST])
        if len(nh_c):
            nh_p = INVEST[nh_p]
            pref = chan_rate[a_idx[nh_c]][:, [0, 2, 3]] + 1e-9
            pref[:, 1] *= h_act[nh_c, P_INDEX["online_banking"]]
            pref[:, 2] *= h_act[nh_c, P_INDEX["mobile_banking"]]
            ch = np.array([0, 2, 3])[categorical(rng_x, pref / pref.sum(axis=1, keepdims=True))]
            r_cust = np.concatenate([r_cust, nh_c])
            r_chan = np.concatenate([r_chan, ch.astype(np.int8)])
            r_kind = np.concatenate([r_kind, np.full(len(nh_c), k_pur, dtype=np.int8)])
            r_prod = np.concatenate([r_prod, nh_p.astype(np.int8)])
            nr = len(r_cust)
        scale = np.clip((level[a_idx] / 20_000.0) ** 0.4, 0.3, 25.0)
        amount = KIND_BASE_AMOUNT[r_kind] * scale[r_cust] * rng_x.lognormal(0.0, 0.7, nr)
        if len(nh_c):
            k0 = nr - len(nh_c)
            amount[k0:] = np.maximum(bal_aum[nh_c, nh_p], 100.0)
        amount = np.round(amount, 2)
        fee = np.where(
            r_kind == k_pur, np.minimum(amount * FEE_RATE[np.maximum(r_prod, 0)], FEE_CAP), 0.0
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
                    "txn_date": date_array(day),
                    "customer_id": fixed_strings(cid_table, cid_width, a_idx[r_cust]),
                    "outlet_id": dict_array(r_out, outlet_ids),
                    "channel": dict_array(r_chan, list(CHANNELS)),
                    "product": dict_array(r_prod, list(PRODUCT_IDS)),
                    "kind": dict_array(r_kind, list(TXN_KINDS)),
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
        c_chan = categorical(rng_c, np.tile([0.2, 0.45, 0.25, 0.10], (nc, 1)))
        lo = np.array([20.0, 3.0, 1.0, 45.0])[c_chan]
        hi = np.array([90.0, 25.0, 6.0, 180.0])[c_chan]
        minutes = np.round(lo + rng_c.random(nc) * (hi - lo), 1).astype(np.float32)
        c_day = first_day[c_rows] + (rng_c.random(nc) * span[c_rows]).astype(np.int64).astype(
            "timedelta64[D]"
        )
        writers.contacts.write(
            pa.table(
                {
                    "contact_date": date_array(c_day),
                    "customer_id": fixed_strings(cid_table, cid_width, a_idx[c_rows]),
                    "manager_id": dict_array(mgr[c_rows], manager_ids),
                    "channel": dict_array(c_chan, list(CONTACT_CHANNELS)),
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
            probs[:, j] = sigmoid(truth_logits(feat, p))
        held_cs = h_act[:, cs_idx]
        probs[held_cs] = np.nan
        draw = rng_a.random(probs.shape, dtype=np.float32)
        acq = np.zeros((n, len(CROSS_SELL)), dtype=bool)
        acq[a_idx] = (draw < probs) & ~held_cs
        cols = {
            "month": dict_array(np.full(len(a_idx), t, dtype=np.int32), months_cat),
            "customer_id": fixed_strings(cid_table, cid_width, a_idx),
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


#: The additive columns of :func:`simulate`'s actuals.
ACTUAL_SUMS: tuple[str, ...] = (
    "new_customers",
    "deposit_balance",
    "aum",
    "fee_income",
    "sales_total",
)


def add_actuals(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The bank's actuals from those of its customer chunks (same rows, summed in chunk order).

    Parameters
    ----------
    parts : list of pandas.DataFrame
        :func:`simulate`'s actuals of each chunk, in chunk order (at least one).

    Returns
    -------
    pandas.DataFrame
        The first chunk's frame itself when there is one; otherwise its rows with every column
        of :data:`ACTUAL_SUMS` the sum over the chunks (a month without sales stays NaN).

    Examples
    --------
    >>> a = pd.DataFrame({"t": [0, 1], "outlet": [0, 0], "new_customers": [1, 2],
    ...     "deposit_balance": [1.5, 2.0], "aum": [3.0, 4.0], "fee_income": [0.0, 1.0],
    ...     "sales_total": [float("nan"), 2.0]})
    >>> both = add_actuals([a, a])
    >>> both["new_customers"].tolist(), both["aum"].tolist(), both["sales_total"].isna().tolist()
    ([2, 4], [6.0, 8.0], [True, False])
    """
    total = parts[0]
    if len(parts) == 1:
        return total
    total = total.copy()
    for part in parts[1:]:
        for col in ACTUAL_SUMS:
            total[col] = total[col].to_numpy() + part[col].to_numpy()
    return total
