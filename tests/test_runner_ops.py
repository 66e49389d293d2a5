"""Operating `cxlab run`: parallel = sequential, caching, locks, kills, kernel death, timeouts, escaping, Dask."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import ROOT, check_results_doc, run_cli

from cxlab.batch.lock import LOCK, OutputLock
from cxlab.methods import PAGE as METHODS_PAGE

FAULTS = '''import os, time
if study.get("description") == "die":
    os._exit(3)
if study.get("description") == "sleep":
    time.sleep(120)'''


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    """A copy of the loyalty notebook with a cell that can kill its kernel or hang, on request."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "loyalty.ipynb", as_version=4)  # kernelspec cxlab; the runner uses python3
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(FAULTS))
    nbformat.write(nb, folder / "loyalty.ipynb")
    return folder


def small(write_study, slug: str, seed: int = 1, **extra) -> Path:
    return write_study({"study": slug, "notebook": "loyalty", "data": {"synthetic": "customers", "n": 800, "seed": seed},
                        "outcomes": ["repurchase", "refer"], **extra})


def results_of(out: Path, slug: str) -> dict:
    return json.loads((out / slug / "results.json").read_text())


def assert_consistent(out: Path) -> None:
    """Every published study folder is a complete report: all files, results.json ok and parseable; the run's
    pages (index.html, methods.html beside it) are whole files cxlab wrote, not study links."""
    for link in out.iterdir():
        if link.name.startswith("."):
            continue
        if link.name in ("index.html", METHODS_PAGE):
            assert link.is_file() and not link.is_symlink(), link
            assert link.read_text(encoding="utf-8").rstrip().endswith("</html>"), link
            continue
        assert link.is_symlink(), link
        slug = link.name.removesuffix(".failed")
        names = {p.name for p in link.iterdir()}
        required = {f"{slug}.ipynb", f"{slug}.html", f"{slug}-code.html", "results.json"}
        assert required <= names and names - required <= {"tables.xlsx", "figures", f"{slug}.pdf"}, names
        doc = json.loads((link / "results.json").read_text())
        assert doc["status"] == ("failed" if link.name.endswith(".failed") else "ok")


def test_parallel_run_equals_sequential(tmp_path, write_study):
    studies = [str(small(write_study, f"s{i}", seed=i)) for i in range(3)]
    seq, par = tmp_path / "seq", tmp_path / "par"
    assert run_cli("run", *studies, "--out", str(seq), "--jobs", "1").returncode == 0
    assert run_cli("run", *studies, "--out", str(par), "--jobs", "2").returncode == 0
    for i in range(3):
        a, b = results_of(seq, f"s{i}"), results_of(par, f"s{i}")
        assert a["results"] == b["results"] and a["headline"]["text"] == b["headline"]["text"]
    assert results_of(seq, "s0")["results"] != results_of(seq, "s1")["results"]


def test_skips_unchanged_and_reruns_on_changed_data(tmp_path, write_study):
    data = tmp_path / "d.csv"
    pd.DataFrame({"experience": [1, 2, 3, 4, 5] * 30, "repurchase": [0, 0, 1, 1, 1, 0] * 25}).to_csv(data, index=False)
    study = write_study({"study": "cached", "notebook": "loyalty", "data": {"path": "d.csv"}, "outcomes": ["repurchase"]})
    out = tmp_path / "out"
    first = run_cli("run", str(study), "--out", str(out))
    assert first.returncode == 0 and "cached: ok" in first.stdout
    assert results_of(out, "cached")["provenance"]["decision"] == "ran: no previous report"
    ended = results_of(out, "cached")["provenance"]["ended"]

    again = run_cli("run", str(study), "--out", str(out))
    assert again.returncode == 0 and "cached: up to date" in again.stdout
    doc = results_of(out, "cached")
    assert doc["provenance"]["decision"] == "up to date" and doc["provenance"]["ended"] == ended

    with data.open("a") as fh:
        fh.write("5,1\n")
    changed = run_cli("run", str(study), "--out", str(out))
    assert changed.returncode == 0 and "cached: ok" in changed.stdout
    doc = results_of(out, "cached")
    assert doc["provenance"]["decision"] == "ran: inputs changed" and doc["results"]["n"] == 151
    assert doc["headline"]["previous"]["ended"] == ended  # the index compares with the previous run
    index = (out / "index.html").read_text()
    assert "change since the previous run" in index and "first run" not in index

    forced = run_cli("run", str(study), "--out", str(out), "--force")
    assert "cached: ok" in forced.stdout and results_of(out, "cached")["provenance"]["decision"] == "ran: --force"


