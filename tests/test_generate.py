"""Tests of the synthetic bank generator and its planted truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bankanalysis.contract import TABLES
from bankanalysis.exceptions import GenerateError
from bankanalysis.synthetic import (
    CROSS_SELL,
    GENERATOR_VERSION,
    PERSONAS,
    PROPENSITY_MODEL,
    generate_bank,
    make_calendar,
    n_outlets_for,
)
from bankanalysis.synthetic.spec import CHUNK_CUSTOMERS, chunk_sizes
from bankanalysis.synthetic.writer import ARROW_TYPES, STORAGE, table_schema

N, MONTHS, SEED = 2000, 5, 11


def _gen(path: Path, **kw: object) -> Path:
    args = {"n_customers": N, "n_months": MONTHS, "seed": SEED, **kw}
    generate_bank(path, **args)
    return path


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _gen(tmp_path_factory.mktemp("gen") / "raw")


#: Chunk size of the bank generated in three customer chunks (667, 667 and 666 customers).
CHUNK = 700


@pytest.fixture(scope="module")
def chunked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _gen(tmp_path_factory.mktemp("chunked") / "raw", chunk_customers=CHUNK)


@pytest.fixture(params=["one chunk", "three chunks"])
def each_bank(request: pytest.FixtureRequest, bank: Path, chunked: Path) -> Path:
    """The bank generated at once and the same arguments generated in three chunks."""
    return bank if request.param == "one chunk" else chunked


def _read(raw: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(raw / f"{table}.parquet")


def _files(raw: Path) -> dict[str, bytes]:
    return {str(p.relative_to(raw)): p.read_bytes() for p in sorted(raw.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_files(bank: Path, tmp_path: Path) -> None:
    again = _gen(tmp_path / "again")
    a, b = _files(bank), _files(again)
    assert sorted(a) == sorted(b)
    assert "_truth/propensity.parquet" in a
    assert [k for k in a if a[k] != b[k]] == []


def test_other_seed_gives_other_data(bank: Path, tmp_path: Path) -> None:
    other = _gen(tmp_path / "other", seed=SEED + 1)
    assert (other / "holdings.parquet").read_bytes() != (bank / "holdings.parquet").read_bytes()
    assert not _read(other, "customers")["since"].equals(_read(bank, "customers")["since"])


# --------------------------------------------------------------------------- contract


_ARROW_CHECK = {
    "str": lambda t: str(t) in ("string", "large_string"),
    "month": lambda t: str(t) in ("string", "large_string"),
    "int": lambda t: str(t).startswith("int"),
    "float": lambda t: str(t) in ("float", "double"),
    "bool": lambda t: str(t) == "bool",
    "date": lambda t: str(t).startswith("date32"),
}


def test_every_contract_table_and_column_has_the_contract_type(bank: Path) -> None:
    for name, table in TABLES.items():
        schema = pq.read_schema(bank / f"{name}.parquet")
        assert schema.names == table.column_names, name
        for col in table.columns:
            t = schema.field(col.name).type
            assert _ARROW_CHECK[col.dtype](t), f"{name}.{col.name}: {t}"


def _logical(t: pa.DataType) -> pa.DataType:
    """The value type of a dictionary, and single precision read as the contract's float."""
    t = t.value_type if pa.types.is_dictionary(t) else t
    return pa.float64() if t == pa.float32() else t


@pytest.mark.parametrize("name", list(TABLES))
def test_writer_schemas_are_the_contract(name: str) -> None:
    schema = table_schema(name)
    assert schema.names == TABLES[name].column_names
    for col in TABLES[name].columns:
        assert _logical(schema.field(col.name).type) == ARROW_TYPES[col.dtype], col.name


def test_storage_choices_name_only_contract_columns() -> None:
    for name, store in STORAGE.items():
        cols = set(TABLES[name].column_names)
        assert set(store.dictionary) | set(store.float32) | set(store.plain) <= cols, name
        assert all(TABLES[name].column(c).dtype == "float" for c in store.float32), name
    assert (
        str(table_schema("holdings").field("month").type)
        == "dictionary<values=string, indices=int32, ordered=0>"
    )
    assert table_schema("contacts").field("minutes").type == pa.float32()


