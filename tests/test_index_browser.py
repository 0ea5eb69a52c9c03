"""The run index in a real browser (Debian's Chromium via Playwright, offline): with 120
regions, typing an outlet's name shows it with its region's report links, a click on a KPI
heading reorders the rows, the echelon filter hides the other echelons, and hostile names
never run. Fails (never skips) without chromium, like ``tests/test_browser.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bankanalysis.report.index import index_html

pytestmark = pytest.mark.browser

EVIL = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _manifest(n: int = 120) -> dict:
    regions = [
        {"region_id": f"R{i:03d}", "name": f"Region {i:03d}", "echelon": f"{1 + i % 3} (e)"}
        for i in range(n)
    ]
    regions[5]["name"] = EVIL
    outlets = [
        {"name": f"Outlet {i:03d}-{k}", "region_id": f"R{i:03d}"}
        for i in range(n)
        for k in range(2)
    ]
    outlets[0]["name"] = IMG
    outlets.append({"name": "幸福路支行", "region_id": "R077"})
    jobs = [
        {
            "region_id": f"R{i:03d}",
            "notebook": nb,
            "status": "ok",
            "html": f"R{i:03d}/{nb}.html",
            # customers fall with i, product coverage rises: sorting either way is visible
            "metrics": {"customers": 10_000 - 7 * i, "product_coverage": i / 1000},
        }
        for i in range(n)
        for nb in ("01_customer_segmentation", "03_outlet_benchmarking")
    ]
    return {
        "run_id": "browse",
        "status": "complete",
        "currency": "CNY",
        "notebooks": ["01_customer_segmentation", "03_outlet_benchmarking"],
        "regions": regions,
        "outlets": outlets,
        "data": {"fingerprint": "fp", "data_month": "2024-03"},
        "jobs": jobs,
    }


@pytest.fixture(scope="module")
def index_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("index") / "index.html"
    path.write_text(index_html(_manifest()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser():
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).is_file():
        pytest.fail("Debian's chromium is not installed: scripts/ensure_system_deps.sh --browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _open(browser, path: Path, javascript: bool = True):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
    )
    pg = context.new_page()
    pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    pg.goto(path.as_uri())
    pg.wait_for_load_state("load")
    return pg


@pytest.fixture(scope="module")
def page(browser, index_file):
    dialogs: list[str] = []
    errors: list[str] = []
    pg = _open(browser, index_file)
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.reload()
    pg.wait_for_load_state("load")
    yield pg
    assert dialogs == [] and errors == [], (dialogs, errors)
    pg.context.close()


@pytest.fixture(autouse=True)
def _reset(page):
    """Each test starts from the whole list (the page is shared by the module)."""
    page.fill("#search", "")
    page.select_option("#echelon", "")
    yield


def _visible_names(pg) -> list[str]:
    return pg.eval_on_selector_all(
        "#regions tbody tr:not([hidden]) th.name", "els => els.map(e => e.textContent)"
    )


def test_controls_appear_and_every_region_is_listed(page) -> None:
    assert page.is_visible("#search") and page.is_visible("#echelon")
    assert len(_visible_names(page)) == 120
    assert page.text_content("#shown") == "120 of 120 regions shown"
    assert EVIL in _visible_names(page)


def test_typing_an_outlet_name_shows_it_with_its_regions_reports(page) -> None:
    page.fill("#search", "幸福路")
    hits = page.locator("#outlets li:not([hidden])")
    assert hits.count() == 1
    assert page.is_visible("#outlets li:not([hidden])")  # the list opened by itself
    links = hits.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert links == ["R077/01_customer_segmentation.html", "R077/03_outlet_benchmarking.html"]
    assert _visible_names(page) == ["Region 077"]
    assert page.text_content("#shown") == "1 of 120 regions shown, 1 outlet found"
    page.fill("#search", IMG[:8])
    assert page.locator("#outlets li:not([hidden])").count() == 1
    assert _visible_names(page) == ["Region 000"]
    page.fill("#search", "")
    assert len(_visible_names(page)) == 120


def test_clicking_a_kpi_heading_sorts_the_rows(page) -> None:
    heading = page.locator("#regions thead th", has_text="Product coverage")
    heading.click()  # numbers: largest first
    names = _visible_names(page)
    assert names[:2] == ["Region 119", "Region 118"] and names[-1] == "Region 000"
    assert heading.get_attribute("aria-sort") == "descending"
    heading.click()
    assert _visible_names(page)[:2] == ["Region 000", "Region 001"]
    page.locator("#regions thead th", has_text="Customers").click()
    assert _visible_names(page)[0] == "Region 000"  # 10,000 customers, the most


def test_the_echelon_filter_hides_the_other_echelons(page) -> None:
    page.select_option("#echelon", "2 (e)")
    shown = page.eval_on_selector_all(
        "#regions tbody tr:not([hidden])", "els => els.map(e => e.dataset.echelon)"
    )
    assert len(shown) == 40 and set(shown) == {"2 (e)"}
    assert page.text_content("#shown") == "40 of 120 regions shown"
    page.fill("#search", "Region 004")  # echelon 2: 4 % 3 = 1
    assert _visible_names(page) == ["Region 004"]
    page.fill("#search", "Region 003")  # echelon 1: filtered out
    assert _visible_names(page) == []
    page.fill("#search", "")
    page.select_option("#echelon", "")
    assert len(_visible_names(page)) == 120


def test_without_script_the_index_is_a_plain_table_and_list(browser, index_file) -> None:
    pg = _open(browser, index_file, javascript=False)
    try:
        assert not pg.is_visible("#search")  # controls need the script, so they stay hidden
        assert len(_visible_names(pg)) == 120
        pg.click("#outlets summary")  # the outlet list opens by hand
        assert pg.locator("#outlets li:visible").count() == 241
        # the page never gets wider than a 1,280 px window: the wide table scrolls in its box
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280
    finally:
        pg.context.close()
