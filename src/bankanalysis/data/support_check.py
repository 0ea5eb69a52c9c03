"""Report parameters checked against what the prepared data can support (issue 13 §1).

prepare records in the manifest what the data can support
(:func:`bankanalysis.data.support.data_support`). Before any kernel starts, the batch checks
each job's parameters against it with :func:`check_params_support`. A parameter that needs
something the data lack either

- falls back as the report documents it (a KPI left out of ``peer_kpis`` or ``dea_outputs``
  with a note, the migration compared with the first month, no propensity model with the
  reason): a :class:`SupportFinding` with ``fatal=False``, logged and recorded in the run
  manifest; or
- cannot fall back (``ma_kpi`` needing a missing table, every DEA output unmeasured, an
  unmeasured DEA input): ``fatal=True``; the batch stops with one message naming the parameter
  and what is missing.

Which raw tables a KPI needs comes from the KPI dictionary (``needs`` in ``rules/kpis.yaml``);
nothing here lists tables by hand. The month arithmetic of the windows lives here too, so that
``bankanalysis data validate`` warns with the same numbers (:func:`months_needed`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bankanalysis.rules.kpis import KPIS
from bankanalysis.rules.months import months_between

__all__ = [
    "SupportFinding",
    "absent_tables",
    "check_params_support",
    "kpis_needing",
    "missing_needs",
    "months_needed",
]

logger = logging.getLogger(__name__)

#: Module computing the outlet KPI frame of the benchmarking report (``ma_kpi``, DEA columns).
OUTLET_FRAME = "bankanalysis.benchmarking.kpis:"

#: Parameters that set a KPI of a report section although their value is not a KPI id: the
#: section's figure, whose dictionary ``needs`` say which tables the parameter needs.
PARAMETER_KPIS: dict[str, str] = {
    "self_service_target": "self_service_per_outlet",
}


@dataclass(frozen=True)
class SupportFinding:
    """One parameter that needs something the data lack.

    Attributes
    ----------
    parameter : str
        The parameter's name.
    message : str
        What is missing and what happens (fallback) or what to change (fatal), in words.
    fatal : bool
        True when the report has no fallback: the batch must stop before any kernel starts.
    """

    parameter: str
    message: str
    fatal: bool

    def text(self) -> str:
        """``"<parameter>: <message>"``."""
        return f"{self.parameter}: {self.message}"


def absent_tables(support: Mapping[str, Any]) -> set[str]:
    """Optional raw tables the extract lacks (``support["tables"]`` marked False)."""
    return {t for t, present in (support.get("tables") or {}).items() if not present}


def missing_needs(kpi: str, absent: set[str]) -> list[str]:
    """Raw tables ``kpi`` needs (KPI dictionary) that are in ``absent``; [] for non-KPIs.

    Examples
    --------
    >>> missing_needs("fee_income", {"transactions"})
    ['transactions']
    >>> missing_needs("sales_per_fte", {"transactions"}), missing_needs("devices", {"devices"})
    ([], [])
    """
    return [t for t in KPIS[kpi].needs if t in absent] if kpi in KPIS else []


def kpis_needing(table: str) -> list[str]:
    """KPI ids whose dictionary entry needs raw ``table``, in dictionary order.

    Examples
    --------
    >>> "fee_income" in kpis_needing("transactions"), "customers" in kpis_needing("transactions")
    (True, False)
    """
    return [k for k, entry in KPIS.items() if table in entry.needs]


def _tables(tables: Sequence[str]) -> str:
    names = [f"the {t} table" for t in tables]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _lacks(kpi: str, lacking: Sequence[str]) -> str:
    name = KPIS[kpi].name
    verb = "which this extract lacks" if len(lacking) == 1 else "which this extract lack"
    return f"{kpi} ({name}) needs {_tables(lacking)}, {verb}"


def _supported(absent: set[str], exclude: Sequence[str] = ()) -> list[str]:
    """Outlet KPIs (higher is better) of the benchmarking frame the extract supports:
    suggestions in messages."""
    return [
        k
        for k, e in KPIS.items()
        if "outlet" in e.levels
        and e.compute.startswith(OUTLET_FRAME)
        and e.direction == "higher"
        and k not in exclude
        and not missing_needs(k, absent)
    ]


def months_needed(
    *,
    migration_months: int | None = None,
    horizon: int | None = None,
    eval_months: int = 1,
    train_windows: int | None = None,
) -> dict[str, int]:
    """Month-ends a window needs, up to and including the data month.

    Parameters
    ----------
    migration_months : int, optional
        The migration compares the data month with ``migration_months`` earlier:
        ``migration_months + 1`` month-ends.
    horizon, eval_months, train_windows : int, optional
        Propensity: one training window, ``horizon`` months to its label, ``eval_months``
        evaluation months and ``horizon`` months to their labels need ``2 * horizon +
        eval_months`` month-ends (any model at all); every one of the ``train_windows``
        windows needs ``train_windows - 1`` more.

    Returns
    -------
    dict
        ``migration`` and/or ``propensity_any`` and ``propensity_full``.

    Examples
    --------
    >>> months_needed(migration_months=12, horizon=3, eval_months=1, train_windows=12)
    {'migration': 13, 'propensity_any': 7, 'propensity_full': 18}
    """
    out: dict[str, int] = {}
    if migration_months is not None:
        out["migration"] = int(migration_months) + 1
    if horizon is not None:
        out["propensity_any"] = 2 * int(horizon) + int(eval_months)
        if train_windows is not None:
            out["propensity_full"] = out["propensity_any"] + int(train_windows) - 1
    return out


def _months_held(support: Mapping[str, Any], data_month: str | None) -> tuple[int, str, str] | None:
    """(month-ends up to the data month, first month, data month); None when unknown."""
    months = support.get("months") or {}
    first, last = months.get("first"), months.get("last")
    if not first or not last:
        return None
    month = data_month or last
    return months_between(first, month) + 1, first, month


def _kpi_list_findings(
    parameter: str, kpis: Sequence[str], absent: set[str], what: str
) -> tuple[list[str], list[SupportFinding]]:
    """KPIs of a list parameter the extract supports, and one fallback finding per other."""
    kept, found = [], []
    for kpi in kpis:
        lacking = missing_needs(kpi, absent)
        if lacking:
            found.append(
                SupportFinding(
                    parameter,
                    f"{_lacks(kpi, lacking)}: it is left out of {what} and the report says so",
                    fatal=False,
                )
            )
        else:
            kept.append(kpi)
    return kept, found


def _benchmarking(params: Mapping[str, Any], absent: set[str]) -> list[SupportFinding]:
    out: list[SupportFinding] = []
    if "peer_kpis" in params:
        kept, found = _kpi_list_findings(
            "peer_kpis", params["peer_kpis"], absent, "the peer comparison"
        )
        out += found
        if not kept and found:
            out.append(
                SupportFinding(
                    "peer_kpis",
                    "no KPI of the list is measured by this extract: the report shows no peer "
                    "ranks and says why",
                    fatal=False,
                )
            )
    ma_kpi = params.get("ma_kpi")
    if isinstance(ma_kpi, str) and (lacking := missing_needs(ma_kpi, absent)):
        ideas = ", ".join(_supported(absent, [ma_kpi])[:3])
        out.append(
            SupportFinding(
                "ma_kpi",
                f"{_lacks(ma_kpi, lacking)}; the moving-average comparison has no fallback. "
                f"Set ma_kpi to an outlet KPI this extract measures, e.g. {ideas}",
                fatal=True,
            )
        )
    if "dea_outputs" in params:
        kept, found = _kpi_list_findings(
            "dea_outputs", params["dea_outputs"], absent, "the DEA outputs"
        )
        out += found
        if not kept and found:
            ideas = ", ".join(_supported(absent)[:3])
            out.append(
                SupportFinding(
                    "dea_outputs",
                    "every DEA output needs a table this extract lacks, so DEA has nothing to "
                    f"measure. Add an output this extract measures, e.g. {ideas}",
                    fatal=True,
                )
            )
    for kpi in params.get("dea_inputs") or []:
        if lacking := missing_needs(kpi, absent):
            out.append(
                SupportFinding(
                    "dea_inputs",
                    f"{_lacks(kpi, lacking)}; DEA cannot weigh an unmeasured input. Remove it "
                    "from dea_inputs",
                    fatal=True,
                )
            )
    return out


def _product_roles(params: Mapping[str, Any], support: Mapping[str, Any]) -> list[SupportFinding]:
    """Products named by parameters that nobody holds, and propensity targets nobody buys."""
    out: list[SupportFinding] = []
    products = support.get("products") or {}
    never = set(support.get("products_never_held") or [])
    for key, value in params.items():
        if key.endswith("_product") and isinstance(value, str) and value in never:
            out.append(
                SupportFinding(
                    key,
                    f"nobody holds product {value!r} in any month: its KPIs read 0 "
                    f"(set {key}: null if this bank has no such product)",
                    fatal=False,
                )
            )
    for product in params.get("products") or []:
        entry = products.get(product)
        if entry is None:
            continue
        buyers = sum(n for n in (entry.get("buyers") or {}).values() if n)
        if not buyers:
            out.append(
                SupportFinding(
                    "products",
                    f"nobody buys product {product!r} in any month: it gets no model and the "
                    "report lists it with that reason",
                    fatal=False,
                )
            )
    return out


def _windows(params: Mapping[str, Any], support: Mapping[str, Any]) -> list[SupportFinding]:
    """Windows longer than the data: the documented fallbacks, said in advance."""
    held = _months_held(support, params.get("data_month"))
    if held is None:
        return []
    n, first, month = held
    out: list[SupportFinding] = []
    for key, what, verb in (
        ("migration_months", "the tier migration", "compares"),
        ("lookback_months", "customer growth and stock retention", "compare"),
    ):
        lookback = params.get(key)
        if not isinstance(lookback, int) or lookback < n:
            continue
        if n == 1:
            text = f"the data hold one month ({month}): {what} cannot be computed and the "
            text += "report says why"
        else:
            text = (
                f"the data hold {n} months up to {month}: {what} {verb} {month} with the "
                f"first month {first}, {n - 1} months earlier instead of {lookback}"
            )
        out.append(SupportFinding(key, text, fatal=False))
    if isinstance(params.get("horizon"), int) and isinstance(params.get("train_windows"), int):
        need = months_needed(
            horizon=params["horizon"],
            eval_months=int(params.get("eval_months") or 1),
            train_windows=params["train_windows"],
        )
        if n < need["propensity_any"]:
            out.append(
                SupportFinding(
                    "horizon",
                    f"the data hold {n} months up to {month}; horizon {params['horizon']} and "
                    f"eval_months {params.get('eval_months') or 1} need at least "
                    f"{need['propensity_any']}: no product gets a model and the report says "
                    "why (shorten the horizon or lower eval_months)",
                    fatal=False,
                )
            )
        elif n < need["propensity_full"]:
            windows = n - need["propensity_any"] + 1
            out.append(
                SupportFinding(
                    "train_windows",
                    f"the data hold {n} months up to {month}: the models train on {windows} "
                    f"monthly window{'s' if windows != 1 else ''} instead of "
                    f"{params['train_windows']}",
                    fatal=False,
                )
            )
    return out


def _group_sizes(support: Mapping[str, Any], by: Sequence[str]) -> dict[str, int] | None:
    """Outlets per group of ``by`` at the data month, from the support record; None when the
    record does not hold that grouping."""
    groups = support.get("outlets_per_peer_group") or []
    if set(by) == {"echelon", "outlet_type"}:
        return {f"echelon {g['echelon']} / {g['outlet_type']}": g["outlets"] for g in groups}
    if list(by) in (["echelon"], ["outlet_type"]):
        out: dict[str, int] = {}
        for g in groups:
            name = f"{by[0].replace('_', ' ')} {g[by[0]]}"
            out[name] = out.get(name, 0) + int(g["outlets"])
        return out
    if list(by) == ["region_id"] and support.get("outlets_per_region") is not None:
        return {f"region {r}": int(n) for r, n in support["outlets_per_region"].items()}
    return None


def _singletons(params: Mapping[str, Any], support: Mapping[str, Any]) -> list[SupportFinding]:
    """Peer groups and DEA frontiers of one outlet: compared with the bank instead."""
    out: list[SupportFinding] = []
    for key, what in (
        ("peer_by", "compared with the bank's outlets instead of their peers"),
        ("dea_frontier_by", "measured on the bank-wide DEA frontier"),
    ):
        by = params.get(key)
        if not by:
            continue
        sizes = _group_sizes(support, [by] if isinstance(by, str) else by)
        alone = sorted(g for g, n in (sizes or {}).items() if n == 1)
        if not alone:
            continue
        listed = ", ".join(alone[:5]) + (" ..." if len(alone) > 5 else "")
        n = len(alone)
        out.append(
            SupportFinding(
                key,
                f"{n} group{'s' if n != 1 else ''} of one outlet at the data month ({listed}): "
                f"{'its outlet is' if n == 1 else 'their outlets are'} {what}, as the report "
                "says",
                fatal=False,
            )
        )
    return out


def check_params_support(
    params: Mapping[str, Any], support: Mapping[str, Any] | None
) -> list[SupportFinding]:
    """Check one job's parameters against what the data can support.

    Parameters
    ----------
    params : mapping
        The job's validated parameters (:func:`bankanalysis.params.load_params`).
    support : mapping or None
        ``manifest["support"]`` of the processed data; None (data prepared by an older
        version) checks nothing.

    Returns
    -------
    list of SupportFinding
        Fatal findings stop the batch; the others are the fallbacks the report will state.

    Examples
    --------
    >>> support = {"tables": {"transactions": False}, "months": {"first": "2024-01",
    ...            "last": "2024-12", "n": 12}}
    >>> [f.text() for f in check_params_support({"ma_kpi": "fee_income"}, support)][0][:58]
    'ma_kpi: fee_income (Intermediary (fee) income) needs the t'
    >>> check_params_support({"ma_kpi": "fee_income"}, support)[0].fatal
    True
    """
    if not support:
        return []
    absent = absent_tables(support)
    out = _benchmarking(params, absent)
    out += _product_roles(params, support)
    out += _windows(params, support)
    out += _singletons(params, support)
    for key, kpi in PARAMETER_KPIS.items():
        if key in params and (lacking := missing_needs(kpi, absent)):
            out.append(
                SupportFinding(
                    key,
                    f"{_lacks(kpi, lacking)}: the report shows it as unknown and says why",
                    fatal=False,
                )
            )
    return out
