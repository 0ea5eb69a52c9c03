"""The raw data contract: tables, columns, types and rules (the one source of truth).

A bank's extract is mapped to these tables, one file per table in ``data/raw/``:
``<table>.csv`` (UTF-8, or another encoding through a setting) or ``<table>.parquet``.
:mod:`bankanalysis.data.validate` enforces this contract and
``docs/data_contract.md`` is generated from it (``bankanalysis data contract``).

Dtypes
------
``str``    text; ids are text even when they look like numbers.
``int``    whole number.
``float``  number; money in the bank's currency (CNY by default).
``bool``   ``true``/``false`` (also ``1``/``0``, ``yes``/``no``).
``date``   ``YYYY-MM-DD``.
``month``  ``YYYY-MM`` (a month-end snapshot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Dtype = Literal["str", "int", "float", "bool", "date", "month"]

ECHELONS: dict[int, str] = {1: "central city", 2: "key development area", 3: "expansion area"}
OUTLET_TYPES: tuple[str, ...] = ("flagship", "standard", "community")
PRODUCT_FAMILIES: tuple[str, ...] = (
    "deposit",
    "investment",
    "insurance",
    "card",
    "e_banking",
    "loan",
    "service",
)
CHANNELS: tuple[str, ...] = ("counter", "self_service", "online", "mobile", "phone")
#: Channels that count as "outside the counter" for the e-channel replacement rate.
E_CHANNELS: tuple[str, ...] = ("self_service", "online", "mobile", "phone")
TXN_KINDS: tuple[str, ...] = (
    "deposit",
    "withdrawal",
    "transfer",
    "purchase",
    "redemption",
    "payment",
    "fee",
)
#: Transaction kinds that are "accounting business" (deposits, withdrawals, transfers and
#: payments): the plan's accounting-business replacement rate is the share of these done
#: outside the counter (:data:`E_CHANNELS`).
ACCOUNTING_KINDS: tuple[str, ...] = ("deposit", "withdrawal", "transfer", "payment")
CONTACT_CHANNELS: tuple[str, ...] = ("visit", "phone", "message", "event")
DEVICE_TYPES: tuple[str, ...] = ("atm", "crs", "kiosk")
#: Levels a target can be set at; the id names an outlet, a region, an echelon (1-3) or, for
#: the whole bank, :data:`BANK_TARGET_ID`.
TARGET_LEVELS: tuple[str, ...] = ("outlet", "region", "echelon", "bank")
#: The id of a bank-level target.
BANK_TARGET_ID = "bank"
#: Periods a target can cover; an empty ``period`` (or no such column) means ``month``.
TARGET_PERIODS: tuple[str, ...] = ("month", "quarter", "year")
GENDERS: tuple[str, ...] = ("F", "M", "U")

#: Currency of the money amounts when nothing says otherwise (the ``currency`` parameter's
#: default): every report function's default.
DEFAULT_CURRENCY = "CNY"

#: Ids that end up in file names (region, product) must match this pattern.
SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$"


@dataclass(frozen=True)
class Column:
    """One column of a raw table.

    Parameters
    ----------
    name : str
        Column name as it must appear in the file header.
    dtype : Dtype
        Logical type, see the module docstring.
    description : str
        What the column means, in the bank's words.
    required : bool
        Whether the column must be present in the file.
    nullable : bool
        Whether empty values are allowed.
    allowed : tuple, optional
        Allowed values (categories).
    min, max : float, optional
        Inclusive numeric range.
    pattern : str, optional
        Regular expression every value must match (ids used in file names).
    """

    name: str
    dtype: Dtype
    description: str
    required: bool = True
    nullable: bool = False
    allowed: tuple | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class ForeignKey:
    """``table.column`` must exist in ``ref_table.ref_column`` (nulls are not checked)."""

    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class Table:
    """One raw table of the contract."""

    name: str
    description: str
    columns: tuple[Column, ...]
    required: bool = True
    key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    #: date/month columns that must not lie after the data's last month
    not_after_last_month: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        """All column names in contract order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


