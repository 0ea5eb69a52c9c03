"""load_processed: folder resolution, dimension tables, filtered customer_month reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tinybank import tiny_tables, write_tables

from bankanalysis.data import prepare_sql
from bankanalysis.data.load import load_processed
from bankanalysis.data.prepare import prepare
from bankanalysis.exceptions import ProcessedDataError


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny bank prepared with two-row row groups, so filters can prune row groups."""
    base = tmp_path_factory.mktemp("load")
    raw = write_tables(tiny_tables(), base / "raw", fmt="csv")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(prepare_sql, "ROW_GROUP_SIZE", 2)
        prepare(raw, base / "processed")
    return base / "processed"


def test_missing_folder_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ProcessedDataError, match="make data"):
        load_processed(tmp_path / "nothing")


def test_default_folder_from_environment(processed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BANKANALYSIS_PROCESSED", str(processed))
    bank = load_processed()
    assert bank.folder == processed
    monkeypatch.setenv("BANKANALYSIS_PROCESSED", str(processed.parent / "elsewhere"))
    with pytest.raises(ProcessedDataError, match="bankanalysis data prepare"):
        load_processed(None)


def test_metadata_and_dimensions(processed: Path) -> None:
    bank = load_processed(processed)
    assert bank.months == ["2024-01", "2024-02", "2024-03"] and bank.data_month == "2024-03"
    assert bank.has("transactions") and not bank.has("nonsense")
    assert bank.regions["echelon_name"].tolist() == ["central city", "expansion area"]
    assert bank.outlets.set_index("outlet_id")["echelon"].to_dict() == {"O1": 1, "O2": 1, "O3": 3}
    cu = bank.customers.set_index("customer_id")
    assert (cu.loc["C4", "region_id"], cu.loc["C6", "closed"].strftime("%Y-%m-%d")) == (
        "R2",
        "2024-02-20",
    )
    assert str(cu["since"].dtype) == "datetime64[ns]"
    assert len(bank.managers) == 2 and len(bank.device_months) == 11 and len(bank.targets) == 2
    assert bank.products["family"].tolist()[:3] == ["deposit", "deposit", "investment"]


def test_customer_month_filters(processed: Path) -> None:
    bank = load_processed(processed)
    full = bank.customer_month()
    assert len(full) == 15
    assert list(full[["month", "customer_id"]].itertuples(index=False, name=None)) == sorted(
        full[["month", "customer_id"]].itertuples(index=False, name=None)
    )
    r2 = bank.customer_month(months="2024-03", region_id="R2", columns=["aum", "n_products"])
    assert list(r2.columns) == ["month", "customer_id", "aum", "n_products"]
    assert r2.to_dict("list") == {
        "month": ["2024-03", "2024-03"],
        "customer_id": ["C4", "C5"],
        "aum": [30000.0, 4000.0],
        "n_products": [3, 2],
    }
    jan_feb = bank.customer_month(months=["2024-01", "2024-02"], region_id="R1")
    assert jan_feb.groupby("month")["customer_id"].apply(list).to_dict() == {
        "2024-01": ["C1", "C2", "C3", "C6"],
        "2024-02": ["C1", "C2", "C3"],
    }
    with pytest.raises(ProcessedDataError, match="no column"):
        bank.customer_month(columns=["not_a_column"])
    with pytest.raises(ProcessedDataError, match="2023-12"):
        bank.customer_month(months="2023-12")


def test_row_groups_never_mix_months_or_regions(processed: Path) -> None:
    meta = pq.ParquetFile(processed / "customer_month.parquet").metadata
    assert meta.num_row_groups >= 8
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    im, ir = names.index("month"), names.index("region_id")
    seen = []
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        month, region = rg.column(im).statistics, rg.column(ir).statistics
        assert month.min == month.max
        seen.append((month.min, region.min, region.max))
    assert seen == sorted(seen)  # month then region order: both filters prune row groups


def test_outlet_and_region_month(processed: Path) -> None:
    bank = load_processed(processed)
    assert bank.outlet_month(region_id="R1")["outlet_id"].unique().tolist() == ["O1", "O2"]
    assert len(bank.outlet_month()) == 9 and len(bank.region_month()) == 6


def test_customer_month_comes_sorted_whatever_order_it_was_stored_in(
    processed: Path, tmp_path: Path
) -> None:
    """A region's rows come as stored (already in order, not sorted again); rows stored in
    any other order (another tool's extract, several regions interleaved) are sorted."""
    import shutil

    from bankanalysis.data.load import _by_month_and_customer

    want = load_processed(processed).customer_month().reset_index(drop=True)
    copy = tmp_path / "copy"
    shutil.copytree(processed, copy)
    table = pq.read_table(processed / "customer_month.parquet")
    assert _by_month_and_customer(
        table.sort_by([("month", "ascending"), ("customer_id", "ascending")])
    )
    shuffled = table.take(list(range(table.num_rows))[::-1])
    assert not _by_month_and_customer(shuffled)
    pq.write_table(shuffled, copy / "customer_month.parquet")
    got = load_processed(copy).customer_month().reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)
    r2 = load_processed(copy).customer_month(region_id="R2")
    pd.testing.assert_frame_equal(
        r2.reset_index(drop=True),
        want[want["customer_id"].isin(r2["customer_id"])].reset_index(drop=True),
    )
    with_gap = table.set_column(
        table.schema.get_field_index("customer_id"),
        "customer_id",
        pa.array([None] * table.num_rows, pa.string()),
    )
    assert not _by_month_and_customer(with_gap)  # a missing id proves no order
    coded = table.set_column(
        table.schema.get_field_index("month"), "month", table.column("month").dictionary_encode()
    )
    assert not _by_month_and_customer(coded)  # months stored as codes: sorted, never trusted


