"""JupyterLab starts headless at the project root and offers the ``bankanalysis`` kernel."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.read()


@pytest.mark.slow
def test_lab_answers_and_lists_the_bankanalysis_kernel(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ipykernel",
            "install",
            "--prefix",
            str(prefix),
            "--name",
            "bankanalysis",
            "--display-name",
            "Python (bankanalysis)",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (prefix / "share/jupyter/kernels/bankanalysis/kernel.json").is_file()
    env = dict(os.environ)
    env.update(
        JUPYTER_PATH=str(prefix / "share" / "jupyter"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),  # hide kernels registered by `make lab`
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={ROOT}",
            *(["--allow-root"] if os.geteuid() == 0 else []),  # CI containers run as root
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read()
            try:
                status, _ = _get(f"{base}/api/status", token)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 200
        code, body = _get(f"{base}/api/kernelspecs", token)
        specs = json.loads(body)["kernelspecs"]
        assert "bankanalysis" in specs
        assert specs["bankanalysis"]["spec"]["display_name"] == "Python (bankanalysis)"
        code, body = _get(f"{base}/lab", token)
        assert code == 200 and b"JupyterLab" in body
        # the project's notebooks are visible at the root
        code, body = _get(f"{base}/api/contents/notebooks", token)
        names = {item["name"] for item in json.loads(body)["content"]}
        assert "00_bank_overview.ipynb" in names
        with pytest.raises(urllib.error.HTTPError) as denied:
            _get(f"{base}/api/kernelspecs", "wrong-token")
        assert denied.value.code == 403
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode is not None