def test_generated_files_have_the_writer_schemas(bank: Path) -> None:
    for name in TABLES:
        stored = pq.read_schema(bank / f"{name}.parquet")
        assert [_logical(f.type) for f in stored] == [
            _logical(f.type) for f in table_schema(name)
        ], name


def test_generated_bank_passes_the_validator(each_bank: Path) -> None:
    from bankanalysis.data.validate import validate_raw

    assert validate_raw(each_bank).violations == []


def test_calendar_and_dimension_sizes(bank: Path) -> None:
    cal = make_calendar("2026-10", 13)
    assert cal.labels[0] == "2025-10" and cal.labels[-1] == "2026-10"
    assert str(cal.end[4]) == "2026-02-28"
    regions = _read(bank, "regions")
    assert regions["echelon"].value_counts().sort_index().tolist() == [1, 3, 4]
    outlets = _read(bank, "outlets")
    assert len(outlets) == n_outlets_for(N) == 16
    assert outlets.groupby("region_id").size().min() >= 2
    assert n_outlets_for(50_000) == 100 and n_outlets_for(1_000_000) == 100
    # the central city is the largest region by customers
    cust = _read(bank, "customers").merge(outlets[["outlet_id", "region_id"]], on="outlet_id")
    central = regions.loc[regions["echelon"] == 1, "region_id"].item()
    assert cust["region_id"].value_counts().index[0] == central
    holdings = _read(bank, "holdings")
    assert sorted(holdings["month"].unique()) == [
        "2026-06",
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
    ]


def test_customers_open_and_close_within_the_window(each_bank: Path) -> None:
    cust = _read(each_bank, "customers")
    h = _read(each_bank, "holdings")
    since = pd.to_datetime(cust["since"])
    closed = pd.to_datetime(cust["closed"])
    # about 1.1% join per month of the window
    joined = (since >= pd.Timestamp("2026-06-01")).sum()
    assert 0.04 * N < joined < 0.07 * N
    assert closed.notna().sum() > 0.01 * N
    assert (closed.dropna() >= since[closed.notna()]).all()
    # no holdings at or after the closing month-end, none before joining
    h = h.merge(cust[["customer_id", "since", "closed"]], on="customer_id")
    month_end = pd.to_datetime(h["month"] + "-01") + pd.offsets.MonthEnd(0)
    assert not (pd.to_datetime(h["closed"]) <= month_end).any()
    assert (pd.to_datetime(h["since"]) <= month_end).all()


def test_devices_leave_some_regions_below_three_sites_per_outlet(bank: Path) -> None:
    dev = _read(bank, "devices")
    outlets = _read(bank, "outlets")
    ratio = dev.groupby("region_id")["site_id"].nunique() / outlets.groupby("region_id").size()
    assert (ratio < 3).sum() >= 2 and (ratio >= 3).sum() >= 1
    assert dev.groupby("site_id").size().max() >= 2
    dm = _read(bank, "device_months")
    assert (dm["operating_hours"] <= dm["available_hours"]).all()
    assert dm["available_hours"].max() <= 744


# --------------------------------------------------------------------------- realism


@pytest.fixture(scope="module")
def big_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _gen(tmp_path_factory.mktemp("big") / "raw", n_customers=30_000, n_months=4, seed=3)


