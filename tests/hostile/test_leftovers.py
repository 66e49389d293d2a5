"""Issue 23, what is left: a killed run's work folder, links at the fixed names a run writes under --out,
bidi controls from the data in the pages, figure file names from very long column names.

- A study's work folder is named with the pid that owns it (``cxlab-study-<pid>-<study>-*``, as the PDF
  browser's ``cxlab-pdf-<pid>-*``): the next run removes those of processes that are gone, never a live one's.
- ``.reports`` (where every report lives) and ``index.html`` as a symbolic link: the run refuses in one line
  (exit 2) and never follows it; ``.history`` as a link: never followed, one warning, the report is published.
- U+202A-U+202E and U+2066-U+2069 in a title, column name or level: no page carries them (the text around
  them is never reversed); the letters stay.
- A figure named from a column of 250+ characters: its file name is capped (hash-suffixed, still unique).
"""
from __future__ import annotations

import html
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from test_operations import (NO_PDF, alive, assert_all_gone, assert_clean, descendants, lines, notebooks,  # noqa: F401
                             start, study_doc, write)

from cxlab import exports
from cxlab.batch import tempdirs
from cxlab.batch.execute import WORK_PREFIX
from cxlab.batch.publish import REPORTS, collect_garbage
from cxlab.batch.run import INDEX_MARKERS

BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


# --- 1. work folders of a killed run ----------------------------------------------------------------------------

def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_sweep_removes_folders_of_dead_processes_only(tmp_path):
    live = subprocess.Popen(["sleep", "60"])
    try:
        mine = tmp_path / "my-thesis"
        mine.mkdir()
        (mine / "chapter.txt").write_text("keep")
        dead = dead_pid()
        made = {"dead": tmp_path / f"{WORK_PREFIX}{dead}-ops-abc", "live": tmp_path / f"{WORK_PREFIX}{live.pid}-ops-x",
                "own": tmp_path / f"{WORK_PREFIX}{os.getpid()}-ops-y", "pdf": tmp_path / f"cxlab-pdf-{dead}-z"}
        for folder in made.values():
            folder.mkdir()
            (folder / "kernel.log").write_text("x")
        link = tmp_path / f"{WORK_PREFIX}{dead}-link"  # a link named like a dead run's folder: never followed
        link.symlink_to(mine)
        file = tmp_path / f"{WORK_PREFIX}{dead}-file"
        file.write_text("not a folder")
        odd = tmp_path / f"{WORK_PREFIX}notapid-x"
        odd.mkdir()
        removed = tempdirs.sweep(WORK_PREFIX, tmp_path)
        assert removed == [made["dead"].name]
        assert not made["dead"].exists()
        assert made["live"].is_dir() and made["own"].is_dir() and made["pdf"].is_dir() and odd.is_dir()
        assert link.is_symlink() and (mine / "chapter.txt").read_text() == "keep" and file.is_file()
        tempdirs.sweep("cxlab-pdf-", tmp_path)  # the PDF browser's folders: the same rule, by the same function
        assert not made["pdf"].exists() and made["live"].is_dir()
    finally:
        live.kill()
        live.wait()


def study_folders(tmp: Path, pid: int) -> list[Path]:
    return list(tmp.glob(f"{WORK_PREFIX}{pid}-*"))


def wait_for_folder(tmp: Path, proc: subprocess.Popen, timeout: float = 90) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        found = study_folders(tmp, proc.pid)
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"run {proc.pid} never made its work folder: {proc.stderr.read() if proc.poll() is not None else ''}")


