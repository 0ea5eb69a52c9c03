"""The common notebook preamble as one call: data, scope, names, chart theme and metrics.

Every report notebook starts with::

    ctx = report_context(processed_dir, output_dir, region_id, data_month, currency=currency,
                         min_group_size=min_group_size, dominance_p=dominance_p,
                         protection_level=protection_level)

(the three disclosure parameters are common to every report, and the run-wide disclosure
decisions read them from ``ctx``) and then reads ``ctx.bank``, ``ctx.month``,
``ctx.region_id``, ``ctx.region_name``, ``ctx.outlet_names`` and records KPIs with ``ctx.metrics``. It prints nothing: the top of a
report is its title, scope and summary. Every report notebook ends with::

    report_appendix(ctx, "<notebook stem>", globals())

the appendix (provenance and parameters in words, collapsed) at the end of the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bankanalysis.contract import DEFAULT_CURRENCY
from bankanalysis.data.load import ProcessedBank, load_processed
from bankanalysis.exceptions import ParameterError
from bankanalysis.report.metrics import MetricsRecorder
from bankanalysis.rules.disclosure_secondary import DEFAULT_DOMINANCE_P, DEFAULT_PROTECTION_LEVEL

__all__ = ["ReportContext", "appendix_provenance", "report_appendix", "report_context"]


@dataclass
class ReportContext:
    """What every section of a report needs to know about its scope.

    Attributes
    ----------
    bank : ProcessedBank
        The processed data.
    month : str
        Data month of the report (``YYYY-MM``).
    region_id : str or None
        The region (secondary branch) the report covers; ``None`` for the whole bank.
    region_name : str
        The region's name (``"the bank"`` for the whole bank).
    echelon : int or None
        The region's echelon (1 central city, 2 key development area, 3 expansion area).
    currency : str
        Currency of money figures.
    min_group_size : int
        ``k`` of the disclosure rule.
    metrics : MetricsRecorder
        Writes ``metrics.json`` beside the report.
    dominance_p, protection_level : float
        ``p`` of the p % rule and the money protection level: the parameters of the same names,
        one value per run, read by the run-wide disclosure decisions
        (:func:`~bankanalysis.report.disclosure_totals.load_total_aum`).
    outlet_names, region_names : dict
        Display names by id.
    """

    bank: ProcessedBank
    month: str
    region_id: str | None
    region_name: str
    echelon: int | None
    currency: str
    min_group_size: int
    metrics: MetricsRecorder
    dominance_p: float = DEFAULT_DOMINANCE_P
    protection_level: float = DEFAULT_PROTECTION_LEVEL
    outlet_names: dict[str, str] = field(default_factory=dict)
    region_names: dict[str, str] = field(default_factory=dict)

    @property
    def region_outlets(self) -> list[str]:
        """Outlet ids of the report's region (every outlet for the whole bank)."""
        out = self.bank.outlets
        if self.region_id is not None:
            out = out[out["region_id"] == self.region_id]
        return out["outlet_id"].astype(str).tolist()


