"""One exception tree for the project.

Every error a user can cause derives from :class:`BankAnalysisError` and carries a
message a banker can act on: which file, which column, how many rows, an example
and what to do. The CLI turns these into exit code 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class BankAnalysisError(Exception):
    """Base class of every error raised on purpose by bankanalysis."""

    exit_code: int = 2


@dataclass
class Violation:
    """One broken rule of the raw data contract.

    Attributes
    ----------
    table : str
        Table name, e.g. ``"customers"``.
    file : str
        File the table was read from (or the expected file name when missing).
    column : str or None
        Offending column, ``None`` for table-level problems.
    rule : str
        Short rule id, e.g. ``"duplicate_key"``.
    message : str
        What is wrong and what to do, in plain words.
    n_rows : int
        Number of rows affected (0 for table-level problems).
    examples : list of dict
        Up to five offending rows.
    severity : str
        ``"error"`` or ``"warning"``.
    """

    table: str
    file: str
    column: str | None
    rule: str
    message: str
    n_rows: int = 0
    examples: list[dict] = field(default_factory=list)
    severity: str = "error"

    def format(self) -> str:
        """Return the violation as one human-readable paragraph."""
        where = f"{self.file}"
        if self.column:
            where += f", column '{self.column}'"
        head = f"[{self.severity}] {where}: {self.message}"
        if self.n_rows:
            head += f" ({self.n_rows:,} row{'s' if self.n_rows != 1 else ''})"
        if self.examples:
            ex = "; ".join(str(e) for e in self.examples[:5])
            head += f". Examples: {ex}"
        return head


class DataContractError(BankAnalysisError):
    """Raw data break the contract. Holds every violation found, not just the first."""

    def __init__(self, violations: list[Violation], source: str = "") -> None:
        self.violations = [v for v in violations if v.severity == "error"]
        self.warnings = [v for v in violations if v.severity != "error"]
        lines = [v.format() for v in self.violations]
        n = len(self.violations)
        where = f" in {source}" if source else ""
        msg = f"{n} data contract violation{'s' if n != 1 else ''}{where}:\n  - " + "\n  - ".join(
            lines
        )
        msg += "\nFix the extract (or its mapping to the contract in docs/data_contract.md) and re-run."
        super().__init__(msg)


class ParameterError(BankAnalysisError):
    """Report parameters are invalid. Holds every problem found."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = list(problems)
        where = f" ({source})" if source else ""
        super().__init__(
            f"{len(self.problems)} parameter problem{'s' if len(self.problems) != 1 else ''}{where}:\n  - "
            + "\n  - ".join(self.problems)
        )


class ProcessedDataError(BankAnalysisError):
    """Processed data are missing or stale; run ``bankanalysis data prepare``."""


class ModelError(BankAnalysisError):
    """A model cannot be fitted or used (e.g. a product with no buyers in the training window)."""


class BatchError(BankAnalysisError):
    """The report batch could not run or some jobs failed."""

    exit_code = 1


class GenerateError(BankAnalysisError):
    """The synthetic bank cannot be generated with the given arguments."""


class AnalysisError(BankAnalysisError):
    """An analysis cannot run on the data or parameters it was given.

    Raised by the analytics modules (segmentation, propensity, benchmarking, overview, plan);
    the message names the table or column, what is wrong and what to change.
    """


class SegmentationError(AnalysisError):
    """Customers cannot be put into tiers or segments as asked (thresholds, months, columns)."""


class BenchmarkingError(AnalysisError):
    """Outlet data cannot be benchmarked as asked (missing column, unknown KPI, no outlets)."""


class DeaInputError(BenchmarkingError):
    """Inputs or outputs are unusable for DEA (non-positive inputs, negative outputs, NaN)."""


class OverviewError(AnalysisError):
    """The bank overview cannot be built (unknown month, missing KPI columns)."""


class KpiError(BankAnalysisError):
    """A KPI id is unknown, or a KPI is asked for at a level or unit it does not exist at."""


class KernelStartError(BatchError):
    """A warm kernel could not be forked; the batch falls back to a normal kernel start."""
