"""Attack C of issue 17: the figures the generated sentences of a run print.

The HTML attacker of :mod:`attacker` reads every table of every page; this module reads the
prose around them -- every paragraph and list item outside tables, figures, code, the page
header and the appendix (the summary's findings, the sections' texts, the plan sentences) --
as figures with their unit and, where a sentence of the package's own templates says it, the
figure's subject:

- :func:`run_prose` / :func:`sentence_figures`: the sentences of a run and their numbers
  (``1,234``, ``12.3%``, ``+0.5 pp``, ``13.2 m CNY``, ``42 min``, ``<10``) with the rounding
  of what is printed;
- :data:`TEMPLATES`: sentences of :mod:`bankanalysis.report.segmentation` turned into patterns
  by rendering them with the package's own functions (so a reworded template is followed), each
  slot tied to the ``metrics.json`` key it prints;
- :func:`prose_leaks`: (a) twins -- a templated figure whose ``metrics.json`` key the run
  withholds, and a clause naming a unit of a table and the figure's column whose cell is
  withheld while the clause prints a number of that kind; (b) closure -- every number of the
  prose is either printed by a table or ``metrics.json`` of the run (same region, overview,
  index) or of a documented kind (dates, echelons, the report's parameters, ``k``, counts of
  KPIs, targets, months and the like), the rest listed as new figures; and the relations the
  sentences state ("the VIP tier and above hold X %": the top tiers' AUM shares add up to X)
  for :func:`attacker.linear_leaks` (``stated=``).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
from attacker import HtmlTable, K, _comparable, _level, _norm, _scope, number_value

from bankanalysis.report.actions import upgrade_text
from bankanalysis.report.format import Suppressed
from bankanalysis.report.segmentation import (
    concentration_text,
    migration_text,
    population_text,
)
from bankanalysis.rules.tiers import TIERS, tier_label

#: Elements whose text is not prose: tables (attacks A and B), charts, code, the page's header
#: (scope line) and everything hidden from the reader.
_SKIP_TAGS = ("table", "figure", "pre", "code", "script", "style", "svg", "header", "head")
#: Blocks of prose: each is read as one text and split into sentences.
_BLOCKS = ("p", "li", "dd", "dt", "blockquote")


@dataclass(frozen=True)
class Sentence:
    """One sentence of a page: ``page`` (path in the run), ``section`` (the heading above it)
    and ``text`` (tags removed, spaces collapsed)."""

    page: str
    section: str
    text: str
    #: The unit the page is about when a sentence names none ("the region"): the region's
    #: name on its own reports (the header's scope line), ``""`` elsewhere.
    subject: str = ""


class _Prose(HTMLParser):
    """The text of every block of prose of a page, with the heading above it."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[tuple[str, str]] = []
        self._skip: list[str] = []
        self._bufs: list[list[str]] = []
        self._head: list[str] | None = None
        self.heading = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if self._skip:
            if tag == self._skip[-1] or tag in _SKIP_TAGS:
                self._skip.append(tag)
            return
        if tag in _SKIP_TAGS or (tag == "details" and "appendix" in classes):
            self._skip.append(tag)
        elif tag in ("h1", "h2", "h3", "h4"):
            self._head = []
        elif tag in _BLOCKS:
            self._bufs.append([])
        elif tag == "br" and self._bufs:
            self._bufs[-1].append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag == "br" and self._bufs and not self._skip:
            self._bufs[-1].append(" ")

    def handle_endtag(self, tag):
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if tag in ("h1", "h2", "h3", "h4") and self._head is not None:
            self.heading = " ".join("".join(self._head).replace("¶", " ").split())
            self._head = None
        elif tag in _BLOCKS and self._bufs:
            text = " ".join("".join(self._bufs.pop()).split())
            if text:
                self.blocks.append((self.heading, text))

    def handle_data(self, data):
        if self._skip:
            return
        if self._head is not None:
            self._head.append(data)
        elif self._bufs:
            self._bufs[-1].append(data)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\s a-z])")


