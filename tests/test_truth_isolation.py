"""Analytics must never read the planted truth; only the generator and selfcheck may."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "bankanalysis"
#: The generator (the ``synthetic`` package) and the self-check.
ALLOWED = {"selfcheck.py"}
ALLOWED_PACKAGES = ("synthetic/",)


def _mentions_truth(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    lines = []
    for node in ast.walk(tree):
        if id(node) in docstrings:
            continue
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "_truth" in node.value
        ):
            lines.append(node.lineno)
        if isinstance(node, ast.Attribute) and node.attr == "truth":
            lines.append(node.lineno)
    return lines


def test_no_analytics_module_refers_to_the_truth_folder():
    offenders = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG).as_posix()
        if rel in ALLOWED or rel.startswith(ALLOWED_PACKAGES):
            continue
        found = _mentions_truth(path)
        if found:
            offenders[rel] = found
    assert not offenders, f"modules referring to _truth/: {offenders}"


def test_the_check_itself_detects_a_reference(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""Docs may mention _truth/."""\nimport pandas as pd\n'
        "x = pd.read_parquet('data/raw/_truth/personas.parquet')\n"
    )
    assert _mentions_truth(bad) == [3]
