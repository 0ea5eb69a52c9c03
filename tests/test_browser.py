"""The reports in a real browser: Debian's Chromium driven by Playwright, fully offline.

Every page of the hostile batch (:mod:`hostile`: index + every report of two regions, with a
region called ``<script>alert(1)</script>``) is opened from ``file://`` with every other
request aborted. Each page must load with no console error, no failed or external request,
every image decoded (``naturalWidth > 0``) and no dialog (a name that executed would open
one); every link of the index must resolve. Screenshots of the index and one report go to
``build/artifacts/``.

Per report kind (overview, segmentation, propensity, benchmarking, index; issue 14 §9): the
summary (``#summary``) is the first content under the title, no page is wider than a 1,280 px
window (wide tables scroll in their box with the first column kept in view), every image is
decoded, drawn at 2x and has alt text, and the page prints to an A4 landscape PDF with nothing
clipped and the appendix expanded (screenshots ``<kind>-1280.png`` and ``<kind>.pdf`` in
``build/artifacts/``).

Playwright's own browser download does not work here: the test drives ``/usr/bin/chromium``
and FAILS (never skips) when it is missing; ``scripts/ensure_system_deps.sh --browser``
installs it (``.ci/run`` does).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from hostile import HostileBatch

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "build" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOW_TO_INSTALL = "run `scripts/ensure_system_deps.sh --browser` (as root; CI does) to install it"


def chromium_path() -> Path | None:
    """Debian's Chromium, if installed."""
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Debian's), shared by the tests of this module."""
    exe = chromium_path()
    if exe is None:
        pytest.fail(f"Debian's chromium is not installed: {HOW_TO_INSTALL}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dev dependency
        pytest.fail(f"playwright is missing ({exc}): `pip install -e '.[dev]'`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(exe), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@dataclass
class Visit:
    """What happened while a page loaded."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)

    def problems(self) -> list[str]:
        out = [f"console error: {e}" for e in self.console_errors]
        out += [f"failed request: {f}" for f in self.failed]
        out += [f"request outside file:// (blocked): {u}" for u in self.external]
        out += [f"dialog opened (a name was executed?): {d}" for d in self.dialogs]
        out += [
            f"image not decoded: {i['src']}"
            for i in self.images
            if not (i["complete"] and i["naturalWidth"] > 0)
        ]
        return out


def visit(browser, path: Path, screenshot: Path | None = None) -> Visit:
    """Open ``path`` offline and record everything that went wrong."""
    v = Visit(path.as_uri())
    context = browser.new_context(java_script_enabled=True)

    def route(r) -> None:
        url = r.request.url
        if url.startswith(("file://", "data:", "blob:")):
            r.continue_()
        else:
            v.external.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: v.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: v.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: v.failed.append(f"{r.url} ({r.failure})"))

    def on_dialog(d) -> None:
        v.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    try:
        page.goto(v.url, wait_until="load")
        page.wait_for_load_state("networkidle")
        v.images = page.eval_on_selector_all(
            "img",
            "els => els.map(e => ({src: (e.getAttribute('src') || '').slice(0, 80),"
            " complete: e.complete, naturalWidth: e.naturalWidth}))",
        )
        v.links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        v.ids = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    # dialogs already handled; external requests are also failed requests: report them once
    v.failed = [f for f in v.failed if not any(f.startswith(u) for u in v.external)]
    return v


def test_the_harness_sees_what_it_must_catch(browser, tmp_path: Path) -> None:
    """Control: an unescaped script, a broken image and a web font are all detected."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<html><head><link rel='stylesheet' href='https://cdn.example.com/x.css'></head><body>"
        "<script>alert(1)</script><img src='missing.png'><img src=x onerror=alert(2)>"
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    v = visit(browser, page)
    assert v.dialogs == ["1", "2"]
    assert v.external == ["https://cdn.example.com/x.css"]
    assert "boom" in " ".join(v.console_errors)
    assert sum(1 for i in v.images if i["naturalWidth"] == 0) == 2
    assert len(v.problems()) >= 5


def _local_file(url: str) -> Path:
    parts = urlsplit(url)
    assert parts.scheme == "file", f"link leaves the report folder: {url}"
    return Path(unquote(parts.path))


def test_index_and_every_report_render_offline(browser, ci_run: HostileBatch) -> None:
    pages = ci_run.html_files
    assert len(pages) >= 3, f"too few pages to check: {pages}"
    problems: dict[str, list[str]] = {}
    visits: dict[Path, Visit] = {}
    report_shot = None
    for path in pages:
        rel = path.relative_to(ci_run.run_dir).as_posix()
        shot = None
        if path.name == "index.html":
            shot = ARTIFACTS / "index.png"
        elif report_shot is None and rel.startswith(f"{ci_run.region_a}/"):
            shot = report_shot = ARTIFACTS / "report.png"
        v = visit(browser, path, shot)
        visits[path.resolve()] = v
        if v.problems():
            problems[rel] = v.problems()
    assert not problems, f"pages with problems: {problems}"
    assert (ARTIFACTS / "index.png").stat().st_size > 0
    assert report_shot is not None and report_shot.stat().st_size > 0
    n_images = sum(len(v.images) for p, v in visits.items() if p.name != "index.html")
    assert n_images >= len(pages) - 1, "reports should embed at least one chart each"

    index = visits[(ci_run.run_dir / "index.html").resolve()]
    assert index.links, "the index links nothing"
    linked_reports = set()
    for url in index.links:
        target = _local_file(url)
        assert target.is_file(), f"index link does not resolve: {url}"
        fragment = urlsplit(url).fragment
        if fragment and target.resolve() in visits:
            assert fragment in visits[target.resolve()].ids, f"anchor missing: {url}"
        if target.suffix == ".html":
            linked_reports.add(target.resolve())
    expected = {p.resolve() for p in pages if p.name != "index.html"}
    assert expected <= linked_reports, (
        f"reports not linked from the index: {sorted(str(p) for p in expected - linked_reports)}"
    )


# --------------------------------------------------------------------------- layout per report kind
# issue 14 §9: for each report kind, the summary first, no horizontal overflow in a 1,280 px
# window, no broken image, and a print to PDF (A4 landscape) with nothing clipped. Elements
# inside a scroll box (wide tables on screen) may extend past the window: the box scrolls them,
# and its first column stays in view. Screenshots and PDFs go to build/artifacts/.

#: Report kinds: the page of each in the hostile batch (``None``: a region's folder).
REPORT_KINDS = {
    "overview": "_bank/00_bank_overview.html",
    "segmentation": "{region}/01_customer_segmentation.html",
    "propensity": "{region}/02_cross_sell_propensity.html",
    "benchmarking": "{region}/03_outlet_benchmarking.html",
    "index": "index.html",
}
SCREEN_WIDTH = 1280
#: Printable width of A4 landscape with the stylesheet's 12 mm side margins, in CSS px.
A4_LANDSCAPE_PRINT_PX = round((297 - 2 * 12) / 25.4 * 96)

_OVERFLOW_JS = """(limit) => {
  const out = [];
  const scrolls = (e) => {
    for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
      if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
    return false;
  };
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || scrolls(e)) continue;
    const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
      + (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ')[0] : '');
    if (r.right > limit + 1) out.push(`${name} ends at ${Math.round(r.right)} px`);
    const ox = getComputedStyle(e).overflowX;
    if (ox !== 'visible' && e.scrollWidth > e.clientWidth + 1)
      out.push(`${name} clips ${e.scrollWidth - e.clientWidth} px`);
    if (e.tagName === 'TABLE' && e.scrollWidth > e.clientWidth + 1)
      out.push(`${name} wider than its box (${e.scrollWidth} > ${e.clientWidth})`);
  }
  return out.slice(0, 10);
}"""


def _kind_page(ci_run: HostileBatch, kind: str) -> Path:
    path = ci_run.run_dir / REPORT_KINDS[kind].format(region=ci_run.region_a)
    assert path.is_file(), f"{kind}: no report at {path}"
    return path


def _open(browser, path: Path, width: int, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.route(
        "**/*",
        lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort(),
    )
    page = context.new_page()
    page.goto(path.as_uri(), wait_until="load")
    return context, page


@pytest.mark.parametrize("kind", [k for k in REPORT_KINDS if k != "index"])
def test_each_report_opens_with_its_summary(browser, ci_run: HostileBatch, kind: str) -> None:
    """Right under the title (header) comes the element ``#summary``, before anything else."""
    context, page = _open(browser, _kind_page(ci_run, kind), SCREEN_WIDTH)
    try:
        first = page.evaluate(
            """() => {
              const main = document.querySelector('main.report-body');
              const blocks = [...main.querySelectorAll('.cell, .jp-Cell, section, div')]
                .filter(e => e.innerText.trim() !== '');
              const first = blocks[0];
              return first ? {summary: !!(first.id === 'summary' || first.querySelector('#summary')),
                              text: first.innerText.trim().slice(0, 80)} : null;
            }"""
        )
        assert page.locator("#summary").count() == 1, f"{kind}: no element #summary"
        assert first is not None and first["summary"], (
            f"{kind}: the first content after the title is not the summary but {first}"
        )
        header_bottom = page.eval_on_selector(
            "header.report", "e => e.getBoundingClientRect().bottom"
        )
        top = page.eval_on_selector("#summary", "e => e.getBoundingClientRect().top")
        assert top - header_bottom < 120, (
            f"{kind}: the summary starts {top - header_bottom} px down"
        )
    finally:
        context.close()


@pytest.mark.parametrize("kind", list(REPORT_KINDS))
def test_no_page_is_wider_than_a_1280px_window(browser, ci_run: HostileBatch, kind: str) -> None:
    context, page = _open(browser, _kind_page(ci_run, kind), SCREEN_WIDTH)
    try:
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= SCREEN_WIDTH, f"{kind}: page is {width} px wide"
        assert page.evaluate("getComputedStyle(document.documentElement).overflowX") != "hidden"
        beyond = [p for p in page.evaluate(_OVERFLOW_JS, SCREEN_WIDTH) if "ends at" in p]
        assert beyond == [], f"{kind}: {beyond}"
        # a wide table scrolls in its own box with its first column kept in view
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('.table-scroll, .output_html')]
                 .filter(b => b.querySelector('table') && b.scrollWidth > b.clientWidth + 1)
                 .map((b, i) => { b.scrollLeft = b.scrollWidth;
                   const cell = b.querySelector('tbody tr > :first-child');
                   return {i, shift: cell.getBoundingClientRect().left - b.getBoundingClientRect().left,
                           scrolled: b.scrollLeft,
                           sticky: getComputedStyle(cell).position}; })"""
        )
        for box in boxes:
            assert box["scrolled"] > 0 and box["sticky"] == "sticky", (kind, box)
            assert abs(box["shift"]) <= 2, f"{kind}: first column scrolled away {box}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{kind}-1280.png"), full_page=True)
        assert (ARTIFACTS / f"{kind}-1280.png").stat().st_size > 0
    finally:
        context.close()


@pytest.mark.parametrize("kind", list(REPORT_KINDS))
def test_images_decode_sharp_with_alt_text(browser, ci_run: HostileBatch, kind: str) -> None:
    context, page = _open(browser, _kind_page(ci_run, kind), SCREEN_WIDTH)
    try:
        page.wait_for_load_state("networkidle")
        images = page.eval_on_selector_all(
            "img",
            """els => els.map(e => ({complete: e.complete, natural: e.naturalWidth,
                 shown: e.getAttribute('width') ? Number(e.getAttribute('width')) : null,
                 alt: e.getAttribute('alt') || '', data: (e.src || '').startsWith('data:image/png')}))""",
        )
        broken = [i for i in images if not (i["complete"] and i["natural"] > 0)]
        assert broken == [], f"{kind}: broken images {broken}"
        for img in images:
            assert img["alt"].strip(), f"{kind}: an image without alt text"
            assert "No description has been provided" not in img["alt"], kind
            if img["data"] and img["shown"]:
                assert img["natural"] >= 1.9 * img["shown"], f"{kind}: chart not drawn at 2x {img}"
        if kind != "index":
            charts = [i for i in images if i["data"]]
            assert charts and all(i["alt"].startswith("Chart") for i in charts), kind
    finally:
        context.close()


@pytest.mark.parametrize("kind", list(REPORT_KINDS))
def test_print_to_pdf_a4_landscape_clips_nothing(browser, ci_run: HostileBatch, kind: str) -> None:
    path = _kind_page(ci_run, kind)
    context, page = _open(browser, path, A4_LANDSCAPE_PRINT_PX, 700)
    try:
        appendix = page.locator("#appendix table.params")
        if kind != "index":
            assert page.locator("#appendix").count() == 1, f"{kind}: no appendix"
            assert not appendix.is_visible(), f"{kind}: the appendix is not collapsed on screen"
        page.emulate_media(media="print")
        problems = page.evaluate(_OVERFLOW_JS, A4_LANDSCAPE_PRINT_PX)
        assert problems == [], f"{kind}: printed page clips or overflows: {problems}"
        if kind != "index":
            assert appendix.is_visible(), f"{kind}: the appendix is not expanded in print"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pdf = ARTIFACTS / f"{kind}.pdf"
        page.pdf(path=str(pdf), format="A4", landscape=True, print_background=True)
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF") and len(data) > 10_000
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
        assert boxes, f"{kind}: no page in the PDF"
        for w, h in boxes:  # A4 landscape: 842 x 595 pt
            assert abs(float(w) - 842) < 2 and abs(float(h) - 595) < 2, (kind, w, h)
    finally:
        context.close()


def test_layout_checks_see_what_they_must_catch(browser, tmp_path: Path) -> None:
    """Control: a page too wide, a table cut off in print and a hidden overflow are all caught."""
    from bankanalysis.report.html import REPORT_CSS

    wide = tmp_path / "wide.html"
    cells = "".join(f"<td>{'x' * 30}{i}</td>" for i in range(12))
    wide.write_text(
        f"<html><head><style>{REPORT_CSS}</style></head><body>"
        '<div style="width:1500px">too wide</div>'
        f'<div style="overflow:hidden;width:300px"><table><tr>{cells}</tr></table></div>'
        f"<table style='white-space:nowrap!important'><tr>{cells}</tr></table></body></html>",
        encoding="utf-8",
    )
    context, page = _open(browser, wide, SCREEN_WIDTH)
    try:
        assert page.evaluate("document.scrollingElement.scrollWidth") > SCREEN_WIDTH
        problems = " ".join(page.evaluate(_OVERFLOW_JS, SCREEN_WIDTH))
        assert "div ends at 1" in problems and "clips" in problems
        page.emulate_media(media="print")
        printed = page.evaluate(_OVERFLOW_JS, A4_LANDSCAPE_PRINT_PX)
        assert any(p.startswith("table") for p in printed), printed
    finally:
        context.close()
