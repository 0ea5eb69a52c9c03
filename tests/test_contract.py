"""The data contract is consistent with itself and with its published documentation."""

from __future__ import annotations

import re
from pathlib import Path

from bankanalysis import contract

ROOT = Path(__file__).resolve().parents[1]


def test_every_foreign_key_points_at_a_key_column():
    for table in contract.TABLES.values():
        for fk in table.foreign_keys:
            assert fk.column in table.column_names, (table.name, fk.column)
            ref = contract.TABLES[fk.ref_table]
            assert fk.ref_column in ref.column_names
            assert ref.key == (fk.ref_column,), (
                f"{table.name}.{fk.column} -> non-key {fk.ref_column}"
            )


def test_key_columns_are_required_and_not_nullable():
    for table in contract.TABLES.values():
        for k in table.key:
            col = table.column(k)
            assert col.required and not col.nullable, (table.name, k)


def test_required_tables_are_the_documented_ones():
    required = {t.name for t in contract.TABLES.values() if t.required}
    assert required == {"regions", "outlets", "products", "customers", "holdings"}


def test_safe_id_pattern_refuses_path_traversal():
    pat = re.compile(contract.SAFE_ID_PATTERN)
    assert pat.match("R01") and pat.match("wealth_card") and pat.match("O-12")
    for bad in ("../etc", "a/b", "", ".hidden", "a b", "x" * 65):
        assert not pat.match(bad), bad


def test_published_contract_is_up_to_date():
    doc = (ROOT / "docs" / "data_contract.md").read_text(encoding="utf-8")
    assert doc == contract.contract_markdown(), (
        "run `bankanalysis data contract` to refresh the doc"
    )


def test_markdown_lists_every_column():
    text = contract.contract_markdown()
    for table in contract.TABLES.values():
        assert f"## `{table.name}`" in text
        for col in table.columns:
            assert f"| `{col.name}` |" in text
