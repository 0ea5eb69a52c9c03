"""benchmarks/prepare_memory.py: the comparison of the old and new processed folders.

No timed assertions: what counts as the same tables (values, row order, schema with the pandas
metadata; row groups may differ) and what does not.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.prepare_memory import OLD_REF, export_source, same_tables  # noqa: E402


def _folder(path: Path, values: list[float], row_group_size: int = 2) -> Path:
    path.mkdir(parents=True)
    table = pa.table({"id": [f"C{i}" for i in range(len(values))], "aum": values})
    pq.write_table(table, path / "customer_month.parquet", row_group_size=row_group_size)
    pq.write_table(table.slice(0, 1), path / "customers.parquet")
    return path


def test_same_tables_whatever_the_row_groups(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", [1.0, 2.0, 3.0])
    assert same_tables(a, _folder(tmp_path / "b", [1.0, 2.0, 3.0], row_group_size=1)) == []


def test_a_value_rows_a_table_or_a_type_differ(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", [1.0, 2.0, 3.0])
    assert same_tables(a, _folder(tmp_path / "b", [1.0, 2.0, 3.5])) == [
        "customer_month.parquet: values differ"
    ]
    assert same_tables(a, _folder(tmp_path / "c", [1.0, 3.0, 2.0], row_group_size=3)) == [
        "customer_month.parquet: values differ"
    ]
    assert same_tables(a, _folder(tmp_path / "d", [1.0, 2.0])) == [
        "customer_month.parquet: 3 vs 2 rows"
    ]
    e = shutil.copytree(a, tmp_path / "e")
    (e / "customers.parquet").unlink()
    assert same_tables(a, e) == ["tables differ: ['customer_month.parquet', 'customers.parquet']"]
    f = shutil.copytree(a, tmp_path / "f")
    t = pq.read_table(f / "customers.parquet")
    pq.write_table(t.cast(pa.schema([("id", pa.large_string()), ("aum", pa.float64())])),
                   f / "customers.parquet")  # fmt: skip
    assert same_tables(a, f) == ["customers.parquet: schemas differ"]


def test_the_old_code_comes_from_git(tmp_path: Path) -> None:
    src = export_source(OLD_REF, tmp_path / "old")
    text = (src / "bankanalysis" / "data" / "prepare_sql.py").read_text(encoding="utf-8")
    assert "cur = con.sql(sql).to_arrow_table()" in text  # the in-memory month of main
    assert "def write_customers" not in text