#: Upper bound for any single amount; larger values are treated as extract errors.
MAX_AMOUNT = 1e13

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "regions",
            "Secondary branches. A region is the unit of the per-branch report batch.",
            (
                Column(
                    "region_id", "str", "Region (secondary branch) id.", pattern=SAFE_ID_PATTERN
                ),
                Column("name", "str", "Display name (may be Chinese)."),
                Column(
                    "echelon",
                    "int",
                    "1 central city, 2 key development area, 3 expansion area.",
                    allowed=(1, 2, 3),
                ),
            ),
            key=("region_id",),
        ),
        Table(
            "outlets",
            "Physical outlets (sub-branches).",
            (
                Column("outlet_id", "str", "Outlet id.", pattern=SAFE_ID_PATTERN),
                Column("region_id", "str", "Region the outlet belongs to."),
                Column("name", "str", "Display name (may be Chinese)."),
                Column(
                    "outlet_type", "str", "flagship, standard or community.", allowed=OUTLET_TYPES
                ),
                Column("staff_fte", "float", "Staff in full-time equivalents (> 0).", min=0.01),
                Column("opened", "date", "Opening date."),
            ),
            key=("outlet_id",),
            foreign_keys=(ForeignKey("region_id", "regions", "region_id"),),
            not_after_last_month=("opened",),
        ),
        Table(
            "products",
            "Product catalogue.",
            (
                Column(
                    "product",
                    "str",
                    "Product id (letters, digits, _ or -).",
                    pattern=SAFE_ID_PATTERN,
                ),
                Column("name", "str", "Display name."),
                Column("family", "str", "Product family.", allowed=PRODUCT_FAMILIES),
                Column("in_aum", "bool", "Whether balances count towards assets under management."),
                Column(
                    "cross_sell", "bool", "Whether the product is a target of propensity models."
                ),
            ),
            key=("product",),
        ),
        Table(
            "customers",
            "Personal customers.",
            (
                Column("customer_id", "str", "Customer id."),
                Column("outlet_id", "str", "Home outlet."),
                Column(
                    "manager_id", "str", "Assigned account manager, empty if none.", nullable=True
                ),
                Column("birth_year", "int", "Year of birth.", min=1900, max=2100),
                Column(
                    "gender", "str", "F, M or U.", required=False, nullable=True, allowed=GENDERS
                ),
                Column("since", "date", "Date the customer relationship started."),
                Column(
                    "closed", "date", "Date the relationship ended, empty if open.", nullable=True
                ),
            ),
            key=("customer_id",),
            foreign_keys=(
                ForeignKey("outlet_id", "outlets", "outlet_id"),
                ForeignKey("manager_id", "managers", "manager_id"),
            ),
            not_after_last_month=("since", "closed"),
        ),
        Table(
            "holdings",
            "Month-end holdings: one row per product a customer holds at month end.",
            (
                Column("month", "month", "Month-end (YYYY-MM)."),
                Column("customer_id", "str", "Customer id."),
                Column("product", "str", "Product id."),
                Column(
                    "balance",
                    "float",
                    "Month-end balance (>= 0; 0 for cards and e-banking).",
                    min=0,
                    max=MAX_AMOUNT,
                ),
            ),
            key=("month", "customer_id", "product"),
            foreign_keys=(
                ForeignKey("customer_id", "customers", "customer_id"),
                ForeignKey("product", "products", "product"),
            ),
        ),
        Table(
            "transactions",
            "Customer transactions (optional, expected).",
            (
                Column("txn_date", "date", "Transaction date."),
                Column("customer_id", "str", "Customer id."),
                Column("outlet_id", "str", "Outlet where served, empty if remote.", nullable=True),
                Column("channel", "str", "Channel.", allowed=CHANNELS),
                Column("product", "str", "Product, empty if none.", nullable=True),
                Column("kind", "str", "Kind of transaction.", allowed=TXN_KINDS),
                Column("amount", "float", "Amount (>= 0).", min=0, max=MAX_AMOUNT),
                Column(
                    "fee_income",
                    "float",
                    "Fee (intermediary) income (>= 0).",
                    min=0,
                    max=MAX_AMOUNT,
                ),
            ),
            required=False,
            foreign_keys=(
                ForeignKey("customer_id", "customers", "customer_id"),
                ForeignKey("outlet_id", "outlets", "outlet_id"),
                ForeignKey("product", "products", "product"),
            ),
            not_after_last_month=("txn_date",),
        ),
        Table(
            "managers",
            "Account managers (optional).",
            (
                Column("manager_id", "str", "Account manager id."),
                Column("outlet_id", "str", "Outlet the manager works at."),
                Column("full_time", "bool", "Full-time account manager."),
                Column("hired", "date", "Hiring date."),
            ),
            required=False,
            key=("manager_id",),
            foreign_keys=(ForeignKey("outlet_id", "outlets", "outlet_id"),),
            not_after_last_month=("hired",),
        ),
        Table(
            "contacts",
            "Account-manager contacts with customers (optional).",
            (
                Column("contact_date", "date", "Date of contact."),
                Column("customer_id", "str", "Customer id."),
                Column("manager_id", "str", "Account manager id."),
                Column(
                    "channel", "str", "visit, phone, message or event.", allowed=CONTACT_CHANNELS
                ),
                Column("minutes", "float", "Service minutes.", min=0, max=24 * 60),
            ),
            required=False,
            foreign_keys=(
                ForeignKey("customer_id", "customers", "customer_id"),
                ForeignKey("manager_id", "managers", "manager_id"),
            ),
            not_after_last_month=("contact_date",),
        ),
        Table(
            "devices",
            "Self-service devices (optional).",
            (
                Column("device_id", "str", "Device id."),
                Column("region_id", "str", "Region."),
                Column(
                    "outlet_id", "str", "Outlet it stands in, empty if off-site.", nullable=True
                ),
                Column("site_id", "str", "The self-service bank (site) it stands in."),
                Column("device_type", "str", "atm, crs or kiosk.", allowed=DEVICE_TYPES),
                Column("installed", "date", "Installation date."),
            ),
            required=False,
            key=("device_id",),
            foreign_keys=(
                ForeignKey("region_id", "regions", "region_id"),
                ForeignKey("outlet_id", "outlets", "outlet_id"),
            ),
            not_after_last_month=("installed",),
        ),
        Table(
            "device_months",
            "Monthly device availability and operation (optional).",
            (
                Column("month", "month", "Month (YYYY-MM)."),
                Column("device_id", "str", "Device id."),
                Column(
                    "available_hours", "float", "Hours the device could operate.", min=0, max=744
                ),
                Column(
                    "operating_hours",
                    "float",
                    "Hours it did operate (<= available).",
                    min=0,
                    max=744,
                ),
            ),
            required=False,
            key=("month", "device_id"),
            foreign_keys=(ForeignKey("device_id", "devices", "device_id"),),
        ),
        Table(
            "targets",
            "Business objectives of the plan (optional): any KPI of the dictionary, at any "
            "level, for a month, a quarter or a year. Files without the period column stay "
            "valid (every row a month target).",
            (
                Column(
                    "month",
                    "month",
                    "Month the target applies to; for a quarter or year target the period's "
                    "last month (March, June, September, December; December for a year).",
                ),
                Column("level", "str", "outlet, region, echelon or bank.", allowed=TARGET_LEVELS),
                Column(
                    "id",
                    "str",
                    "Outlet id, region id, echelon (1, 2 or 3) or 'bank' (level bank).",
                ),
                Column("kpi", "str", "KPI id of the dictionary (docs/kpis.md)."),
                Column("target", "float", "Target value in the KPI's unit (shares as fractions)."),
                Column(
                    "period",
                    "str",
                    "month, quarter or year (empty = month).",
                    required=False,
                    nullable=True,
                    allowed=TARGET_PERIODS,
                ),
            ),
            required=False,
        ),
    )
}