def test_absent_optional_tables_are_none(tmp_path: Path) -> None:
    tables = tiny_tables()
    for t in ("devices", "device_months", "targets"):
        del tables[t]
    raw = write_tables(tables, tmp_path / "raw", fmt="parquet")
    prepare(raw, tmp_path / "p")
    bank = load_processed(tmp_path / "p")
    assert bank.devices is None and bank.device_months is None and bank.targets is None
    assert bank.managers is not None and not bank.has("devices")


def test_incomplete_folder(processed: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "_manifest.json").write_bytes((processed / "_manifest.json").read_bytes())
    bank = load_processed(copy)
    with pytest.raises(ProcessedDataError, match="customer_month.parquet is missing"):
        bank.customer_month()
    with pytest.raises(ProcessedDataError, match="incomplete"):
        _ = bank.regions


def test_region_customers_are_the_filtered_table(processed: Path) -> None:
    """Read with the region filter or filtered after reading the whole table: the same rows."""
    whole = load_processed(processed).customers
    for region in sorted(whole["region_id"].unique()):
        want = whole[whole["region_id"] == region].reset_index(drop=True)
        assert len(want) > 0
        bank = load_processed(processed)
        got = bank.region_customers(region)
        assert "customers" not in bank.__dict__  # the whole table was not read
        pd.testing.assert_frame_equal(got, want)
        pd.testing.assert_frame_equal(load_processed(processed).region_customers(region), got)
        loaded = load_processed(processed)
        _ = loaded.customers
        pd.testing.assert_frame_equal(loaded.region_customers(region), want)
    assert load_processed(processed).region_customers("nowhere").empty


def test_customer_filters_read_the_same_rows(processed: Path) -> None:
    """customer_ids= and customers_of: the rows the whole read would give, nothing else."""
    bank = load_processed(processed)
    month = bank.months[-2]
    whole = bank.customer_month(months=[month])
    ids = whole["customer_id"].iloc[::2].tolist() + ["nobody"]
    got = bank.customer_month(months=[month], customer_ids=ids)
    want = whole[whole["customer_id"].isin(ids)].reset_index(drop=True)
    assert 0 < len(got) < len(whole)
    pd.testing.assert_frame_equal(got, want)
    assert set(got["region_id"]) == set(want["region_id"])  # wherever their home outlet is
    fresh = load_processed(processed)
    rows = fresh.customers_of(ids, ["customer_id", "since"])
    assert "customers" not in fresh.__dict__
    cu = fresh.customers
    pd.testing.assert_frame_equal(
        rows, cu.loc[cu["customer_id"].isin(ids), ["customer_id", "since"]].reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(fresh.customers_of(ids, ["customer_id", "since"]), rows)


def test_customer_ranges_split_the_customers_in_id_order(
    processed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts of 4, 2 or 1 customers of C1..C6: consecutive id ranges, unbounded at both ends;
    a bank no larger than a part is one unbounded range."""
    bank = load_processed(processed)
    assert bank.customer_ranges(4) == [(None, "C5"), ("C5", None)]
    assert bank.customer_ranges(2) == [(None, "C3"), ("C3", "C5"), ("C5", None)]
    assert len(bank.customer_ranges(1)) == 6
    assert bank.customer_ranges(6) == [(None, None)]
    assert bank.customer_ranges() == [(None, None)]  # default: a million customers
    monkeypatch.setenv("BANKANALYSIS_CHUNK_CUSTOMERS", "3")
    assert bank.customer_ranges() == [(None, "C4"), ("C4", None)]
    monkeypatch.setenv("BANKANALYSIS_CHUNK_CUSTOMERS", "0")
    with pytest.raises(ProcessedDataError, match="BANKANALYSIS_CHUNK_CUSTOMERS='0'"):
        bank.customer_ranges()
    with pytest.raises(ProcessedDataError, match="at least 1"):
        bank.customer_ranges(0)


def test_customer_month_parts_hold_the_whole_read(processed: Path) -> None:
    """The id_range parts of a read, put together, are the whole read's rows: each customer
    in exactly one part, each part sorted by month and customer."""
    bank = load_processed(processed)
    months = bank.months[-2:]
    whole = bank.customer_month(months=months, columns=["aum", "outlet_id"])
    parts = [
        bank.customer_month(months=months, columns=["aum", "outlet_id"], id_range=r)
        for r in bank.customer_ranges(2)
    ]
    assert [sorted(set(p["customer_id"])) for p in parts] == [
        sorted({c for c in whole["customer_id"] if c < "C3"}),
        sorted({c for c in whole["customer_id"] if "C3" <= c < "C5"}),
        sorted({c for c in whole["customer_id"] if c >= "C5"}),
    ]
    got = pd.concat(parts).sort_values(["month", "customer_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, whole)
    assert bank.customer_month(months=months, id_range=("C3", "C3")).empty
