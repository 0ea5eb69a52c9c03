"""The reports in a real browser: Debian's Chromium driven by Playwright, fully offline.

Every page of the hostile batch (:mod:`hostile`: index + every report of two regions, with a
region called ``<script>alert(1)</script>``) is opened from ``file://`` with every other
request aborted. Each page must load with no console error, no failed or external request,
every image decoded (``naturalWidth > 0``) and no dialog (a name that executed would open
one); every link of the index must resolve. Screenshots of the index and one report go to
``build/artifacts/``.

Playwright's own browser download does not work here: the test drives ``/usr/bin/chromium``
and FAILS (never skips) when it is missing; ``scripts/ensure_system_deps.sh --browser``
installs it (``.ci/run`` does).
"""

from __future__ import annotations

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
