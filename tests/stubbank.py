"""The smallest processed folder and parameter folder the batch accepts, for fixture notebooks.

The fixture notebooks (``tests/fixtures/notebooks``) carry the real notebook names and read
only ``_manifest.json`` and ``regions.parquet``; the batch tests (``test_batch``,
``test_incremental``, ``test_kernels``, ``test_dask``) run them on the folders built here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "notebooks"
EVIL = "<script>alert(1)</script>"
REGIONS = pd.DataFrame(
    {
        "region_id": ["R01", "R02", "R03"],
        "name": ["中心城区", EVIL, 'East "A" & B'],
        "echelon": [1, 2, 3],
        "echelon_name": ["central city", "key development area", "expansion area"],
    }
)


def make_processed(folder: Path) -> Path:
    """Write the smallest processed folder ``load_processed`` accepts."""
    folder.mkdir(parents=True, exist_ok=True)
    REGIONS.to_parquet(folder / "regions.parquet", index=False)
    manifest = {
        "fingerprint": "fp-test-0001",
        "months": ["2024-01", "2024-02", "2024-03"],
        "data_month": "2024-03",
        "products": [],
        "tables_present": ["regions"],
    }
    (folder / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def make_params(folder: Path, overrides: dict[str, str] | None = None) -> Path:
    (folder / "regions").mkdir(parents=True, exist_ok=True)
    (folder / "defaults.yaml").write_text(
        (ROOT / "params" / "defaults.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for rid, text in (overrides or {}).items():
        (folder / "regions" / f"{rid}.yaml").write_text(text, encoding="utf-8")
    return folder
