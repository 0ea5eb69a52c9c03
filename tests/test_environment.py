"""The project's environment and test suite: pyproject.toml and environment.yml list the same
dependencies; test modules share fixtures through conftest.py, never by importing each other."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_deps() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    specs = list(data["project"]["dependencies"]) + list(
        data["project"]["optional-dependencies"]["dev"]
    )
    return {_name(s): s.replace(" ", "") for s in specs}


def _conda_deps() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and _name(dep) not in ("python", "pip"):
            name = CONDA_TO_PYPI.get(_name(dep), _name(dep))
            out[name] = dep.replace(" ", "").replace(_name(dep), name, 1)
    return out


def test_same_packages_and_minimum_versions():
    py, conda = _pyproject_deps(), _conda_deps()
    assert set(py) == set(conda), (
        f"only in pyproject: {sorted(set(py) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(py))}"
    )
    for name in py:
        assert py[name] == conda[name], (
            f"{name}: pyproject {py[name]} vs environment.yml {conda[name]}"
        )


def test_environment_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_sections and "-e ." in pip_sections[0]


def _imported_test_modules(source: str) -> list[str]:
    """Modules named ``test_*`` or ``conftest`` that ``source`` imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        top = [n.split(".")[0] for n in names]
        found += [n for n in top if n.startswith("test_") or n == "conftest"]
    return found


def test_no_test_module_imports_another():
    offenders = {
        p.name: _imported_test_modules(p.read_text(encoding="utf-8"))
        for p in sorted((ROOT / "tests").glob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    # control: the check sees both import forms
    assert _imported_test_modules("import test_x\nfrom conftest import y\nimport os") == [
        "test_x",
        "conftest",
    ]