def report_context(
    processed_dir: str | Path | None,
    output_dir: str | Path | None,
    region_id: str | None = None,
    data_month: str | None = None,
    *,
    currency: str = DEFAULT_CURRENCY,
    min_group_size: int = 10,
    dominance_p: float = DEFAULT_DOMINANCE_P,
    protection_level: float = DEFAULT_PROTECTION_LEVEL,
    whole_bank: bool = False,
    theme: bool = True,
) -> ReportContext:
    """Load the processed bank and settle the report's scope.

    Parameters
    ----------
    processed_dir, output_dir : str or Path or None
        Processed data (``None``: the default folder) and the report's output folder
        (``None``: metrics kept in memory, for an analyst in JupyterLab).
    region_id : str, optional
        Region of the report; ``None`` takes the first region unless ``whole_bank``.
    data_month : str, optional
        ``YYYY-MM``; default the last month of the data.
    currency : str
        Currency of money figures.
    min_group_size : int
        ``k`` of the disclosure rule.
    dominance_p, protection_level : float
        The parameters of the same names (``p`` of the p % rule, the money protection level).
    whole_bank : bool
        The report covers the whole bank (the overview).
    theme : bool
        Apply the reports' chart theme (fonts that render Chinese names).

    Raises
    ------
    ParameterError
        When the region or the month is not in the data.
    """
    bank = load_processed(processed_dir)
    regions = bank.regions.assign(region_id=bank.regions["region_id"].astype(str))
    regions = regions.set_index("region_id")
    month = data_month or bank.data_month
    if month not in bank.months:
        raise ParameterError(
            [f"data_month {month!r} is not in the data ({bank.months[0]} to {bank.months[-1]})"]
        )
    if whole_bank:
        rid, name, echelon = None, "the bank", None
    else:
        rid = str(region_id) if region_id is not None else str(regions.index[0])
        if rid not in regions.index:
            raise ParameterError(
                [f"region_id {rid!r} is not in the regions table ({', '.join(regions.index[:8])})"]
            )
        name, echelon = str(regions.loc[rid, "name"]), int(regions.loc[rid, "echelon"])
    if theme:
        from bankanalysis.report import plots

        plots.set_theme()
    outlets = bank.outlets
    return ReportContext(
        bank=bank,
        month=month,
        region_id=rid,
        region_name=name,
        echelon=echelon,
        currency=currency,
        min_group_size=int(min_group_size),
        dominance_p=float(dominance_p),
        protection_level=float(protection_level),
        metrics=MetricsRecorder(output_dir),
        outlet_names=dict(
            zip(outlets["outlet_id"].astype(str), outlets["name"].astype(str), strict=True)
        ),
        region_names=regions["name"].astype(str).to_dict(),
    )


def appendix_provenance(ctx: ReportContext, run_id: str | None = None) -> list[tuple[str, str]]:
    """Where the report came from: data, code, libraries and run, as ``(what, value)`` pairs."""
    from bankanalysis import __version__
    from bankanalysis.provenance import git_commit, package_root, versions

    libraries = ", ".join(f"{k} {v}" for k, v in versions().items() if k != "bankanalysis")
    return [
        ("Data fingerprint", str(ctx.bank.manifest.get("fingerprint", ""))),
        ("Data month", ctx.month),
        ("Data covers", f"{ctx.bank.months[0]} to {ctx.bank.months[-1]}"),
        ("Package version", f"bankanalysis {__version__}"),
        ("Git commit", git_commit(package_root().parents[1])),
        ("Libraries", libraries),
        ("Run", run_id or "interactive session (not a batch run)"),
        ("Run time (UTC)", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
    ]


def report_appendix(
    ctx: ReportContext,
    notebook: str,
    params: Mapping[str, Any],
    *,
    suppressed_cells: int | Mapping[str, int] | None = None,
    notes: Sequence[str] = (),
) -> Any:
    """The report's appendix, for its last cell: provenance and parameters, collapsed.

    Parameters
    ----------
    ctx : ReportContext
        The report's context.
    notebook : str
        The notebook's stem (its parameter schema in :data:`bankanalysis.params.NOTEBOOK_PARAMS`).
    params : mapping
        The notebook's ``globals()``: only the schema's parameters are read.
    suppressed_cells : int or mapping, optional
        Cells withheld by the disclosure rule in this report. Pass it when
        :mod:`bankanalysis.rules.disclosure` counts them; the appendix then states the number
        (without it, the rule is stated without a count), and why when it is
        :func:`~bankanalysis.report.appendix.withheld_counts`' mapping.
    notes : sequence of str
        How the report's figures were made (the tier basis, the models' windows): facts the
        reader may look up, stated once at the end rather than above the summary.

    Returns
    -------
    IPython.display.HTML
        ``<details id="appendix">`` (see :func:`bankanalysis.report.appendix.appendix_html`).
    """
    from IPython.display import HTML

    from bankanalysis.report.appendix import appendix_html

    return HTML(
        appendix_html(
            appendix_provenance(ctx, params.get("run_id")),
            params,
            notebook=notebook,
            currency=ctx.currency,
            min_group_size=ctx.min_group_size,
            suppressed_cells=suppressed_cells,
            notes=notes,
        )
    )
