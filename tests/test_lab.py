"""``make lab``: JupyterLab at the project root, as root or not, with the ``bankanalysis`` kernel.

Lab is started exactly as ``make lab`` starts it (the Makefile's own recipe, with ``LAB_ARGS``
for a free port, a token and no browser), with every Jupyter folder redirected to a temporary
one so the kernel that ``make lab`` registers with ``--user`` lands there. One Lab serves the
tests of this module: its API, a notebook opened in Debian's Chromium whose parameters cell is
run, and a clean shutdown (exit code 0 through make).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAMP = ".venv/.installed"  # make must not reinstall the environment inside a test
NOTEBOOK = "notebooks/00_bank_overview.ipynb"
ARTIFACTS = ROOT / "build" / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, token: str, method: str = "GET") -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


def _make_dry_run(uid: str, tmp_path: Path) -> str:
    """``make -n lab`` with ``id -u`` answering ``uid`` (a shim first on PATH)."""
    shim = tmp_path / f"bin-{uid}"
    shim.mkdir()
    (shim / "id").write_text(f"#!/bin/sh\necho {uid}\n", encoding="utf-8")
    (shim / "id").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(
        ["make", "-n", "-o", STAMP, "lab"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout


def test_make_lab_adds_allow_root_only_for_root(tmp_path: Path) -> None:
    as_root = _make_dry_run("0", tmp_path)
    as_user = _make_dry_run("1000", tmp_path)
    for out in (as_root, as_user):
        assert "ipykernel install --user --name bankanalysis" in out
        assert "jupyter lab" in out
    assert "--allow-root" in as_root
    assert "--allow-root" not in as_user


@dataclass
class Lab:
    """A running ``make lab``."""

    base: str
    token: str
    proc: subprocess.Popen
    data_dir: Path

    def get(self, path: str, token: str | None = None) -> tuple[int, bytes]:
        return _request(f"{self.base}{path}", self.token if token is None else token)


def _stop(proc: subprocess.Popen) -> None:
    """Stop make and Lab (one process group) if still running."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``make lab`` on a free port, Jupyter's folders redirected to a temporary folder."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    tmp = tmp_path_factory.mktemp("lab")
    env = dict(os.environ)
    env.update(
        JUPYTER_DATA_DIR=str(tmp / "data"),  # `ipykernel install --user` writes here
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
    )
    # never autosave: the test runs a cell of a notebook of the working tree
    docmanager = tmp / "settings" / "@jupyterlab" / "docmanager-extension"
    docmanager.mkdir(parents=True)
    (docmanager / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    port, token = _free_port(), secrets.token_hex(16)
    lab_args = (
        f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} "
        f"--ServerApp.port_retries=0 --IdentityProvider.token={token}"
    )
    proc = subprocess.Popen(
        ["make", "-s", "-o", STAMP, "lab", f"LAB_ARGS={lab_args}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # make, its shell and Lab share one process group
    )
    server = Lab(f"http://127.0.0.1:{port}", token, proc, tmp / "data")
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited with {proc.returncode}: {proc.stderr.read()}")
            try:
                if server.get("/api/status")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer within 90 s")
            time.sleep(0.5)
        yield server
    finally:
        _stop(proc)


@pytest.mark.slow
def test_lab_serves_the_project_with_the_bankanalysis_kernel(lab: Lab) -> None:
    spec_file = lab.data_dir / "kernels" / "bankanalysis" / "kernel.json"
    assert spec_file.is_file(), "make lab did not register the kernel"
    _, body = lab.get("/api/kernelspecs")
    specs = json.loads(body)["kernelspecs"]
    assert specs["bankanalysis"]["spec"]["display_name"] == "Python (bankanalysis)"
    # the kernel runs the project's environment, where bankanalysis is installed
    kernel_python = Path(specs["bankanalysis"]["spec"]["argv"][0])
    assert kernel_python.parent == (ROOT / ".venv" / "bin")
    code, body = lab.get("/lab")
    assert code == 200 and b"JupyterLab" in body
    _, body = lab.get("/api/contents/notebooks")
    names = {item["name"] for item in json.loads(body)["content"]}
    assert {"00_bank_overview.ipynb", "01_customer_segmentation.ipynb"} <= names
    with pytest.raises(urllib.error.HTTPError) as denied:
        lab.get("/api/kernelspecs", token="wrong-token")
    assert denied.value.code == 403


def _chromium() -> Path | None:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _wait_for_idle_kernel(lab: Lab, path: str, seconds: float = 60) -> str:
    """Wait until the notebook's session has a started, idle kernel; return its name."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _, body = lab.get("/api/sessions")
        for session in json.loads(body):
            if session["path"] == path and session["kernel"]["execution_state"] == "idle":
                return session["kernel"]["name"]
        time.sleep(0.5)
    pytest.fail(f"no idle kernel for {path} within {seconds:.0f} s")


@pytest.mark.slow
@pytest.mark.browser
def test_a_notebook_opens_in_chromium_and_runs_its_parameters_cell(lab: Lab) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("Debian's chromium is absent: scripts/ensure_system_deps.sh --browser")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    before = (ROOT / NOTEBOOK).read_bytes()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(exe), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{lab.base}/lab/tree/{NOTEBOOK}?token={lab.token}")
            notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
            notebook.wait_for(timeout=45_000)
            _wait_for_idle_kernel(lab, NOTEBOOK)
            page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=30_000)
            cell = notebook.locator(".jp-Cell").nth(1)  # cell 0 is the title
            assert cell.locator(".jp-InputArea-editor").inner_text().startswith("# Parameters")
            assert "jp-CodeCell" in (cell.get_attribute("class") or "")
            prompt = cell.locator(".jp-InputPrompt")
            for _ in range(3):  # a run requested while the kernel connects may be dropped
                prompt.click()  # select the cell (command mode)
                page.keyboard.press("Shift+Enter")
                try:
                    page.wait_for_function(
                        "el => /^\\[\\d+\\]:$/.test(el.textContent.trim())",
                        arg=prompt.element_handle(),
                        timeout=15_000,
                    )
                    break
                except PlaywrightTimeout:
                    continue
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "lab.png"))
            ran = re.fullmatch(r"\[\d+\]:", prompt.inner_text().strip())
            assert ran, f"the parameters cell did not run: {prompt.inner_text()!r}"
            assert cell.locator(".jp-OutputArea-output").count() == 0  # assignments only
        finally:
            browser.close()
    assert (ROOT / NOTEBOOK).read_bytes() == before, "Lab saved the notebook"
    # the notebook's kernel runs the project's environment: the bankanalysis kernel, or the
    # native python3 one, which Lab (started from .venv/bin) runs with its own interpreter
    name = _wait_for_idle_kernel(lab, NOTEBOOK)
    _, body = lab.get("/api/kernelspecs")
    argv0 = json.loads(body)["kernelspecs"][name]["spec"]["argv"][0]
    assert (name, argv0) == ("python3", "python") or Path(argv0).parent == ROOT / ".venv" / "bin"


@pytest.mark.slow
def test_lab_stops_cleanly(lab: Lab) -> None:
    """Lab's shutdown endpoint ends Lab, and make with it, with exit code 0."""
    code, _ = lab.get("/api/status")
    assert code == 200
    _request(f"{lab.base}/api/shutdown", lab.token, method="POST")
    try:
        rc = lab.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("make lab still running 30 s after Lab's shutdown")
    assert rc == 0, lab.proc.stderr.read()
    with pytest.raises(urllib.error.URLError):
        lab.get("/api/status")