@pytest.mark.slow
def test_a_run_killed_mid_study_leaves_a_folder_the_next_run_removes_but_never_a_live_runs(tmp_path, notebooks):
    tmp = Path(tempfile.mkdtemp(prefix="cxt-", dir="/tmp"))  # the runs' TMPDIR: short, for the kernel sockets
    env = dict(NO_PDF, TMPDIR=str(tmp))
    killed = live = None
    try:
        slow = write(tmp_path, study_doc("slow", description="sleep 60"))
        killed = start("run", str(slow), "--out", str(tmp_path / "out"), "--notebooks", str(notebooks), "--jobs", "1",
                       env=env)
        left = wait_for_folder(tmp, killed)
        time.sleep(2)  # its kernel is at work
        family = descendants(killed.pid)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=30)
        assert_all_gone(family)
        assert left.is_dir()  # what a SIGKILL leaves behind

        live = start("run", str(slow), "--out", str(tmp_path / "other"), "--notebooks", str(notebooks),
                     "--jobs", "1", env=env)
        busy = wait_for_folder(tmp, live)
        res = run_cli("run", str(write(tmp_path, study_doc("ops"))), "--out", str(tmp_path / "out"), env=env,
                      timeout=300)
        assert_clean(res, 0, 0)
        assert not left.exists()  # the killed run's folder is gone
        assert live.poll() is None and alive(live.pid) and busy.is_dir()  # a live run's folder stays
        assert sorted(p.name for p in tmp.iterdir()) == [busy.name]  # the rerun left nothing of its own
    finally:
        for proc in (killed, live):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


# --- 2. links at the fixed names under --out --------------------------------------------------------------------

def user_folder(base: Path) -> Path:
    """A folder of the user's holding a folder named like a published report (garbage collection's prey)."""
    mine = base / "mine"
    (mine / "thesis-ok-20250101T000000-abcdef").mkdir(parents=True)
    (mine / "thesis-ok-20250101T000000-abcdef" / "draft.txt").write_text("four years of work\n")
    (mine / "notes.txt").write_text("keep\n")
    return mine


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"" for p in sorted(folder.rglob("*"))}


