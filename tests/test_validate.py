"""Contract validation: one test per kind of violation, each naming file and column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from tinybank import tiny_tables, write_tables

from bankanalysis.cli import main
from bankanalysis.data import io
from bankanalysis.data import validate as validate_module
from bankanalysis.data.validate import validate_raw
from bankanalysis.exceptions import DataContractError, Violation

Tables = dict[str, pd.DataFrame]


def _errors(raw: Path, encoding: str = "utf-8") -> list[Violation]:
    with pytest.raises(DataContractError) as err:
        validate_raw(raw, encoding=encoding).raise_for_errors()
    return err.value.violations


def _set(tables: Tables, table: str, row: int, column: str, value: object) -> None:
    df = tables[table].copy()
    df[column] = df[column].astype(object)
    df.loc[row, column] = value
    tables[table] = df


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_tiny_bank_is_valid(tmp_path: Path, fmt: str) -> None:
    raw = write_tables(tiny_tables(), tmp_path, fmt=fmt)
    assert validate_raw(raw).raise_for_errors() == []


def test_validation_is_held_to_the_memory_limit_and_spills_in_its_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = []
    real = validate_module.bounded_connection

    def spy(spill: Path):
        con = real(spill)
        limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        seen.append((limit, Path(spill).name, Path(spill).parent.name[:22]))
        return con

    monkeypatch.setattr(io, "DUCKDB_MEMORY_LIMIT", "64MB")
    monkeypatch.setattr(validate_module, "bounded_connection", spy)
    raw = write_tables(tiny_tables(), tmp_path, fmt="parquet")
    assert validate_raw(raw).raise_for_errors() == []
    # 64 MB = 64e6 bytes = 61.0 MiB; one connection for the whole check
    assert seen == [("61.0 MiB", "spill", "bankanalysis-validate-")]


def _drop_col(table: str, col: str) -> Callable[[Tables], None]:
    return lambda t: t.__setitem__(table, t[table].drop(columns=[col]))


# (case id, change to the tiny bank, table, column, rule, rows affected, text in the message)
CASES = [
    ("missing column", _drop_col("outlets", "staff_fte"), "outlets", "staff_fte", "missing_column", 0, "required column"),
    ("wrong type", lambda t: _set(t, "holdings", 3, "balance", "12,5"), "holdings", "balance", "type", 1, "numbers"),
    ("unparseable date", lambda t: _set(t, "customers", 1, "since", "01/02/2022"), "customers", "since", "type", 1, "YYYY-MM-DD"),
    ("bad month", lambda t: _set(t, "device_months", 0, "month", "2024-1"), "device_months", "month", "type", 1, "YYYY-MM"),
    ("unknown channel", lambda t: _set(t, "transactions", 2, "channel", "wechat"), "transactions", "channel", "allowed", 1, "allowed list"),
    ("unknown family", lambda t: _set(t, "products", 0, "family", "crypto"), "products", "family", "allowed", 1, "allowed list"),
    ("unknown echelon", lambda t: _set(t, "regions", 1, "echelon", 4), "regions", "echelon", "allowed", 1, "allowed list"),
    ("negative balance", lambda t: _set(t, "holdings", 0, "balance", -1.0), "holdings", "balance", "min", 1, "below the minimum 0"),
    ("extreme amount", lambda t: _set(t, "transactions", 0, "amount", 1e15), "transactions", "amount", "max", 1, "above the maximum"),
    ("empty key", lambda t: _set(t, "customers", 4, "customer_id", None), "customers", "customer_id", "null", 1, "must always be filled"),
    ("unsafe id", lambda t: _set(t, "regions", 0, "region_id", "../R1"), "regions", "region_id", "pattern", 1, "file names"),
    ("duplicate key", lambda t: t.__setitem__("products", pd.concat([t["products"], t["products"].iloc[[2]]])), "products", "product", "duplicate_key", 2, "more than once"),
    ("orphan outlet", lambda t: _set(t, "customers", 0, "outlet_id", "O9"), "customers", "outlet_id", "foreign_key", 1, "not found in outlets.outlet_id"),
    ("orphan region", lambda t: _set(t, "outlets", 2, "region_id", "R7"), "outlets", "region_id", "foreign_key", 1, "not found in regions.region_id"),
    ("orphan product", lambda t: _set(t, "holdings", 5, "product", "gold"), "holdings", "product", "foreign_key", 1, "not found in products.product"),
    ("month gap", lambda t: t.__setitem__("holdings", t["holdings"][t["holdings"]["month"] != "2024-02"]), "holdings", "month", "months_not_contiguous", 0, "2024-02"),
    ("date after last month", lambda t: _set(t, "transactions", 9, "txn_date", "2024-04-02"), "transactions", "txn_date", "after_last_month", 1, "2024-03"),
    ("hours above available", lambda t: _set(t, "device_months", 1, "operating_hours", 730.0), "device_months", "operating_hours", "operating_above_available", 1, "greater than available_hours"),
    ("device month outside data", lambda t: _set(t, "device_months", 0, "month", "2023-12"), "device_months", "month", "month_outside_data", 1, "outside the holdings months"),
    ("closed before since", lambda t: _set(t, "customers", 5, "closed", "2011-01-01"), "customers", "closed", "closed_before_since", 1, "before"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "table", "column", "rule", "n_rows", "text"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_each_violation_names_file_and_column(
    tmp_path: Path,
    change: Callable[[Tables], None],
    table: str,
    column: str,
    rule: str,
    n_rows: int,
    text: str,
) -> None:
    tables = tiny_tables()
    change(tables)
    raw = write_tables(tables, tmp_path, fmt="csv")
    errors = _errors(raw)
    hits = [v for v in errors if v.rule == rule and v.table == table]
    assert len(hits) == 1, [v.format() for v in errors]
    v = hits[0]
    assert v.column == column and v.n_rows == n_rows
    line = v.format()
    assert f"{table}.csv" in line and f"'{column}'" in line and text in line
    if n_rows:
        assert 1 <= len(v.examples) <= 5


def test_counts_all_rows_and_shows_five_examples(tmp_path: Path) -> None:
    tables = tiny_tables()
    h = tables["holdings"].copy()
    h.loc[h["product"] == "current_deposit", "balance"] = -1.0  # 5 customers x 3 months
    tables["holdings"] = h
    raw = write_tables(tables, tmp_path, fmt="parquet")
    (v,) = [e for e in _errors(raw) if e.rule == "min"]
    assert v.n_rows == 15 and len(v.examples) == 5
    assert all(float(e["balance"]) == -1.0 for e in v.examples)
    assert "(15 rows)" in v.format() and "holdings.parquet" in v.format()


def test_missing_required_table_and_optional_absent(tmp_path: Path) -> None:
    tables = tiny_tables()
    for t in ("products", "transactions", "devices", "device_months"):
        del tables[t]
    raw = write_tables(tables, tmp_path, fmt="csv")
    errors = _errors(raw)
    assert [(v.rule, v.table) for v in errors] == [("missing_table", "products")]
    assert "products.csv or products.parquet" in errors[0].format()


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    tables = tiny_tables()
    raw = write_tables(tables, tmp_path, fmt="csv")
    (raw / "outlets.csv").write_text("outlet_id,region_id,name,outlet_type,staff_fte,opened\n")
    (raw / "targets.csv").write_text("month,level,id,kpi,target\n")
    (raw / "managers.csv").write_bytes(b"")
    found = validate_raw(raw).violations
    by_rule = {(v.rule, v.table): v for v in found}
    assert by_rule[("empty_table", "outlets")].severity == "error"
    assert by_rule[("empty_table", "targets")].severity == "warning"
    assert by_rule[("empty_file", "managers")].severity == "error"
    assert "outlets.csv" in by_rule[("empty_table", "outlets")].format()
    # customers -> outlets cannot resolve against an empty outlets table
    assert ("foreign_key", "customers") in by_rule


def test_unknown_columns_and_files_are_warnings(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["customers"] = tables["customers"].assign(phone="138")
    raw = write_tables(tables, tmp_path, fmt="csv")
    (raw / "customer.csv").write_text("a\n1\n")
    warnings = validate_raw(raw).raise_for_errors()
    assert {(w.rule, w.column) for w in warnings} == {
        ("unknown_column", "phone"),
        ("unknown_file", None),
    }
    assert all(w.severity == "warning" for w in warnings)


def test_file_level_problems_are_collected_with_the_rest(tmp_path: Path) -> None:
    tables = tiny_tables()
    _set(tables, "holdings", 0, "balance", -5.0)
    raw = write_tables(tables, tmp_path, fmt="csv")
    (raw / "regions.csv").write_bytes(
        "region_id,name,echelon\nR1,中心,1\nR2,东部,3\n".encode("gbk")
    )
    with open(raw / "contacts.csv", "a", encoding="utf-8") as f:
        f.write("2024-03-01,C1,M1,visit,5,extra\n")
    rules = {(v.rule, v.table) for v in _errors(raw)}
    assert {("encoding", "regions"), ("unparseable", "contacts"), ("min", "holdings")} <= rules


def test_gbk_with_the_setting_is_valid(tmp_path: Path) -> None:
    raw = write_tables(tiny_tables(), tmp_path, fmt="csv", encoding="gbk")
    assert validate_raw(raw, encoding="gbk").violations == []
    assert any(v.rule == "encoding" for v in _errors(raw))


def test_missing_folder(tmp_path: Path) -> None:
    (v,) = _errors(tmp_path / "nope")
    assert v.rule == "missing_folder" and "nope" in v.format()


def test_cli_validate_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_tables(tiny_tables(), tmp_path / "good", fmt="csv")
    assert main(["data", "validate", "--raw", str(good)]) == 0
    tables = tiny_tables()
    _set(tables, "customers", 0, "outlet_id", "O9")
    bad = write_tables(tables, tmp_path / "bad", fmt="csv")
    assert main(["data", "validate", "--raw", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "customers.csv" in err and "'outlet_id'" in err and "O9" in err
    assert "Traceback" not in err


def test_key_screen_collisions_are_cleared_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bankanalysis.data.validate_rules as val

    monkeypatch.setattr(val, "KEY_SCREEN_BITS", 1)  # every multi-product group is a suspect
    raw = write_tables(tiny_tables(), tmp_path / "ok", fmt="parquet")
    assert validate_raw(raw).raise_for_errors() == []
    tables = tiny_tables()
    tables["holdings"] = pd.concat([tables["holdings"], tables["holdings"].iloc[[0]]])
    raw = write_tables(tables, tmp_path / "dup", fmt="parquet")
    (v,) = [e for e in _errors(raw) if e.rule == "duplicate_key"]
    assert (v.n_rows, v.examples[0]["customer_id"], v.examples[0]["product"]) == (
        2,
        "C1",
        "current_deposit",
    )


class _Recorder:
    """A DuckDB connection that keeps the SQL it runs."""

    def __init__(self, con) -> None:
        self.con, self.sql = con, []

    def execute(self, sql: str, *args):
        self.sql.append(sql)
        return self.con.execute(sql, *args)

    def executemany(self, sql: str, rows):
        return self.con.executemany(sql, rows)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_key_screen_gives_each_product_its_own_bit_and_rechecks_only_duplicates(
    tmp_path: Path, fmt: str
) -> None:
    import duckdb

    from bankanalysis.data.validate import _open_raw_tables
    from bankanalysis.data.validate_rules import check_key

    def screen(tables: Tables, name: str) -> tuple[list, list[str]]:
        raw = write_tables(tables, tmp_path / name, fmt=fmt)
        con = duckdb.connect()
        try:
            opened, problems = _open_raw_tables(con, raw, "utf-8", tmp_path / f"{name}-work")
            assert problems == []
            rec = _Recorder(con)
            return check_key(rec, opened["holdings"]), rec.sql
        finally:
            con.close()

    tables = tiny_tables()
    per_group = tables["holdings"].groupby(["month", "customer_id"])["product"].nunique()
    assert per_group.max() >= 2  # groups of several products, which a hash may make collide
    found, sql = screen(tables, "ok")
    # no group is a suspect: the exact re-check (``HAVING count(*) > 1``) never runs
    assert found == [] and not any("HAVING count(*) > 1" in q for q in sql)
    assert any("_key_bit" in q for q in sql)
    _dup_holding(tables)
    (v,), sql = screen(tables, "dup")
    assert (v.rule, v.n_rows) == ("duplicate_key", 2)
    assert any("HAVING count(*) > 1" in q for q in sql)


def _dup_holding(tables: Tables) -> None:
    h = tables["holdings"]
    tables["holdings"] = pd.concat([h, h.iloc[[0]]], ignore_index=True)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_deferred_key_check_alone_is_left_to_the_caller(tmp_path: Path, fmt: str) -> None:
    tables = tiny_tables()
    _dup_holding(tables)
    raw = write_tables(tables, tmp_path, fmt=fmt)
    full = validate_raw(raw).violations
    assert [v.rule for v in full if v.severity == "error"] == ["duplicate_key"]
    check = validate_raw(raw, defer_keys=("holdings",))
    assert check.errors == [] and set(check.deferred) == {"holdings"}
    resolved = check.resolve_deferred()
    assert resolved.deferred == {} and resolved.months == check.months
    assert [(v.table, v.column, v.rule, v.n_rows) for v in resolved.errors] == [
        ("holdings", "month, customer_id, product", "duplicate_key", 2)
    ]
    assert resolved.violations == full
    with pytest.raises(DataContractError):
        resolved.raise_for_errors()


def test_deferred_key_check_runs_when_something_else_is_broken(tmp_path: Path) -> None:
    tables = tiny_tables()
    _dup_holding(tables)
    _set(tables, "holdings", 1, "balance", -5.0)
    _set(tables, "transactions", 0, "channel", "telepathy")
    raw = write_tables(tables, tmp_path, fmt="parquet")
    full = validate_raw(raw).violations
    check = validate_raw(raw, defer_keys=("holdings",))
    assert check.deferred == {}
    assert check.violations == full  # same violations, same order
    assert {(v.table, v.rule) for v in check.errors} == {
        ("holdings", "duplicate_key"),
        ("holdings", "min"),
        ("transactions", "allowed"),
    }


def test_months_and_plain_text_columns(tmp_path: Path) -> None:
    tables = tiny_tables()
    raw = write_tables(tables, tmp_path / "clean", fmt="parquet")
    check = validate_raw(raw)
    assert check.months == ["2024-01", "2024-02", "2024-03"]
    assert {"month", "customer_id", "product"} <= check.plain["holdings"]
    assert "balance" not in check.plain["holdings"]  # only text columns read as text
    _set(tables, "holdings", 0, "customer_id", " C1")  # valid once trimmed, not as stored
    _set(tables, "transactions", 0, "product", "NULL")  # a null token, not a product id
    raw = write_tables(tables, tmp_path / "padded", fmt="parquet")
    check = validate_raw(raw)
    assert check.errors == []
    assert "customer_id" not in check.plain["holdings"]
    assert {"month", "product"} <= check.plain["holdings"]
    assert "product" not in check.plain["transactions"]


# --------------------------------------------------------------------------- degenerate shapes


def _shape(raw: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Violation]:
    """Run ``bankanalysis data validate`` (exit 0 asserted); its warnings by rule and table."""
    assert main(["data", "validate", "--raw", str(raw), *args]) == 0
    out = capsys.readouterr()
    assert "valid (" in out.out and "Traceback" not in out.err
    check = validate_raw(raw, shape=True, windows=None if not args else _windows(args[-1]))
    assert check.errors == []
    found = {}
    for w in check.warnings:
        assert w.severity == "warning"
        assert w.format() in out.err, "the CLI lists every warning"
        found[f"{w.rule}:{w.table}"] = w
    return found


def _windows(params_dir: str) -> dict:
    from bankanalysis.data.validate_shape import window_params

    return window_params(params_dir)


def test_the_tiny_banks_shape_is_valid_with_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """3 months, R2 with one outlet, echelons 1 and 3 with one region each: warned, exit 0."""
    raw = write_tables(tiny_tables(), tmp_path, fmt="csv")
    assert validate_raw(raw).warnings == []  # prepare's check leaves shapes alone
    found = _shape(raw, capsys)
    assert set(found) == {
        "too_few_months:holdings",
        "region_one_outlet:outlets",
        "echelon_one_region:regions",
    }
    months = [w for w in validate_raw(raw, shape=True).warnings if w.rule == "too_few_months"]
    assert [w.message for w in months] == [
        "the data hold 3 months (2024-01 to 2024-03); the tier migration over "
        "migration_months = 12 needs 13: the migration will compare with the first month, "
        "2 months earlier",
        "the data hold 3 months (2024-01 to 2024-03); cross-sell propensity with horizon 3, "
        "eval_months 1 and train_windows 12 needs at least 7 for any model: no product gets "
        "a model (the report says why); shorten the horizon or lower eval_months",
    ]
    assert all(w.column == "month" and w.file.endswith("holdings.csv") for w in months)
    one = found["region_one_outlet:outlets"]
    assert (one.column, one.n_rows, one.examples) == (
        "region_id",
        1,
        [{"region_id": "R2", "only_outlet_id": "O3"}],
    )
    ech = found["echelon_one_region:regions"]
    assert ech.n_rows == 2 and ech.examples == [
        {"echelon": 1, "only_region_id": "R1"},
        {"echelon": 3, "only_region_id": "R2"},
    ]


def test_months_follow_the_parameter_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = write_tables(tiny_tables(), tmp_path / "raw", fmt="csv")
    params = tmp_path / "params"
    params.mkdir()
    (params / "defaults.yaml").write_text(
        "notebooks:\n"
        "  01_customer_segmentation: {migration_months: 2}\n"
        "  02_cross_sell_propensity: {horizon: 1, eval_months: 1, train_windows: 2}\n",
        encoding="utf-8",
    )
    found = _shape(raw, capsys, "--params", str(params))
    # migration 2 + 1 = 3 months: enough; propensity 2 * 1 + 1 = 3 for one window, 4 for two
    (w,) = [
        v
        for v in validate_raw(raw, shape=True, windows=_windows(str(params))).warnings
        if v.rule == "too_few_months"
    ]
    assert "needs 4 for every training window: the models train on 1 window" in w.message
    assert "too_few_months:holdings" in found


def test_balances_all_zero_or_constant(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = tiny_tables()
    tables["holdings"] = tables["holdings"].assign(balance=0.0)
    found = _shape(write_tables(tables, tmp_path / "zero"), capsys)
    w = found["balances_constant:holdings"]
    # AUM products: current_deposit, time_deposit, fund -> 7 + 8 + 8 holding rows
    assert (w.column, w.n_rows) == ("balance", 23)
    assert "is 0: every customer falls in the same tier" in w.message
    tables["holdings"] = tables["holdings"].assign(balance=100.0)
    found = _shape(write_tables(tables, tmp_path / "same"), capsys)
    assert "is the same value (100.00)" in found["balances_constant:holdings"].message
    # the healthy tiny bank has varying balances: no such warning
    assert "balances_constant:holdings" not in _shape(
        write_tables(tiny_tables(), tmp_path / "ok"), capsys
    )


def test_missing_expected_tables_name_the_kpis_and_sections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = tiny_tables()
    del tables["transactions"], tables["contacts"]
    found = _shape(write_tables(tables, tmp_path), capsys)
    tx = found["missing_optional_table:transactions"]
    assert tx.file == str(tmp_path / "transactions.csv")
    assert "fee_income (Intermediary (fee) income)" in tx.message
    assert "outlet KPIs, peer ranks and DEA (03 outlet benchmarking)" in tx.message
    co = found["missing_optional_table:contacts"]
    assert "vip_service_duration_ratio" in co.message and "managers" not in co.table
    assert "account managers and VIP service (01 customer segmentation" in co.message
    assert "missing_optional_table:managers" not in found


def test_products_nobody_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = tiny_tables()
    extra = pd.DataFrame(
        {"product": ["gold", "bond"], "name": ["黄金", "债券"], "family": ["investment"] * 2,
         "in_aum": [True, True], "cross_sell": [True, True]}
    )  # fmt: skip
    tables["products"] = pd.concat([tables["products"], extra], ignore_index=True)
    found = _shape(write_tables(tables, tmp_path), capsys)
    w = found["product_never_held:products"]
    assert (w.column, w.n_rows, w.examples) == (
        "product",
        2,
        [{"product": "bond"}, {"product": "gold"}],
    )
    assert "products nobody holds in any month (bond, gold)" in w.message


def test_cli_validate_shows_each_warning_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As outside pytest: the CLI's logging handler writes to stderr, where the CLI also prints
    the warnings; each must appear there once."""
    import logging

    tables = tiny_tables()
    del tables["transactions"]  # an optional table: one warning
    raw = write_tables(tables, tmp_path / "raw", fmt="csv")
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # pytest's handlers make basicConfig a no-op
    monkeypatch.setattr(root, "level", root.level)  # basicConfig sets it; restored after
    try:
        assert main(["data", "validate", "--raw", str(raw)]) == 0
    finally:
        for h in root.handlers:
            h.close()
    err = capsys.readouterr().err
    warnings = validate_raw(raw, shape=True).warnings
    assert [w.rule for w in warnings if w.table == "transactions"] == ["missing_optional_table"]
    for w in warnings:
        assert err.count(w.format()) == 1, w.format()
