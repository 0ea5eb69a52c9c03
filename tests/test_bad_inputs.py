"""Bad-input corpus: every broken extract fails clearly and leaves earlier outputs untouched.

Each case starts from the tiny hand-written bank (:mod:`tinybank`), breaks exactly one thing
and runs ``bankanalysis data prepare`` and ``bankanalysis data validate`` through
:func:`bankanalysis.cli.main`. A failing case must

- exit with code 2 and no traceback;
- print one message line naming the file, the column, the number of rows and an example value
  (table-level problems: the file and what is wrong);
- leave a ``processed`` folder from an earlier valid prepare (plus a sentinel file) and a
  ``reports`` folder byte-for-byte and timestamp-for-timestamp as they were, with nothing new
  next to them.

Cases that must be *accepted* (UTF-8 with BOM, CRLF line ends, GBK with ``--encoding gbk``)
must give exactly the processed tables of the clean bank.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from param_data import MA_KPI_NEEDS_TRANSACTIONS, ma_kpi_refusal, write_params_dir
from tinybank import tiny_tables, write_tables

from bankanalysis.cli import main

Tables = dict[str, pd.DataFrame]


# --------------------------------------------------------------------------- helpers


def _set(tables: Tables, table: str, where: dict[str, object], column: str, value: object) -> None:
    """Set ``column`` to ``value`` on the rows of ``table`` matching every ``where`` item."""
    df = tables[table].copy()
    mask = pd.Series(True, index=df.index)
    for k, v in where.items():
        mask &= df[k].astype("str") == str(v)
    assert mask.any(), f"no row of {table} matches {where}"
    df[column] = df[column].astype(object)
    df.loc[mask, column] = value
    tables[table] = df


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (hidden ones too) with its content hash and mtime."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            st = p.lstat()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns)
    return out


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def _read_processed(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pq.read_table(p).to_pandas() for p in sorted(folder.glob("*.parquet"))}


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One broken extract and what its error message must name.

    ``counts``: acceptable row counts (a duplicate may be counted as all rows of the group or
    as the extra rows); ``examples``: acceptable spellings of an offending value (one must
    appear); ``words``: lower-case words of which one must appear (table-level problems).
    """

    id: str
    file: str
    column: str | None = None
    counts: tuple[int, ...] = ()
    examples: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    tables: Callable[[Tables], object] | None = None
    files: Callable[[Path], None] | None = None


def _drop_table(name: str) -> Callable[[Tables], object]:
    return lambda t: t.pop(name)


def _drop_column(table: str, column: str) -> Callable[[Tables], None]:
    def f(t: Tables) -> None:
        t[table] = t[table].drop(columns=[column])

    return f


def _dup_customer(t: Tables) -> None:
    c = t["customers"]
    t["customers"] = pd.concat([c, c[c["customer_id"] == "C2"]], ignore_index=True)


def _dup_holding(t: Tables) -> None:
    h = t["holdings"]
    row = h[(h["month"] == "2024-03") & (h["customer_id"] == "C3") & (h["product"] == "fund")]
    t["holdings"] = pd.concat([h, row], ignore_index=True)


def _operating_above_available(t: Tables) -> None:
    where = {"month": "2024-03", "device_id": "D2"}
    _set(t, "device_months", where, "available_hours", 400.0)
    _set(t, "device_months", where, "operating_hours", 500.0)


def _rename_region(t: Tables, old: str, new: str) -> None:
    for table in ("regions", "outlets", "devices"):
        _set(t, table, {"region_id": old}, "region_id", new)


def _rename_product(t: Tables, old: str, new: str) -> None:
    for table in ("products", "holdings", "transactions"):
        _set(t, table, {"product": old}, "product", new)


def _empty_file(name: str) -> Callable[[Path], None]:
    return lambda raw: (raw / f"{name}.csv").write_bytes(b"")


def _header_only(name: str) -> Callable[[Path], None]:
    def f(raw: Path) -> None:
        p = raw / f"{name}.csv"
        p.write_bytes(p.read_bytes().splitlines(keepends=True)[0])

    return f