def test_tier_shares_and_aum_concentration(big_bank: Path) -> None:
    h = _read(big_bank, "holdings")
    products = _read(big_bank, "products")
    aum_products = set(products.loc[products["in_aum"], "product"])
    months = sorted(h["month"].unique())
    last3 = h[h["month"].isin(months[-3:]) & h["product"].isin(aum_products)]
    active = h.loc[h["month"] == months[-1], "customer_id"].unique()
    per_month = last3.groupby(["customer_id", "month"])["balance"].sum().unstack(fill_value=0.0)
    avg = per_month.reindex(active, fill_value=0.0).reindex(columns=months[-3:], fill_value=0.0)
    avg = avg.mean(axis=1)
    tier = np.digitize(avg.to_numpy(), [50_000, 500_000, 6_000_000])
    share = np.bincount(tier, minlength=4) / len(tier)
    assert 0.80 <= share[0] <= 0.85
    assert 0.12 <= share[1] <= 0.16
    assert 0.02 <= share[2] <= 0.04
    assert 0.001 <= share[3] <= 0.003
    assert avg[tier >= 2].sum() / avg.sum() > 0.5


def test_personas_have_distinct_channel_mixes(each_bank: Path) -> None:
    personas = pd.read_parquet(each_bank / "_truth" / "personas.parquet")
    assert set(personas["persona"]) == set(PERSONAS)
    assert personas["customer_id"].tolist() == _read(each_bank, "customers")["customer_id"].tolist()
    txn = _read(each_bank, "transactions").merge(personas, on="customer_id")
    mix = pd.crosstab(txn["persona"], txn["channel"], normalize="index")
    assert mix.loc["branch_traditional", "counter"] > 0.6
    assert mix.loc["self_service", "self_service"] > 0.6
    assert mix.loc["young_borrower", "mobile"] > 0.75
    assert mix.loc["digital_saver", ["online", "mobile"]].sum() > 0.75
    assert mix.loc["digital_saver", "online"] > 2 * mix.loc["young_borrower", "online"]
    # transactions per active customer-month: ~3 overall, dormant customers hardly transact
    cm = _read(each_bank, "holdings").groupby("month")["customer_id"].nunique().sum()
    assert 2.5 <= len(txn) / cm <= 3.6
    cm_by = (
        _read(each_bank, "holdings")[["month", "customer_id"]]
        .drop_duplicates()
        .merge(personas, on="customer_id")["persona"]
        .value_counts()
    )
    per_cm = txn["persona"].value_counts() / cm_by
    assert per_cm["dormant"] < 0.2 < 4 < per_cm["young_borrower"]
    # remote channels are never served at an outlet
    assert txn.loc[txn["channel"].isin(["online", "mobile", "phone"]), "outlet_id"].isna().all()
    assert txn.loc[txn["channel"] == "counter", "outlet_id"].notna().all()


def test_managers_serve_mostly_wealthy_customers(each_bank: Path) -> None:
    cust = _read(each_bank, "customers")
    h = _read(each_bank, "holdings")
    last = h[h["month"] == h["month"].max()]
    products = _read(each_bank, "products")
    aum = last[last["product"].isin(products.loc[products["in_aum"], "product"])]
    aum = aum.groupby("customer_id")["balance"].sum()
    has = cust.set_index("customer_id")["manager_id"].notna().reindex(aum.index)
    assert has[aum >= 500_000].mean() > 0.7
    assert has[aum < 50_000].mean() < 0.1
    contacts = _read(each_bank, "contacts")
    mgr = cust.set_index("customer_id")["manager_id"]
    assert (contacts["manager_id"] == mgr.reindex(contacts["customer_id"]).to_numpy()).all()


def test_first_month_is_no_spike_of_purchases_or_new_customer_targets(each_bank: Path) -> None:
    txn = _read(each_bank, "transactions")
    month = pd.to_datetime(txn["txn_date"]).dt.strftime("%Y-%m")
    purchases = month[txn["kind"] == "purchase"].value_counts().sort_index()
    assert purchases.iloc[0] < 1.3 * purchases.iloc[1:].mean()
    targets = _read(each_bank, "targets")
    new = targets[(targets["kpi"] == "new_customers") & (targets["level"] == "outlet")]
    by_month = new.groupby("month")["target"].sum()
    assert by_month.between(0.005 * N, 0.03 * N).all()