#: Order in which tables are validated and documented (parents before children).
TABLE_ORDER: tuple[str, ...] = tuple(TABLES)

#: Table-level rules that are not single-column checks, documented with the contract.
EXTRA_RULES: tuple[str, ...] = (
    "holdings.month values form a contiguous run of months (no gaps); the last one is the data month.",
    "device_months.operating_hours <= device_months.available_hours.",
    "Dates (opened, since, closed, txn_date, hired, contact_date, installed) are not after the end "
    "of the data's last month.",
    "device_months.month values lie within the holdings months.",
    "customers.closed, when present, is not before customers.since.",
    "targets: kpi is a KPI id of the dictionary that exists at the row's level; id names an "
    "outlet or region of the extract, an echelon 1-3 or 'bank'; a quarter target's month is a "
    "quarter's last month, a year target's month is December; one row per (period, month, "
    "level, id, kpi), an empty period counting as month.",
    "Every required table has at least one row.",
)


def contract_markdown() -> str:
    """Render the contract as Markdown (used for ``docs/data_contract.md``).

    Returns
    -------
    str
        A Markdown document with one section per table.
    """
    out = [
        "# Raw data contract",
        "",
        "Generated from `src/bankanalysis/contract.py` by `bankanalysis data contract`; "
        "do not edit by hand.",
        "",
        "One file per table in `data/raw/`: `<table>.csv` (UTF-8 by default; set "
        "`--encoding gbk` for GBK extracts) or `<table>.parquet`. Months are `YYYY-MM`, "
        "dates `YYYY-MM-DD`, amounts in the bank's currency. Unknown extra columns are "
        "reported as warnings and ignored.",
        "",
    ]
    for t in TABLES.values():
        req = "required" if t.required else "optional"
        out += [f"## `{t.name}` ({req})", "", t.description, ""]
        if t.key:
            out.append(f"Key: `{', '.join(t.key)}` (unique).")
        for fk in t.foreign_keys:
            out.append(f"`{fk.column}` must exist in `{fk.ref_table}.{fk.ref_column}`.")
        out += [
            "",
            "| column | type | required | empty allowed | rule | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            rule = []
            if c.allowed:
                rule.append("one of " + ", ".join(str(a) for a in c.allowed))
            if c.min is not None:
                rule.append(f">= {c.min:g}")
            if c.max is not None:
                rule.append(f"<= {c.max:g}")
            if c.pattern:
                rule.append("letters, digits, `_`, `-` (max 64)")
            out.append(
                f"| `{c.name}` | {c.dtype} | {'yes' if c.required else 'no'} | "
                f"{'yes' if c.nullable else 'no'} | {'; '.join(rule)} | {c.description} |"
            )
        out.append("")
    out += ["## Rules across rows and tables", ""] + [f"- {r}" for r in EXTRA_RULES] + [""]
    return "\n".join(out)
