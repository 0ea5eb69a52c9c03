"""Lead workbooks an account manager can use, and the other restricted files of the leads.

One Excel workbook per account manager (their leads, their upgrade candidates, their
scorecard) and one per outlet for the customers without a manager, each with a summary sheet
first; outlet and product names, never codes; probabilities as percentages; reasons in plain
language (:func:`reason_phrase`); frozen header, filter, column widths and number formats
(written with xlsxwriter). Every file here holds customer or manager ids, so every file goes to
the restricted folder (:mod:`bankanalysis.data.restricted`) with its audience; file names and
audiences carry no manager id (``contents.csv`` inside the folder maps files to managers).
"""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.data.restricted import restricted_dir, write_restricted, write_restricted_files
from bankanalysis.propensity.leads import LEAD_COLUMNS
from bankanalysis.report.disclosure_cards import (
    PRINTED_BY_03,
    ColumnDecision,
    manager_covers,
    outlet_decisions,
    protect_cards,
    protect_manager_cards,
)
from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    Suppressed,
    format_number,
    format_value,
    is_missing,
)
from bankanalysis.rules import kpis
from bankanalysis.rules.disclosure_secondary import DEFAULT_PROTECTION_LEVEL
from bankanalysis.rules.tiers import TIERS, tier_label

__all__ = [
    "LeadWorkbook",
    "WrittenLeads",
    "lead_sheet",
    "peer_medians",
    "plan_workbooks",
    "reason_describer",
    "reason_phrase",
    "scorecard_sheet",
    "upgrade_sheet",
    "workbook_bytes",
    "write_lead_files",
]

logger = logging.getLogger(__name__)

#: Excel number formats by KPI unit.
NUMBER_FORMATS: dict[str, str] = {
    "share": "0.0%",
    "money": "#,##0",
    "count": "#,##0",
    "products": "0.00",
    "minutes": "#,##0",
    "ratio": "0.00",
}
PERCENT = "0.0%"
#: The step of :data:`PERCENT` (0.1 %): a lead's probability is shown within
#: ``[SHOWN_STEP, 1 - SHOWN_STEP]``, so a list never reads 100.0 % (or 0.0 %), which the
#: models never claim (their probabilities lie in an open interval, see
#: :class:`~bankanalysis.propensity.models.PropensityModel`) but rounding could show.
SHOWN_STEP = 0.001
#: Widest column, in characters.
MAX_WIDTH = 60

_WINDOWS = {"1m": "this month", "3m": "in 3 months"}


# --------------------------------------------------------------------------- reasons


def _count(v: float, one: str, many: str) -> str:
    n = format_number(v, 0)
    return f"{n} {one if n == '1' else many}"


def _money(v: float, currency: str) -> str:
    return format_value("aum", v, currency, compact=True)


def _words(code: str) -> str:
    return code.replace("_", " ")


