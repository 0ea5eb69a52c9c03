"""The KPI dictionary: every figure a report shows, declared once.

The entries live in ``kpis.yaml`` beside this module (data, not code); this module validates
them and answers questions about them. Each :class:`KPI` says what the figure means (a one-sentence definition naming numerator,
denominator and window), its unit and display format, whether higher or lower is better, the
levels it exists at, the raw tables it needs and the one function that computes it. Reports,
the run index, scorecards, attainment tables and ``metrics.json`` all take names, units and
formats from here (through :mod:`bankanalysis.report.format`); nothing formats a KPI by hand.

``metrics.json`` keys are KPI ids. The key ``"<kpi>"`` is the report's own scope (its region;
the whole bank in the overview) at the data month; a breakdown adds one or more dimensions in
brackets, ``"<kpi>[<dim>=<value>,...]"`` (e.g. ``customer_share[tier=vip]``,
``product_coverage[region=R01]``), built by :func:`metric_key` and read by
:func:`parse_metric_key`; a region report's figure of its echelon or of the whole bank adds
``echelon=<e>`` or ``level=bank``. Shares are fractions (0.123); only the formatter shows them as %.

Where the data contract cannot measure a KPI as the annual plan names it, ``proxy`` says what is
measured instead, and every report shows that note beside the number.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml

from bankanalysis.exceptions import KpiError

__all__ = [
    "KPI",
    "KPIS",
    "LEVELS",
    "UNITS",
    "compute_function",
    "get",
    "is_kpi",
    "kpi_rows",
    "kpis_markdown",
    "load_catalogue",
    "metric_key",
    "parse_metric_key",
    "plan_kpis",
    "rates_over",
]

Unit = Literal["money", "share", "count", "products", "minutes", "ratio", "score", "rank", "months"]
Direction = Literal["higher", "lower", "none"]

#: Units and what a value of each means.
UNITS: dict[str, str] = {
    "money": "an amount in the bank's currency",
    "share": "a fraction of a whole, shown as %",
    "count": "a whole number of customers, outlets, products or devices",
    "products": "products per customer",
    "minutes": "minutes",
    "ratio": "a ratio of two quantities, shown with two decimals",
    "score": "an index between 0 and 1 (1 = best), shown with three decimals",
    "rank": "a position, 1 = first",
    "months": "a number of months",
}
#: Levels a KPI can exist at, from the smallest unit up.
LEVELS: tuple[str, ...] = ("customer", "outlet", "region", "echelon", "bank")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY = re.compile(r"^(?P<kpi>[a-z][a-z0-9_]*)(?:\[(?P<by>[^\[\]]+)\])?$")


@dataclass(frozen=True)
class KPI:
    """One entry of the dictionary.

    Parameters
    ----------
    id : str
        Stable identifier, also the ``metrics.json`` key.
    name : str
        Display name in words (what a manager reads).
    definition : str
        One sentence naming numerator, denominator and window.
    unit : str
        One of :data:`UNITS`.
    direction : str
        ``"higher"`` or ``"lower"`` is better, or ``"none"`` (descriptive figures).
    levels : tuple of str
        Levels of :data:`LEVELS` it exists at.
    needs : tuple of str
        Raw tables it is computed from; absent tables make it absent.
    compute : str
        ``"module:function"`` of the one function computing it.
    proxy : str
        What is measured instead where the contract cannot measure the plan's KPI; empty if none.
    plan : bool
        True for the annual plan's KPIs (scorecards, attainment, summaries).
    decimals : int or None
        Display decimals overriding the unit's default.
    numerator, denominator : str
        For a rate or ratio, the count it divides (``numerator``) or divides by
        (``denominator``) as the reports name that count in a table header (``"Quality-and-above
        customers"``); empty when the count is not a group of customers the rate gives back.
        A printed rate restricts both to few integer pairs, so a report withholding one of them
        withholds the rate with it, and the attacker of the tests reads the same pairs
        (:func:`rates_over`; docs/privacy.md, "Attack D"). A numerator no report prints
        (``"Leads converted"``, ``"Buyers in the top decile"``) is a group of customers the
        rate times its printed denominator gives back: the rate is withheld where that group
        is 1 to ``k - 1`` (:func:`~bankanalysis.rules.disclosure.is_small_part`).
    """

    id: str
    name: str
    definition: str
    unit: Unit
    direction: Direction
    levels: tuple[str, ...]
    needs: tuple[str, ...]
    compute: str
    proxy: str = ""
    plan: bool = False
    decimals: int | None = None
    numerator: str = ""
    denominator: str = ""
    aliases: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise KpiError(f"KPI id {self.id!r} must be lower-case letters, digits and _")
        if self.unit not in UNITS:
            raise KpiError(f"KPI {self.id}: unknown unit {self.unit!r}; units are {list(UNITS)}")
        if self.direction not in ("higher", "lower", "none"):
            raise KpiError(f"KPI {self.id}: direction must be higher, lower or none")
        bad = [lv for lv in self.levels if lv not in LEVELS]
        if bad or not self.levels:
            raise KpiError(f"KPI {self.id}: levels {bad or '()'} not in {LEVELS}")
        if ":" not in self.compute:
            raise KpiError(
                f"KPI {self.id}: compute must be 'module:function', got {self.compute!r}"
            )


#: The dictionary's entries, a data file shipped with the package.
CATALOGUE = Path(__file__).with_name("kpis.yaml")
_FIELDS = {f for f in KPI.__dataclass_fields__}


def load_catalogue(path: str | Path = CATALOGUE) -> dict[str, KPI]:
    """Read and validate the KPI entries of ``path`` (default the package's ``kpis.yaml``).

    Raises
    ------
    KpiError
        On an unknown field, a missing field, a bad value or an id declared twice.
    """
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    out: dict[str, KPI] = {}
    for i, raw in enumerate(entries):
        where = f"{Path(path).name} entry {i + 1} ({raw.get('id', '?')})"
        unknown = set(raw) - _FIELDS
        if unknown:
            raise KpiError(
                f"{where}: unknown field(s) {sorted(unknown)}; fields are {sorted(_FIELDS)}"
            )
        try:
            kpi = KPI(
                **{
                    **raw,
                    "levels": tuple(raw.get("levels", ())),
                    "needs": tuple(raw.get("needs", ())),
                    "aliases": tuple(raw.get("aliases", ())),
                }
            )
        except TypeError as exc:
            raise KpiError(f"{where}: {exc}") from None
        if kpi.id in out:
            raise KpiError(f"{where}: KPI {kpi.id!r} is declared twice")
        out[kpi.id] = kpi
    return out


class _Catalogue(Mapping[str, KPI]):
    """The dictionary as a read-only mapping, read from :data:`CATALOGUE` on first use."""

    @cached_property
    def _entries(self) -> dict[str, KPI]:
        return load_catalogue()

    def __getitem__(self, key: str) -> KPI:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


#: Every KPI by id, in declaration order (read lazily: nothing is read on import).
KPIS: Mapping[str, KPI] = _Catalogue()


def get(kpi_id: str) -> KPI:
    """Return the dictionary entry of ``kpi_id`` (a plain id or a breakdown key).

    Raises
    ------
    KpiError
        When the id is not in the dictionary.

    Examples
    --------
    >>> get("product_coverage").unit
    'share'
    >>> get("customer_share[tier=vip]").name
    'Share of customers'
    """
    base = parse_metric_key(kpi_id)[0] if "[" in kpi_id else kpi_id
    try:
        return KPIS[base]
    except KeyError:
        close = [k for k in KPIS if base.split("_")[0] in k][:5]
        hint = f" Close ids: {', '.join(close)}." if close else ""
        raise KpiError(
            f"{base!r} is not a KPI of the dictionary (bankanalysis kpis lists them).{hint}"
        ) from None


def is_kpi(key: str) -> bool:
    """True when ``key`` is a KPI id or a well-formed breakdown key of one."""
    m = _KEY.match(key)
    return bool(m) and m.group("kpi") in KPIS


def metric_key(kpi_id: str, **by: object) -> str:
    """The ``metrics.json`` key of a KPI, optionally broken down.

    Examples
    --------
    >>> metric_key("customer_share", tier="vip")
    'customer_share[tier=vip]'
    >>> metric_key("model_auc", product="fund", region="R01")
    'model_auc[product=fund,region=R01]'
    """
    get(kpi_id)
    if not by:
        return kpi_id
    parts = []
    for dim, value in by.items():
        text = str(value)
        if any(c in text for c in "[],="):
            raise KpiError(f"breakdown value {text!r} of {kpi_id} may not contain [ ] , =")
        parts.append(f"{dim}={text}")
    return f"{kpi_id}[{','.join(parts)}]"


def parse_metric_key(key: str) -> tuple[str, dict[str, str]]:
    """Split a ``metrics.json`` key into the KPI id and its breakdown.

    Examples
    --------
    >>> parse_metric_key("customer_share[tier=vip]")
    ('customer_share', {'tier': 'vip'})
    >>> parse_metric_key("customers")
    ('customers', {})
    """
    m = _KEY.match(key)
    if not m:
        raise KpiError(f"{key!r} is not a metrics key (kpi or kpi[dim=value,...])")
    by: dict[str, str] = {}
    if m.group("by"):
        for part in m.group("by").split(","):
            dim, sep, value = part.partition("=")
            if not sep or not dim:
                raise KpiError(f"{key!r}: breakdown {part!r} is not dim=value")
            by[dim] = value
    return m.group("kpi"), by


def compute_function(kpi_id: str) -> Callable[..., Any]:
    """Import and return the one function that computes the KPI."""
    module, _, name = get(kpi_id).compute.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise KpiError(f"KPI {kpi_id}: compute function {module}:{name} not found") from exc


def rates_over(count: str, unit: str | None = None) -> tuple[str, ...]:
    """Ids of the rates and ratios whose numerator or denominator is ``count`` (a count as
    the reports name it in a table header), optionally of one ``unit``, in dictionary order.

    Examples
    --------
    >>> rates_over("Quality-and-above customers", unit="share")
    ('wealth_card_matching', 'contact_plan_coverage', 'manager_coverage')
    >>> rates_over("Full-time account managers")
    ('manager_adequacy',)
    """
    return tuple(
        k.id
        for k in KPIS.values()
        if count in (k.numerator, k.denominator) and (unit is None or k.unit == unit)
    )


def plan_kpis() -> list[KPI]:
    """The annual plan's KPIs in dictionary order."""
    return [k for k in KPIS.values() if k.plan]


def kpi_rows(kpis: Iterable[KPI] | None = None) -> list[dict[str, str]]:
    """One plain row per KPI (id, name, unit, direction, levels, tables, definition, proxy)."""
    rows = []
    for k in kpis if kpis is not None else KPIS.values():
        rows.append(
            {
                "id": k.id,
                "name": k.name,
                "unit": k.unit,
                "direction": k.direction,
                "levels": ", ".join(k.levels),
                "tables": ", ".join(k.needs),
                "plan": "yes" if k.plan else "",
                "definition": k.definition,
                "proxy": k.proxy,
                "compute": k.compute,
            }
        )
    return rows


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def kpis_markdown(extra: Mapping[str, str] | None = None) -> str:
    """The KPI glossary as Markdown (``docs/kpis.md`` is this text; a test keeps it current)."""
    lines = [
        "# KPI dictionary",
        "",
        "Generated from `src/bankanalysis/rules/kpis.py` by `bankanalysis kpis --markdown`; do "
        "not edit by hand. Every figure the reports, the run index and `metrics.json` show is "
        "one of these KPIs, named, formatted and compared by this entry.",
        "",
        "`metrics.json` keys are KPI ids: `<kpi>` is the report's own scope (its region, or the "
        "bank in the overview) at the data month; a breakdown adds dimensions in brackets, e.g. "
        "`customer_share[tier=vip]` or `product_coverage[region=R01]`. A region report's "
        "figure of its echelon or of the whole bank adds `echelon=<e>` or `level=bank` (e.g. "
        "`customer_share[echelon=1,tier=vip]`, `customers_per_fte[level=bank,month=2025-03]`). "
        "Shares are fractions "
        "(0.123 = 12.3 %). A figure that cannot be computed is `null` with its reason under "
        "`_reasons`, never 0.",
        "",
        "Units: " + "; ".join(f"**{u}**: {d}" for u, d in UNITS.items()) + ".",
        "",
        "## The annual plan's KPIs",
        "",
    ]
    header = "| id | name | unit | better | levels | tables needed | definition |"
    sep = "|---|---|---|---|---|---|---|"

    def table(kpis: Iterable[KPI]) -> list[str]:
        out = [header, sep]
        for k in kpis:
            definition = k.definition + (f" *Proxy:* {k.proxy}" if k.proxy else "")
            out.append(
                f"| `{k.id}` | {_md_cell(k.name)} | {k.unit} | {k.direction} | "
                f"{', '.join(k.levels)} | {', '.join(k.needs)} | {_md_cell(definition)} |"
            )
        return out

    lines += table(plan_kpis())
    lines += ["", "## Other KPIs", ""]
    lines += table(k for k in KPIS.values() if not k.plan)
    lines += ["", "## Where each is computed", ""]
    lines += [f"- `{k.id}`: `{k.compute}`" for k in KPIS.values()]
    for title, text in (extra or {}).items():
        lines += ["", f"## {title}", "", text]
    return "\n".join(lines) + "\n"
