"""Privacy and safety of what leaves the machine: reports, index, lead lists, parameters.

Fast checks run on hand-made inputs; the ``slow`` ones scan a real batch (every notebook, two
regions) of the CI bank with hostile region and outlet names (:mod:`hostile`):

- no customer id or manager id of the data appears in any HTML page;
- customer counts below ``min_group_size`` are not shown in any report table;
- lead lists carry ids, never name- or phone-like columns or values;
- ``<script>``, quotes and ampersands in names appear as text, never as markup;
- YAML is loaded safely, parameters are never evaluated, unsafe ids never reach a path.
"""

from __future__ import annotations

import ast
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from hostile import IMG_NAME, QUOTES_NAME, SCRIPT_NAME, HostileBatch

from bankanalysis.exceptions import ParameterError
from bankanalysis.params import CommonParams, load_params
from bankanalysis.report.html import ReportHeader, header_html
from bankanalysis.report.index import INDEX_SCRIPT, index_html
from bankanalysis.rules.disclosure import suppress_small_groups

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "bankanalysis"


# --------------------------------------------------------------------------- HTML parsing


class _Page(HTMLParser):
    """Text outside ``<script>``/``<style>``, script bodies, event-handler attributes, tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.handlers: list[tuple[str, str, str]] = []
        self.tables: list[list[list[str]]] = []
        self._in: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.handlers.append((tag, name, value or ""))
        if tag == "script":
            self.scripts.append("")
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag in self._in:
            while self._in and self._in.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "script" in self._in:
            self.scripts[-1] += data
        elif "style" not in self._in:
            self.text.append(data)
            if self._cell is not None:
                self._cell.append(data)


def parse_page(html_text: str) -> _Page:
    """Parse one HTML page."""
    page = _Page()
    page.feed(html_text)
    page.close()
    return page


_DATA_URI = re.compile(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def tokens_of(html_text: str) -> set[str]:
    """Every maximal run of id characters in a page, embedded images left out."""
    return set(_TOKEN.findall(_DATA_URI.sub(" ", html_text)))


# --------------------------------------------------------------------------- fast checks


def test_page_parser_tells_text_from_markup() -> None:
    """The checks below rely on this: escaped names are text, raw ones are elements."""
    escaped = parse_page("<p>&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien &amp; co</p>")
    assert "<script>alert(1)</script> O'Brien & co" in "".join(escaped.text)
    assert escaped.scripts == [] and escaped.handlers == []
    raw = parse_page('<p><script>alert(1)</script><img src=x onerror="alert(2)"></p>')
    assert raw.scripts == ["alert(1)"]
    assert raw.handlers == [("img", "onerror", "alert(2)")]
    assert SCRIPT_NAME not in "".join(raw.text)
    table = parse_page(
        "<table><tr><th>tier</th><th>customers</th></tr><tr><td>vip</td><td>4</td></tr></table>"
    )
    assert table.tables == [[["tier", "customers"], ["vip", "4"]]]
    assert tokens_of('<img src="data:image/png;base64,QzAwMDEyMw=="> C000123') == {
        "img",
        "src",
        "C000123",
    }


def test_personal_column_names_are_recognised() -> None:
    personal = ["name", "customer_name", "Full Name", "phone", "mobile_no", "email", "address"]
    personal += ["birth_date", "id_card", "tel", "姓名", "手机号"]
    things = ["customer_id", "product", "product_name", "outlet_name", "score", "hotel_points"]
    assert [c for c in personal if not is_personal_column(c)] == []
    assert [c for c in things if is_personal_column(c)] == []


def test_small_groups_are_blanked_at_the_threshold() -> None:
    df = pd.DataFrame(
        {
            "tier": ["mass", "quality", "vip", "private_banking"],
            "customers": [120, 10, 9, 1],
            "aum": [1.2e6, 2.5e6, 8.0e6, 7.0e6],
        }
    )
    out = suppress_small_groups(df, "customers", 10)
    assert out["suppressed"].tolist() == [False, False, True, True]
    assert out["customers"].tolist()[:2] == [120.0, 10.0]
    assert out["customers"].iloc[2:].isna().all() and out["aum"].iloc[2:].isna().all()
    assert out["aum"].tolist()[:2] == [1.2e6, 2.5e6]
    assert out["tier"].tolist() == df["tier"].tolist(), "labels must stay"
    stricter = suppress_small_groups(df, "customers", 121)
    assert stricter["suppressed"].all()


def test_index_and_header_show_hostile_names_as_text() -> None:
    manifest = {
        "run_id": "r1",
        "status": "incomplete",
        "reason": IMG_NAME,
        "notebooks": ["01_customer_segmentation"],
        "regions": [{"region_id": "R1", "name": SCRIPT_NAME, "echelon": "1 (central city)"}],
        "jobs": [
            {
                "region_id": "R1",
                "notebook": "01_customer_segmentation",
                "status": "failed",
                "error": f"KeyError: {QUOTES_NAME}",
                "html": "R1/01_customer_segmentation.html",
                "metrics": {IMG_NAME: 1.0},
            }
        ],
    }
    header = ReportHeader(
        title=QUOTES_NAME,
        region_id="R1",
        region_name=SCRIPT_NAME,
        echelon="1",
        data_month="2024-03",
        parameters={"outlet": IMG_NAME},
        status="failed",
        error=IMG_NAME,
    )
    for page_html in (index_html(manifest), header_html(header)):
        page = parse_page(page_html)
        text = "".join(page.text)
        assert SCRIPT_NAME in text and QUOTES_NAME in text and IMG_NAME in text
        # the index's only script is its own search/sort code, which holds no data
        assert page.scripts in ([], [INDEX_SCRIPT]) and page.handlers == []


def test_styled_tables_escape_names_after_the_theme_is_set() -> None:
    """Notebooks style tables with pandas' Styler, which does not escape unless told to."""
    from bankanalysis.report.plots import set_theme

    set_theme()
    df = pd.DataFrame({"outlet": [IMG_NAME, QUOTES_NAME], "customers": [120, 340]})
    # (a blanket ``.format(...)`` replaces the default formatter: it needs escape="html" itself)
    styled = (
        df.style.hide(axis="index").to_html(),
        df.style.format(subset=["customers"], thousands=",").to_html(),
        df.style.format(precision=2, escape="html").to_html(),
    )
    for rendered in styled:
        page = parse_page(rendered)
        assert page.handlers == [] and page.scripts == []
        assert IMG_NAME in "".join(page.text) and QUOTES_NAME in "".join(page.text)