def test_region_targets_are_the_sum_of_their_outlets(each_bank: Path) -> None:
    every = _read(each_bank, "targets")
    targets = every[every["period"] == "month"]
    # the year targets of the last year (planted for the plan check): regions and the bank
    year = every[every["period"] == "year"]
    assert set(year["level"]) == {"region", "bank"} and year["month"].nunique() == 1
    outlets = _read(each_bank, "outlets")
    assert set(targets["kpi"]) == {
        "new_customers",
        "deposit_balance",
        "aum",
        "fee_income",
        "sales_total",
    }
    o = targets[targets["level"] == "outlet"].merge(
        outlets[["outlet_id", "region_id"]], left_on="id", right_on="outlet_id"
    )
    summed = o.groupby(["month", "region_id", "kpi"])["target"].sum()
    reg = targets[targets["level"] == "region"].set_index(["month", "id", "kpi"])["target"]
    np.testing.assert_allclose(reg.sort_index().to_numpy(), summed.sort_index().to_numpy())
    assert len(targets) == MONTHS * 5 * (len(outlets) + 8)


# --------------------------------------------------------------------------- planted truth


def test_truth_files_and_marker(each_bank: Path) -> None:
    truth = each_bank / "_truth"
    for f in (
        ".synthetic",
        "README.md",
        "personas.parquet",
        "propensity.parquet",
        "propensity_model.json",
        "outlet_efficiency.parquet",
    ):
        assert (truth / f).is_file(), f
    marker = (truth / ".synthetic").read_text(encoding="utf-8").splitlines()
    assert f"seed={SEED}" in marker and f"customers={N}" in marker
    assert "months=2026-06..2026-10" in marker
    model = json.loads((truth / "propensity_model.json").read_text(encoding="utf-8"))
    assert sorted(model["products"]) == sorted(CROSS_SELL)
    products = _read(each_bank, "products")
    assert sorted(products.loc[products["cross_sell"], "product"]) == sorted(CROSS_SELL)
    eff = pd.read_parquet(truth / "outlet_efficiency.parquet")
    assert eff["outlet_id"].tolist() == _read(each_bank, "outlets")["outlet_id"].tolist()
    assert eff["efficiency"].gt(0).all() and eff["efficiency"].max() == 1.0


def test_propensity_rows_only_for_active_non_holders(each_bank: Path) -> None:
    prop = pd.read_parquet(each_bank / "_truth" / "propensity.parquet")
    h = _read(each_bank, "holdings")
    assert prop[[f"p_{p}" for p in CROSS_SELL]].dtypes.eq("float32").all()
    active = h[["month", "customer_id"]].drop_duplicates()
    assert len(prop) == len(active)
    assert prop.merge(active, on=["month", "customer_id"]).shape[0] == len(prop)
    held = set(zip(h["month"], h["customer_id"], h["product"], strict=True))
    for p in CROSS_SELL:
        col = prop[f"p_{p}"].to_numpy()
        is_held = np.array(
            [(m, c, p) in held for m, c in zip(prop["month"], prop["customer_id"], strict=True)]
        )
        assert np.isnan(col[is_held]).all(), p
        assert (col[~is_held] > 0).all() and (col[~is_held] < 1).all(), p


def _features(cm: pd.DataFrame) -> dict[str, np.ndarray]:
    """The truth model's terms, computed here from the processed customer_month columns."""
    age_c = (cm["age"].to_numpy(float) - 45) / 15
    out = {
        "log_aum_c": (np.log1p(cm["aum"].to_numpy()) - 9.5) / 2,
        "age_c": age_c,
        "age_c_sq": age_c**2,
        "tenure_y": np.minimum(cm["tenure_months"].to_numpy(float), 360) / 120,
        "e_channel_share_3m": cm["e_channel_share_3m"].to_numpy(),
        "log_txn_3m": np.log1p(cm["txn_n_3m"].to_numpy(float)),
        "log_contact_3m": np.log1p(cm["contact_minutes_3m"].to_numpy()),
        "n_products": cm["n_products"].to_numpy(float),
        "echelon_1": (cm["echelon"] == 1).to_numpy(float),
        "echelon_3": (cm["echelon"] == 3).to_numpy(float),
    }
    for c in cm.columns:
        if c.startswith("hold_"):
            out[c] = cm[c].to_numpy(float)
    return out


