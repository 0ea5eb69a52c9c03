"""What the side-by-side benchmarks share (benchmarks/_harness.py): the parent's old code
and temporary folder, the child's answer, the figures merged at the end."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._harness import (  # noqa: E402
    add_old_code_arguments,
    old_and_new,
    report_figures,
    write_result,
)


def _args(*argv: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    add_old_code_arguments(ap, "main")
    return ap.parse_args(list(argv))


def test_the_parent_gets_the_old_source_and_a_folder_removed_afterwards(tmp_path, capsys):
    old = tmp_path / "old-src"
    with old_and_new("harness-test-", _args("--old-src", str(old))) as (old_src, work):
        assert old_src == old
        assert work.is_dir() and work.parent == ROOT / "build"
        assert work.name.startswith("harness-test-")
        (work / "child.pkl").write_bytes(b"x")
    assert not work.exists()
    assert "cores; load " in capsys.readouterr().out


def test_a_childs_answer_reaches_the_parent_and_the_figures_merge(tmp_path, capsys):
    import pickle

    write_result(tmp_path / "r.pkl", {"frame": [1, 2], "cpu_s": 0.5})
    assert pickle.loads((tmp_path / "r.pkl").read_bytes()) == {"frame": [1, 2], "cpu_s": 0.5}
    out = tmp_path / "latest.json"
    out.write_text(json.dumps({"batch_cold_s": 10.0}), encoding="utf-8")
    assert report_figures(_args("--out", str(out)), {"x_new_s": 2.0}) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == {"batch_cold_s": 10.0, "x_new_s": 2.0}
    assert report_figures(_args(), {"y_s": 1.0}) == 0  # no --out: nothing written
    assert json.loads(out.read_text(encoding="utf-8")) == {"batch_cold_s": 10.0, "x_new_s": 2.0}
    assert "load at the end" in capsys.readouterr().out


def test_figures_given_a_folder_go_into_its_latest_json(tmp_path):
    """A 10M run of `benchmarks.scale --out <folder>` measured for 34 minutes, then failed to
    replace the folder with its figures (IsADirectoryError): a folder now means its
    latest.json, merged like any figures file."""
    from benchmarks._harness import merge_figures

    (tmp_path / "latest.json").write_text(json.dumps({"a_s": 1.0}), encoding="utf-8")
    assert merge_figures(tmp_path, {"scale_10m_prepare_s": 1287.5}) == {
        "a_s": 1.0,
        "scale_10m_prepare_s": 1287.5,
    }
    assert json.loads((tmp_path / "latest.json").read_text(encoding="utf-8")) == {
        "a_s": 1.0,
        "scale_10m_prepare_s": 1287.5,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json"]
