"""The planted truth: the propensity model, its features, and the truth files' contents."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bankanalysis.synthetic.population import UPGRADE_THRESHOLDS, Customers
from bankanalysis.synthetic.spec import (
    CROSS_SELL,
    DEVICE_STAFF_EQUIV,
    GENERATOR_VERSION,
    PERSONAS,
    PRODUCT_IDS,
    WALLET_EFFICIENCY_EXPONENT,
    Calendar,
)
from bankanalysis.synthetic.writer import DICT_STRING, dict_array, fixed_strings, id_table

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
#: What being on a lead list adds to a customer's monthly probability of buying the offered
#: product: nothing. The simulation never sees the analytics' lead lists (nobody works them), so
#: leads and comparable non-leads of the same planted probability buy at the same rate.
LEAD_LIFT = 0.0
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


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic link: probability of a logit."""
    return 1.0 / (1.0 + np.exp(-z))


# --------------------------------------------------------------------------- truth files

TRUTH_README = """# Planted truth of the synthetic bank

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
  `lead_lift` ({lead_lift}) is what being on a lead list adds to that probability: the
  simulation never sees the lead lists, so leads buy like comparable customers.
- `upgraders.parquet`: `customer_id, tier, next_tier, threshold, planted_fraction`: the customers
  planted just below the next tier (a share of the mass and quality customers): their AUM
  averaged over the window's last three month-ends is expected at `planted_fraction` (0.92 to
  0.98) of `threshold`; the monthly noise of the simulation moves some out of that band.
- `outlet_efficiency.parquet`: `outlet_id, efficiency` in (0, 1]. Customers and new customers are
  spread over outlets in proportion to `efficiency * (staff_fte + {a} * devices)` (devices = on-site
  devices), and their assets scale with `efficiency^{g}` (relative to the bank's average), so
  outlet outputs follow inputs and efficiency.
- `.synthetic`: marker that this raw folder was generated (generator version, seed, size, months).
"""


def _ids(cust: Customers, ids: tuple[np.ndarray, int] | None) -> tuple[np.ndarray, int]:
    """The customers' ids (default ``C0000001`` on, a bank of one chunk)."""
    return id_table("C", len(cust.persona)) if ids is None else ids


def persona_table(cust: Customers, ids: tuple[np.ndarray, int] | None = None) -> pa.Table:
    """``customer_id, persona`` of the customers (``ids`` as from :func:`id_table`)."""
    cid_table, width = _ids(cust, ids)
    return pa.table(
        {
            "customer_id": fixed_strings(cid_table, width, np.arange(len(cust.persona))),
            "persona": dict_array(cust.persona.astype(np.int32), list(PERSONAS)),
        }
    )


def upgrader_table(cust: Customers, ids: tuple[np.ndarray, int] | None = None) -> pa.Table:
    """``customer_id, tier, next_tier, threshold, planted_fraction`` of the planted upgraders."""
    idx = np.flatnonzero(~np.isnan(cust.upgrader))
    planted = cust.upgrader[idx]
    # planted below the lowest threshold above their planted AUM
    k = np.searchsorted(np.asarray(UPGRADE_THRESHOLDS), planted, side="right")
    threshold = np.asarray(UPGRADE_THRESHOLDS)[k]
    tiers, nxt = np.array(["mass", "quality"]), np.array(["quality", "vip"])
    cid_table, width = _ids(cust, ids)
    return pa.table(
        {
            "customer_id": fixed_strings(cid_table, width, idx),
            "tier": pa.array(tiers[k].tolist(), pa.string()),
            "next_tier": pa.array(nxt[k].tolist(), pa.string()),
            "threshold": pa.array(threshold, pa.float64()),
            "planted_fraction": pa.array(planted / threshold, pa.float64()),
        }
    )


class CustomerTruth:
    """``personas.parquet`` and ``upgraders.parquet`` of the truth folder, chunk by chunk.

    One Parquet row group per chunk and file; a bank of one chunk gets the files
    :func:`pyarrow.parquet.write_table` wrote before the generator worked in chunks.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._writers: dict[str, pq.ParquetWriter] = {}

    def write(self, cust: Customers, ids: tuple[np.ndarray, int] | None = None) -> None:
        """Append the truth of one chunk of customers (``ids`` as from :func:`id_table`)."""
        for name, table in (
            ("personas", persona_table(cust, ids)),
            ("upgraders", upgrader_table(cust, ids)),
        ):
            if name not in self._writers:
                self._writers[name] = pq.ParquetWriter(
                    self.folder / f"{name}.parquet", table.schema, store_schema=False
                )
            self._writers[name].write_table(table)

    def close(self) -> None:
        """Close the files."""
        for w in self._writers.values():
            w.close()


def propensity_schema() -> pa.Schema:
    """Schema of ``propensity.parquet``: month, customer_id and ``p_<product>`` (float32)."""
    return pa.schema(
        [("month", DICT_STRING), ("customer_id", pa.string())]
        + [(f"p_{p}", pa.float32()) for p in CROSS_SELL]
    )


def write_truth(
    folder: Path, n_customers: int, outlets: pd.DataFrame, cal: Calendar, seed: int
) -> None:
    """Write the truth files of the whole bank (the simulation writes ``propensity.parquet``,
    :class:`CustomerTruth` the personas and upgraders).

    Parameters
    ----------
    folder : Path
        The truth folder (``<raw>/_truth`` under construction).
    n_customers : int
        Customers of the bank (for the marker).
    outlets : pandas.DataFrame
        Outlets with their planted ``efficiency``.
    cal : Calendar
        The window.
    seed : int
        The generator seed (for the marker).
    """
    n = n_customers
    pq.write_table(
        pa.Table.from_pandas(
            outlets[["outlet_id", "efficiency"]], preserve_index=False
        ).replace_schema_metadata(None),
        folder / "outlet_efficiency.parquet",
        store_schema=False,
    )
    model = {
        "link": "logistic: p = 1 / (1 + exp(-f_p(x_t)))",
        "meaning": "probability that a customer active at month t who does not hold product p "
        "holds it at month t+1",
        "terms": TRUTH_FEATURES,
        "products": PROPENSITY_MODEL,
        "lead_lift": LEAD_LIFT,
    }
    (folder / "propensity_model.json").write_text(
        json.dumps(model, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    (folder / "README.md").write_text(
        TRUTH_README.format(
            personas=", ".join(PERSONAS),
            cross_sell=", ".join(CROSS_SELL),
            a=DEVICE_STAFF_EQUIV,
            g=WALLET_EFFICIENCY_EXPONENT,
            lead_lift=LEAD_LIFT,
        ),
        encoding="utf-8",
    )
    (folder / ".synthetic").write_text(
        f"generator_version={GENERATOR_VERSION}\nseed={seed}\ncustomers={n}\n"
        f"months={cal.labels[0]}..{cal.labels[-1]}\n",
        encoding="utf-8",
    )
