"""Report shaping of the bank overview (notebook 00): KPI tables, chart grids, ``metrics.json``.

Takes the outputs of :mod:`bankanalysis.overview` (pure analytics) and returns what the notebook
shows: tables labelled and formatted by the KPI dictionary (:func:`bankanalysis.report.tables.
kpi_table`), small groups withheld with the disclosure marker, the grids the heat maps draw and
the KPI values recorded under their ids (``product_coverage[region=R01]``). The one data-loading
step, :func:`load_scorecard`, reads what the scorecard needs through the report context.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis import overview as ov
from bankanalysis.report.context import ReportContext
from bankanalysis.report.format import Absent, Suppressed, format_value, is_missing, kpi_label
from bankanalysis.report.narrative import attainment_conclusion, league_conclusion
from bankanalysis.report.tables import KpiTable, kpi_table
from bankanalysis.rules import kpis
from bankanalysis.rules.disclosure import KPI_GROUP, is_small
from bankanalysis.rules.kpis import metric_key
from bankanalysis.rules.materiality import materiality_note
from bankanalysis.rules.months import base_month
from bankanalysis.rules.tiers import customer_tiers

__all__ = [
    "ECHELON_COLUMNS",
    "Scorecard",
    "attainment_grid",
    "attainment_metrics",
    "attainment_table",
    "bank_metrics",
    "echelon_metrics",
    "echelon_table",
    "echelons",
    "league",
    "league_metrics",
    "league_view",
    "load_scorecard",
    "region_month_upto",
    "scorecard_metrics",
    "scorecard_shares",
    "scorecard_table",
]

logger = logging.getLogger(__name__)

#: Columns of the echelon comparison the report shows: column -> KPI id.
ECHELON_COLUMNS: dict[str, str] = {
    "regions": "regions",
    "outlets": "outlets",
    "customers": "customers",
    "aum_per_customer": "aum_per_customer",
    "products_per_customer": "products_per_customer",
    "self_service_per_outlet": "self_service_per_outlet",
    "accounting_replacement_rate": "accounting_replacement_rate",
    "outlet_replacement_rate": "outlet_replacement_rate",
}
#: Echelon figures withheld for an echelon with few customers (its count and per-customer
#: figures; outlet and region counts and transaction rates reveal no customer).
_PER_CUSTOMER = ("customers", "aum_per_customer", "products_per_customer")
#: Row label of the whole bank in the scorecard table.
BANK_ROW = "The bank"


# --------------------------------------------------------------------------- echelons


def echelons(
    region_month: pd.DataFrame,
    outlet_month: pd.DataFrame,
    month: str,
    regions: pd.DataFrame,
    has_devices: bool = True,
) -> pd.DataFrame:
    """:func:`bankanalysis.overview.echelon_comparison` with each echelon's name second.

    Parameters
    ----------
    region_month, outlet_month : DataFrame
        Processed tables.
    month : str
        Month.
    regions : DataFrame
        Processed ``regions`` (``echelon, echelon_name``).
    has_devices : bool
        Whether the extract has device data (self-service banks per outlet unknown without).
    """
    out = ov.echelon_comparison(region_month, outlet_month, month, has_devices)
    lookup = regions.drop_duplicates("echelon").set_index("echelon")["echelon_name"]
    out.insert(1, "echelon_name", out["echelon"].map(lookup).astype(str))
    return out


def _echelon_status(
    ech: pd.DataFrame, min_group_size: int, totals: Mapping[str, str] | None = None
) -> pd.Series:
    """``""``, ``"primary"`` or ``"secondary"`` per echelon row: small echelons, and those
    :func:`~bankanalysis.report.disclosure_grid.protect_region_totals` withholds."""
    small = is_small(ech["customers"], min_group_size)
    totals = totals or {}
    return pd.Series(
        [
            "primary" if s else totals.get(f"customers[echelon={int(e)}]", "")
            for s, e in zip(small, ech["echelon"], strict=True)
        ],
        index=ech.index,
    )


def _echelon_withheld(
    ech: pd.DataFrame, min_group_size: int, totals: Mapping[str, str] | None = None
) -> pd.DataFrame:
    hidden = (_echelon_status(ech, min_group_size, totals) != "").to_numpy()
    return pd.DataFrame({c: hidden for c in _PER_CUSTOMER}, index=ech.index)


def echelon_table(
    ech: pd.DataFrame,
    currency: str,
    min_group_size: int,
    withheld_totals: Mapping[str, str] | None = None,
) -> KpiTable:
    """The echelon comparison as a KPI table; per-customer figures of small echelons, and of
    echelons whose total would give away a small region (``withheld_totals``), withheld."""
    from bankanalysis.report.disclosure_grid import cell_value

    shown = ech.rename(columns={"echelon_name": "Echelon"})
    status = _echelon_status(ech, min_group_size, withheld_totals)
    shown = shown.astype({c: "object" for c in _PER_CUSTOMER if c in shown.columns})
    for i in status.index[status != ""]:
        for c in _PER_CUSTOMER:
            if c in shown.columns:
                shown.at[i, c] = cell_value(shown.at[i, c], str(status[i]), min_group_size)
    return kpi_table(
        shown,
        ECHELON_COLUMNS,
        labels=["Echelon"],
        currency=currency,
        min_group_size=min_group_size,
        suppressed=pd.Series(False, index=shown.index),
    )


def echelon_metrics(
    ech: pd.DataFrame, min_group_size: int, withheld_totals: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Customers, AUM per customer and both replacement rates per echelon (``[echelon=e]``)."""
    from bankanalysis.report.disclosure_grid import cell_value

    status = _echelon_status(ech, min_group_size, withheld_totals)
    withheld = _echelon_withheld(ech, min_group_size, withheld_totals)
    out: dict[str, Any] = {}
    for i, row in ech.iterrows():
        e = int(row["echelon"])
        out[metric_key("regions", echelon=e)] = int(row["regions"])
        for kpi in (
            "customers",
            "aum_per_customer",
            "accounting_replacement_rate",
            "outlet_replacement_rate",
        ):
            value = row[kpi]
            if kpi in withheld.columns and bool(withheld.at[i, kpi]):
                value = cell_value(value, str(status[i]), min_group_size)
            elif kpi.endswith("replacement_rate") and pd.isna(value):
                value = Absent(ov.NO_CHANNEL_COUNTS)
            elif kpi == "customers":
                value = int(value)
            out[metric_key(kpi, echelon=e)] = value
    return out