def test_lock_contention_wait_and_stale_lock(tmp_path, write_study):
    study = small(write_study, "locked")
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out, wait=False):
        res = run_cli("run", str(study), "--out", str(out), timeout=60)
        assert res.returncode == 2
        assert "another cxlab run holds the output folder (pid" in res.stderr and "--wait" in res.stderr
        waiting = subprocess.Popen([sys.executable, "-m", "cxlab.cli", "run", str(study), "--out", str(out), "--wait"],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert waiting.poll() is None  # still waiting for us
    assert waiting.wait(timeout=120) == 0
    assert results_of(out, "locked")["status"] == "ok"

    # a lock held by a run that was killed is cleared by the kernel (flock): the next run proceeds
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from cxlab.batch.lock import OutputLock; l = OutputLock(Path(sys.argv[1]), False).__enter__(); "
                               "print('held', flush=True); time.sleep(600)", str(out)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert run_cli("run", str(study), "--out", str(out), timeout=60).returncode == 2
    holder.kill()
    holder.wait()
    res = run_cli("run", str(study), "--out", str(out), "--force")
    assert res.returncode == 0, res.stderr
    assert (out / LOCK).read_text() == ""  # a finished run leaves the lock file empty (released)


@pytest.mark.parametrize("point", ["writing", "staged", "linked"])
def test_kill_during_publish_leaves_complete_reports(tmp_path, write_study, point):
    out = tmp_path / "out"
    study = small(write_study, "atomic", seed=1)
    assert run_cli("run", str(study), "--out", str(out)).returncode == 0
    before = results_of(out, "atomic")
    study = small(write_study, "atomic", seed=2)  # a changed study: the next run publishes a new report
    res = run_cli("run", str(study), "--out", str(out), env={"CXLAB_KILL_AT": point})
    assert res.returncode == -signal.SIGKILL
    assert_consistent(out)
    now_doc = results_of(out, "atomic")
    expected_new = point == "linked"
    assert (now_doc["results"] != before["results"]) is expected_new
    res = run_cli("run", str(study), "--out", str(out))
    assert res.returncode == 0
    assert ("atomic: up to date" in res.stdout) is expected_new
    assert_consistent(out)
    assert results_of(out, "atomic")["provenance"]["parameters"]["data"]["seed"] == 2
    assert len(list((out / ".reports").iterdir())) == 1


def test_sigterm_mid_run_stops_cleanly(tmp_path, write_study, notebooks):
    out = tmp_path / "out"
    ok = small(write_study, "fine")
    assert run_cli("run", str(ok), "--out", str(out), "--notebooks", str(notebooks)).returncode == 0
    hang = small(write_study, "hang", description="sleep")
    proc = subprocess.Popen([sys.executable, "-m", "cxlab.cli", "run", str(hang), str(small(write_study, "fine", seed=3)),
                             "--out", str(out), "--notebooks", str(notebooks), "--jobs", "2"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(6)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert_consistent(out)
    with OutputLock(out, wait=False):  # the lock was released
        pass


def test_kernel_death_and_timeout_fail_only_their_study(tmp_path, write_study, notebooks):
    out = tmp_path / "out"
    studies = [small(write_study, "dies", description="die"), small(write_study, "hangs", description="sleep"),
               small(write_study, "healthy")]
    res = run_cli("run", *map(str, studies), "--out", str(out), "--notebooks", str(notebooks), "--timeout", "5",
                  "--jobs", "2")
    assert res.returncode == 1
    dies = check_results_doc(out / "dies.failed" / "results.json", "dies", "loyalty", status="failed")
    assert "DeadKernelError" in dies["error"] or "died" in dies["error"].lower()
    hangs = check_results_doc(out / "hangs.failed" / "results.json", "hangs", "loyalty", status="failed")
    assert "timed out" in hangs["error"].lower() or "timeout" in hangs["error"].lower()
    check_results_doc(out / "healthy" / "results.json", "healthy", "loyalty")
    for slug in ("hangs", "dies"):  # the notebook as far as it ran: the cells before the fault, none after it
        cells = nbformat.read(out / f"{slug}.failed" / f"{slug}.ipynb", as_version=4).cells
        counts = [c.get("execution_count") for c in cells if c.cell_type == "code"]
        assert counts[:2] == [1, 2] and set(counts[3:]) == {None}, (slug, counts)
    failures = [l for l in res.stderr.splitlines() if ": failed" in l]
    assert len(failures) == 2


def test_quiet_prints_only_failures(tmp_path, write_study, notebooks):
    out = tmp_path / "out"
    res = run_cli("run", str(small(write_study, "fine")), "--out", str(out), "--quiet", "--notebooks", str(notebooks))
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    res = run_cli("run", str(small(write_study, "dies", description="die")), "--out", str(out), "--quiet",
                  "--notebooks", str(notebooks))
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("dies: failed")


def test_html_escaping_of_title_and_tier_label(tmp_path, write_study):
    evil = "<script>alert('x')</script>"
    study = write_study({"study": "evil", "notebook": "loyalty", "title": f"Title {evil}",
                         "data": {"synthetic": "customers", "n": 500, "seed": 1},
                         "experience": {"scale": [1, 5], "tiers": {f"bad {evil}": [1, 2], "good": [3, 5]}},
                         "outcomes": ["repurchase"]})
    out = tmp_path / "out"
    assert run_cli("run", str(study), "--out", str(out)).returncode == 0
    for page in (out / "index.html", out / "evil" / "evil.html", out / "evil" / "evil-code.html"):
        text = page.read_text()
        assert "<script" not in text, page
        assert "&lt;script&gt;" in text or "&lt;script>" in text, page


def test_dask_local_cluster_matches_local_run(tmp_path, write_study):
    studies = [str(small(write_study, f"d{i}", seed=10 + i)) for i in range(2)]
    local, dask = tmp_path / "local", tmp_path / "dask"
    assert run_cli("run", *studies, "--out", str(local), "--jobs", "1").returncode == 0
    res = run_cli("run", *studies, "--out", str(dask), "--scheduler", "local", "--jobs", "2")
    assert res.returncode == 0, res.stderr
    for i in range(2):
        a, b = results_of(local, f"d{i}"), results_of(dask, f"d{i}")
        assert a["results"] == b["results"]
        check_results_doc(dask / f"d{i}" / "results.json", f"d{i}", "loyalty")
    # the notebooks really ran in worker processes, not in the client
    assert_consistent(dask)


def test_longest_studies_start_first(tmp_path):
    """A run starts its longest studies first: by the seconds of their published reports, else (never run
    here) first of all, by their notebook's number of code cells."""
    from cxlab.batch.jobs import Job
    from cxlab.batch.plan import longest_first

    def job(slug: str, notebook: str) -> Job:
        return Job(slug, slug, notebook, str(ROOT / "notebooks" / f"{notebook}.ipynb"), "", "", {}, {}, "")

    def cells(notebook: str) -> int:
        return sum(c.cell_type == "code" for c in nbformat.read(ROOT / "notebooks" / f"{notebook}.ipynb", 4).cells)

    published = {"short": {"provenance": {"seconds": 1.5}}, "long": {"provenance": {"seconds": 9.0}},
                 "odd": {"provenance": {"seconds": "n/a"}}, "odder": {"provenance": "x"}, "oddest": [1]}
    for slug, doc in published.items():
        (tmp_path / slug).mkdir()
        (tmp_path / slug / "results.json").write_text(json.dumps(doc))
    (tmp_path / "nan").mkdir()
    (tmp_path / "nan" / "results.json").write_text('{"provenance": {"seconds": NaN}}')
    jobs = [job("short", "loyalty"), job("new-loyalty", "loyalty"), job("long", "loyalty"), job("odd", "drivers"),
            job("new-leaders", "leaders"), job("odder", "loyalty"), job("oddest", "loyalty"), job("nan", "loyalty")]
    assert cells("leaders") > cells("drivers") > cells("loyalty")
    order = [j.study for j in longest_first(jobs, tmp_path)]
    assert order == ["new-leaders", "odd", "new-loyalty", "odder", "oddest", "nan", "long", "short"]