def page_prose(path: Path, run_dir: Path) -> list[Sentence]:
    """Every sentence of one page of a run (see the module's docstring for what is prose)."""
    parser = _Prose()
    text = Path(path).read_text(encoding="utf-8")
    parser.feed(text)
    page = Path(path).relative_to(run_dir).as_posix()
    subject = page_subject(text) if len(Path(page).parts) > 1 and _scope(page) else ""
    return [
        Sentence(page, section, s.strip(), subject)
        for section, block in parser.blocks
        for s in _SENTENCE_END.split(block)
        if s.strip()
    ]


def page_subject(page_html: str) -> str:
    """The unit a region's report is about: its scope line's name ("东湖分行, echelon 2 (key
    development area) · data month 2026-10" -> "东湖分行")."""
    m = re.search(r'<p class="scope">(.*?)</p>', page_html, re.S)
    if m is None:
        return ""
    scope = html.unescape(re.sub(r"<[^>]+>", "", m.group(1)))
    return scope.split(" · ")[0].split(", echelon")[0].strip()


def run_prose(run_dir: Path) -> list[Sentence]:
    """Every sentence of every HTML page of a run (``kpis.html``, the KPI dictionary, holds
    no figure of the bank and is left out, as in :func:`attacker.run_tables`)."""
    run_dir = Path(run_dir)
    pages = [p for p in sorted(run_dir.rglob("*.html")) if p.name != "kpis.html"]
    return [s for p in pages for s in page_prose(p, run_dir)]


# --------------------------------------------------------------------------- numbers

#: Dates, months and quarters (``2026-10``, ``2026-Q4``, ``2026-12-01T12:47:05Z``): periods,
#: never figures.
_DATE = re.compile(r"\b\d{4}-(?:\d{2}|Q[1-4])(?:-\d{2})?(?:T[\d:]+Z?)?\b")
#: A printed number with its sign, its display multiplier and its unit.
_PROSE_NUMBER = re.compile(
    r"(?<![\w.,/])(?P<marker><)?(?P<sign>[+\-−])?(?P<num>\d{1,3}(?:,\d{3})+|\d+)"
    r"(?:\.(?P<dec>\d+))?(?!\d)(?!,\d)(?:\s?(?P<mult>k|m|bn)\b)?"
    r"(?:\s?(?P<unit>%|pp\b|min\b|products\b|[A-Z]{3}\b))?(?![A-Za-z0-9])"
)


@dataclass(frozen=True)
class Figure:
    """A number of a sentence: ``text`` as printed, ``lower``/``upper`` its rounding
    interval, ``unit`` (``%``, ``pp``, a currency, ``min``, ``products``, ``""``), ``small``
    (a ``<k`` marker), ``start``/``end`` its place in the sentence."""

    text: str
    lower: float
    upper: float
    unit: str
    small: bool
    start: int
    end: int

    @property
    def kind(self) -> str:
        """``"percent"`` (``%`` and ``pp``), ``"money"``, ``"minutes"``, ``"products"`` or
        ``"number"``."""
        if self.unit in ("%", "pp"):
            return "percent"
        if len(self.unit) == 3 and self.unit.isupper():
            return "money"
        return {"min": "minutes", "products": "products"}.get(self.unit, "number")

    @property
    def whole(self) -> bool:
        """A whole number without a unit (a count)."""
        return self.kind == "number" and self.upper - self.lower == 1.0