def _write_params(folder: Path, common: str) -> Path:
    (folder / "regions").mkdir(parents=True)
    (folder / "defaults.yaml").write_text(f"common:\n{common}\nnotebooks: {{}}\n", "utf-8")
    return folder


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/apply:subprocess.call [['touch', '{marker}']]",
        "!!python/object/new:builtins.str ['{marker}']",
        "!!python/name:os.system",
    ],
    ids=["apply_os_system", "apply_subprocess", "object_new", "python_name"],
)
def test_yaml_python_tags_are_refused_and_never_run(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "PWNED"
    params = _write_params(tmp_path / "params", "  min_group_size: " + tag.format(marker=marker))
    with pytest.raises(ParameterError) as err:
        load_params(params, "01_customer_segmentation", "R1")
    assert "defaults.yaml" in str(err.value)
    assert not marker.exists(), "a YAML tag executed code"


def test_parameter_strings_are_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    code = f"__import__('pathlib').Path('{marker}').touch() or 10"
    params = _write_params(tmp_path / "params", f'  min_group_size: "{code}"')
    with pytest.raises(ParameterError, match="min_group_size"):
        load_params(params, "01_customer_segmentation", "R1")
    assert not marker.exists()


@pytest.mark.parametrize("bad", ["../R1", "R1/../../etc", "/etc", "R1\\x", "R 1", "", ".", ".."])
def test_unsafe_ids_are_refused_before_any_path_is_built(tmp_path: Path, bad: str) -> None:
    params = _write_params(tmp_path / "params", "  min_group_size: 10")
    with pytest.raises(ParameterError, match="not a safe id"):
        load_params(params, "01_customer_segmentation", bad)
    with pytest.raises(ValueError, match="not a safe id"):
        CommonParams(run_id=bad)
    with pytest.raises(ValueError, match="not a safe id"):
        CommonParams(region_id=bad)


def _calls(tree: ast.AST) -> list[tuple[str, int, ast.Call]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            base = (
                f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            )
            out.append((f"{base}.{name}" if base else name, node.lineno, node))
    return out


def test_package_never_evaluates_text_or_loads_yaml_unsafely() -> None:
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        for name, line, node in _calls(ast.parse(path.read_text(encoding="utf-8"))):
            if name in (
                "eval",
                "exec",
                "yaml.unsafe_load",
                "yaml.full_load",
                "yaml.unsafe_load_all",
            ):
                offenders.append(f"{rel}:{line} {name}")
            if name in ("yaml.load", "yaml.load_all"):
                loader = [k for k in node.keywords if k.arg == "Loader"]
                ok = loader and ast.unparse(loader[0].value).endswith(("SafeLoader", "CSafeLoader"))
                if not ok:
                    offenders.append(f"{rel}:{line} {name} without SafeLoader")
            if any(k.arg == "shell" and ast.unparse(k.value) != "False" for k in node.keywords):
                offenders.append(f"{rel}:{line} {name}(shell=...)")
    assert not offenders, offenders


def test_restricted_files_are_listed_with_their_audience_never_as_outputs(tmp_path: Path) -> None:
    from bankanalysis.batch.execute import collect_outputs, collect_restricted
    from bankanalysis.batch.jobs import Job
    from bankanalysis.data.restricted import restricted_dir, write_restricted

    job = Job("R1", "02_cross_sell_propensity", tmp_path / "nb.ipynb", tmp_path / "run", {})
    job.output_dir.mkdir(parents=True)
    (job.output_dir / "metrics.json").write_text("{}", "utf-8")
    folder = restricted_dir(job.output_dir)
    write_restricted(folder, "leads_O1_am1.xlsx", b"x", "account manager 1 of outlet O1")
    (folder / "stray.csv").write_bytes(b"customer_id\nC1\n")  # written around the helper
    _, outputs = collect_outputs(job)
    assert outputs == ["R1/02_cross_sell_propensity/metrics.json"]
    assert collect_restricted(job) == [
        {
            "path": "R1/02_cross_sell_propensity/restricted/leads_O1_am1.xlsx",
            "audience": "account manager 1 of outlet O1",
        },
        {
            "path": "R1/02_cross_sell_propensity/restricted/stray.csv",
            "audience": "not recorded (restricted: holds customer or manager ids)",
        },
    ]
    # an older manifest listing a restricted file as an output still does not link it
    page = index_html(
        {
            "run_id": "r",
            "notebooks": ["02_cross_sell_propensity"],
            "regions": [{"region_id": "R1", "name": "R1", "echelon": 1}],
            "jobs": [
                {
                    "region_id": "R1",
                    "notebook": "02_cross_sell_propensity",
                    "status": "ok",
                    "outputs": ["R1/02_cross_sell_propensity/restricted/leads_O1_am1.xlsx"],
                }
            ],
        }
    )
    assert "restricted" not in page


# --------------------------------------------------------------------------- the real batch


@pytest.mark.run_level
@pytest.mark.slow
def test_every_report_of_the_hostile_batch_ran(ci_run: HostileBatch) -> None:
    manifest = json.loads((ci_run.run_dir / "manifest.json").read_text("utf-8"))
    bad = {
        j["name"]: (j["status"], j.get("error")) for j in manifest["jobs"] if j["status"] != "ok"
    }
    assert not bad, f"notebooks failed on names with markup in them: {bad}"
    regional = [j for j in manifest["jobs"] if j["region_id"] is not None]
    regions = {j["region_id"] for j in regional}
    assert {ci_run.region_a, ci_run.region_b} <= regions  # the batch's two (an audit: all)
    assert len(regional) == len(regions) * len({j["notebook"] for j in regional})
    assert ci_run.exit_code == 0


@pytest.mark.run_level
@pytest.mark.slow
def test_no_customer_or_manager_id_in_any_page(ci_run: HostileBatch) -> None:
    customers = pd.read_parquet(ci_run.processed / "customers.parquet")
    ids = {str(v) for v in customers["customer_id"].dropna()} | {
        str(v) for v in customers["manager_id"].dropna()
    }
    managers = ci_run.processed / "managers.parquet"
    if managers.is_file():
        ids |= {str(v) for v in pd.read_parquet(managers)["manager_id"].dropna()}
    assert len(ids) > 1000, "the CI bank should have thousands of customer ids"
    pages = ci_run.html_files
    assert len(pages) >= 1 + 2, pages
    leaks = {}
    for page in pages:
        found = tokens_of(page.read_text(encoding="utf-8")) & ids
        if found:
            leaks[page.relative_to(ci_run.run_dir).as_posix()] = sorted(found)[:5]
    assert not leaks, f"customer/manager ids in reports: {leaks}"


@pytest.mark.run_level
@pytest.mark.slow
def test_nothing_restricted_is_linked_or_shown_and_every_restricted_file_is_listed(
    ci_run: HostileBatch,
) -> None:
    """Files with customer or manager ids live in restricted/ folders, are listed in the
    manifest with an audience, and no page links them or shows their rows."""
    from bankanalysis.report.html import local_links

    run = ci_run.run_dir
    manifest = json.loads((run / "manifest.json").read_text("utf-8"))
    listed = {e["path"]: e["audience"] for e in manifest["restricted"]}
    on_disk = {
        p.relative_to(run).as_posix()
        for p in run.rglob("*")
        if p.is_file() and "restricted" in p.parts and not p.name.startswith(".")
    }
    assert on_disk, "the propensity reports wrote no restricted lead files"
    assert set(listed) == on_disk and all(listed.values())
    customers = pd.read_parquet(ci_run.processed / "customers.parquet")
    ids = {str(v) for v in customers["customer_id"].dropna()} | {
        str(v) for v in customers["manager_id"].dropna()
    }
    assert not tokens_of(json.dumps(manifest["restricted"])) & ids, "ids in the manifest"
    for job in manifest["jobs"]:
        assert not [o for o in job.get("outputs", []) if "restricted" in o], job["name"]
    rows = set()
    for path in on_disk:
        if path.endswith(".csv"):
            df = pd.read_csv(run / path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            if "customer_id" in df.columns:
                rows |= set(df["customer_id"])
    assert rows, "the restricted lead CSV holds no customers"
    for page in ci_run.html_files:
        html_text = page.read_text(encoding="utf-8")
        links = [link for link in local_links(html_text) if not link.startswith("data:")]
        assert not [link for link in links if "restricted" in link], page.name
        assert not tokens_of(html_text) & rows, f"{page.name} shows restricted rows"
    outside = [
        p.relative_to(run).as_posix()
        for p in run.rglob("*")
        if p.suffix in (".csv", ".xlsx") and "restricted" not in p.parts
    ]
    assert not outside, f"lead or customer files outside restricted/: {outside}"


_COUNT_HEADER = re.compile(
    r"^(n|count|customers|n_customers|customer_count|clients|客户数|人数)$|customers$", re.I
)


@pytest.mark.run_level
@pytest.mark.slow
def test_customer_counts_below_the_minimum_group_size_are_not_shown(
    ci_run: HostileBatch,
) -> None:
    from bankanalysis.params import load_params

    min_size = load_params(ROOT / "params", "01_customer_segmentation", None)["min_group_size"]
    shown = []
    n_count_columns = 0
    for page in ci_run.html_files[1:]:
        for table in parse_page(page.read_text(encoding="utf-8")).tables:
            if len(table) < 2:
                continue
            header = table[0]
            for j, name in enumerate(header):
                if not _COUNT_HEADER.search(name.strip()):
                    continue
                n_count_columns += 1
                for row in table[1:]:
                    cell = row[j].replace(",", "") if j < len(row) else ""
                    if re.fullmatch(r"\d+(\.0+)?", cell) and 0 < float(cell) < min_size:
                        shown.append((page.name, name, row))
    assert n_count_columns > 0, "no report table shows customer counts: the check saw nothing"
    assert not shown, f"groups smaller than {min_size} shown: {shown[:5]}"


_PERSONAL_COLUMN = re.compile(
    r"phone|mobile|(^|_)tel(_|$)|e-?mail|address|birth|id_?card|passport|姓名|电话|手机|地址|证件",
    re.I,
)
#: "name" columns are personal unless they name a thing (a product, an outlet...)
_THING_NAME = re.compile(
    r"^(product|outlet|region|branch|segment|tier|family|kpi|channel)[ _]?name$", re.I
)


def is_personal_column(name: str) -> bool:
    """Whether a column name looks like personal data (a person's name, phone, address...)."""
    name = str(name).strip()
    if _PERSONAL_COLUMN.search(name):
        return True
    return "name" in name.lower() and not _THING_NAME.match(name)


_PHONE_VALUE = re.compile(r"^\+?(86)?[ -]?1[3-9]\d[ -]?\d{4}[ -]?\d{4}$|^\d{3,4}-\d{7,8}$")


def _lead_lists(batch: HostileBatch) -> list[Path]:
    return sorted(
        p
        for p in batch.run_dir.rglob("*")
        if p.suffix in (".csv", ".xlsx") and "02_cross_sell_propensity" in p.parts
    )


def _frames(path: Path) -> list[tuple[bool, pd.DataFrame]]:
    """The tables of a lead file, each with whether it lists customers (a lead list)."""
    if path.suffix == ".csv":
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        return [(path.name.startswith("leads_"), df)]
    sheets = pd.read_excel(path, sheet_name=None, dtype=str)
    return [(name in ("Leads", "Upgrade candidates"), df) for name, df in sheets.items()]


@pytest.mark.run_level
@pytest.mark.slow
def test_lead_lists_carry_ids_never_names_or_phones(ci_run: HostileBatch) -> None:
    files = _lead_lists(ci_run)
    assert {p.suffix for p in files} == {".csv", ".xlsx"}, f"lead lists found: {files}"
    customers = set(
        pd.read_parquet(ci_run.processed / "customers.parquet")["customer_id"].astype(str)
    )
    for path in files:
        for is_list, df in _frames(path):
            if df.empty:
                continue
            # (pandas calls a header-less column "Unnamed: <i>": not a person's name)
            cols = [c for c in df.columns if not str(c).startswith("Unnamed: ")]
            bad_cols = [c for c in cols if is_personal_column(c)]
            assert not bad_cols, f"{path.name}: personal columns {bad_cols}"
            if is_list:
                id_col = "customer_id" if "customer_id" in df.columns else "Customer id"
                assert id_col in df.columns, f"{path.name}: leads must be identified by id"
                assert set(df[id_col]) <= customers
            for col in df.columns:
                values = df[col].astype(str)
                phones = values[values.str.match(_PHONE_VALUE)]
                assert phones.empty, (
                    f"{path.name}: phone-like values in {col!r}: {phones.head(3).tolist()}"
                )


@pytest.mark.slow
def test_hostile_names_appear_as_text_never_as_markup(ci_run: HostileBatch) -> None:
    a, b = ci_run.region_a, ci_run.region_b
    seen_quotes_in_b = False
    for page_path in ci_run.html_files:
        raw = page_path.read_text(encoding="utf-8")
        rel = page_path.relative_to(ci_run.run_dir).as_posix()
        page = parse_page(raw)
        text = "".join(page.text)
        assert not [s for s in page.scripts if "alert" in s], f"{rel}: a name became a script"
        assert not [h for h in page.handlers if "alert" in h[2]], f"{rel}: a name became a handler"
        assert "<b>bold</b>" not in raw, f"{rel}: a name became markup"
        if rel == "index.html" or rel.startswith(f"{a}/"):
            assert SCRIPT_NAME in text, f"{rel}: region {a}'s name is not shown as text"
        if rel.startswith(f"{b}/") and QUOTES_NAME in text:
            seen_quotes_in_b = True
    assert seen_quotes_in_b, f"no report of region {b} shows its outlet {QUOTES_NAME!r} as text"
