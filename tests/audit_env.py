"""The environment variables of ``make audit`` (shared by ``conftest.py`` and the tests)."""

from __future__ import annotations

import os

#: A finished run folder the run-level tests read instead of the CI batch.
AUDIT_RUN = "BANKANALYSIS_AUDIT_RUN"
#: The processed data that run was computed from.
AUDIT_PROCESSED = "BANKANALYSIS_AUDIT_PROCESSED"


def auditing() -> bool:
    """True when the tests run as ``make audit`` (on a bank other than the CI bank)."""
    return bool(os.environ.get(AUDIT_RUN))