def reason_phrase(
    feature: str,
    value: Any,
    product_names: Mapping[str, str] | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> str:
    """A model feature and the customer's value as a phrase an account manager reads.

    Units and names come from the KPI dictionary (money compact, as in sentences) and from the
    product catalogue; never a raw feature name.

    Examples
    --------
    >>> reason_phrase("aum", 3_990_000)
    'AUM 3.99 m CNY'
    >>> reason_phrase("contact_minutes_3m", 42.1)
    '42 minutes of contact in 3 months'
    >>> reason_phrase("hold_time_deposit", 1.0, {"time_deposit": "time deposit"})
    'holds time deposit'
    >>> reason_phrase("txn_mobile_n_3m", 15)
    '15 mobile transactions in 3 months'
    >>> reason_phrase("aum_chg_3m", -25_000, currency="EUR")
    'AUM down 25.00 k EUR in 3 months'
    >>> reason_phrase("e_channel_share_3m", 0.456)
    '45.6% of transactions outside the counter in 3 months'
    """
    names = product_names or {}
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{_words(feature)} not known"
    if isinstance(value, str):
        return f"{_words(feature)} {value}"
    v = float(value)
    aum_name = kpis.get("aum").name.replace("Assets under management", "AUM")
    if feature.startswith("hold_"):
        p = feature[5:]
        return f"{'holds' if v > 0 else 'does not hold'} {names.get(p, _words(p))}"
    if feature == "has_manager":
        return "has an account manager" if v > 0 else "no account manager"
    if feature == "aum":
        return f"{aum_name} {_money(v, currency)}"
    m = re.fullmatch(r"(aum|n_products)_chg_(\d+)m", feature)
    if m:
        window = f"in {m[2]} month{'s' if m[2] != '1' else ''}"
        if v == 0:
            what = aum_name if m[1] == "aum" else "products held"
            return f"{what} unchanged {window}"
        way = "up" if v > 0 else "down"
        if m[1] == "aum":
            return f"{aum_name} {way} {_money(abs(v), currency)} {window}"
        return f"{_count(abs(v), 'product', 'products')} {'more' if v > 0 else 'fewer'} {window}"
    if feature == "n_products":
        return f"holds {_count(v, 'product', 'products')}"
    if feature.startswith("bal_"):
        return f"{_words(feature[4:])} balance {_money(v, currency)}"
    m = re.fullmatch(r"contact_minutes_(1m|3m)", feature)
    if m:
        return f"{_count(v, 'minute', 'minutes')} of contact {_WINDOWS[m[1]]}"
    m = re.fullmatch(r"contacts_(1m|3m)", feature)
    if m:
        return f"{_count(v, 'contact', 'contacts')} with the account manager {_WINDOWS[m[1]]}"
    m = re.fullmatch(r"txn(?:_(.+))?_n_(1m|3m)", feature)
    if m:
        kind = f"{_words(m[1])} " if m[1] else ""
        return f"{_count(v, kind + 'transaction', kind + 'transactions')} {_WINDOWS[m[2]]}"
    m = re.fullmatch(r"txn_amount_(1m|3m)", feature)
    if m:
        return f"transactions of {_money(v, currency)} {_WINDOWS[m[1]]}"
    m = re.fullmatch(r"fee_income_(1m|3m)", feature)
    if m:
        return f"fee income {_money(v, currency)} {_WINDOWS[m[1]]}"
    if feature == "e_channel_share_3m":
        return f"{format_number(v * 100, 1)}% of transactions outside the counter in 3 months"
    if feature == "age":
        return f"aged {format_number(v, 0)}"
    if feature == "tenure_months":
        years, months = divmod(int(round(v)), 12)
        return (
            f"customer for {years} years {months} months"
            if years
            else (f"customer for {_count(months, 'month', 'months')}")
        )
    if feature == "echelon":
        return f"echelon {format_number(v, 0)} region"
    return f"{_words(feature)} {format_number(v, 0 if abs(v) >= 100 else 2)}"


def reason_describer(
    product_names: Mapping[str, str] | None = None, currency: str = DEFAULT_CURRENCY
) -> Callable[[str, float], str]:
    """:func:`reason_phrase` with the catalogue and currency bound (for
    :func:`~bankanalysis.propensity.workflow.region_lead_lists`)."""
    names = dict(product_names or {})

    def describe(feature: str, value: float) -> str:
        return reason_phrase(feature, value, names, currency)

    return describe


# --------------------------------------------------------------------------- sheets


def _names(codes: pd.Series, names: Mapping[str, str]) -> pd.Series:
    return codes.map(lambda c: names.get(c, c) if isinstance(c, str) else c)


def values_differ(leads: pd.DataFrame) -> bool:
    """Whether the leads' products have different values (expected value / probability differs
    between leads); otherwise the expected value only repeats the probability's order.

    Examples
    --------
    >>> values_differ(pd.DataFrame({"probability": [0.5, 0.2], "expected_value": [1.0, 0.4]}))
    False
    >>> values_differ(pd.DataFrame({"probability": [0.5, 0.2], "expected_value": [0.5, 0.6]}))
    True
    """
    p = leads["probability"].to_numpy(dtype=np.float64)
    ok = p > 0
    if ok.sum() < 2:
        return False
    value = leads["expected_value"].to_numpy(dtype=np.float64)[ok] / p[ok]
    return bool(np.ptp(value) > 1e-9 * max(1.0, float(np.abs(value).max())))


def lead_sheet(
    leads: pd.DataFrame,
    outlet_names: Mapping[str, str],
    product_names: Mapping[str, str],
    with_value: bool = False,
) -> pd.DataFrame:
    """One lead list as the workbook shows it: names, not codes; probability as a fraction
    within ``[SHOWN_STEP, 1 - SHOWN_STEP]`` (never shown as 100 % or 0 %).

    Parameters
    ----------
    leads : DataFrame
        Rows of one list (:data:`~bankanalysis.propensity.leads.LEAD_COLUMNS`).
    with_value : bool
        Show the expected value (only worth it where product values differ).

    Returns
    -------
    DataFrame
        ``Rank, Customer id, Tier, Outlet, Product, Probability, [Expected value], Reason 1..``
    """
    out = pd.DataFrame(
        {
            "Rank": leads["rank"].astype("int64").to_numpy(),
            "Customer id": leads["customer_id"].astype(str).to_numpy(),
            "Tier": leads["tier"].map(tier_label).to_numpy(),
            "Outlet": _names(leads["outlet_id"], outlet_names).to_numpy(),
            "Product": _names(leads["product"], product_names).to_numpy(),
            "Probability": np.clip(
                leads["probability"].astype("float64").round(4).to_numpy(),
                SHOWN_STEP,
                1.0 - SHOWN_STEP,
            ),
        }
    )
    if with_value:
        out["Expected value"] = leads["expected_value"].astype("float64").round(4).to_numpy()
    for c in sorted(c for c in leads.columns if re.fullmatch(r"reason_\d+", c)):
        out[f"Reason {c[7:]}"] = leads[c].fillna("").astype(str).to_numpy()
    return out


def _product_list(value: Any, product_names: Mapping[str, str]) -> str:
    if isinstance(value, list | tuple | np.ndarray):
        items = [str(v) for v in value]
    elif isinstance(value, str):
        items = [s.strip() for s in re.split(r"[,;]", value) if s.strip()]
    else:
        return ""
    return ", ".join(product_names.get(p, p) for p in items)


def upgrade_sheet(upgrades: pd.DataFrame, product_names: Mapping[str, str]) -> pd.DataFrame:
    """Upgrade candidates as the workbook shows them (``customer_id, tier, next_tier, aum,
    gap_to_next, aum_trend, products_to_close`` in; labels and product names out), largest
    AUM first within the smallest gap."""
    df = upgrades.sort_values(["gap_to_next", "customer_id"], kind="stable")
    return pd.DataFrame(
        {
            "Customer id": df["customer_id"].astype(str).to_numpy(),
            "Tier": df["tier"].map(tier_label).to_numpy(),
            "Next tier": df["next_tier"].map(tier_label).to_numpy(),
            "AUM": df["aum"].astype("float64").to_numpy(),
            "Gap to next tier": df["gap_to_next"].astype("float64").to_numpy(),
            "AUM trend": df["aum_trend"].astype("float64").to_numpy(),
            "Products to close the gap": [
                _product_list(v, product_names) for v in df["products_to_close"]
            ],
        }
    )


#: Scorecard rows: (column of :func:`~bankanalysis.propensity.scorecards.scorecards`, label,
#: KPI id giving the unit, or None for a plain count).
def _scorecard_rows(tiers: Sequence[str]) -> list[tuple[str, str, str]]:
    rows = [("customers", kpis.get("customers").name, "customers")]
    rows += [(f"customers_{t}", f"Customers: {tier_label(t)}", "customers") for t in tiers]
    rows += [
        (c, kpis.get(c).name, c)
        for c in ("contact_plan_coverage", "vip_contact_rate", "vip_service_minutes")
    ]
    rows += [
        ("contacts", "Contacts with customers this month", "customers"),
        ("contact_minutes_3m", "Contact minutes in 3 months", "vip_service_minutes"),
    ]
    rows += [(c, kpis.get(c).name, c) for c in ("sales_total", "new_customers", "aum")]
    rows += [
        ("book_aum_growth", kpis.get("book_aum_growth").name, "book_aum_growth"),
        ("leads_issued", "Leads issued then", "leads"),
        ("leads_converted", "Leads converted since", "leads"),
        ("lead_conversion_rate", kpis.get("lead_conversion_rate").name, "lead_conversion_rate"),
    ]
    return rows


def peer_medians(peers: pd.DataFrame, min_peers: int = 0) -> dict[str, tuple[float | None, str]]:
    """The region median of every scorecard column over the peers' *published* values, and
    the note of a withheld one: ``{column: (median or None, note)}``.

    ``peers`` should be the cards as the disclosure step shows them (:func:`~bankanalysis.
    report.disclosure_cards.protect_cards`), whose withheld cells (:class:`~bankanalysis.report.
    format.Suppressed`, NaN) are left out. A median over every card would give a withheld one
    back whenever it is the middle value (three managers: 20 % and 80 % shown, a withheld 50 %
    is the median). A median over fewer than ``min_peers`` published values is withheld (the
    small-group rule: with two managers, one's value and the median give away the other's).
    The medians are the same for every card of the region: a region's workbooks take them once
    (each column read of the protected cards copies their ``attrs``).

    Examples
    --------
    >>> cards = pd.DataFrame({"coverage_rate": [0.2, 0.5, 0.8]}, index=["M1", "M2", "M3"])
    >>> peer_medians(cards, min_peers=3)
    {'coverage_rate': (0.5, '')}
    >>> peer_medians(cards.iloc[:2], min_peers=3)
    {'coverage_rate': (None, 'median withheld: fewer than 3 with a value')}
    """
    plain = peers.copy(deep=False)
    plain.attrs = {}
    out: dict[str, tuple[float | None, str]] = {}
    for col in plain.columns:
        values = pd.Series([v for v in plain[col] if not is_missing(v)], dtype="float64")
        med = float(values.median()) if len(values) else None
        note = ""
        if med is not None and 0 < len(values) < min_peers:
            med, note = None, f"median withheld: fewer than {min_peers} with a value"
        elif med is not None and math.isnan(med):
            med = None
        out[str(col)] = (med, note)
    return out


def scorecard_sheet(
    row: pd.Series,
    peers: pd.DataFrame,
    absent: Mapping[str, str],
    currency: str = DEFAULT_CURRENCY,
    min_peers: int = 0,
    medians: Mapping[str, tuple[float | None, str]] | None = None,
) -> pd.DataFrame:
    """One scorecard as rows: measure, value, the median of its peers (every manager, or every
    outlet, of the region) and a note where the value cannot be computed.

    The medians are :func:`peer_medians` of ``peers`` (over their published values only,
    withheld below ``min_peers``); ``medians`` passes them when the caller has them already.

    Returns
    -------
    DataFrame
        ``Measure, Value, Region median, Unit, Note``; ``attrs["formats"]`` holds each row's
        Excel number format.
    """
    if medians is None:
        medians = peer_medians(peers, min_peers)
    recs, formats = [], []
    for col, label, kpi in _scorecard_rows(TIERS):
        if col not in row.index:
            continue
        k = kpis.get(kpi)
        value = row[col]
        note = ""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            value = None
            note = absent.get(col) or (
                "no leads issued then" if col == "lead_conversion_rate" else "not computable"
            )
        med, med_note = medians.get(col, (None, ""))
        note = note or med_note
        unit = {"share": "%", "money": currency, "minutes": "min"}.get(k.unit, "")
        recs.append(
            {"Measure": label, "Value": value, "Region median": med, "Unit": unit, "Note": note}
        )
        formats.append(NUMBER_FORMATS.get(k.unit, "0.00"))
    out = pd.DataFrame(recs, columns=["Measure", "Value", "Region median", "Unit", "Note"])
    out.attrs["formats"] = formats
    return out


# --------------------------------------------------------------------------- writing


def _text_width(text: str) -> int:
    """Columns ``text`` takes in a spreadsheet: two for a wide (CJK) character, one else.

    >>> _text_width("C000123"), _text_width("南桥支行"), _text_width("Outlet 南桥"), _text_width("")
    (7, 8, 11, 0)
    """
    if text.isascii():  # ids, numbers, English labels: one column a character
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _width(values: Sequence[Any], header: str) -> int:
    cells = {header, *("" if v is None else str(v) for v in values[:500])}
    return min(MAX_WIDTH, max(_text_width(c) for c in cells) + 2)


def _cell(v: Any) -> Any:
    if isinstance(v, Suppressed):
        return str(v)  # the disclosure step's marker ("<k", "x")
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _write_table(
    wb: Any,
    name: str,
    df: pd.DataFrame,
    formats: Mapping[str, str] | None = None,
    row_formats: Sequence[str] | None = None,
) -> None:
    """A sheet with a bold frozen header, an autofilter, widths and number formats."""
    ws = wb.add_worksheet(name)
    bold = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    fmt = {c: wb.add_format({"num_format": f}) for c, f in (formats or {}).items()}
    row_fmt = [wb.add_format({"num_format": f}) for f in (row_formats or [])]
    for j, col in enumerate(df.columns):
        ws.write(0, j, col, bold)
        values = df[col].tolist()
        ws.set_column(j, j, _width(values, str(col)), fmt.get(col))
        for i, v in enumerate(values):
            v = _cell(v)
            f = fmt.get(col) or (
                row_fmt[i] if row_fmt and col in ("Value", "Region median") else None
            )
            if v is None:
                ws.write_blank(i + 1, j, None, f)
            elif f is not None:
                ws.write(i + 1, j, v, f)
            else:
                ws.write(i + 1, j, v)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(df), 1), max(len(df.columns) - 1, 0))