def sentence_figures(text: str, k: int = K) -> list[Figure]:
    """Every number of a sentence, dates left out.

    Examples
    --------
    >>> [(f.text, f.lower, f.upper, f.unit) for f in sentence_figures("to -296,357 CNY")]
    [('-296,357 CNY', -296357.5, -296356.5, 'CNY')]
    >>> [(f.text, f.unit, f.small) for f in sentence_figures("since 2026-09: <10 lost, 13.2 m CNY")]
    [('<10', '', True), ('13.2 m CNY', 'CNY', False)]
    """
    masked = _DATE.sub(lambda m: "#" * len(m.group(0)), text)
    out = []
    for m in _PROSE_NUMBER.finditer(masked):
        v, half = number_value(m)
        small = bool(m.group("marker")) and v == k and not m.group("dec")
        lo, hi = (1.0, float(k - 1)) if small else (v - half, v + half)
        out.append(
            Figure(text[m.start() : m.end()].strip(), lo, hi, m.group("unit") or "", small,
                   m.start(), m.end())
        )  # fmt: skip
    return out


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Template:
    """A sentence of the package as a pattern: ``name``, ``pattern`` (a regex whose named
    groups are the slots) and ``keys`` (each figure slot's ``metrics.json`` key, with
    ``{tier}`` filled from the sentence's ``tier`` group)."""

    name: str
    pattern: re.Pattern
    keys: dict[str, str]
    #: ``(slot, first column of the table, column)``: the slot is the sum of the column over
    #: the table's units (the upgrade list's outlets add up to the region's count).
    sums: tuple[tuple[str, str, str], ...] = ()


_SLOT = r"(?P<{}>(?:<\d+|[+\-−]?[\d,]+(?:\.\d+)?(?:\s?(?:k|m|bn))?(?:\s?(?:%|pp|[A-Z]{{3}}))?))"
_MONTH = r"(?P<t0>\d{4}-\d{2})"
_TIER = r"(?P<tier>{})".format("|".join(re.escape(tier_label(t)) for t in TIERS))


def _template(
    name: str, rendered: str, slots: dict[str, str], keys: dict[str, str], sums=(), plurals=()
) -> Template:
    """A pattern from a sentence the package rendered with sentinel values: each sentinel
    text in ``slots`` (slot -> text) becomes a named group, the rest is matched literally
    (Markdown emphasis dropped, as on the page)."""
    text = rendered.replace("**", "")
    pattern = re.escape(text)
    for slot, sentinel in slots.items():
        escaped = re.escape(sentinel)
        assert escaped in pattern, (name, sentinel, text)
        group = {"tier": _TIER, "t0": _MONTH}.get(slot) or _SLOT.format(slot)
        pattern = pattern.replace(escaped, group, 1)
    for word in plurals:  # "1 account manager", "7 account managers"
        pattern = pattern.replace(re.escape(word), re.escape(word[:-1]) + "s?")
    return Template(name, re.compile(pattern), keys, tuple(sums))


def _upgrade_templates() -> list[Template]:
    """:func:`bankanalysis.report.actions.upgrade_text`, its sentences with a figure, gap
    shown and withheld: the region's candidates, AUM gap, rising and unassigned candidates,
    each the sum of its column of the upgrade list (one row per outlet)."""
    table = "outlet"
    out = []
    for gap, gap_text in ((3_330_000, "3.33 m CNY"), (Suppressed(K, "secondary"), None)):
        m = {
            "upgrade_candidates": 4444,
            "upgrade_aum_gap": gap,
            "upgrade_candidates_rising": 5555,
            "upgrade_candidates_unassigned": 6666,
        }
        text = upgrade_text(m, 0.25, 17, "CNY", 7).replace("**", "")
        slots = {"count": "4,444", "within": "25%", "gap": gap_text, "rising": "5,555",
                 "months": "17", "unassigned": "6,666", "managers": "7 account"}  # fmt: skip
        keys = {"count": "upgrade_candidates", "gap": "upgrade_aum_gap",
                "rising": "upgrade_candidates_rising",
                "unassigned": "upgrade_candidates_unassigned"}  # fmt: skip
        columns = {"count": "upgrade candidates", "gap": "aum gap of the upgrade candidates",
                   "rising": "upgrade candidates with rising aum",
                   "unassigned": "upgrade candidates without an account manager"}  # fmt: skip
        for sentence in _SENTENCE_END.split(text):
            mine = {k: v for k, v in slots.items() if v and v in sentence}
            if not set(mine) & set(keys):
                continue
            if "managers" in mine:
                mine["managers"] = "7"
            out.append(
                _template(
                    "upgrade_text", sentence, mine, {k: keys[k] for k in mine if k in keys},
                    [(k, table, columns[k]) for k in mine if k in columns], ["account managers"],
                )
            )  # fmt: skip
    return out


