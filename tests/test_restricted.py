"""Restricted files written many at a time record the audiences one write at a time did."""

from __future__ import annotations

from pathlib import Path

import pytest

from bankanalysis.data.restricted import (
    AUDIENCE_FILE,
    read_audiences,
    restricted_files,
    write_restricted,
    write_restricted_files,
)

FILES = [
    ("leads_O1_am1.xlsx", b"first", "account manager 1 of outlet O1"),
    ("leads_O1_no_manager.xlsx", b"second", "staff of outlet O1"),
    ("contents.csv", b"file,manager_id\r\n", "whoever hands the workbooks out"),
    ("leads_O1_am1.xlsx", b"again", "account manager 1 of outlet O1 (rewritten)"),
]


def test_many_files_give_the_files_and_audiences_of_one_write_each(tmp_path: Path) -> None:
    one, many = tmp_path / "one", tmp_path / "many"
    for folder in (one, many):  # an audience recorded before stays
        write_restricted(folder, "scorecards_R01.xlsx", b"cards", "the region's management")
    for name, data, audience in FILES:
        write_restricted(one, name, data, audience)
    made: list[str] = []

    def lazily():
        for item in FILES:
            made.append(item[0])
            yield item

    paths = write_restricted_files(many, lazily())
    assert [p.name for p in paths] == [f[0] for f in FILES] and made == [f[0] for f in FILES]
    assert (many / AUDIENCE_FILE).read_bytes() == (one / AUDIENCE_FILE).read_bytes()
    assert read_audiences(many) == {
        "contents.csv": "whoever hands the workbooks out",
        "leads_O1_am1.xlsx": "account manager 1 of outlet O1 (rewritten)",
        "leads_O1_no_manager.xlsx": "staff of outlet O1",
        "scorecards_R01.xlsx": "the region's management",
    }
    for name in ("leads_O1_am1.xlsx", "leads_O1_no_manager.xlsx", "contents.csv"):
        assert (many / name).read_bytes() == (one / name).read_bytes()
    assert (many / "leads_O1_am1.xlsx").read_bytes() == b"again"


def test_many_files_flush_their_folder_once_and_each_file_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A region's workbooks are thousands of files: each is flushed before its rename, the
    folder once, with the audience file written last (two flushes a file took 22 of the 10M
    bank's R01 lead review seconds)."""
    from bankanalysis.data import atomic

    folders, files = [], []
    monkeypatch.setattr(atomic, "_fsync_dir", lambda folder: folders.append(Path(folder)))
    real = atomic.os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: files.append(fd) or real(fd))
    write_restricted_files(tmp_path, FILES)
    assert folders == [tmp_path]  # the audience file's write, after every rename
    assert len(files) == len(FILES) + 1  # each file and the audience file
    assert read_audiences(tmp_path)["contents.csv"] == "whoever hands the workbooks out"


def test_a_bad_name_stops_before_the_audiences_and_the_written_files_stay_restricted(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "run" / "R01" / "02" / "restricted"
    with pytest.raises(ValueError, match="not a plain file name"):
        write_restricted_files(folder, [("a.csv", b"1", "x"), ("../b.csv", b"2", "y")])
    assert (folder / "a.csv").read_bytes() == b"1"
    assert not (folder / AUDIENCE_FILE).exists()
    listed = restricted_files(tmp_path / "run" / "R01" / "02", tmp_path / "run")
    assert listed == [
        {
            "path": "R01/02/restricted/a.csv",
            "audience": "not recorded (restricted: holds customer or manager ids)",
        }
    ]
    assert write_restricted_files(folder, []) == [] and read_audiences(folder) == {}
