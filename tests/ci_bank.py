"""The small synthetic bank that notebooks (nbval) and end-to-end tests run on.

``python tests/ci_bank.py [DIR]`` builds it (default ``build/ci``); ``tests/conftest.py`` uses the
same function. The raw bank is regenerated whenever the generator's source or the size changes.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CI_BANK_CUSTOMERS = 3000
CI_BANK_MONTHS = 13
CI_BANK_SEED = 7


@dataclass(frozen=True)
class Bank:
    """Locations of a raw and a processed bank."""

    raw: Path
    processed: Path


def _stamp() -> str:
    """Hash of the generator's source (the synthetic package and the contract) and the size."""
    pkg = ROOT / "src" / "bankanalysis"
    h = hashlib.sha256()
    for p in [*sorted((pkg / "synthetic").glob("*.py")), pkg / "contract.py"]:
        h.update(p.relative_to(pkg).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(f"{CI_BANK_CUSTOMERS}|{CI_BANK_MONTHS}|{CI_BANK_SEED}".encode())
    return h.hexdigest()


def build_ci_bank(base: Path) -> Bank:
    """Generate (deterministically) and prepare the CI bank under ``base``; reuse if current."""
    from bankanalysis.data.prepare import prepare
    from bankanalysis.synthetic import generate_bank

    base = Path(base)
    raw, processed = base / "raw", base / "processed"
    stamp_file = base / ".generator-stamp"
    stamp = _stamp()
    current = stamp_file.exists() and stamp_file.read_text() == stamp
    if not current or not (raw / "_truth" / ".synthetic").exists():
        shutil.rmtree(raw, ignore_errors=True)
        generate_bank(
            raw, n_customers=CI_BANK_CUSTOMERS, n_months=CI_BANK_MONTHS, seed=CI_BANK_SEED
        )
        stamp_file.write_text(stamp)
    prepare(raw, processed)
    return Bank(raw=raw, processed=processed)


if __name__ == "__main__":
    bank = build_ci_bank(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "ci")
    print(f"CI bank: {bank.processed}")