def test_true_propensity_is_a_function_of_the_processed_customer_month(
    each_bank: Path, tmp_path: Path
) -> None:
    from bankanalysis.data.prepare import prepare

    prepare(each_bank, tmp_path / "processed")
    cm = pd.read_parquet(tmp_path / "processed" / "customer_month.parquet")
    prop = pd.read_parquet(each_bank / "_truth" / "propensity.parquet")
    df = cm.merge(prop, on=["month", "customer_id"], validate="one_to_one")
    assert len(df) == len(cm) == len(prop)
    feat = _features(df)
    for p, spec in PROPENSITY_MODEL.items():
        z = spec["intercept"] + sum(c * feat[t] for t, c in spec.items() if t != "intercept")
        expected = 1 / (1 + np.exp(-z))
        got = df[f"p_{p}"].to_numpy(float)
        free = df[f"hold_{p}"].to_numpy() == 0
        np.testing.assert_allclose(got[free], expected[free], rtol=1e-5, err_msg=p)
        assert np.isnan(got[~free]).all()


def test_acquisitions_are_drawn_at_the_true_rates(big_bank: Path) -> None:
    prop = pd.read_parquet(big_bank / "_truth" / "propensity.parquet")
    h = _read(big_bank, "holdings")
    months = sorted(h["month"].unique())
    flags = pd.crosstab([h["month"], h["customer_id"]], h["product"]).astype(bool)
    prop = prop[prop["month"] != months[-1]]
    nxt = dict(zip(months[:-1], months[1:], strict=True))
    key = pd.MultiIndex.from_arrays([prop["month"].map(nxt), prop["customer_id"]])
    following = flags.reindex(key)
    still = following.notna().all(axis=1).to_numpy()
    for p in CROSS_SELL:
        pr = prop[f"p_{p}"].to_numpy(float)
        ok = still & ~np.isnan(pr)
        y = following[p].to_numpy()[ok].astype(bool)
        expected = pr[ok].sum()
        sd = np.sqrt((pr[ok] * (1 - pr[ok])).sum())
        assert abs(y.sum() - expected) < 4 * sd, (p, y.sum(), expected)
        assert 0.004 < pr[ok].mean() < 0.06, p


def test_outlet_customers_follow_inputs_and_efficiency(big_bank: Path) -> None:
    from scipy.stats import spearmanr

    outlets = _read(big_bank, "outlets")
    eff = pd.read_parquet(big_bank / "_truth" / "outlet_efficiency.parquet")
    dev = _read(big_bank, "devices")
    onsite = dev[dev["outlet_id"].notna()].groupby("outlet_id").size()
    o = outlets.merge(eff, on="outlet_id").set_index("outlet_id")
    o["devices"] = onsite
    cust = _read(big_bank, "customers")["outlet_id"].value_counts()
    capacity = o["staff_fte"] + 2 * o["devices"]
    rho_eff = spearmanr(cust.reindex(o.index) / capacity, o["efficiency"]).statistic
    assert rho_eff > 0.95


# --------------------------------------------------------------------------- customer chunks

#: Content digests of two small banks as main generated them before the generator worked in
#: customer chunks (commit d050e24, GENERATOR_VERSION 2), computed there with
#: ``generate_bank(d, n_customers=n, n_months=m, seed=s, n_regions=r)`` and :func:`_content`:
#: every file but the marker ``_truth/.synthetic`` (which names the generator version), in
#: sorted path order: its path, then for Parquet the column names and Arrow types and
#: ``repr(pyarrow.parquet.read_table(f).to_pydict())``, else its bytes. (The files themselves
#: were also compared byte for byte with main's output then, the CI bank included: only the
#: marker differed.)
MAIN_DIGESTS: dict[tuple[int, int, int, int], str] = {
    (1200, 4, 5, 8): "22fc8a4bef48a7198e71ebe42c7e1950ab8c6bac8de83f003d170dea287f3be5",
    (600, 3, 9, 12): "ef31d9c8d319739118aed041c357c053f3d1a126670645346a18fcd3817761cc",
}