def _templates() -> list[Template]:
    """The package's sentences that state a figure's subject (rendered, then generalised)."""
    migration = {
        "upward_migration_rate": 0.111,
        "downward_migration_rate": 0.0222,
        "stock_retention": 0.333,
        "gained_customers": 4444,
        "lost_customers": 5555,
    }
    return [
        _template(
            "concentration_text",
            concentration_text("quality", 0.4567),
            {"tier": tier_label("quality"), "share": "45.7%"},
            {"share": "aum_share[tier_at_least={tier}]"},
        ),
        _template(
            "migration_text",
            migration_text(migration, "1999-01"),
            {
                "t0": "1999-01",
                "up": "11.1%",
                "down": "2.2%",
                "retention": "33.3%",
                "gained": "4,444",
                "lost": "5,555",
            },
            {
                "up": "upward_migration_rate",
                "down": "downward_migration_rate",
                "retention": "stock_retention",
                "gained": "gained_customers",
                "lost": "lost_customers",
            },
        ),  # fmt: skip
        _template(
            "population_text",
            population_text(7777, 88888, "1999-01"),
            {"region": "7,777", "t0": "1999-01", "bank": "88,888"},
            {"region": "customers"},
        ),
        *_upgrade_templates(),
    ]


#: The package's sentences whose subject the attacker reads (see :func:`_templates`).
TEMPLATES: list[Template] = []


def templates() -> list[Template]:
    """:data:`TEMPLATES`, rendered once (nothing is computed on import)."""
    if not TEMPLATES:  # one template per pattern (a sentence shared by two variants once)
        TEMPLATES.extend({t.pattern.pattern: t for t in _templates()}.values())
    return TEMPLATES


def _tier_id(label: str) -> str:
    return next(t for t in TIERS if tier_label(t) == label)


# --------------------------------------------------------------------------- what is published


def _metrics_file(run_dir: Path, page: str) -> Path:
    return Path(run_dir) / Path(page).with_suffix("") / "metrics.json"


def _published(
    run_dir: Path, tables: list[HtmlTable], k: int
) -> list[tuple[str, str, float, float]]:
    """Every number the run publishes outside its prose: ``(page, kind, lower, upper)`` of
    every number in every table cell (text cells too: "0.7 pp above") and every value of every
    ``metrics.json`` (a fraction also as percent, since shares are recorded as fractions)."""
    out = []
    for t in tables:
        money = [bool(re.search(r"\([A-Z]{3}\)", h)) for h in t.header]
        for row in t.rows:
            for j, cell in enumerate(row):
                for f in sentence_figures(cell, k):
                    if not f.small:  # a bare number under "(CNY)" is money
                        kind = "money" if f.kind == "number" and money[j] else f.kind
                        out.append((t.page, kind, abs(f.lower), abs(f.upper)))
    for f in sorted(Path(run_dir).rglob("metrics.json")):
        page = (f.parent.with_suffix(".html")).relative_to(run_dir).as_posix()
        data = json.loads(f.read_text(encoding="utf-8"))
        for key, v in data.items():
            if key.startswith("_") or isinstance(v, bool) or not isinstance(v, int | float):
                continue
            for kind, value in (("number", v), ("money", v), ("minutes", v), ("products", v),
                                ("percent", 100 * v)):  # fmt: skip
                out.append((page, kind, abs(value), abs(value)))
    return out


def _parameters(run_dir: Path, page: str, k: int) -> set[float]:
    """The report's parameters (its appendix's parameter table) as numbers, fractions also as
    percent, with ``k`` and ``k - 1`` (the small-group rule the sentences explain)."""
    text = (Path(run_dir) / page).read_text(encoding="utf-8")
    out = {float(k), float(k - 1)}
    for table in re.findall(r'<table[^>]*class="[^"]*params[^"]*".*?</table>', text, re.S):
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S):
            for f in sentence_figures(re.sub(r"<[^>]+>", " ", cell), k):
                v = (f.lower + f.upper) / 2
                out |= {round(v, 6), round(100 * v, 6)}
    return out