@dataclass
class LeadWorkbook:
    """One workbook: who it is for and what it holds.

    Attributes
    ----------
    file : str
        File name (no manager id).
    audience : str
        Who may read it, in words (no manager id).
    title : str
        What the summary sheet says it is (may name the manager: inside the file).
    manager_id, outlet_id : str or None
        The account manager (None for an outlet's customers without a manager) and outlet.
    leads, upgrades : DataFrame
        The list's rows (``upgrades`` None when no upgrade list was given).
    scorecard : Series or None
        The manager's (or outlet's) scorecard row.
    """

    file: str
    audience: str
    title: str
    manager_id: str | None
    outlet_id: str
    leads: pd.DataFrame
    upgrades: pd.DataFrame | None = None
    scorecard: pd.Series | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def _safe(code: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(code))


def _home_outlets(
    leads: pd.DataFrame, book: pd.DataFrame | None, managers: pd.DataFrame | None
) -> dict[str, str]:
    """Each manager's outlet: the managers table's, else the outlet most of their customers
    (or leads) belong to (ties: smallest id)."""
    home: dict[str, str] = {}
    rows = [leads[["manager_id", "outlet_id"]]]
    if book is not None:
        rows.insert(0, book[["manager_id", "outlet_id"]])
    both = pd.concat(rows).dropna()
    for m, g in both.groupby("manager_id", sort=True):
        counts = g["outlet_id"].astype(str).value_counts()
        home[str(m)] = sorted(counts.index[counts == counts.max()])[0]
    if managers is not None and "outlet_id" in managers.columns:
        for m, o in zip(managers["manager_id"], managers["outlet_id"], strict=True):
            if str(m) in home and isinstance(o, str):
                home[str(m)] = o
    return home