def _content(raw: Path) -> str:
    """Digest of a generated bank's data (see :data:`MAIN_DIGESTS`)."""
    h = hashlib.sha256()
    for p in sorted(raw.rglob("*")):
        if not p.is_file() or p.name == ".synthetic":
            continue
        h.update(p.relative_to(raw).as_posix().encode() + b"\0")
        if p.suffix == ".parquet":
            t = pq.read_table(p)
            h.update(repr([(f.name, str(f.type)) for f in t.schema]).encode())
            h.update(repr(t.to_pydict()).encode())
        else:
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("args", list(MAIN_DIGESTS))
def test_a_bank_of_one_chunk_is_the_data_main_generated_before_chunks(
    args: tuple[int, int, int, int], tmp_path: Path
) -> None:
    n, months, seed, regions = args
    raw = tmp_path / "raw"
    generate_bank(raw, n_customers=n, n_months=months, seed=seed, n_regions=regions)
    assert _content(raw) == MAIN_DIGESTS[args]
    marker = (raw / "_truth" / ".synthetic").read_text(encoding="utf-8")
    assert f"generator_version={GENERATOR_VERSION}\n" in marker and GENERATOR_VERSION == 3


def test_chunk_sizes_split_evenly_and_refuse_an_empty_chunk() -> None:
    assert chunk_sizes(N, CHUNK) == [667, 667, 666]
    assert chunk_sizes(1400, CHUNK) == [700, 700]
    assert chunk_sizes(1401, CHUNK) == [467, 467, 467]
    assert chunk_sizes(N) == [N] and CHUNK_CUSTOMERS >= 100_000
    with pytest.raises(GenerateError, match="chunk size"):
        chunk_sizes(N, 0)


def test_a_chunked_bank_has_every_customer_once(chunked: Path) -> None:
    ids = [f"C{i:07d}" for i in range(1, N + 1)]
    assert _read(chunked, "customers")["customer_id"].tolist() == ids
    personas = pd.read_parquet(chunked / "_truth" / "personas.parquet")
    assert personas["customer_id"].tolist() == ids
    assert pq.ParquetFile(chunked / "_truth" / "personas.parquet").num_row_groups == 3
    upgraders = pd.read_parquet(chunked / "_truth" / "upgraders.parquet")
    assert upgraders["customer_id"].is_unique and set(upgraders["customer_id"]) <= set(ids)
    for table in ("holdings", "transactions", "contacts"):
        assert set(_read(chunked, table)["customer_id"]) <= set(ids), table
    prop = pd.read_parquet(chunked / "_truth" / "propensity.parquet")
    assert not prop.duplicated(["month", "customer_id"]).any()
    # every chunk has customers in every month's rows
    h = _read(chunked, "holdings")
    chunk_of = (h["customer_id"].str[1:].astype(int) - 1) // 667
    assert (h.groupby("month")["customer_id"].nunique() > 0.8 * N).all()
    assert pd.crosstab(h["month"], chunk_of).gt(0).all().all()


def test_a_chunked_bank_is_deterministic_and_other_data(
    chunked: Path, bank: Path, tmp_path: Path
) -> None:
    again = _gen(tmp_path / "again", chunk_customers=CHUNK)
    a, b = _files(chunked), _files(again)
    assert sorted(a) == sorted(b) == sorted(_files(bank))
    assert [k for k in a if a[k] != b[k]] == []
    assert a["holdings.parquet"] != _files(bank)["holdings.parquet"]