#: A number followed by one of these words counts things that are not customers' figures:
#: KPIs, targets, periods, tables' rows, standard deviations, seeds.
_DOCUMENTED_AFTER = re.compile(
    r"^\s*(?:of\s+(?:the\s+)?\d+\s+)?(?:plan\s+|region\s+|behaviour\s+)?(?:kpis?|targets?(?:\(s\))?|"
    r"months?|month-ends?|quarters?|years?|weeks?|days?|windows?|monthly|quarterly|"
    r"regions?|echelons?|outlets?|figures?|cells?|more moved|unchanged|standard deviations?|"
    r"seeds?|segments?|behaviour segments?|products? shown|reports?|tiers?)\b",
    re.IGNORECASE,
)
_DOCUMENTED_BEFORE = re.compile(
    r"(?:echelon|rank|top|last|first|k\s*=|fewer than|1 to)\s*$",
    re.IGNORECASE,
)


def documented_kind(sentence: str, fig: Figure, parameters: set[float]) -> str | None:
    """Why a number of a sentence is not a figure of customers, or ``None``: ``"parameter"``
    (a value of the report's parameter table, ``k`` or ``k - 1``), ``"count of ..."`` (KPIs,
    targets, periods, regions, outlets, cells: followed by such a word), ``"place"`` (an
    echelon's number, a rank, "top 5", "last 3", "6 of 12")."""
    v = round((fig.lower + fig.upper) / 2, 6)
    if fig.kind in ("number", "percent") and abs(v) in parameters:
        return "parameter"
    after = sentence[fig.end :]
    rule = re.match(r"\s*to\s+(\d+)\b", after)
    if v == 1 and rule and float(rule.group(1)) in parameters:
        return "parameter"  # "1 to 9 customers": the small-group rule
    if fig.whole and _DOCUMENTED_AFTER.match(after):
        return "count of " + _DOCUMENTED_AFTER.match(after).group(0).strip().lower()
    if fig.whole and _DOCUMENTED_BEFORE.search(sentence[: fig.start]):
        return "place"
    return None


def _overlaps(intervals: np.ndarray, lo: float, hi: float) -> bool:
    """Whether any of ``intervals`` (a 2 x n array of lower and upper ends) meets ``[lo,
    hi]``."""
    return bool(np.any((intervals[0] <= hi + 1e-9) & (lo <= intervals[1] + 1e-9)))


def derived(fig: Figure, others: list[Figure], published: np.ndarray) -> bool:
    """Whether a number of a sentence is worked out from published ones: the difference of
    another figure of the sentence and a figure of the sentence or a published one of the
    same kind ("34,662 CNY against the target of 48,100 CNY, 13,438 CNY short"; "fell 31,779
    CNY since 2026-09, to 1,400,987 CNY" with the month before published), or, in percent,
    the ratio of two figures of the sentence ("120 customers (19.5% of the region's 615)").
    Only figures of the sentence that are themselves printed elsewhere (``published``, the
    same kind's intervals) count, so that two new figures never vouch for each other."""
    lo, hi = sorted((abs(fig.lower), abs(fig.upper)))
    rest = [f for f in others if f != fig and not f.small]
    rest = [f for f in rest if _overlaps(published, *sorted((abs(f.lower), abs(f.upper))))]
    same = [f for f in rest if f.kind == fig.kind]
    partners = np.array([[abs(f.lower) for f in same], [abs(f.upper) for f in same]])
    if fig.kind != "number":  # a change of a money or percent figure: the other end published
        partners = np.hstack([partners, published])
    partners = partners[:, partners[0] > 0]  # a zero partner would make every figure derived
    for a in same:
        a_lo, a_hi = sorted((abs(a.lower), abs(a.upper)))
        # |a - b| in [lo, hi]  <=>  b in [a - hi, a - lo] or b in [a + lo, a + hi]
        if _overlaps(partners, a_lo - hi, a_hi - lo) or _overlaps(partners, a_lo + lo, a_hi + hi):
            if not (a_lo <= hi and lo <= a_hi):  # not the figure itself printed twice
                return True
    if fig.unit == "%":
        for a in rest:
            for b in rest:
                if a is b or b.lower <= 0 or a.kind != b.kind:
                    continue
                if 100 * a.lower / b.upper <= hi + 1e-9 and lo <= 100 * a.upper / b.lower + 1e-9:
                    return True
    return False


