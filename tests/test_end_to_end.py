"""End to end: the session's batch (``ci_run``) on the CI bank, two regions, every notebook.

The ``ci_run`` fixture (``tests/conftest.py``) runs the batch once per session on a copy of the
CI bank in which region ``region_a`` and some outlets have hostile names
(``<script>alert(1)</script>``, see ``tests/hostile.py``), so escaping is checked on the real
notebooks too. The checks are those of issue 3's CI section: every report ran, no code input
cells, no ``http(s)://`` sources, at least one embedded image per report, a header with the data
fingerprint, index links that resolve, ``metrics.json`` present and numeric; plus no customer or
manager id in any report.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from hostile import SCRIPT_NAME, HostileBatch

from bankanalysis.params import NOTEBOOK_PARAMS
from bankanalysis.report.html import local_links
from bankanalysis.report.metrics import read_metric_reasons, read_metrics

ROOT = Path(__file__).resolve().parents[1]
EVIL = SCRIPT_NAME
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def e2e(ci_run: HostileBatch) -> dict:
    """The session's batch run, with its manifest and the ids that must never appear."""
    manifest = json.loads((ci_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    processed = ci_run.processed
    ids = set(pd.read_parquet(processed / "customers.parquet")["customer_id"].astype(str))
    if (processed / "managers.parquet").is_file():
        ids |= set(pd.read_parquet(processed / "managers.parquet")["manager_id"].astype(str))
    return {
        "result": ci_run.result,
        "manifest": manifest,
        "regions": [ci_run.region_a, ci_run.region_b],
        "evil_region": ci_run.region_a,
        "ids": ids,
    }


def _pages(e2e: dict) -> dict[str, str]:
    run_dir = e2e["result"].run_dir
    return {r.name: (run_dir / r.html).read_text(encoding="utf-8") for r in e2e["result"].results}


def test_every_report_ran(e2e: dict) -> None:
    failed = {r.name: r.error for r in e2e["result"].results if r.status != "ok"}
    assert failed == {}
    ran = sorted((r.region_id or "", r.notebook) for r in e2e["result"].results)
    wanted = sorted(
        (region or "", nb)
        for nb, cls in NOTEBOOK_PARAMS.items()
        for region in (e2e["regions"] if cls.scope == "region" else [None])
    )
    assert ran == wanted  # every notebook of the registry, per region or once for the bank
    assert e2e["manifest"]["status"] == "complete"
    assert (e2e["result"].run_dir.parent / "latest").is_symlink()


def test_reports_are_offline_codeless_with_images_and_fingerprint(e2e: dict) -> None:
    fingerprint = e2e["manifest"]["data"]["fingerprint"]
    assert fingerprint
    for name, page in _pages(e2e).items():
        assert 'class="input' not in page and "jp-InputArea" not in page, name
        assert "load_processed(" not in page, name  # code is hidden
        tags = re.findall(r"<(?:script|link|img|iframe|source)\b[^>]*>", page, flags=re.I)
        for tag in tags:
            assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", tag), (name, tag)
        assert "<script" not in page.lower(), name
        assert page.count('src="data:image/png;base64,') >= 1, name
        # provenance at the end: the fingerprint is in the appendix, not in the header
        header, appendix = page[: page.index("</header>")], page[page.index('id="appendix"') :]
        assert fingerprint in appendix and fingerprint not in header, name


def test_names_are_escaped_and_no_ids_leak(e2e: dict) -> None:
    pages = _pages(e2e)
    pages["index"] = (e2e["result"].run_dir / "index.html").read_text(encoding="utf-8")
    evil_region = e2e["evil_region"]
    for name, page in pages.items():
        assert EVIL not in page, name
        if name == "index" or name.startswith(f"{evil_region}/"):
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, name
        # every mention of the name is the escaped text (not a script stripped at render time)
        assert page.count("alert(1)") == page.count("&lt;script&gt;alert(1)&lt;/script&gt;"), name
        text = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", "", page)
        leaked = set(re.findall(r"[A-Za-z0-9_\-]+", text)) & e2e["ids"]
        assert leaked == set(), (name, sorted(leaked)[:5])


def test_index_links_resolve_and_metrics_are_numeric(e2e: dict) -> None:
    run_dir = e2e["result"].run_dir
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    links = local_links(page)
    for r in e2e["result"].results:
        assert r.html in links
        metrics_path = run_dir / r.name / "metrics.json"
        metrics = read_metrics(metrics_path)
        reasons = read_metric_reasons(metrics_path)
        assert metrics, r.name
        for key, value in metrics.items():
            assert value is None or (isinstance(value, int | float) and math.isfinite(value)), (
                r.name,
                key,
            )
            if value is None:  # absent is not zero: every missing figure says why
                assert reasons.get(key), (r.name, key)
    for link in links:
        assert (run_dir / link.split("#")[0]).is_file(), link


def test_every_report_records_its_headline_metrics(e2e: dict) -> None:
    from bankanalysis.report.index import HEADLINE_METRICS, metric_label

    page = (e2e["result"].run_dir / "index.html").read_text(encoding="utf-8")
    for r in e2e["result"].results:
        wanted = HEADLINE_METRICS[r.notebook]
        assert set(wanted) <= set(r.metrics), (r.name, sorted(set(wanted) - set(r.metrics)))
        if r.region_id is None:  # the bank's figures are shown once, at the top of the index
            for key in wanted:
                assert f"<li>{metric_label(key)}: " in page, (r.name, key)
        else:  # a region's report links from its row, which shows its plan KPIs
            assert f'href="{r.html}"' in page, r.name