def bank_metrics(
    trends: pd.DataFrame,
    n_regions: int,
    month: str,
    withheld_totals: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The bank's ``customers``, ``aum`` and ``regions`` at ``month`` (from the trends).

    When the bank's total would give away a region smaller than ``k`` (``withheld_totals``
    holds ``"customers"``), its customers and AUM are withheld (secondary).
    """
    now = trends.loc[trends["month"] == month]
    if (withheld_totals or {}).get("customers"):
        hidden = Suppressed(None, "secondary")
        return {"customers": hidden, "aum": hidden, "regions": int(n_regions)}
    return {
        "customers": int(now["customers"].sum()),
        "aum": float(now["aum"].sum()),
        "regions": int(n_regions),
    }


# --------------------------------------------------------------------------- scorecard


#: The key of the bank's row in :attr:`Scorecard.run_withheld` (a region id has no ``=``).
BANK_KEY = "bank=bank"


@dataclass
class Scorecard:
    """The plan's KPIs per region and for the bank, with what the disclosure rule withholds.

    Attributes
    ----------
    regions : DataFrame
        :func:`bankanalysis.overview.region_scorecard` per region, withheld figures NaN.
    withheld : DataFrame of bool
        Which KPI figures of ``regions`` are withheld (:func:`~bankanalysis.overview.
        withheld_cells`).
    bank : DataFrame
        The same KPIs for the whole bank (one row, ``region_id`` ``"all"``).
    base_month : str
        Comparison month of growth and retention.
    absent : dict
        KPI -> why it cannot be computed for this bank (no managers table ...).
    min_group_size : int
        ``k`` of the disclosure rule.
    """

    regions: pd.DataFrame
    withheld: pd.DataFrame
    bank: pd.DataFrame
    base_month: str
    absent: dict[str, str] = field(default_factory=dict)
    min_group_size: int = 10
    withheld_totals: dict[str, str] = field(default_factory=dict)
    #: (region id, KPI) -> status of a figure the run withholds for every report alike (a
    #: stock retention, ``disclosure_retention``; a share with a small side,
    #: ``disclosure_shares``); the bank's row under :data:`BANK_KEY`
    run_withheld: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def withheld_from(
        cls,
        raw: pd.DataFrame,
        min_group_size: int,
        base_month: str,
        whole: pd.DataFrame | None = None,
    ) -> Scorecard:
        """The scorecard of ``raw`` (:func:`bankanalysis.overview.region_scorecard` per
        region) and ``whole`` (the bank's row; none when not given), as the disclosure rule
        withholds them."""
        k = min_group_size
        return cls(
            regions=ov.suppress_scorecard(raw, k),
            withheld=ov.withheld_cells(raw, k),
            bank=raw.iloc[0:0] if whole is None else ov.suppress_scorecard(whole, k),
            base_month=base_month,
            absent=dict(raw.attrs.get("absent", {})),
            min_group_size=k,
        )

    def value(self, kpi: str, row: int) -> Any:
        """The figure to show or record for ``kpi`` of region row ``row``."""
        rid = str(self.regions.at[row, "region_id"])
        return self._published(
            kpi, rid, lambda: bool(self.withheld.at[row, kpi]), self.regions.loc[row]
        )

    def bank_value(self, kpi: str) -> Any:
        """The figure to show or record for the bank's ``kpi`` (its row ``bank``)."""

        def small() -> bool:
            return bool(ov.withheld_cells(self.bank, self.min_group_size).iloc[0][kpi])

        return self._published(kpi, BANK_KEY, small, self.bank.iloc[0])

    def _published(self, kpi: str, key: str, small: Any, row: pd.Series) -> Any:
        """A row's figure: absent with its reason, withheld by the small-group rule
        (``small()``), withheld by the run (:attr:`run_withheld` of ``key``), or its value."""
        if kpi in self.absent:
            return Absent(self.absent[kpi])
        if small():
            return Suppressed(self.min_group_size)
        st = self.run_withheld.get((key, kpi), "")
        if st:
            from bankanalysis.report.disclosure_grid import cell_value

            return cell_value(np.nan, st, self.min_group_size)
        return known_or_why(row, kpi)


#: Why a rate over an empty group is unknown, by the column counting the group (KPI_GROUP).
_EMPTY_GROUP = {
    "customers": "no active customers",
    "base_customers": "no customers at the base month",
    "quality_plus_customers": "no quality-and-above customers",
    "vip_plus_customers": "no VIP-and-above customers",
}


def known_or_why(row: pd.Series, kpi: str) -> Any:
    """The scorecard figure of ``row``, or :class:`Absent` with the reason it is unknown."""
    value = row[kpi]
    if not is_missing(value):
        return value
    group = KPI_GROUP.get(kpi, "customers")
    if group in row.index and not (row[group] > 0):
        return Absent(_EMPTY_GROUP.get(group, "no customers in the group it is about"))
    return Absent("the data do not define it for this region this month")


def scorecard_options(
    bank: Any, coverage_products: int, wealth_card_product: str | None
) -> dict[str, Any]:
    """The keyword arguments of :func:`bankanalysis.overview.region_scorecard` that come from
    the bank's tables (managers, whether contacts and devices are there) and the parameters."""
    return dict(
        managers=bank.managers,
        has_contacts=bank.has("contacts"),
        has_devices=bank.has("devices"),
        coverage_products=coverage_products,
        wealth_card_product=wealth_card_product,
    )


def load_scorecard(
    ctx: ReportContext,
    region_month: pd.DataFrame,
    *,
    tier_thresholds: Sequence[float],
    tier_months: int,
    lookback_months: int,
    coverage_products: int,
    wealth_card_product: str | None,
    standing: Any = None,
) -> Scorecard:
    """Read the customer months the scorecard needs and compute it per region and for the bank.

    Parameters
    ----------
    ctx : ReportContext
        The report's context (bank, month, ``min_group_size``).
    region_month : DataFrame
        Processed ``region_month`` up to the data month.
    tier_thresholds, tier_months, lookback_months, coverage_products, wealth_card_product
        The report's parameters (``params/defaults.yaml``).
    standing : Standing, optional
        The summary's :func:`~bankanalysis.report.standing.standing_for` of the same
        parameters (computed once per run for every report): its scorecards of the data month
        are this scorecard, so nothing is read or computed again. Without it every scorecard
        column of the months needed is read for the whole bank at once (the same figures:
        ``test_the_overview_scorecard_from_the_standing_is_the_one_computed_here``).
    """
    bank, month = ctx.bank, ctx.month
    if standing is not None:
        regions, whole = standing.regions[month], standing.bank[month]
        card = Scorecard(
            regions=regions.regions.copy(),
            withheld=regions.withheld.copy(),
            bank=whole.regions.copy(),
            base_month=regions.base_month,
            absent=dict(regions.absent),
            min_group_size=ctx.min_group_size,
        )
        card.withheld_totals = _totals_status(region_month, month, ctx.min_group_size)
        return card
    has_contacts = bank.has("contacts")
    months = [m for m in bank.months if m <= month]
    needed = ov.overview_months(months, month, tier_months, lookback_months)
    cm = bank.customer_month(
        months=needed, columns=ov.scorecard_columns(wealth_card_product, has_contacts)
    )
    base = base_month(months, month, lookback_months)
    tiers_now = customer_tiers(cm, month, tier_thresholds, tier_months)
    cm_base = cm.loc[cm["month"] == base, ["customer_id", "region_id"]]
    outlet_month = bank.outlet_month()
    common = scorecard_options(bank, coverage_products, wealth_card_product)
    per_region = ov.region_scorecard(
        tiers_now, cm_base, region_month, outlet_month, month, **common
    )
    whole = ov.region_scorecard(
        tiers_now, cm_base, region_month, outlet_month, month, by_region=False, **common
    )
    card = Scorecard.withheld_from(per_region, ctx.min_group_size, base, whole)
    card.withheld_totals = _totals_status(region_month, month, ctx.min_group_size)
    return card


def _totals_status(region_month: pd.DataFrame, month: str, k: int) -> dict[str, str]:
    from bankanalysis.report.disclosure_grid import protect_region_totals

    return protect_region_totals(region_month, month, k)


def _kpi_notes(ids: Sequence[str], absent: Mapping[str, str]) -> str:
    """Proxy notes and reasons for absent KPIs, one sentence each."""
    notes = [f"{kpis.get(k).name}: {kpis.get(k).proxy}" for k in ids if kpis.get(k).proxy]
    notes += [f"{kpis.get(k).name}: not available ({absent[k]})." for k in ids if k in absent]
    return " ".join(notes)


def scorecard_table(sc: Scorecard, names: Mapping[str, str], currency: str) -> KpiTable:
    """The plan's KPIs by region name, the bank last; withheld cells show the marker."""
    ids = list(ov.SCORECARD_KPIS)
    regions = sc.regions.assign(Region=sc.regions["region_id"].map(names).astype(str))
    bank = sc.bank.assign(Region=BANK_ROW)
    rows = pd.concat([regions, bank], ignore_index=True)
    bank_withheld = ov.withheld_cells(sc.bank, sc.min_group_size)
    withheld = pd.concat([sc.withheld, bank_withheld], ignore_index=True)
    withheld = withheld.reindex(columns=ids, fill_value=False)
    columns = {"customers": "customers", **{k: k for k in ids}}
    withheld["customers"] = is_small(rows["customers"], sc.min_group_size)
    if sc.withheld_totals.get("customers"):  # the bank's total would give a small region away
        rows["customers"] = rows["customers"].astype("object")
        rows.loc[rows.index[-1], "customers"] = Suppressed(None, "secondary")
    for pos, row in enumerate(sc.regions.index):  # the run's answer (retention, shares)
        for kpi in ids:
            if sc.run_withheld.get((str(sc.regions.at[row, "region_id"]), kpi)):
                rows[kpi] = rows[kpi].astype("object")
                rows.at[pos, kpi] = sc.value(kpi, row)
    for kpi in ids:  # the bank's row, last
        if len(sc.bank) and sc.run_withheld.get((BANK_KEY, kpi)):
            rows[kpi] = rows[kpi].astype("object")
            rows.at[rows.index[-1], kpi] = sc.bank_value(kpi)
    # a KPI the data cannot measure is unknown, not small: n/a (reason in the note), never the
    # marker of a small group
    withheld[[k for k in ids if k in sc.absent]] = False
    return kpi_table(
        rows,
        columns,
        labels=["Region"],
        currency=currency,
        min_group_size=sc.min_group_size,
        suppressed=withheld,
        note=_kpi_notes(ids, sc.absent),
    )


def scorecard_shares(sc: Scorecard, names: Mapping[str, str]) -> pd.DataFrame:
    """The scorecard's share KPIs by region name under their display names (heat-map grid)."""
    shares = [k for k in ov.SCORECARD_KPIS if kpis.get(k).unit == "share" and k not in sc.absent]
    grid = sc.regions.set_index(sc.regions["region_id"].map(names))[shares]
    grid.index.name = "region"
    grid.columns = [kpis.get(k).name for k in shares]
    return grid


def scorecard_metrics(sc: Scorecard) -> dict[str, Any]:
    """Every scorecard KPI per region (``<kpi>[region=R]``) and for the bank (``<kpi>``).

    Withheld figures are recorded as withheld, absent ones with their reason (``null`` in
    ``metrics.json``), never as NaN or 0.
    """
    out: dict[str, Any] = {}
    for i, rid in sc.regions["region_id"].items():
        customers = int(sc.regions.at[i, "customers"])
        small = bool(is_small(customers, sc.min_group_size))
        out[metric_key("customers", region=rid)] = (
            Suppressed(sc.min_group_size) if small else customers
        )
        for kpi in ov.SCORECARD_KPIS:
            out[metric_key(kpi, region=rid)] = sc.value(kpi, i)
    for kpi in ov.SCORECARD_KPIS:
        out[kpi] = sc.bank_value(kpi)
    return out


# --------------------------------------------------------------------------- league table


def league(sc: Scorecard, names: Mapping[str, str], materiality: float = 0.0) -> pd.DataFrame:
    """:func:`bankanalysis.overview.league_table` on the withheld scorecard, region names added.

    Differences below ``materiality`` are ties (:mod:`bankanalysis.rules.materiality`); the
    threshold is kept in ``table.attrs["materiality"]`` for :func:`league_view`'s note.
    """
    table = ov.league_table(
        sc.regions, [k for k in ov.SCORECARD_KPIS if k not in sc.absent], materiality=materiality
    )
    table.insert(1, "region", table["region_id"].map(names).astype(str))
    table.attrs["materiality"] = materiality
    return table


def league_view(table: pd.DataFrame) -> KpiTable:
    """The league table as the report shows it: score, rank and the rank on every KPI.

    A rank shared by tied regions carries ``=`` (``"1="``); the note says what counts as a tie.
    """
    frame = pd.DataFrame({"Region": table["region"], "Echelon": table["echelon"].astype(str)})
    frame[kpi_label("league_score")] = [
        format_value("league_score", v, unit=False) for v in table["league_score"]
    ]
    frame[kpi_label("league_rank")] = _shared_ranks(table, "league_rank")
    for col in [c for c in table.columns if c.startswith("rank_")]:
        frame[f"Rank: {kpis.get(col[5:]).name}"] = _shared_ranks(table, col)
    materiality = float(table.attrs.get("materiality", 0.0))
    note = league_conclusion(table, materiality)
    note = (
        note
        + " Ranks within the echelon (1 = best); a withheld or unavailable figure is not ranked."
    ).strip()
    if materiality:
        note += " " + materiality_note(materiality)
    lone = table.loc[table.get("compared_with", pd.Series(dtype=object)).eq("bank")]
    for row in lone.itertuples(index=False):
        note += (
            f" {row.region} is the only region of echelon {row.echelon}: its ranks and score are "
            f"among all {len(table)} regions of the bank, and it has no league rank."
        )
    return KpiTable(frame, note=note)


def _shared_ranks(table: pd.DataFrame, col: str) -> list[str]:
    """Ranks of ``col`` as text, ``"2="`` where regions compared together share the rank."""
    lone = table.get("compared_with", pd.Series("echelon", index=table.index)).eq("bank")
    counts = table.groupby(["echelon", col], dropna=False)[col].transform("size")
    shared = (counts > 1) & table[col].notna() & ~lone
    return [
        format_value("league_rank", v, unit=False) + ("=" if s else "")
        for v, s in zip(table[col], shared, strict=True)
    ]


def league_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """``league_score[region=R]`` and ``league_rank[region=R]`` of every region."""
    out: dict[str, Any] = {}
    for row in table.itertuples(index=False):
        out[metric_key("league_score", region=row.region_id)] = row.league_score
        out[metric_key("league_rank", region=row.region_id)] = (
            Absent("the only region of its echelon")
            if getattr(row, "compared_with", "echelon") == "bank"
            else row.league_rank
        )
    return out


# --------------------------------------------------------------------------- targets


def attainment_table(attain: pd.DataFrame, names: Mapping[str, str], currency: str) -> KpiTable:
    """Each region target of the month: target, actual, attainment and met or missed.

    Target and actual are formatted by their KPI (money with the currency, counts as whole
    numbers); attainment as a share of the target.
    """
    frame = pd.DataFrame(
        {
            "Region": attain["region_id"].map(names).astype(str),
            "KPI": [kpis.get(k).name for k in attain["kpi"]],
            "Target": [
                format_value(k, v, currency)
                for k, v in zip(attain["kpi"], attain["target"], strict=True)
            ],
            "Actual": [
                format_value(k, v, currency)
                for k, v in zip(attain["kpi"], attain["actual"], strict=True)
            ],
            kpi_label("target_attainment"): [
                format_value("target_attainment", v, unit=False) for v in attain["attainment"]
            ],
            "Met": np.where(attain["met"].astype(bool), "met", "missed"),
        }
    )
    return KpiTable(frame, note=attainment_conclusion(attain, names))


def attainment_grid(attain: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """Attainment as a region name x KPI name grid (heat map)."""
    grid = attain.pivot(index="region_id", columns="kpi", values="attainment")
    grid.index = grid.index.map(names)
    grid.index.name = "region"
    grid.columns = [kpis.get(k).name for k in grid.columns]
    return grid


def attainment_metrics(attain: pd.DataFrame, k: int | None = None) -> dict[str, Any]:
    """``targets_met_share``, ``targets_missed`` (in all and ``[kpi=K]``) and every region's
    ``target_attainment[region=R,kpi=K]``; with no targets the share is absent.

    A row ``withheld`` (:func:`~bankanalysis.report.disclosure_plan.withhold_attainment`;
    ``k`` the ``min_group_size``) is recorded with the marker and counted neither as met nor
    as missed (met says on which side of the target a withheld count lies)."""
    from bankanalysis.report.disclosure_grid import cell_value

    if "withheld" in attain.columns:
        shown = attain.loc[attain["withheld"].astype(str) == ""]
        out = attainment_metrics(shown.drop(columns="withheld"))
        for row in attain.loc[attain["withheld"].astype(str) != ""].itertuples(index=False):
            key = metric_key("target_attainment", region=row.region_id, kpi=row.kpi)
            out[key] = cell_value(np.nan, str(row.withheld), k)
        return out
    if attain.empty:
        return {
            "targets_met_share": Absent("no region targets for the month in the data"),
            "targets_missed": Absent("no region targets for the month in the data"),
        }
    met = attain["met"].astype(bool)
    out: dict[str, Any] = {
        "targets_met_share": float(met.mean()),
        "targets_missed": int((~met).sum()),
    }
    for kpi, grp in attain.groupby("kpi", sort=True):
        out[metric_key("targets_missed", kpi=kpi)] = int((~grp["met"].astype(bool)).sum())
    for row in attain.itertuples(index=False):
        out[metric_key("target_attainment", region=row.region_id, kpi=row.kpi)] = (
            row.attainment
            if not is_missing(row.attainment)
            else Absent("the target is not positive")
            if row.target <= 0
            else Absent("no actual for the region this month")
        )
    return out


def region_month_upto(ctx: ReportContext) -> pd.DataFrame:
    """The processed ``region_month`` up to the report's data month (later months left out)."""
    rm = ctx.bank.region_month()
    return rm.loc[rm["month"] <= ctx.month].reset_index(drop=True)