def _ragged_line(raw: Path) -> None:
    p = raw / "outlets.csv"
    p.write_bytes(p.read_bytes() + b"O4,R1,extra,standard,5.0,2020-01-01,surplus,fields\n")


def _both_formats(raw: Path) -> None:
    pd.read_csv(raw / "products.csv").to_parquet(raw / "products.parquet", index=False)


def _duplicate_header(raw: Path) -> None:
    p = raw / "regions.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    lines[0] = "region_id,name,name"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")


# Row counts below are counted by hand on tinybank.tiny_tables().
CASES: list[Case] = [
    Case(
        "missing_required_table",
        "products",
        words=("missing", "not found"),
        tables=_drop_table("products"),
    ),
    Case(
        "missing_required_column",
        "customers",
        "birth_year",
        words=("missing", "not found", "absent"),
        tables=_drop_column("customers", "birth_year"),
    ),
    Case(
        "wrong_type_float",
        "outlets",
        "staff_fte",
        (1,),
        ("four",),
        tables=lambda t: _set(t, "outlets", {"outlet_id": "O2"}, "staff_fte", "four"),
    ),
    Case(
        "wrong_type_int",
        "customers",
        "birth_year",
        (1,),
        ("19x0",),
        tables=lambda t: _set(t, "customers", {"customer_id": "C5"}, "birth_year", "19x0"),
    ),
    Case(
        "wrong_type_bool",
        "products",
        "in_aum",
        (1,),
        ("maybe",),
        tables=lambda t: _set(t, "products", {"product": "fund"}, "in_aum", "maybe"),
    ),
    Case(
        "unparseable_dates",
        "customers",
        "since",
        (2,),
        ("2015-13-45", "yesterday"),
        tables=lambda t: (
            _set(t, "customers", {"customer_id": "C1"}, "since", "2015-13-45"),
            _set(t, "customers", {"customer_id": "C3"}, "since", "yesterday"),
        ),
    ),
    Case(
        "unparseable_month",
        "holdings",
        "month",
        (3,),
        ("March 2024",),
        tables=lambda t: _set(
            t, "holdings", {"month": "2024-03", "customer_id": "C2"}, "month", "March 2024"
        ),
    ),
    Case(
        # 2024-02 becomes 2024-05: months 2024-01, 2024-03, 2024-05 have two gaps
        "month_out_of_sequence",
        "holdings",
        "month",
        (),
        ("2024-02", "2024-04"),
        tables=lambda t: _set(t, "holdings", {"month": "2024-02"}, "month", "2024-05"),
    ),
    Case("duplicate_key", "customers", "customer_id", (1, 2), ("C2",), tables=_dup_customer),
    Case(
        "duplicate_composite_key",
        "holdings",
        None,
        (1, 2),
        ("C3",),
        ("duplicate",),
        tables=_dup_holding,
    ),
    Case(
        "orphan_customer_outlet",
        "customers",
        "outlet_id",
        (1,),
        ("O9",),
        tables=lambda t: _set(t, "customers", {"customer_id": "C4"}, "outlet_id", "O9"),
    ),
    Case(
        "orphan_outlet_region",
        "outlets",
        "region_id",
        (1,),
        ("R7",),
        tables=lambda t: _set(t, "outlets", {"outlet_id": "O2"}, "region_id", "R7"),
    ),
    Case(
        "orphan_holding_product",
        "holdings",
        "product",
        (3,),
        ("gold_bar",),
        tables=lambda t: _set(
            t, "holdings", {"product": "fund", "customer_id": "C3"}, "product", "gold_bar"
        ),
    ),
    Case(
        "orphan_holding_customer",
        "holdings",
        "customer_id",
        (2,),
        ("C99",),
        tables=lambda t: _set(
            t, "holdings", {"month": "2024-03", "customer_id": "C5"}, "customer_id", "C99"
        ),
    ),
    Case(
        "negative_balance",
        "holdings",
        "balance",
        (4,),
        ("-5",),
        tables=lambda t: _set(
            t, "holdings", {"month": "2024-03", "customer_id": "C1"}, "balance", -5.0
        ),
    ),
    Case(
        "operating_above_available",
        "device_months",
        "operating_hours",
        (1,),
        ("500",),
        tables=_operating_above_available,
    ),
    Case(
        "unknown_channel",
        "transactions",
        "channel",
        (3,),
        ("wechat",),
        tables=lambda t: _set(
            t, "transactions", {"customer_id": "C1", "channel": "mobile"}, "channel", "wechat"
        ),
    ),
    Case(
        "unknown_product_family",
        "products",
        "family",
        (1,),
        ("crypto",),
        tables=lambda t: _set(t, "products", {"product": "fund"}, "family", "crypto"),
    ),
    Case(
        "unknown_echelon",
        "regions",
        "echelon",
        (1,),
        ("7",),
        tables=lambda t: _set(t, "regions", {"region_id": "R2"}, "echelon", 7),
    ),
    Case(
        "unknown_outlet_type",
        "outlets",
        "outlet_type",
        (1,),
        ("kiosk",),
        tables=lambda t: _set(t, "outlets", {"outlet_id": "O3"}, "outlet_type", "kiosk"),
    ),
    Case(
        "staff_fte_negative",
        "outlets",
        "staff_fte",
        (1,),
        ("-2.5",),
        tables=lambda t: _set(t, "outlets", {"outlet_id": "O1"}, "staff_fte", -2.5),
    ),
    Case("empty_table", "customers", words=("empty",), files=_empty_file("customers")),
    Case(
        "header_only_file",
        "holdings",
        words=("no rows", "empty", "no data", "0 rows"),
        files=_header_only("holdings"),
    ),
    Case(
        "extreme_amount_1e15",
        "holdings",
        "balance",
        (1,),
        ("1000000000000000", "1e+15", "1e15", "1,000,000,000,000,000", "1.0e+15"),
        tables=lambda t: _set(
            t,
            "holdings",
            {"month": "2024-03", "customer_id": "C3", "product": "fund"},
            "balance",
            "1000000000000000",
        ),
    ),
    Case(
        "nan_in_key",
        "products",
        "product",
        (1,),
        (),
        ("empty", "missing", "null", "nan"),
        tables=lambda t: _set(t, "products", {"product": "personal_loan"}, "product", "NaN"),
    ),
    Case(
        "date_after_last_month",
        "transactions",
        "txn_date",
        (1,),
        ("2024-04-15",),
        tables=lambda t: _set(
            t, "transactions", {"txn_date": "2024-03-28"}, "txn_date", "2024-04-15"
        ),
    ),
    Case(
        "device_month_after_last_month",
        "device_months",
        "month",
        (1,),
        ("2024-04",),
        tables=lambda t: _set(
            t, "device_months", {"month": "2024-03", "device_id": "D4"}, "month", "2024-04"
        ),
    ),
    Case(
        "closed_before_since",
        "customers",
        "closed",
        (1,),
        ("2011-06-30",),
        tables=lambda t: _set(t, "customers", {"customer_id": "C6"}, "closed", "2011-06-30"),
    ),
    Case(
        "birth_year_out_of_range",
        "customers",
        "birth_year",
        (1,),
        ("1850",),
        tables=lambda t: _set(t, "customers", {"customer_id": "C3"}, "birth_year", 1850),
    ),
    Case(
        "region_id_path_traversal",
        "regions",
        "region_id",
        (1,),
        ("../R2",),
        tables=lambda t: _rename_region(t, "R2", "../R2"),
    ),
    Case(
        "product_id_with_slash",
        "products",
        "product",
        (1,),
        ("funds/equity",),
        tables=lambda t: _rename_product(t, "fund", "funds/equity"),
    ),
    Case("ragged_csv_line", "outlets", words=("pars", "field", "column"), files=_ragged_line),
    Case(
        "csv_and_parquet_for_one_table",
        "products",
        words=("both", "ambiguous", "one file"),
        files=_both_formats,
    ),
    Case(
        "duplicate_header_column", "regions", words=("repeat", "duplicate"), files=_duplicate_header
    ),
]


