"""The executors' comparison (benchmarks/executors_compare.py): what it calls the same.

Two hand-built run folders: the comparison must ignore only what differs by construction
(run id, UTC times, git commit, a workbook's write time) and find any other difference.
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.executors_compare import compare_runs, workbook_parts  # noqa: E402

CORE = (
    '<cp:coreProperties><dcterms:created xsi:type="dcterms:W3CDTF">{t}</dcterms:created>'
    "</cp:coreProperties>"
)


def _workbook(path: Path, written: str, cell: str) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("docProps/core.xml", CORE.format(t=written))
        z.writestr("xl/worksheets/sheet1.xml", f"<c><v>{cell}</v></c>")


def _run(base: Path, run_id: str, written: str, cell: str = "12", value: float = 0.25) -> Path:
    run = base / run_id
    (run / "R01" / "02" / "restricted").mkdir(parents=True)
    jobs = [{"name": "R01/02", "status": "ok", "key": "k1", "worker_pid": hash(run_id) % 97}]
    (run / "manifest.json").write_text(json.dumps({"run_id": run_id, "jobs": jobs}))
    page = (
        f'<p>run {run_id} at {written}</p><span class="git-commit">abc{run_id}</span><td>1,204</td>'
    )
    (run / "R01" / "02.html").write_text(page, encoding="utf-8")
    (run / "R01" / "02.ipynb").write_text(written)
    (run / "R01" / "metrics.json").write_text(json.dumps({"conversion": value}))
    _workbook(run / "R01" / "02" / "restricted" / "leads_O1.xlsx", written, cell)
    return run


def test_runs_differing_only_by_construction_are_identical(tmp_path: Path) -> None:
    a = _run(tmp_path, "run_local", "2026-12-01T12:46:40Z")
    b = _run(tmp_path, "run_dask", "2026-12-01T12:48:18Z")
    assert compare_runs(a, b) == (3, [])


def test_a_changed_figure_cell_or_job_is_found(tmp_path: Path) -> None:
    a = _run(tmp_path, "run_local", "2026-12-01T12:46:40Z")
    b = _run(tmp_path, "run_dask", "2026-12-01T12:48:18Z", cell="13", value=0.26)
    (b / "R01" / "02.html").write_text(
        (b / "R01" / "02.html").read_text().replace("1,204", "1,205"), encoding="utf-8"
    )
    (b / "R01" / "extra.csv").write_text("x\n")
    m = json.loads((b / "manifest.json").read_text())
    m["jobs"][0]["status"] = "failed"
    (b / "manifest.json").write_text(json.dumps(m))
    n, diffs = compare_runs(a, b)
    assert n == 3
    assert diffs == [
        "manifest.json: the jobs, their keys or statuses differ",
        "R01/extra.csv: only in the second run",
        "R01/02.html: differs",
        "R01/02/restricted/leads_O1.xlsx: differs",
        "R01/metrics.json: differs",
    ]


def test_workbook_parts_normalise_only_the_write_time(tmp_path: Path) -> None:
    _workbook(tmp_path / "a.xlsx", "2026-12-01T12:46:40Z", "12")
    parts = workbook_parts(tmp_path / "a.xlsx")
    assert parts["docProps/core.xml"] == CORE.format(t="<time>").encode()
    assert parts["xl/worksheets/sheet1.xml"] == b"<c><v>12</v></c>"