CASES = {
    ".reports link": (REPORTS, lambda p, mine: p.symlink_to(mine, target_is_directory=True),
                      "the reports folder is a symbolic link; cxlab never follows it"),
    ".reports dangling": (REPORTS, lambda p, mine: p.symlink_to(mine.parent / "not-yet"),
                          "the reports folder is a symbolic link"),
    ".reports file": (REPORTS, lambda p, mine: p.write_text("mine\n"), "the reports folder is not a folder"),
    "index.html link": ("index.html", lambda p, mine: p.symlink_to(mine / "index.html"),
                        "an index.html cxlab did not write is in the way"),
    "methods.html link": ("methods.html", lambda p, mine: p.symlink_to(mine / "index.html"),
                          "a methods.html cxlab did not write is in the way; cxlab never replaces it"),
    "methods.html of the user's": ("methods.html", lambda p, mine: p.write_text("<p>my methods</p>"),
                                   "a methods.html cxlab did not write is in the way"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_link_at_a_fixed_name_under_out_is_refused_and_never_followed(case, tmp_path):
    name, make, expect = CASES[case]
    mine = user_folder(tmp_path)
    (mine / "index.html").write_text(f"<!DOCTYPE html>{INDEX_MARKERS[0]}<p>my own page</p>")
    before = snapshot(mine)
    out = tmp_path / "out"
    out.mkdir()
    make(out / name, mine)
    placed = (out / name).read_bytes() if (out / name).is_file() and not (out / name).is_symlink() else None
    res = run_cli("run", str(write(tmp_path, study_doc("ops"))), "--out", str(out), env=NO_PDF, timeout=120)
    (line,) = assert_clean(res, 2)
    assert line.startswith(f"cxlab: {out / name}: ") and expect in line, line
    assert snapshot(mine) == before  # nothing deleted, written or created through the link
    assert not (tmp_path / "not-yet").exists()
    assert not os.path.lexists(out / "ops") and not (out / ".history").exists()  # nothing ran
    if placed is not None:
        assert (out / name).read_bytes() == placed and not (out / name).is_symlink()


def test_garbage_collection_never_deletes_through_a_linked_reports_folder(tmp_path):
    mine = user_folder(tmp_path)
    before = snapshot(mine)
    out = tmp_path / "out"
    out.mkdir()
    (out / REPORTS).symlink_to(mine, target_is_directory=True)
    collect_garbage(out)
    assert snapshot(mine) == before


# --- 3 and 4. bidi controls in pages; figure names from very long columns ----------------------------------------

LONG = "Which of our store formats did you visit most often over the last twelve months " * 4  # 324 characters
SEGMENTS = {f"{LONG}(first)": ["Express", "Superstore"], f"{LONG}(second)": ["North", "South"],
            "אזור \u202eregion\u202c": ["צפון \u202eNorth", "\u2067דרום\u2069 South"]}
TITLE = "NPS \u202eby region\u202c and format \u2066דוח\u2069 \u202bתקופה\u202c"


@pytest.fixture(scope="module")
def hostile_names(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, Path]:
    """One metrics study whose title, segment columns and levels carry bidi controls and 300+ characters,
    published into an ``--out`` whose ``.history`` is a link to a folder of the user's."""
    base = tmp_path_factory.mktemp("names")
    rng = np.random.default_rng(23)
    n = 400
    frame = {"wave": np.repeat(["2025-01", "2025-02"], n // 2), "nps": rng.integers(0, 11, n)}
    for column, levels in SEGMENTS.items():
        frame[column] = rng.choice(levels, n)
    pd.DataFrame(frame).to_csv(base / "survey.csv", index=False, encoding="utf-8")
    study = write(base, {"study": "names", "notebook": "metrics", "title": TITLE,
                         "data": {"path": "survey.csv"}, "nps": {"scale": [0, 10]}, "segments": list(SEGMENTS)})
    out = base / "out"
    out.mkdir()
    mine = user_folder(base)
    (out / ".history").symlink_to(mine, target_is_directory=True)
    res = run_cli("run", str(study), "--out", str(out), env=NO_PDF, timeout=400)
    return out, res, mine


@pytest.mark.slow
def test_bidi_controls_from_the_data_reach_no_page(hostile_names):
    out, res, _ = hostile_names
    assert res.returncode == 0, res.stderr
    folder = out / "names"
    report = folder / "names.html"
    for page in (report, folder / "names-code.html", out / "index.html"):
        text = page.read_text(encoding="utf-8")
        assert not BIDI.findall(text), (page.name, [m.start() for m in BIDI.finditer(text)][:5])
        assert BIDI.sub("", TITLE) in html.unescape(text), page.name  # the letters stay, in their order
    shown = html.unescape(report.read_text(encoding="utf-8"))
    for column, levels in SEGMENTS.items():
        for level in levels:
            assert BIDI.sub("", level) in shown, level
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f"<bdi>{html.escape(BIDI.sub('', TITLE))}</bdi>" in index  # an RTL title never takes the status along


@pytest.mark.slow
def test_figures_of_very_long_columns_have_valid_distinct_file_names(hostile_names):
    out, res, _ = hostile_names
    assert res.returncode == 0, res.stderr
    figures = sorted(p.name for p in (out / "names" / "figures").iterdir())
    segment = [name for name in figures if name.startswith("segment-") and name.endswith(".png")]
    assert len(segment) == len(SEGMENTS), figures  # one each: none overwrote another
    assert all(len(os.fsencode(name)) <= exports.SLUG_MAX + 4 for name in figures), figures


@pytest.mark.slow
def test_a_linked_history_folder_is_never_followed(hostile_names):
    out, res, mine = hostile_names
    assert res.returncode == 0, res.stderr
    (line,) = lines(res.stderr)  # the one warning; the report is published
    assert "history of names not written: a symbolic link stands in its place" in line, line
    assert snapshot(mine) == snapshot(user_folder(mine.parent / "fresh"))  # as made: nothing written through it


def test_slug_is_capped_unique_and_written(tmp_path):
    """A figure named from a 300-character column is written (a file name over 255 bytes failed the study)."""
    a, b = f"segment-{LONG}(first)", f"segment-{LONG}(second)"
    assert exports._slug("rates-by-tier") == "rates-by-tier" and exports._slug("segment-Region") == "segment-region"
    slugs = {exports._slug(name) for name in (a, b, "segment-אזור", "segment-עיר", "x" * 300, "x" * 301)}
    assert len(slugs) == 6 and all(len(s) <= exports.SLUG_MAX and s.isascii() for s in slugs)
    assert exports._slug(a).startswith("segment-which-of-our-store-formats")
    exports.clear()
    try:
        for name in (a, b):
            exports.add_figure(name, b"\x89PNG", b"<svg/>")
        written = exports.write(tmp_path)
    finally:
        exports.clear()
    assert len(written) == 4 and all(p.is_file() and len(os.fsencode(p.name)) <= 255 for p in written)
