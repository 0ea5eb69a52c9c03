"""The data-shape matrix (issue 13, section 5): the whole batch on partial, small, odd extracts.

A small bank is generated once; each case combines several shapes of :mod:`shapes` (what real
extracts look like), is prepared once and run through every notebook for two regions and the
overview. For each: every job completes, no report shows NaN/inf/None, ``metrics.json`` holds
finite numbers or nulls with a reason, and the sections that cannot be computed say why.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
import shapes as S

pytestmark = pytest.mark.slow

N_CUSTOMERS, N_MONTHS, SEED = 600, 13, 3


@dataclass(frozen=True)
class Case:
    """One combined shape: the transforms, how it is written, what its reports must say."""

    shape: Callable[[S.Tables], S.Tables]
    #: Sentences (lower case) at least one report must contain: absent sections say why.
    reasons: tuple[str, ...]
    fmt: str = "parquet"
    encoding: str = "utf-8"
    #: Rules ``bankanalysis data validate`` must warn about (severity "warning", exit 0).
    warnings: tuple[str, ...] = ()
    #: Parameters the batch must record as falling back (run manifest, data.fallbacks).
    fallbacks: tuple[str, ...] = ()


CASES = {
    # no optional table, every region one outlet, echelons 1 and 2 one region each; GBK CSV
    # with the generator's Chinese names
    "A_minimal_gbk": Case(
        S.compose(S.no_optional, S.one_outlet_per_region, S.lone_echelon),
        reasons=(
            "no transactions table",
            "no targets table",
            "is the only region of echelon",
            "is the only outlet of its peer group",
        ),
        fmt="csv",
        encoding="gbk",
        warnings=("missing_optional_table", "region_one_outlet", "echelon_one_region"),
        fallbacks=("peer_kpis", "dea_outputs", "self_service_target", "peer_by"),
    ),
    # balances all zero, three month-ends, three cross-sell products nobody holds
    "B_zero_short": Case(
        S.compose(S.zero_balances, S.last_months(3), S.unheld_products),
        reasons=(
            "cannot be computed: the region's customers hold no aum",
            "no product has a model",
        ),
        warnings=("balances_constant", "too_few_months", "product_never_held"),
        fallbacks=("migration_months", "lookback_months", "horizon"),
    ),
    # a few hundred customers, some missing from a middle month-end, no transactions
    "C_tiny_gaps": Case(
        S.compose(S.tiny, S.month_gaps, S.no_transactions),
        reasons=("no transactions table", "the segments rest on the products held"),
        warnings=("missing_optional_table",),
        fallbacks=("peer_kpis", "dea_outputs"),
    ),
}


@dataclass(frozen=True)
class ShapeRun:
    """A prepared shape and its batch."""

    name: str
    case: Case
    run_dir: Path
    result: object
    #: What the batch and its kernels wrote to stderr (the log of the run).
    log: str
    #: ``bankanalysis data validate``'s check of the raw extract (degenerate shapes warned).
    check: object = None


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send file descriptor 2 (this process, its workers and their kernels) to ``path``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "wb") as f:
        os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> S.Tables:
    """The small generated bank every shape starts from."""
    from bankanalysis.synthetic import generate_bank

    raw = tmp_path_factory.mktemp("shapes_gen") / "raw"
    generate_bank(raw, n_customers=N_CUSTOMERS, n_months=N_MONTHS, seed=SEED)
    return S.read_raw(raw)


@pytest.fixture(scope="module", params=sorted(CASES))
def shape_run(
    request: pytest.FixtureRequest,
    generated: S.Tables,
    tmp_path_factory: pytest.TempPathFactory,
) -> ShapeRun:
    """The case prepared once and its batch: every notebook, the first two regions."""
    from bankanalysis.batch import run_batch
    from bankanalysis.data.prepare import prepare

    name = request.param
    case = CASES[name]
    base = tmp_path_factory.mktemp(f"shape_{name}")
    tables = case.shape(generated)
    raw = S.write_shape(tables, base / "raw", fmt=case.fmt, encoding=case.encoding)
    processed = base / "processed"
    from bankanalysis.data.validate import validate_raw

    check = validate_raw(raw, encoding=case.encoding, shape=True)
    prepare(raw, processed, encoding=case.encoding)
    regions = sorted(tables["regions"]["region_id"].astype(str))[:2]
    log = base / "batch.log"
    with stderr_to(log):
        result = run_batch(
            regions=regions,
            notebooks=None,
            jobs=2,
            run_id=name,
            out=base / "reports",
            processed_dir=processed,
            progress=False,
        )
    return ShapeRun(name, case, result.run_dir, result, log.read_text(errors="replace"), check)


class _VisibleText(HTMLParser):
    """The text a reader sees: no tags, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self._skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(path: Path) -> str:
    """The visible text of an HTML page, pieces joined by spaces."""
    parser = _VisibleText()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(parser.parts)