# --------------------------------------------------------------------------- the attack


def template_figures(sentences: list[Sentence]) -> list[tuple[Sentence, Template, dict]]:
    """Every sentence a template of :data:`TEMPLATES` reads, with the slots it matched."""
    out = []
    for s in sentences:
        for t in templates():
            for m in t.pattern.finditer(s.text):
                out.append((s, t, m.groupdict()))
    return out


def stated_relations(
    sentences: list[Sentence], tables: list[HtmlTable]
) -> dict[int, list[tuple[str, list[tuple[int, int]], float, float]]]:
    """The linear relations the sentences state about a table of their page, for
    :func:`attacker.linear_leaks` (``stated=``): "Customers in the VIP tier and above hold
    67.0% of the region's AUM" makes the "Share of AUM (%)" cells of VIP and every tier above
    it in the page's tier table add up to 66.95 .. 67.05."""
    out: dict[int, list] = {}
    for s, t, slots in template_figures(sentences):
        for slot, first, column in t.sums:
            figs = sentence_figures(slots[slot])
            if len(figs) != 1 or figs[0].small:
                continue
            for ti, table in enumerate(tables):
                labels = [r[0] for r in table.rows]
                if table.page != s.page or _norm(table.header[0]) != first:
                    continue
                if len(set(labels)) != len(labels):
                    continue  # several rows per unit (the pipeline's per target tier)
                rows = [i for i, r in enumerate(table.rows) if _level(r[0], set()) == 0]
                for j, head in enumerate(table.header):
                    if re.sub(r"\s*\(.*?\)", "", _norm(head)) == column:
                        what = f"{head}: the units add up to {slots[slot]} ({t.name})"
                        cells = [(i, j) for i in rows]
                        out.setdefault(ti, []).append((what, cells, figs[0].lower, figs[0].upper))
        if t.name != "concentration_text":
            continue
        (fig,) = sentence_figures(slots["share"])
        if fig.small:
            continue
        above = {_norm(tier_label(x)) for x in TIERS[TIERS.index(_tier_id(slots["tier"])) :]}
        for ti, table in enumerate(tables):
            if table.page != s.page or _norm(table.header[0]) != "tier":
                continue
            cols = [j for j, h in enumerate(table.header) if _norm(h).startswith("share of aum")]
            rows = [i for i, r in enumerate(table.rows) if _norm(r[0]) in above]
            for j in cols:
                what = f"{table.header[j]}: {slots['tier']} and above = {slots['share']} ({t.name})"
                out.setdefault(ti, []).append((what, [(i, j) for i in rows], fig.lower, fig.upper))
    return out


def _kpi_words(header: str) -> str:
    """A column's header as the sentences name its figure: units in brackets dropped."""
    return re.sub(r"\s*\(.*?\)", "", _norm(header)).strip()


def _names(sentence: str, label: str) -> bool:
    """Whether a sentence names a unit (as a whole word, not as "VIP-and-above" or "VIP tier
    and above", which are sums of units)."""
    pattern = r"(?<![\w-])" + re.escape(_norm(label)) + r"(?![\w-])(?!\s+tier and above)"
    return re.search(pattern, _norm(sentence)) is not None


def _first_mention(clause: str, labels: list[str]) -> int:
    """Where a clause first names one of ``labels`` (its length when it names none)."""
    starts = [len(clause)]
    for label in labels:
        pattern = r"(?<![\w-])" + re.escape(" ".join(label.split())) + r"(?![\w-])"
        m = re.search(pattern, clause, re.IGNORECASE)
        if m is not None and label.strip():
            starts.append(m.start())
    return min(starts)


def _without_names(clause: str, labels: list[str]) -> str:
    """The clause with every mention of ``labels`` blanked (as :func:`_first_mention` finds
    them), so that the digits of a name are not read as figures."""
    for label in sorted((lb for lb in labels if lb.strip()), key=len, reverse=True):
        pattern = r"(?<![\w-])" + re.escape(" ".join(label.split())) + r"(?![\w-])"
        clause = re.sub(pattern, lambda m: " " * len(m.group(0)), clause, flags=re.IGNORECASE)
    return clause