def _write_case(case: Case, raw: Path) -> None:
    tables = tiny_tables()
    if case.tables is not None:
        case.tables(tables)
    write_tables(tables, raw)
    if case.files is not None:
        case.files(raw)


_COUNT = r"(?<![\w.,-]){n}(?![\w.,])\s*(?:[a-z_-]+\s+){{0,3}}rows?\b"


def _message_line(case: Case, text: str, ws: Path) -> str | None:
    """Return the first output line that names everything the case requires, else ``None``."""
    file_re = re.compile(rf"(?<![\w]){re.escape(case.file)}\.(csv|parquet)\b")
    for line in text.splitlines():
        if not file_re.search(line):
            continue
        # the temporary folder's name must not count as an example or a row count
        rest = line.replace(str(ws), "<ws>")
        if case.column and not re.search(rf"(?<![\w]){re.escape(case.column)}(?![\w])", rest):
            continue
        if case.counts and not any(re.search(_COUNT.format(n=n), rest) for n in case.counts):
            continue
        if case.examples and not any(e in rest for e in case.examples):
            continue
        if case.words and not any(w in rest.lower() for w in case.words):
            continue
        return line
    return None


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a valid earlier prepare (+ sentinel) and a reports folder."""
    base = tmp_path_factory.mktemp("earlier")
    write_tables(tiny_tables(), base / "raw")
    rc = main(["data", "prepare", "--raw", str(base / "raw"), "--out", str(base / "processed")])
    assert rc == 0, "the clean tiny bank must prepare"
    (base / "processed" / "SENTINEL.txt").write_text("from an earlier prepare\n", encoding="utf-8")
    run = base / "reports" / "20240101T000000"
    (run / "R1").mkdir(parents=True)
    (run / "index.html").write_text("<html><body>earlier run</body></html>\n", encoding="utf-8")
    (run / "R1" / "metrics.json").write_text('{"x": 1}\n', encoding="utf-8")
    (base / "reports" / "latest").symlink_to(run.name)
    return base


@pytest.fixture()
def workspace(earlier: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of :func:`earlier` (cwd set to it) with an empty ``raw`` folder."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for name in ("processed", "reports"):
        shutil.copytree(earlier / name, ws / name, symlinks=True)
    monkeypatch.chdir(ws)
    return ws


def _assert_untouched(ws: Path, before: dict[str, tuple], entries: list[str]) -> None:
    assert sorted(p.name for p in ws.iterdir()) == entries, (
        "something was created next to processed/"
    )
    after = {n: _snapshot(ws / n) for n in ("processed", "reports")}
    assert after == before, "processed/ or reports/ changed although the input was refused"


#: ``data validate`` shares its checks with ``prepare``; it is run on one case per kind of
#: check (file, header, type, key, foreign key, range, category, cross-row rule) to keep the
#: corpus fast, ``prepare`` on every case.
VALIDATE_TOO = {
    "missing_required_table",
    "missing_required_column",
    "wrong_type_int",
    "duplicate_key",
    "orphan_holding_product",
    "negative_balance",
    "unknown_channel",
    "operating_above_available",
    "month_out_of_sequence",
    "header_only_file",
    "ragged_csv_line",
}
CASE_COMMANDS = [
    pytest.param(case, command, id=f"{case.id}-{command}")
    for case in CASES
    for command in ("prepare", "validate")
    if command == "prepare" or case.id in VALIDATE_TOO
]


@pytest.mark.parametrize(("case", "command"), CASE_COMMANDS)
def test_bad_input_is_refused_clearly(
    case: Case, command: str, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = workspace / "raw"
    _write_case(case, raw)
    entries = sorted(p.name for p in workspace.iterdir())
    before = {n: _snapshot(workspace / n) for n in ("processed", "reports")}
    argv = ["data", command, "--raw", str(raw)]
    if command == "prepare":
        argv += ["--out", str(workspace / "processed")]
    rc, text = _run(argv, capsys)
    assert rc == 2, f"exit code {rc}, expected 2; output:\n{text}"
    assert "Traceback" not in text
    line = _message_line(case, text, workspace)
    assert line is not None, (
        f"no message line names {case.file}.csv"
        + (f", column {case.column!r}" if case.column else "")
        + (f", {' or '.join(map(str, case.counts))} row(s)" if case.counts else "")
        + (f", one of {case.examples}" if case.examples else "")
        + (f", one of the words {case.words}" if case.words else "")
        + f"; output was:\n{text}"
    )
    _assert_untouched(workspace, before, entries)


def test_four_problems_in_one_extract_are_all_named(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 2's acceptance example: every violation is reported at once, not just the first."""
    tables = tiny_tables()
    tables["customers"] = tables["customers"].drop(columns=["birth_year"])
    _dup_customer(tables)
    _set(tables, "customers", {"customer_id": "C4"}, "outlet_id", "O9")
    _set(tables, "holdings", {"month": "2024-01", "customer_id": "C2"}, "balance", -7.0)
    write_tables(tables, workspace / "raw")
    entries = sorted(p.name for p in workspace.iterdir())
    before = {n: _snapshot(workspace / n) for n in ("processed", "reports")}
    rc, text = _run(
        ["data", "prepare", "--raw", str(workspace / "raw"), "--out", str(workspace / "processed")],
        capsys,
    )
    assert rc == 2, text
    expected = [
        Case("-", "customers", "birth_year", words=("missing", "not found", "absent")),
        Case("-", "customers", "customer_id", (1, 2), ("C2",)),
        Case("-", "customers", "outlet_id", (1,), ("O9",)),
        Case("-", "holdings", "balance", (2,), ("-7",)),
    ]
    missing = [c for c in expected if _message_line(c, text, workspace) is None]
    assert not missing, f"not named: {[(c.file, c.column) for c in missing]}; output:\n{text}"
    _assert_untouched(workspace, before, entries)