#: Missing-value spellings as whole words ("information", "Nancy", "inform", "none of" pass).
BAD_TEXT = re.compile(r"(?<![A-Za-z])(nan%?|NaN|NAN|-?inf|-?Inf|None|NaT|<NA>)(?![A-Za-z])")


def bad_text(text: str) -> list[str]:
    """Each missing-value spelling in ``text`` with a little context."""
    return [text[max(0, m.start() - 60) : m.end() + 30] for m in BAD_TEXT.finditer(text)]


def test_bad_text_pattern() -> None:
    assert bad_text("E-banking penetration: nan% and VIP NaN, inf, None") != []
    assert len(bad_text("x nan% y")) == 1
    assert bad_text("information, Nancy, infinite, none of them, nano, inflow") == []


def test_every_job_ok(shape_run: ShapeRun) -> None:
    failed = [
        (r.name, r.status, (r.error or "")[:500])
        for r in shape_run.result.results
        if r.status != "ok"
    ]
    assert failed == []
    assert shape_run.result.status == "complete"
    assert len(shape_run.result.results) == 7


def test_no_missing_value_text_in_reports(shape_run: ShapeRun) -> None:
    pages = sorted(shape_run.run_dir.rglob("*.html"))
    assert len(pages) >= 8  # index, glossary, overview, 3 notebooks x 2 regions
    found = {
        str(p.relative_to(shape_run.run_dir)): hits
        for p in pages
        if (hits := bad_text(visible_text(p)))
    }
    assert found == {}


def test_metrics_finite_or_null_with_reason(shape_run: ShapeRun) -> None:
    files = sorted(shape_run.run_dir.rglob("metrics.json"))
    assert len(files) == 7
    problems = []
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        reasons = data.get("_reasons", {})
        for key, value in data.items():
            if key.startswith("_"):
                continue
            where = f"{f.parent.name}:{key}"
            if value is None:
                # "not computed" is the recorder's word for a bare NaN: no reason at all
                if str(reasons.get(key, "")).strip() in ("", "not computed"):
                    problems.append(f"{where} null without a reason")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{where} not a number: {value!r}")
            elif not math.isfinite(value):
                problems.append(f"{where} not finite: {value!r}")
    assert problems == []


def test_absent_sections_state_their_reason(shape_run: ShapeRun) -> None:
    text = " ".join(
        " ".join(visible_text(p).split()).lower() for p in shape_run.run_dir.rglob("*.html")
    )
    missing = [r for r in shape_run.case.reasons if r not in text]
    assert missing == []
    reasons = [
        r
        for f in shape_run.run_dir.rglob("metrics.json")
        for r in json.loads(f.read_text(encoding="utf-8")).get("_reasons", {}).values()
    ]
    assert reasons, "a degenerate extract leaves some figure absent, with its reason"


def test_log_of_a_completed_run_has_no_kernel_errors(shape_run: ShapeRun) -> None:
    """Issue 13 s6: no "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." lines."""
    lines = [
        line
        for line in shape_run.log.splitlines()
        if "KeyboardInterrupt" in line or "[IPKernelApp] ERROR" in line or "Traceback" in line
    ]
    assert lines == []


def test_validate_warns_about_the_shape_and_the_batch_records_its_fallbacks(
    shape_run: ShapeRun,
) -> None:
    """Issue 13 s4 and s1: the extract is valid with warnings; the batch's parameter check
    said in advance which parameters fall back (and stopped nothing)."""
    check = shape_run.check
    assert check.errors == []
    assert {w.severity for w in check.warnings} <= {"warning"}
    rules = {w.rule for w in check.warnings}
    assert set(shape_run.case.warnings) <= rules, rules
    manifest = json.loads((shape_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    recorded = {line.split(": ")[1] for line in manifest["data"]["fallbacks"]}
    assert set(shape_run.case.fallbacks) <= recorded, recorded


def test_no_contradicting_leftovers(shape_run: ShapeRun) -> None:
    """The upgrade pipeline's "nobody near a threshold" is not followed by its table."""
    for page in shape_run.run_dir.rglob("*.html"):
        text = " ".join(visible_text(page).split()).lower()
        if "no outlet has enough customers near a threshold" in text:
            assert "customers in the tier below" not in text, page.name


def test_no_withheld_figure_is_recoverable(shape_run: ShapeRun) -> None:
    """Issue 17: the attacker of ``tests/test_attacker.py`` on every shape's reports."""
    from attacker import flow_leaks, tier_leaks

    assert tier_leaks(shape_run.run_dir)[0] == []
    assert flow_leaks(shape_run.run_dir)[0] == []
