"""Raw-file reading (CSV encodings, BOM, CRLF, Parquet) and atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from tinybank import tiny_tables, write_tables

from bankanalysis.data import atomic, io, sql_typing
from bankanalysis.exceptions import DataContractError


def _write_regions(folder: Path, encoding: str = "utf-8", newline: str = "\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "regions.csv"
    text = (
        "region_id,name,echelon" + newline + "R1,中心城区,1" + newline + "R2,东部拓展区,3" + newline
    )
    path.write_bytes(text.encode(encoding))
    return path


# --------------------------------------------------------------------------- finding files


def test_find_table_file_prefers_the_one_present(tmp_path: Path) -> None:
    _write_regions(tmp_path)
    assert io.find_table_file(tmp_path, "regions") == tmp_path / "regions.csv"
    assert io.find_table_file(tmp_path, "outlets") is None


def test_find_table_file_refuses_two_formats(tmp_path: Path) -> None:
    _write_regions(tmp_path)
    pd.DataFrame({"region_id": ["R1"], "name": ["x"], "echelon": [1]}).to_parquet(
        tmp_path / "regions.parquet"
    )
    with pytest.raises(DataContractError) as err:
        io.find_table_file(tmp_path, "regions")
    assert "regions.csv" in str(err.value) and "regions.parquet" in str(err.value)


# --------------------------------------------------------------------------- typed reading


def test_read_table_types_every_contract_column(tmp_path: Path) -> None:
    raw = write_tables(tiny_tables(), tmp_path / "raw", fmt="csv")
    cu = io.read_table(raw, "customers")
    assert cu["customer_id"].tolist() == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert str(cu["since"].dtype) == "datetime64[ns]"
    assert cu["since"].iloc[0] == pd.Timestamp("2015-05-10")
    assert cu["closed"].isna().sum() == 5
    assert cu["closed"].iloc[5] == pd.Timestamp("2024-02-20")
    assert cu["birth_year"].dtype == "int64"
    assert cu["manager_id"].isna().tolist() == [False, False, True, False, True, True]
    pr = io.read_table(raw, "products")
    assert pr["in_aum"].tolist() == [True, True, True, False, False, False, False]
    hm = io.read_table(raw, "holdings")
    assert hm["balance"].dtype == "float64" and hm["balance"].sum() == pytest.approx(
        tiny_tables()["holdings"]["balance"].sum()
    )


def test_read_table_parquet_ids_as_text(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["regions"] = pd.DataFrame({"region_id": [11, 12], "name": ["a", "b"], "echelon": [1, 3]})
    raw = write_tables({"regions": tables["regions"]}, tmp_path, fmt="parquet")
    df = io.read_table(raw, "regions")
    assert df["region_id"].tolist() == ["11", "12"]
    assert df["echelon"].tolist() == [1, 3]


def test_read_table_refuses_unparseable_values(tmp_path: Path) -> None:
    tables = tiny_tables()
    tables["customers"]["birth_year"] = tables["customers"]["birth_year"].astype(object)
    tables["customers"].loc[2, "birth_year"] = "19x0"
    raw = write_tables({"customers": tables["customers"]}, tmp_path, fmt="csv")
    with pytest.raises(DataContractError) as err:
        io.read_table(raw, "customers")
    assert "customers.csv" in str(err.value) and "birth_year" in str(err.value)
    assert "19x0" in str(err.value)


def test_bom_and_crlf_are_read_cleanly(tmp_path: Path) -> None:
    _write_regions(tmp_path, encoding="utf-8-sig", newline="\r\n")
    df = io.read_table(tmp_path, "regions")
    assert list(df.columns) == ["region_id", "name", "echelon"]
    assert df["name"].tolist() == ["中心城区", "东部拓展区"]
    assert df["echelon"].tolist() == [1, 3]
    con = duckdb.connect()
    src = io.duckdb_source(con, tmp_path, "regions")
    rows = con.execute(f"SELECT region_id, name, echelon FROM {src}").fetchall()
    assert rows == [("R1", "中心城区", "1"), ("R2", "东部拓展区", "3")]


def test_gbk_needs_the_encoding_setting(tmp_path: Path) -> None:
    _write_regions(tmp_path, encoding="gbk")
    with pytest.raises(DataContractError) as err:
        io.read_table(tmp_path, "regions")
    assert "regions.csv" in str(err.value) and "--encoding gbk" in str(err.value)
    con = duckdb.connect()
    with pytest.raises(DataContractError) as err2:
        io.duckdb_source(con, tmp_path, "regions")
    assert "--encoding gbk" in str(err2.value) and "line 2" in str(err2.value)
    assert io.read_table(tmp_path, "regions", encoding="gbk")["name"].tolist() == [
        "中心城区",
        "东部拓展区",
    ]
    src = io.duckdb_source(con, tmp_path, "regions", encoding="gbk", tmp_dir=tmp_path / "t")
    assert con.execute(f"SELECT name FROM {src}").fetchall() == [("中心城区",), ("东部拓展区",)]


def test_transcode_streams_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io, "_CHUNK", 7)  # split multi-byte characters across reads
    src = _write_regions(tmp_path, encoding="gbk")
    out = io.transcode_to_utf8(src, "gbk", tmp_path / "u.csv")
    assert out.read_text(encoding="utf-8") == src.read_bytes().decode("gbk")


# --------------------------------------------------------------------------- SQL typing


def test_sql_parse_expr_rejects_what_the_contract_rejects() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t AS SELECT * FROM (VALUES ('2024-01', '2024-02-30', ' 12 ', 'yes', 'NaN'),"
        " ('2024-13', '2024-02-29', '1.5', 'maybe', ' 7.25 ')) v(m, d, i, b, f)"
    )
    q = ", ".join(
        sql_typing.sql_parse_expr(c, t, "VARCHAR")
        for c, t in (("m", "month"), ("d", "date"), ("i", "int"), ("b", "bool"), ("f", "float"))
    )
    rows = con.execute(f"SELECT {q} FROM t").fetchall()
    assert rows[0] == ("2024-01", None, 12, True, None)
    assert rows[1][0] is None and str(rows[1][1]) == "2024-02-29"
    assert rows[1][2] is None and rows[1][3] is None and rows[1][4] == 7.25


# --------------------------------------------------------------------------- atomic writes


def test_atomic_writes_leave_no_temp_files(tmp_path: Path) -> None:
    atomic.atomic_write_text(tmp_path / "a" / "x.txt", "héllo")
    atomic.atomic_write_bytes(tmp_path / "a" / "y.bin", b"\x00\x01")
    atomic.atomic_write_parquet(pd.DataFrame({"v": [1, 2]}), tmp_path / "a" / "z.parquet")
    assert (tmp_path / "a" / "x.txt").read_text(encoding="utf-8") == "héllo"
    assert (tmp_path / "a" / "y.bin").read_bytes() == b"\x00\x01"
    assert pq.read_table(tmp_path / "a" / "z.parquet").column("v").to_pylist() == [1, 2]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["x.txt", "y.bin", "z.parquet"]
    assert (tmp_path / "a" / "x.txt").stat().st_mode & 0o044 == 0o044  # readable by others


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "t.parquet"
    atomic.atomic_write_parquet(pd.DataFrame({"v": [1]}), target)
    before = target.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        Path(args[1]).write_bytes(b"PAR1 half written")
        raise OSError("disk full")

    monkeypatch.setattr(atomic.pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic.atomic_write_parquet(pd.DataFrame({"v": [2]}), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_swap_in_dir_replaces_and_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    final, new = tmp_path / "out", tmp_path / ".out.tmp"
    final.mkdir()
    (final / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    atomic.swap_in_dir(new, final)
    assert [p.name for p in final.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    # The two-rename fallback (no atomic exchange available) restores the old folder.
    monkeypatch.setattr(atomic, "_exchange_dirs", lambda a, b: False)
    again = tmp_path / ".out.tmp2"
    again.mkdir()
    real_replace = os.replace
    calls = []

    def flaky(src: object, dst: object) -> None:
        calls.append(src)
        if Path(src) == again:
            raise OSError("rename failed")
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky)
    with pytest.raises(OSError, match="rename failed"):
        atomic.swap_in_dir(again, final)
    assert [p.name for p in final.iterdir()] == ["new.txt"]
    assert len(calls) == 3  # aside, (failed) in, back


def test_exchange_dirs_swaps_contents_atomically(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x.txt").write_text("from a")
    (b / "y.txt").write_text("from b")
    if not atomic._exchange_dirs(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) not available here")
    assert [p.name for p in a.iterdir()] == ["y.txt"]
    assert (b / "x.txt").read_text() == "from a"


# --------------------------------------------------------------------------- DuckDB


def test_bounded_connection_holds_duckdb_to_the_limit_and_spills_in_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(io, "DUCKDB_MEMORY_LIMIT", "300MB")
    con = io.bounded_connection(tmp_path / "it's spill")
    try:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
        bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
    finally:
        con.close()
    # DuckDB reports 300 MB (10^6 bytes) in MiB: 300e6 / 2**20 = 286.1
    assert limit == "286.1 MiB"
    assert spill == str(tmp_path / "it's spill")
    assert bar is False


def test_bounded_connection_opens_in_a_jupyter_kernel(tmp_path: Path) -> None:
    """DuckDB refuses to change its progress bar in a Jupyter kernel without ipywidgets
    (notebook 00 failed on its first cell); there the bar starts off and is left alone."""
    import nbclient
    import nbformat

    code = (
        "from pathlib import Path\n"
        "from bankanalysis.data import io\n"
        f"con = io.bounded_connection(Path({str(tmp_path / 'spill')!r}))\n"
        "print(con.execute(\"SELECT current_setting('enable_progress_bar'), 41 + 1\").fetchone())"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    assert nb.cells[0].outputs[0]["text"] == "(False, 42)\n"


@pytest.mark.parametrize(
    ("physical", "limit"),
    [
        (24 * 2**30, "8.0GB"),  # 25.8e9 / 3 = 8.6 GB, held to the upper bound
        (16 * 10**9, "5.3GB"),  # 5.33 GB, rounded down to a tenth
        (4 * 10**9, "2.0GB"),  # 1.33 GB, raised to the former fixed default
        (None, "2.0GB"),  # unknown memory: the lower bound
        (0, "2.0GB"),
    ],
)
def test_default_memory_limit_is_a_third_of_the_machine_within_2_and_8_gb(
    physical: int | None, limit: str
) -> None:
    assert io.default_memory_limit(physical) == limit


def test_bounded_connection_takes_the_machine_default_unless_the_variable_sets_a_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(io, "DUCKDB_MEMORY_LIMIT", None)
    monkeypatch.setattr(io, "physical_memory", lambda: 15 * 10**9)
    con = io.bounded_connection(tmp_path / "spill")
    try:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()
    # a third of 15e9 bytes = 5.0e9 bytes = 4768.4 MiB = 4.6 GiB as DuckDB prints it
    assert limit == "4.6 GiB"
    monkeypatch.setattr(io, "DUCKDB_MEMORY_LIMIT", "300MB")
    assert io.duckdb_memory_limit() == "300MB"