def test_the_first_chunk_draws_what_a_bank_of_its_size_draws(chunked: Path, tmp_path: Path) -> None:
    # the same outlets (16 for both sizes), and the first chunk's customer streams are those of
    # a bank of 667: only the wallet-share centre and the managers come from the whole bank
    small = _gen(tmp_path / "small", n_customers=667)
    cols = ["customer_id", "outlet_id", "birth_year", "gender", "since", "closed"]
    first = _read(chunked, "customers")[cols].iloc[:667].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, _read(small, "customers")[cols])
    personas = pd.read_parquet(chunked / "_truth" / "personas.parquet")["persona"]
    small_personas = pd.read_parquet(small / "_truth" / "personas.parquet")["persona"]
    assert personas.iloc[:667].tolist() == small_personas.tolist()
    # the second chunk draws from its own streams
    assert personas.iloc[667:1334].tolist() != small_personas.tolist()


def test_the_bank_wide_draws_are_exact_sums_over_the_chunks() -> None:
    from bankanalysis.synthetic.population import (
        assign_managers,
        build_outlets,
        draw_customers,
        draw_managers,
        home_log_efficiency,
        managed_per_outlet,
    )

    cal = make_calendar("2026-10", MONTHS)
    sizes = chunk_sizes(N, CHUNK)
    outlets = build_outlets(N, cal, SEED)
    log_eff = [home_log_efficiency(m, outlets, cal, SEED, k) for k, m in enumerate(sizes)]
    centre = sum(log_eff) / N
    per_outlet = sum(
        managed_per_outlet(m, outlets, cal, SEED, k, centre) for k, m in enumerate(sizes)
    )
    managers = draw_managers(per_outlet, outlets, cal, SEED, sizes[0])
    drawn = []
    for k, m in enumerate(sizes):
        cust = draw_customers(m, outlets, cal, SEED, k, centre)
        assign_managers(cust, per_outlet, SEED, k)
        drawn.append(cust)
    home = np.concatenate([c.outlet for c in drawn])
    eff = np.log(outlets["efficiency"].to_numpy())
    np.testing.assert_allclose(eff[home].mean(), centre, rtol=1e-12)
    for c, part in zip(drawn, log_eff, strict=True):
        assert eff[c.outlet].sum() == part  # the census redraws the same homes
    mgr = np.concatenate([c.manager for c in drawn])
    # the census counted exactly the customers the chunks then gave a manager
    assert np.bincount(home[mgr >= 0], minlength=len(outlets)).tolist() == per_outlet.tolist()
    expected = np.maximum(1, np.round(per_outlet / 120.0)).astype(int)
    index = {o: i for i, o in enumerate(outlets["outlet_id"])}
    mgr_outlet = managers["outlet_id"].map(index)
    assert np.bincount(mgr_outlet, minlength=len(outlets)).tolist() == expected.tolist()
    # every managed customer's manager works at the customer's home outlet
    assert (mgr_outlet.to_numpy()[mgr[mgr >= 0]] == home[mgr >= 0]).all()
    # a bank of one chunk: the census centre is the mean draw_customers took itself
    one = home_log_efficiency(N, outlets, cal, SEED) / N
    alone = draw_customers(N, outlets, cal, SEED)
    again = draw_customers(N, outlets, cal, SEED, 0, one)
    assert alone.wealth.tolist() == again.wealth.tolist()