def _split(df: pd.DataFrame, key: pd.Series) -> dict[str, pd.DataFrame]:
    """Rows of ``df`` per value of ``key`` (in their order)."""
    return {str(k): g for k, g in df.groupby(key.to_numpy(), sort=False)}


def plan_workbooks(
    leads: pd.DataFrame,
    outlet_names: Mapping[str, str],
    upgrades: pd.DataFrame | None = None,
    manager_cards: pd.DataFrame | None = None,
    outlet_cards: pd.DataFrame | None = None,
    book: pd.DataFrame | None = None,
    managers: pd.DataFrame | None = None,
) -> list[LeadWorkbook]:
    """Which workbooks to write: one per manager with leads, upgrade candidates or a scorecard,
    one per outlet with leads or upgrade candidates of customers without a manager.

    Manager files are named ``leads_<outlet>_am<k>.xlsx``, ``k`` numbering the outlet's
    managers by id; outlet files ``leads_<outlet>_no_manager.xlsx``.
    """
    leads = leads.copy()
    has_mgr = leads["manager_id"].notna()
    up = upgrades if upgrades is not None else None
    mgr_ids = set(leads.loc[has_mgr, "manager_id"].astype(str))
    if up is not None:
        mgr_ids |= set(up["manager_id"].dropna().astype(str))
    if manager_cards is not None:
        mgr_ids |= {str(m) for m in manager_cards.index}
    home = _home_outlets(leads, book, managers)
    if up is not None:
        for m, o in zip(up["manager_id"], up["outlet_id"], strict=True):
            if isinstance(m, str) and m not in home:
                home[m] = str(o)
    # rows of each list, split once (a region has up to thousands of managers)
    lead_key = leads["manager_id"].astype(str).where(has_mgr, "\0" + leads["outlet_id"].astype(str))
    lead_rows = _split(leads, lead_key)
    if up is not None:
        up_mgr = up["manager_id"].notna()
        up_rows = _split(
            up, up["manager_id"].astype(str).where(up_mgr, "\0" + up["outlet_id"].astype(str))
        )

    def workbook(
        file: str, audience: str, title: str, manager: str | None, outlet: str
    ) -> LeadWorkbook:
        """One list: a manager's (rows keyed by the manager) or an outlet's customers without
        a manager (rows keyed by ``"\0" + outlet``), with its scorecard when there is one."""
        key, cards, card_key = (
            (manager, manager_cards, manager)
            if manager is not None
            else ("\0" + outlet, outlet_cards, outlet)
        )
        return LeadWorkbook(
            file=file,
            audience=audience,
            title=title,
            manager_id=manager,
            outlet_id=outlet,
            leads=lead_rows.get(key, leads.iloc[:0]),
            upgrades=None if up is None else up_rows.get(key, up.iloc[:0]),
            scorecard=cards.loc[card_key]
            if cards is not None and card_key in cards.index
            else None,
        )

    out: list[LeadWorkbook] = []
    by_outlet: dict[str, list[str]] = {}
    for m in sorted(mgr_ids):
        by_outlet.setdefault(home.get(m, "unknown"), []).append(m)
    for outlet, ms in sorted(by_outlet.items()):
        name = outlet_names.get(outlet, outlet)
        for k, m in enumerate(ms, start=1):
            out.append(
                workbook(
                    f"leads_{_safe(outlet)}_am{k}.xlsx",
                    f"account manager {k} of outlet {outlet} (see contents.csv)",
                    f"Account manager {m}, {name}",
                    m,
                    outlet,
                )
            )
    unassigned = set(leads.loc[~has_mgr, "outlet_id"].astype(str))
    if up is not None:
        unassigned |= set(up.loc[up["manager_id"].isna(), "outlet_id"].astype(str))
    for outlet in sorted(unassigned):
        out.append(
            workbook(
                f"leads_{_safe(outlet)}_no_manager.xlsx",
                f"staff of outlet {outlet} serving customers without an account manager",
                f"Customers without an account manager, {outlet_names.get(outlet, outlet)}",
                None,
                outlet,
            )
        )
    return out