# --------------------------------------------------------------------------- accepted variants


@pytest.fixture(scope="module")
def clean_processed(earlier: Path) -> dict[str, pd.DataFrame]:
    """Processed tables of the clean tiny bank (UTF-8, LF), to compare accepted variants with."""
    return _read_processed(earlier / "processed")


def _prepare_ok(raw: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    rc, text = _run(["data", "prepare", "--raw", str(raw), "--out", str(out), *extra], capsys)
    assert rc == 0, f"prepare refused an acceptable extract:\n{text}"
    return text


def _assert_same_processed(out: Path, clean: dict[str, pd.DataFrame]) -> None:
    got = _read_processed(out)
    assert sorted(got) == sorted(clean)
    for name, df in clean.items():
        pd.testing.assert_frame_equal(got[name], df, obj=f"{name}.parquet")


def test_utf8_with_bom_is_accepted(
    tmp_path: Path, clean_processed: dict[str, pd.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = write_tables(tiny_tables(), tmp_path / "raw", encoding="utf-8-sig")
    assert (raw / "regions.csv").read_bytes().startswith(b"\xef\xbb\xbfregion_id")
    _prepare_ok(raw, tmp_path / "processed", capsys)
    _assert_same_processed(tmp_path / "processed", clean_processed)
    regions = pq.read_table(tmp_path / "processed" / "regions.parquet").to_pandas()
    assert regions["name"].tolist() == ["中心城区", "东部拓展区"]


def test_crlf_line_ends_are_accepted(
    tmp_path: Path, clean_processed: dict[str, pd.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    for name, df in tiny_tables().items():
        df.to_csv(raw / f"{name}.csv", index=False, lineterminator="\r\n")
    assert b"\r\n" in (raw / "holdings.csv").read_bytes()
    _prepare_ok(raw, tmp_path / "processed", capsys)
    _assert_same_processed(tmp_path / "processed", clean_processed)


def test_gbk_is_accepted_with_the_encoding_setting(
    tmp_path: Path, clean_processed: dict[str, pd.DataFrame], capsys: pytest.CaptureFixture[str]
) -> None:
    raw = write_tables(tiny_tables(), tmp_path / "raw", encoding="gbk")
    assert "人民路支行".encode("gbk") in (raw / "outlets.csv").read_bytes()
    rc, text = _run(["data", "validate", "--raw", str(raw), "--encoding", "gbk"], capsys)
    assert rc == 0, text
    _prepare_ok(raw, tmp_path / "processed", capsys, "--encoding", "gbk")
    _assert_same_processed(tmp_path / "processed", clean_processed)
    outlets = pq.read_table(tmp_path / "processed" / "outlets.parquet").to_pandas()
    assert outlets["name"].tolist() == ["人民路支行", "新华社区支行", "东湖支行"]


@pytest.mark.parametrize("command", ["prepare", "validate"])
def test_gbk_without_the_setting_is_a_clear_error(
    command: str, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = write_tables(tiny_tables(), workspace / "raw", encoding="gbk")
    entries = sorted(p.name for p in workspace.iterdir())
    before = {n: _snapshot(workspace / n) for n in ("processed", "reports")}
    argv = ["data", command, "--raw", str(raw)]
    if command == "prepare":
        argv += ["--out", str(workspace / "processed")]
    rc, text = _run(argv, capsys)
    assert rc == 2, text
    # one of the tables holding Chinese text is named, with the fix
    named = re.search(r"\b(regions|outlets|products)\.csv\b", text)
    assert named, f"no file named in:\n{text}"
    assert "--encoding gbk" in text, f"the message does not say how to fix it:\n{text}"
    _assert_untouched(workspace, before, entries)


def test_unknown_extra_column_is_only_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = tiny_tables()
    tables["outlets"] = tables["outlets"].assign(internal_code=["x1", "x2", "x3"])
    raw = write_tables(tables, tmp_path / "raw")
    rc, text = _run(["data", "validate", "--raw", str(raw)], capsys)
    assert rc == 0, text
    assert "internal_code" in text and "outlets.csv" in text


# --------------------------------------------------------------------------- parameters

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_NOTEBOOKS = ROOT / "tests" / "fixtures" / "notebooks"


@dataclass(frozen=True)
class ParamCase:
    """One bad parameter setting of ``bankanalysis run`` and what the message must say."""

    id: str
    #: every one of these must appear in the output
    needles: tuple[str, ...]
    #: extra command-line arguments (``--regions R1`` is the default)
    args: tuple[str, ...] = ("--regions", "R1")
    #: changes to defaults.yaml: ``{"common.min_group_size": "ten"}``
    defaults: dict[str, object] = field(default_factory=dict)
    #: extra files under params/: ``{"regions/RX.yaml": "common: {}"}``
    files: dict[str, str] = field(default_factory=dict)


PARAM_CASES: list[ParamCase] = [
    ParamCase("unknown_region", ("'RX'", "not in the data", "R1"), ("--regions", "R1,RX")),
    ParamCase("region_given_by_name", ("中心城区",), ("--regions", "中心城区")),
    ParamCase("region_id_dotdot", ("../R1", "not a safe id"), ("--regions", "../R1")),
    ParamCase("region_id_slash", ("R1/x", "not a safe id"), ("--regions", "R1/x")),
    ParamCase(
        "run_id_dotdot",
        ("../escaped", "not a safe id"),
        ("--regions", "R1", "--run-id", "../escaped"),
    ),
    ParamCase("run_id_slash", ("a/b", "not a safe id"), ("--regions", "R1", "--run-id", "a/b")),
    ParamCase(
        "run_id_absolute",
        ("/tmp/bankanalysis-escaped-run", "not a safe id"),
        ("--regions", "R1", "--run-id", "/tmp/bankanalysis-escaped-run"),
    ),
    ParamCase(
        "unknown_notebook", ("99_nope", "unknown"), ("--regions", "R1", "--notebooks", "99_nope")
    ),
    ParamCase("timeout_not_positive", ("timeout",), ("--regions", "R1", "--timeout-minutes", "0")),
    ParamCase(
        "wrong_type_text_for_int",
        ("defaults.yaml", "min_group_size", "ten"),
        defaults={"common.min_group_size": "ten"},
    ),
    ParamCase(
        "wrong_type_float_for_int",
        ("defaults.yaml", "tier_months", "2.5"),
        defaults={"common.tier_months": 2.5},
    ),
    ParamCase(
        "min_group_size_zero",
        ("defaults.yaml", "min_group_size"),
        defaults={"common.min_group_size": 0},
    ),
    ParamCase(
        "thresholds_not_increasing",
        ("defaults.yaml", "tier_thresholds", "increasing"),
        defaults={"common.tier_thresholds": [500000, 50000, 6000000]},
    ),
    ParamCase(
        "unknown_key", ("defaults.yaml", "min_group", "unknown"), defaults={"common.min_group": 5}
    ),
    ParamCase(
        "month_outside_data",
        ("data_month", "2030-01", "outside the data"),
        defaults={"common.data_month": "2030-01"},
    ),
    ParamCase("month_malformed", ("data_month", "March"), defaults={"common.data_month": "March"}),
    ParamCase(
        "runtime_key_in_yaml",
        ("defaults.yaml", "output_dir"),
        defaults={"common.output_dir": "/etc"},
    ),
    ParamCase(
        "override_for_unknown_region",
        ("RX.yaml", "not in the data"),
        files={"regions/RX.yaml": "common:\n  materiality: 0.01\n"},
    ),
    ParamCase(
        "override_wrong_type",
        ("R1.yaml", "materiality"),
        files={"regions/R1.yaml": "common:\n  materiality: many\n"},
    ),
    ParamCase(
        "wealth_card_not_in_the_product_table",
        (
            "wealth_card_product",
            "gold_card",
            "set wealth_card_product: null if this bank has no wealth card",
        ),
        files={
            "regions/R1.yaml": "notebooks:\n  01_customer_segmentation: {wealth_card_product: gold_card}\n"
        },
    ),
    ParamCase(
        "python_yaml_tag",
        ("R1.yaml", "yaml"),
        files={
            "regions/R1.yaml": "common:\n  min_group_size: !!python/object/apply:os.system ['touch PWNED']\n"
        },
    ),
]


def _params_dir(base: Path, case: ParamCase) -> Path:
    return write_params_dir(base, case.defaults, case.files)


@pytest.fixture()
def no_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the batch gets as far as starting a worker or a kernel."""
    import papermill

    from bankanalysis.batch import executors

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a kernel or worker was started despite invalid parameters")

    monkeypatch.setattr(executors.LocalProcessExecutor, "run", refuse)
    monkeypatch.setattr(executors, "execute_job", refuse)  # where the executors look it up
    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def _run_argv(base: Path, processed: Path, params: Path, args: tuple[str, ...]) -> list[str]:
    return [
        "run",
        *args,
        "--out",
        str(base / "reports"),
        "--processed",
        str(processed),
        "--params",
        str(params),
        "--notebooks-dir",
        str(FIXTURE_NOTEBOOKS),
        "--no-progress",
    ]


@pytest.mark.parametrize("case", PARAM_CASES, ids=[c.id for c in PARAM_CASES])
def test_bad_parameters_are_refused_before_any_kernel(
    case: ParamCase,
    earlier: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_kernels: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    params = _params_dir(tmp_path, case)
    rc, text = _run(_run_argv(tmp_path, earlier / "processed", params, case.args), capsys)
    assert rc == 2, f"exit code {rc}, expected 2:\n{text}"
    assert "Traceback" not in text
    missing = [n for n in case.needles if n not in text]
    assert not missing, f"message does not mention {missing}:\n{text}"
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir()), (
        "something was written to reports/ although the parameters were refused"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) in (["params"], ["params", "reports"])
    assert not (tmp_path / "PWNED").exists() and not Path("/tmp/bankanalysis-escaped-run").exists()
    assert not (tmp_path.parent / "escaped").exists()


def test_every_parameter_problem_is_listed_at_once(
    earlier: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_kernels: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    case = ParamCase(
        "many",
        (),
        defaults={
            "common.min_group_size": "ten",
            "common.tier_thresholds": [3, 2, 1],
            "common.colour": "blue",
        },
    )
    params = _params_dir(tmp_path, case)
    argv = _run_argv(
        tmp_path, earlier / "processed", params, ("--regions", "R1,RX", "--run-id", "../x")
    )
    rc, text = _run(argv, capsys)
    assert rc == 2, text
    for needle in ("min_group_size", "tier_thresholds", "colour", "'RX'", "../x"):
        assert needle in text, f"{needle!r} not listed:\n{text}"


def test_valid_parameters_pass_the_same_checks(earlier: Path, tmp_path: Path) -> None:
    """Control: the unbroken setting of the cases above plans jobs (so the refusals are real)."""
    from bankanalysis.batch import plan_jobs

    params = _params_dir(tmp_path, ParamCase("valid", ()))
    plan = plan_jobs(
        regions=["R1", "R2"],
        notebooks=None,
        run_id="valid-run",
        out=tmp_path / "reports",
        processed_dir=earlier / "processed",
        params_dir=params,
        notebooks_dir=FIXTURE_NOTEBOOKS,
    )
    assert sorted({j.region_id for j in plan.jobs}, key=str) == [None, "R1", "R2"]
    assert plan.run_dir == (tmp_path / "reports" / "valid-run").resolve()
    assert not (tmp_path / "reports").exists()


@pytest.fixture(scope="module")
def no_transactions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny bank prepared without its transactions table."""
    base = tmp_path_factory.mktemp("no_transactions")
    tables = tiny_tables()
    del tables["transactions"]
    write_tables(tables, base / "raw")
    rc = main(["data", "prepare", "--raw", str(base / "raw"), "--out", str(base / "processed")])
    assert rc == 0
    return base / "processed"


def test_a_parameter_needing_a_missing_table_is_refused_before_any_kernel(
    no_transactions: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_kernels: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """ma_kpi needing transactions, on data without them: exit 2, one message, nothing written."""
    monkeypatch.chdir(tmp_path)
    case = ParamCase("ma_kpi", (), files={"regions/R1.yaml": MA_KPI_NEEDS_TRANSACTIONS})
    params = _params_dir(tmp_path, case)
    rc, text = _run(_run_argv(tmp_path, no_transactions, params, ("--regions", "R1")), capsys)
    assert rc == 2, text
    assert "1 parameter problem" in text and "Traceback" not in text
    assert ma_kpi_refusal("R1") in text
    assert sorted(p.name for p in tmp_path.iterdir()) in (["params"], ["params", "reports"])
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_the_default_parameters_fall_back_without_transactions_and_say_so(
    no_transactions: Path, tmp_path: Path
) -> None:
    """The defaults need transactions only where a report falls back: the plan records it."""
    from bankanalysis.batch import plan_jobs

    params = _params_dir(tmp_path, ParamCase("valid", ()))
    plan = plan_jobs(
        regions=["R1"],
        notebooks=None,
        run_id="r",
        out=tmp_path / "reports",
        processed_dir=no_transactions,
        params_dir=params,
        notebooks_dir=FIXTURE_NOTEBOOKS,
    )
    fallbacks = plan.data["fallbacks"]
    assert any(
        f.startswith("03_outlet_benchmarking (R1): peer_kpis: fee_income") for f in fallbacks
    )
    assert any("dea_outputs: fee_income" in f for f in fallbacks)
    assert not (tmp_path / "reports").exists()
