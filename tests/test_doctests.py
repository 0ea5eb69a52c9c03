"""The examples in the package's docstrings run and print what they say (``make test`` runs
``pytest tests``, which does not collect ``src``; this module brings the doctests in).

One test per module, so a failing example names its module; the whole lot takes a few seconds
(the modules are imported by the other tests anyway).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import bankanalysis

#: pytest's default doctest flags (``doctest_optionflags``): ``...`` matches anything.
FLAGS = doctest.ELLIPSIS


def _modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(bankanalysis.__path__, prefix="bankanalysis.")
    )


def _run(module: ModuleType) -> tuple[int, list[str]]:
    """Run the docstring examples of ``module``: (examples run, failure reports)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures: list[str] = []
    attempted = 0
    for test in finder.find(module, module.__name__, globs=dict(vars(module))):
        attempted += runner.run(test, out=failures.append).attempted
    return attempted, failures


def test_every_package_module_is_found_and_its_examples_run():
    names = _modules()
    assert "bankanalysis.actions.upgrade" in names and "bankanalysis.report.workbooks" in names
    ran, failures = _run(importlib.import_module("bankanalysis.actions.upgrade"))
    assert ran == 7 and not failures  # aum_trend 2, upgrade_candidates 3, upgrade_summary 2


def test_a_wrong_example_fails():
    wrong = ModuleType("wrong")
    wrong.__doc__ = ">>> 1 + 1\n3\n"
    ran, failures = _run(wrong)
    assert ran == 1 and "Expected:\n    3\nGot:\n    2" in "".join(failures)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    _, failures = _run(importlib.import_module(name))
    assert not failures, "".join(failures)