def _summary_sheet(wb: Any, spec: LeadWorkbook, facts: Mapping[str, Any]) -> None:
    ws = wb.add_worksheet("Summary")
    bold = wb.add_format({"bold": True})
    title = wb.add_format({"bold": True, "font_size": 14})
    pct = wb.add_format({"num_format": PERCENT, "align": "left"})
    num = wb.add_format({"num_format": "#,##0.0", "align": "left"})
    ws.write(0, 0, spec.title, title)
    rows: list[tuple[str, Any, Any]] = [
        ("Outlet", facts.get("outlet_name", spec.outlet_id), None),
        ("Data month", facts.get("data_month", ""), None),
        ("Leads", len(spec.leads), None),
        ("Minimum probability of a lead", facts.get("min_probability"), pct),
        ("Expected sales from the leads", float(spec.leads["probability"].sum()), num),
    ]
    if spec.upgrades is not None:
        rows.append(("Upgrade candidates", len(spec.upgrades), None))
    else:
        rows.append(("Upgrade candidates", "not part of this run", None))
    for i, (label, value, f) in enumerate(rows, start=2):
        ws.write(i, 0, label, bold)
        if value is None:
            ws.write_blank(i, 1, None)
        elif f is not None:
            ws.write(i, 1, value, f)
        else:
            ws.write(i, 1, value)
    notes = facts.get("notes", [])
    for i, line in enumerate(notes, start=len(rows) + 3):
        ws.write(i, 0, line)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 1, 40)