def prose_leaks(
    run_dir: Path,
    tables: list[HtmlTable],
    sentences: list[Sentence] | None = None,
    k: int = K,
) -> dict:
    """Attack C over a run's prose (see the module's docstring).

    Returns ``{"sentences": n, "numbers": n, "matched": n, "documented": n, "new": [...],
    "leak": [...], "ambiguous": [...], "templated": n, "stated": {...}}``: ``new`` lists
    ``(page, sentence, number)`` printed by no table and no ``metrics.json`` of the run's
    pages the sentence's page may be compared with, and of no documented kind; ``leak``
    lists ``(page, what, withheld, sentence)`` of a figure the sentence prints for a
    withheld cell or key; ``ambiguous`` the clauses naming a withheld cell's unit and figure
    with a number of its kind outside what its marker allows (for a reader); ``stated`` is
    for :func:`attacker.linear_leaks`.
    """
    run_dir = Path(run_dir)
    sentences = run_prose(run_dir) if sentences is None else sentences
    published = _published(run_dir, tables, k)
    params: dict[str, set[float]] = {}
    out: dict = {"new": [], "small": [], "leak": [], "ambiguous": []}
    numbers = matched = documented = derived_n = 0
    near: dict[tuple[str, str], np.ndarray] = {}
    # (b) closure
    for s in sentences:
        if s.page not in params:
            params[s.page] = _parameters(run_dir, s.page, k)
        for fig in sentence_figures(s.text, k):
            if fig.small:
                continue
            numbers += 1
            lo, hi = sorted((abs(fig.lower), abs(fig.upper)))
            if fig.lower < 0 < fig.upper:
                lo = 0.0
            key = (_scope(s.page), fig.kind)
            if key not in near:
                rows = [(a, b) for page, kind, a, b in published
                        if kind == fig.kind and _comparable(page, s.page)]  # fmt: skip
                near[key] = np.array(rows or [(np.nan, np.nan)], dtype=float).T
            mine = near[key]
            why = documented_kind(s.text, fig, params[s.page])
            if why and why != "parameter":  # said by the sentence's own words
                documented += 1
            elif _overlaps(mine, lo, hi):
                matched += 1
            elif why:
                documented += 1
            elif derived(fig, sentence_figures(s.text, k), mine):
                derived_n += 1
            else:
                out["new"].append((s.page, s.text, fig.text))
                if fig.whole and 1 <= (fig.lower + fig.upper) / 2 <= k - 1:
                    out["small"].append((s.page, s.text, fig.text))
    # (a) templated figures against the page's metrics.json
    templated = 0
    for s, t, slots in template_figures(sentences):
        f = _metrics_file(run_dir, s.page)
        data = json.loads(f.read_text(encoding="utf-8")) if f.exists() else {}
        for slot, key in t.keys.items():
            key = key.format(tier=_tier_id(slots["tier"]) if "tier" in slots else "")
            templated += 1
            figs = sentence_figures(slots[slot], k)
            if key in data and data[key] is None and figs and not figs[0].small:
                out["leak"].append((s.page, f"{t.name}: {key}", "withheld in metrics.json", s.text))
    # (a) a clause naming a withheld table cell's unit and figure
    named, out["leak"], out["ambiguous"] = clause_twins(tables, sentences, k, out["leak"])
    out.update(
        sentences=len(sentences), numbers=numbers, matched=matched, documented=documented,
        derived=derived_n, templated=templated, named=named,
        stated=stated_relations(sentences, tables),
    )  # fmt: skip
    return out


def _clauses(sentence: str) -> tuple[str, list[str]]:
    """A sentence's lead (the words before its first colon: "R01, 2026-10", "South") and its
    clauses (split at semicolons and colons)."""
    parts = re.split(r"[;:]\s", sentence)
    lead = parts[0] if len(parts) > 1 and ": " in sentence else ""
    return lead, parts[1:] if lead else parts