def test_the_planted_truth_of_a_chunked_bank_is_recovered(tmp_path: Path) -> None:
    from bankanalysis import selfcheck as sc
    from bankanalysis.data.prepare import prepare

    # 13 months, so the plan's year (2026-01..2026-10) and its first quarter are in the data
    raw = _gen(tmp_path / "raw", n_months=13, chunk_customers=CHUNK)
    processed = tmp_path / "processed"
    prepare(raw, processed)
    checks = [sc.check_plan, sc.check_tiers, sc.check_migration]
    results = {r.name: r for r in sc.run_checks(raw, processed, checks)}
    assert all(r.passed for r in results.values()), {k: r.detail for k, r in results.items()}
    assert results["plan.ytd_side_agreement"].value == 1.0
    assert results["plan.projected_gap_error"].value <= 1e-6
    assert results["plan.q1_attainment_error"].value <= 1e-6
    assert results["segmentation.tier_agreement"].value == 1.0
    assert results["segmentation.migration_cells_equal"].value == 1.0
    # the year to date of new customers the plan was planted from: the customers who joined
    truth = pd.read_parquet(raw / "_truth" / "plan_targets.parquet").set_index(["region_id", "kpi"])
    cust = _read(raw, "customers").merge(_read(raw, "outlets"), on="outlet_id")
    joined = cust[pd.to_datetime(cust["since"]) >= pd.Timestamp("2026-01-01")]
    per_region = joined.groupby("region_id").size()
    for rid, count in per_region.items():
        assert truth.loc[(rid, "new_customers"), "ytd_actual"] == count, rid
    assert truth.loc[("bank", "new_customers"), "ytd_actual"] == len(joined)


# --------------------------------------------------------------------------- formats and files


def test_csv_format_round_trips(bank: Path, tmp_path: Path) -> None:
    raw = _gen(tmp_path / "csv", fmt="csv")
    for name in ("customers", "holdings", "products", "transactions", "devices"):
        assert not (raw / f"{name}.parquet").exists()
        from_csv = pd.read_csv(raw / f"{name}.csv", keep_default_na=False, na_values=[""])
        from_pq = _read(bank, name)
        assert from_csv.columns.tolist() == from_pq.columns.tolist()
        assert len(from_csv) == len(from_pq), name
    text = (raw / "customers.csv").read_text(encoding="utf-8").splitlines()
    assert (
        text[0] == '"customer_id","outlet_id","manager_id","birth_year","gender","since","closed"'
    )
    cust_csv = pd.read_csv(raw / "customers.csv", dtype=str, keep_default_na=False)
    cust_pq = _read(bank, "customers")
    assert cust_csv["since"].tolist() == [str(d) for d in cust_pq["since"]]
    assert (cust_csv["closed"] == "").sum() == cust_pq["closed"].isna().sum()
    assert (cust_csv["manager_id"] == "").sum() == cust_pq["manager_id"].isna().sum()
    prod_csv = (raw / "products.csv").read_text(encoding="utf-8")
    assert ",true," in prod_csv and ",false" in prod_csv and "活期存款" in prod_csv
    h_csv = pd.read_csv(raw / "holdings.csv")
    h_pq = _read(bank, "holdings")
    np.testing.assert_allclose(h_csv["balance"].to_numpy(), h_pq["balance"].to_numpy())
    assert h_csv["month"].tolist() == h_pq["month"].tolist()
    # the truth is identical whatever the format
    assert (raw / "_truth" / "propensity.parquet").read_bytes() == (
        bank / "_truth" / "propensity.parquet"
    ).read_bytes()


def test_atomic_swap_keeps_gitkeep_and_removes_the_other_format(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    out.mkdir()
    (out / ".gitkeep").write_text("", encoding="utf-8")
    (out / "holdings.csv").write_text("stale", encoding="utf-8")
    (out / "_truth").mkdir()
    (out / "_truth" / "stale.txt").write_text("old", encoding="utf-8")
    _gen(out, n_customers=300, n_months=2)
    assert (out / ".gitkeep").exists()
    assert not (out / "holdings.csv").exists() and (out / "holdings.parquet").exists()
    assert not (out / "_truth" / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]


def test_bad_arguments_raise_generate_error(tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match="format"):
        generate_bank(tmp_path / "x", n_customers=500, fmt="xlsx")
    with pytest.raises(GenerateError, match="months"):
        generate_bank(tmp_path / "x", n_customers=500, n_months=0)
    with pytest.raises(GenerateError, match="YYYY-MM"):
        generate_bank(tmp_path / "x", n_customers=500, end_month="October")
    assert not (tmp_path / "x").exists()