def workbook_bytes(
    spec: LeadWorkbook,
    outlet_names: Mapping[str, str],
    product_names: Mapping[str, str],
    facts: Mapping[str, Any],
    peers: pd.DataFrame | None = None,
    absent: Mapping[str, str] | None = None,
    currency: str = DEFAULT_CURRENCY,
    with_value: bool | None = None,
    medians: Mapping[str, tuple[float | None, str]] | None = None,
) -> bytes:
    """The ``.xlsx`` content of one workbook: Summary, Leads, Upgrade candidates, Scorecard.

    Parameters
    ----------
    facts : mapping
        ``data_month``, ``min_probability`` (the cutoff, a fraction), ``outlet_name``, ``notes``
        and ``min_group_size`` (medians over fewer peers are withheld).
    peers : DataFrame, optional
        The scorecards the medians are taken over (every manager or every outlet).
    with_value : bool, optional
        Show the expected value; default where this list's product values differ
        (:func:`values_differ`).
    medians : mapping, optional
        :func:`peer_medians` of ``peers`` when the caller has them (the same for every
        workbook of a region).
    """
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    _summary_sheet(wb, spec, facts)
    if with_value is None:
        with_value = values_differ(spec.leads)
    sheet = lead_sheet(spec.leads, outlet_names, product_names, with_value)
    _write_table(wb, "Leads", sheet, {"Probability": PERCENT, "Expected value": "0.00"})
    if spec.upgrades is not None:
        ups = upgrade_sheet(spec.upgrades, product_names)
        money = NUMBER_FORMATS["money"]
        _write_table(
            wb,
            "Upgrade candidates",
            ups,
            {"AUM": money, "Gap to next tier": money, "AUM trend": money},
        )
    if spec.scorecard is not None:
        card = scorecard_sheet(
            spec.scorecard,
            peers if peers is not None else spec.scorecard.to_frame().T,
            absent or {},
            currency,
            int(facts.get("min_group_size", 0)),
            medians,
        )
        _write_table(wb, "Scorecard", card, row_formats=card.attrs["formats"])
    wb.close()
    return buf.getvalue()