def clause_twins(
    tables: list[HtmlTable], sentences: list[Sentence], k: int = K, leak: list | None = None
) -> tuple[int, list, list]:
    """Twins in words: a clause (read up to where it names another unit of the table: in "4,
    29 below the bank (33)" the bank's figures follow) that names a withheld cell's unit (its
    row's first label, in the clause or in the sentence's lead whose other units are not
    named; on a region's own report a clause naming no unit of the table is about the region,
    :attr:`Sentence.subject`) and every other label of the cell (the row's other labels, the
    column's header without its unit in brackets), and prints a number of the cell's kind
    (:func:`_same_kind`; documented kinds left out). The number is a ``leak`` when it can be
    the withheld figure (``<k``: 1 to ``k - 1``; ``x``: any), ``ambiguous`` otherwise.
    Returns ``(clauses read, leak, ambiguous)``."""
    leak, ambiguous, named = list(leak or []), [], 0
    read = [(s, _norm(s.text), *_clauses(s.text)) for s in sentences]
    documented = {float(k), float(k - 1)}
    for t in tables:
        n = t.label_columns(k)
        for row in t.rows:
            unit = _norm(row[0])
            for j in range(n, len(t.header)):
                marker = row[j].strip()
                # a row labelled by a number (products held: 0, 1, 2) is no unit a sentence
                # names: "1" in "1 to k-1 customers" is not that row (the 120-region bank)
                if marker not in (f"<{k}", "x") or not unit or unit.replace(".", "").isdigit():
                    continue
                words = [_kpi_words(w) for w in [*row[1:n], t.header[j]] if _kpi_words(w)]
                for s, text, lead, clauses in read:
                    subject = _norm(s.subject)
                    implicit = subject == unit  # "the region" on its own report
                    if (unit not in text and not implicit) or not _comparable(s.page, t.page):
                        continue
                    for clause in clauses:
                        context = _norm(f"{lead} {clause}")
                        if not all(w in context or w == subject for w in words):
                            continue
                        # the clause up to where it names another unit of the table ("...,
                        # 29 below the bank (33)": the bank's figures follow)
                        clause = clause[
                            : _first_mention(clause, [r[0] for r in t.rows if r[0] != row[0]])
                        ]
                        if not _names(f"{lead} {clause}", row[0]) and not (
                            implicit and not any(_names(lead, r[0]) for r in t.rows)
                        ):
                            continue
                        if any(r[0] != row[0] and _names(lead, r[0]) for r in t.rows):
                            continue  # the lead names two units: whose figure is it?
                        # a number inside a unit's name ("Branch 2", the hostile outlet
                        # "alert(2)") is part of the name, not a figure of the clause
                        unnamed = _without_names(clause, [r[0] for r in t.rows])
                        figs = [f for f in sentence_figures(unnamed, k) if not f.small]
                        figs = [
                            f for f in figs
                            if not documented_kind(clause, f, documented)
                            and _same_kind(f, " ".join([*row[1:n], t.header[j]]))
                        ]  # fmt: skip
                        if not figs:
                            continue
                        named += 1
                        fits = [
                            f for f in figs if marker == "x" or (f.upper >= 1 and f.lower <= k - 1)
                        ]
                        where = (t.name, row[0], t.header[j], marker)
                        found = (s.page, where, clause, [f.text for f in figs])
                        (leak if fits else ambiguous).append(found)
    return named, leak, ambiguous


def _same_kind(fig: Figure, header: str) -> bool:
    """Whether a number of a sentence is of the kind a column prints: a percent for a column
    in percent, money for a currency column, a whole number for a count."""
    if "(%)" in header or _norm(header).startswith("share"):
        return fig.kind == "percent" and fig.unit == "%"
    if re.search(r"\([A-Z]{3}\)", header):
        return fig.kind == "money"
    return fig.whole


__all__ = [
    "Figure",
    "Sentence",
    "Template",
    "documented_kind",
    "page_prose",
    "prose_leaks",
    "run_prose",
    "sentence_figures",
    "stated_relations",
    "templates",
]