@dataclass
class WrittenLeads:
    """What :func:`write_lead_files` wrote (for the report's sentence and metrics)."""

    folder: Path
    workbooks: int
    manager_workbooks: int
    outlet_workbooks: int
    leads: int
    files: list[str]
    #: The outlet scorecards as the workbooks print them (:func:`~bankanalysis.report.
    #: disclosure_cards.protect_cards`; ``None`` without outlet cards or ``min_group_size``):
    #: 02's outlet table withholds the same cells.
    outlet_cards: pd.DataFrame | None = None


def write_lead_files(
    leads: pd.DataFrame,
    output_dir: str | Path,
    region_id: str,
    outlet_names: Mapping[str, str],
    product_names: Mapping[str, str],
    facts: Mapping[str, Any],
    upgrades: pd.DataFrame | None = None,
    manager_cards: pd.DataFrame | None = None,
    outlet_cards: pd.DataFrame | None = None,
    book: pd.DataFrame | None = None,
    managers: pd.DataFrame | None = None,
    currency: str = DEFAULT_CURRENCY,
    decided: Mapping[str, ColumnDecision] | None = None,
) -> WrittenLeads:
    """Write every workbook, ``contents.csv``, the region's lead CSV and its scorecards, all in
    the restricted folder of ``output_dir``, each with its audience.

    Parameters
    ----------
    leads : DataFrame
        The region's lead lists (with reasons).
    upgrades : DataFrame, optional
        Upgrade candidates (``customer_id, outlet_id, manager_id, tier, next_tier, aum,
        gap_to_next, aum_trend, products_to_close``).
    facts : mapping
        ``data_month``, ``min_probability``, ``notes`` (the summary sheet); ``min_group_size``
        and ``protection_level`` (the disclosure step of the outlet and region scorecards).
    manager_cards, outlet_cards : DataFrame, optional
        :func:`~bankanalysis.propensity.scorecards.scorecards` by manager and by outlet.
    decided : mapping, optional
        03's decision on outlet columns (:func:`~bankanalysis.report.disclosure_cards.
        outlet_count_decision`), with 01's quality-and-above decision in the outlet cards.
    """
    folder = restricted_dir(output_dir)
    # aggregates read by more than the unit's own manager (an outlet's workbook, the region's
    # scorecards) go through the disclosure step; a manager's own card stays whole
    k = int(facts.get("min_group_size", 0) or 0)
    level = float(facts.get("protection_level", DEFAULT_PROTECTION_LEVEL))
    shown_m, shown_o = manager_cards, outlet_cards
    if k and outlet_cards is not None:  # the outlets' counts that 01 and 03 print too
        both = {**outlet_decisions(outlet_cards, k), **(decided or {})}
        shown_o = protect_cards(outlet_cards, k, level, both, published=PRINTED_BY_03)
    if k and manager_cards is not None:
        # the managers of an outlet and its customers without one make the outlet's card,
        # printed beside theirs in the region's scorecards
        covers = (
            manager_covers(outlet_cards, shown_o, book)
            if outlet_cards is not None and shown_o is not None and book is not None
            else None
        )
        shown_m = protect_manager_cards(manager_cards, k, level, covers=covers, book=book)
    specs = plan_workbooks(leads, outlet_names, upgrades, manager_cards, shown_o, book, managers)
    absent_m = dict(manager_cards.attrs.get("absent", {})) if manager_cards is not None else {}
    absent_o = dict(outlet_cards.attrs.get("absent", {})) if outlet_cards is not None else {}
    contents = []
    with_value = values_differ(leads)  # the same columns in every workbook of the region
    # medians over the published cards only (a withheld card must not be the median), the
    # same for every workbook: taken once per kind of card, not once per manager
    medians = {
        kind: None if cards is None else peer_medians(cards, k)
        for kind, cards in (("manager", shown_m), ("outlet", shown_o))
    }

    def workbooks() -> Iterator[tuple[str, bytes, str]]:
        # one workbook made and written at a time; their audiences recorded once at the end
        for spec in specs:
            f = dict(facts) | {"outlet_name": outlet_names.get(spec.outlet_id, spec.outlet_id)}
            kind = "manager" if spec.manager_id is not None else "outlet"
            peers = shown_m if kind == "manager" else shown_o
            absent = absent_m if kind == "manager" else absent_o
            data = workbook_bytes(
                spec, outlet_names, product_names, f, peers, absent, currency, with_value,
                medians[kind],
            )  # fmt: skip
            yield spec.file, data, spec.audience

    write_restricted_files(folder, workbooks())
    for spec in specs:
        contents.append(
            {
                "file": spec.file,
                "manager_id": spec.manager_id or "",
                "outlet_id": spec.outlet_id,
                "outlet": outlet_names.get(spec.outlet_id, spec.outlet_id),
                "leads": len(spec.leads),
                "upgrade_candidates": "" if spec.upgrades is None else len(spec.upgrades),
            }
        )
    table = pd.DataFrame(
        contents,
        columns=["file", "manager_id", "outlet_id", "outlet", "leads", "upgrade_candidates"],
    )
    write_restricted(
        folder,
        "contents.csv",
        _csv(table),
        "whoever hands the workbooks out (maps each file to its account manager)",
    )
    csv_cols = [c for c in LEAD_COLUMNS if c in leads.columns]
    write_restricted(
        folder,
        f"leads_{_safe(region_id)}.csv",
        _csv(leads[csv_cols]),
        "the region's retail management (every account manager's leads, for the CRM)",
    )
    written = [s.file for s in specs] + ["contents.csv", f"leads_{_safe(region_id)}.csv"]
    if manager_cards is not None or outlet_cards is not None:
        name = f"scorecards_{_safe(region_id)}.xlsx"
        write_restricted(
            folder,
            name,
            _scorecards_bytes(shown_m, shown_o, outlet_names, facts),
            "the region's retail management (every account manager's scorecard)",
        )
        written.append(name)
    n_mgr = sum(s.manager_id is not None for s in specs)
    logger.info("wrote %d lead workbooks to %s", len(specs), folder)
    return WrittenLeads(
        folder,
        len(specs),
        n_mgr,
        len(specs) - n_mgr,
        len(leads),
        written,
        shown_o if k else None,
    )


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _scorecards_bytes(
    manager_cards: pd.DataFrame | None,
    outlet_cards: pd.DataFrame | None,
    outlet_names: Mapping[str, str],
    facts: Mapping[str, Any],
) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("Summary")
    ws.write(
        0,
        0,
        f"Scorecards, data month {facts.get('data_month', '')}",
        wb.add_format({"bold": True, "font_size": 14}),
    )
    ws.write(2, 0, "Managers: one row per account manager with customers.")
    ws.write(
        3, 0, "Outlets: the same measures per outlet (every customer, with or without a manager)."
    )
    ws.set_column(0, 0, 90)
    formats = {
        c: NUMBER_FORMATS.get(kpis.get(k).unit, "0.00") for c, _, k in _scorecard_rows(TIERS)
    }
    for sheet, cards, key in (
        ("Managers", manager_cards, "Manager id"),
        ("Outlets", outlet_cards, "Outlet"),
    ):
        if cards is None:
            continue
        df = cards.drop(columns=["aum_base"], errors="ignore").reset_index()
        first = df.columns[0]
        if key == "Outlet":
            df[first] = _names(df[first].astype(str), outlet_names)
        df = df.rename(columns={first: key})
        _write_table(wb, sheet, df, {c: f for c, f in formats.items() if c in df.columns})
    wb.close()
    return buf.getvalue()
