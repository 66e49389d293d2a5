"""Issue #11, item by item: real-data crash, user data, killed runs, injection, output folder, noise."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, alive, descendants, run_cli

from cxlab.batch.render import CSP, sanitize_html
from cxlab.report import text

FAULTS = '''import time
if study.get("description") == "sleep":
    time.sleep(120)'''


def small(write_study, slug: str, seed: int = 1, **extra) -> Path:
    return write_study({"study": slug, "notebook": "loyalty", "data": {"synthetic": "customers", "n": 600, "seed": seed},
                        "outcomes": ["repurchase"], **extra})


# 1. a 0% or 100% tier ------------------------------------------------------------------------------------------

def test_error_bars_of_0_and_100_percent_tiers_are_drawn():
    import matplotlib
    matplotlib.use("Agg")
    from cxlab.studies.loyalty.analysis import rates_by_tier
    from cxlab.studies.loyalty.figures import rate_by_tier
    frame = pd.DataFrame({"tier": pd.Categorical(["1"] * 7 + ["2"] * 9 + ["3"] * 5, ordered=True),
                          "churn": [1.0] * 7 + [0, 1] * 4 + [1] + [0.0] * 5, "weight": 1.0})
    frame["experience"] = frame["tier"].astype(float)
    rates = rates_by_tier(frame, "churn")
    assert rates["rate"].tolist()[0] == 1.0 and rates["rate"].tolist()[-1] == 0.0
    ax = rate_by_tier(rates)
    ax.figure.savefig(os.devnull, format="png")


@pytest.mark.slow
def test_telco_like_data_with_0_and_100_percent_tiers_runs_end_to_end(tmp_path, write_study):
    # as in IBM's Telco churn data: everyone rating 1 or 2 churned, nobody rating 5 did
    rng = np.random.default_rng(3)
    rating = rng.integers(1, 6, 400)
    churn = np.where(rating <= 2, 1, np.where(rating == 5, 0, rng.integers(0, 2, 400)))
    pd.DataFrame({"rating": rating, "Churn": np.where(churn == 1, "Yes", "No")}).to_csv(tmp_path / "telco.csv", index=False)
    study = write_study({"study": "telco", "notebook": "loyalty", "data": {"path": "telco.csv",
                         "columns": {"experience": "rating", "churn": "Churn"}}, "outcomes": ["churn"]})
    out = tmp_path / "out"
    res = run_cli("run", str(study), "--out", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    tiers = json.loads((out / "telco" / "results.json").read_text())["results"]["outcomes"]["churn"]["tiers"]
    assert [t["rate"] for t in tiers][:2] == [1.0, 1.0] and tiers[-1]["rate"] == 0.0


# 2. nothing of the user's deleted ------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_folder_cxlab_did_not_create_is_never_replaced(tmp_path, write_study):
    out = tmp_path / "out"
    (out / "mine").mkdir(parents=True)
    (out / "mine" / "input.csv").write_text("precious\n")
    (out / ".reports").mkdir()
    (out / ".reports" / "notes.txt").write_text("mine too\n")
    res = run_cli("run", str(small(write_study, "mine")), str(small(write_study, "other")), "--out", str(out))
    assert res.returncode == 1
    assert (out / "mine" / "input.csv").read_text() == "precious\n"
    assert (out / ".reports" / "notes.txt").read_text() == "mine too\n"  # garbage collection spares it
    line = [l for l in res.stderr.splitlines() if l.startswith("mine: failed")]
    assert len(line) == 1 and "cxlab did not create" in line[0] and "Traceback" not in res.stderr
    doc = json.loads((out / "mine.failed" / "results.json").read_text())
    assert doc["status"] == "failed" and "cxlab did not create" in doc["error"]
    assert json.loads((out / "other" / "results.json").read_text())["status"] == "ok"
    assert "cxlab did not create" in (out / "index.html").read_text()


def test_output_folder_beside_the_data_or_over_a_foreign_index_cannot_start(tmp_path, write_study):
    study = write_study({"study": "data", "notebook": "loyalty", "data": {"path": "d.csv"}, "outcomes": ["repurchase"]})
    (tmp_path / "d.csv").write_text("experience,repurchase\n1,0\n5,1\n")
    res = run_cli("run", str(study), "--out", str(tmp_path), timeout=60)
    assert res.returncode == 2 and "an input of study data" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    other = tmp_path / "site"
    other.mkdir()
    (other / "index.html").write_text("<html>my site</html>")
    res = run_cli("run", str(study), "--out", str(other), timeout=60)
    assert res.returncode == 2 and "index.html cxlab did not write" in res.stderr
    assert (other / "index.html").read_text() == "<html>my site</html>"


# 3. killed runs leave no process and no lock ---------------------------------------------------------------------

def _faulty_notebooks(tmp_path):
    """A notebooks folder whose loyalty notebook runs the FAULTS cell right after its parameters."""
    import nbformat
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "loyalty.ipynb", as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(FAULTS))
    nbformat.write(nb, notebooks / "loyalty.ipynb")
    return notebooks


@pytest.mark.slow
def test_sigkilled_run_leaves_no_process_and_the_next_wait_run_completes(tmp_path, write_study):
    notebooks = _faulty_notebooks(tmp_path)
    out = tmp_path / "out"
    hang = [str(small(write_study, f"hang{i}", description="sleep")) for i in range(2)]
    proc = subprocess.Popen([sys.executable, "-m", "cxlab.cli", "run", *hang, "--out", str(out), "--notebooks",
                             str(notebooks), "--jobs", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    family: set[int] = set()
    while time.time() < deadline:  # wait for both workers and their kernels
        family |= descendants(proc.pid)
        if len(family) >= 4:
            break
        time.sleep(0.5)
    assert len(family) >= 4, family
    time.sleep(2)
    family |= descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)  # as the OOM killer would
    proc.wait()
    deadline = time.time() + 20
    while time.time() < deadline and any(alive(p) for p in family):
        time.sleep(0.5)
    assert not [p for p in family if alive(p)], "processes of the killed run survive"
    ok = small(write_study, "after")
    res = run_cli("run", str(ok), "--out", str(out), "--wait", timeout=180)
    assert res.returncode == 0, res.stderr
    assert (out / ".cxlab.lock").read_text() == ""


def test_forked_workers_close_the_lock_descriptor(tmp_path):
    import multiprocessing as mp

    from cxlab.batch.lock import OutputLock
    from cxlab.batch.pool import _worker_start

    def child(q):
        _worker_start(os.getppid())
        targets = []
        for fd in os.listdir("/proc/self/fd"):  # by what they open: listdir's own fd may reuse the lock's number
            try:
                targets.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:
                pass
        q.put(targets)

    with OutputLock(tmp_path, wait=False) as lock:
        q = mp.get_context("fork").Queue()
        p = mp.get_context("fork").Process(target=child, args=(q,))
        p.start()
        targets = q.get(timeout=30)
        p.join()
        assert os.readlink(f"/proc/self/fd/{lock.fd}") == str(lock.path)  # the parent holds it
        assert str(lock.path) not in targets


# 4. data-derived text is inert ------------------------------------------------------------------------------------

EVIL = "[click](javascript:alert(1)) [d](data:text/html,x) ![i](attachment:x.png) $\\badcmd{1}$ <b>"


def test_text_escapes_every_markdown_construct():
    import mistune  # the markdown renderer of nbconvert
    html = mistune.create_markdown(escape=False, plugins=["strikethrough", "table", "url"])(text(EVIL))
    assert "<a" not in html and "<img" not in html and "<b>" not in html
    assert "javascript:alert(1)" in html  # shown as written, inert


@pytest.mark.parametrize("payload", [
    '<a href="javascript:alert(1)">x</a>', '<a href=" JaVa\tScRiPt:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>', '<img src="x" onerror="alert(1)">',
    '<script>alert(1)</script>', '<iframe src="https://evil.example"></iframe>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>', '<form action="javascript:alert(1)"></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', '<img src="data:image/svg+xml,<svg/>">'])
def test_sanitizer_removes_scripts_and_harmful_links(payload):
    clean = sanitize_html(f"<html><body>{payload}</body></html>").lower()
    for bad in ("javascript:", "data:text/html", "<script", "onerror", "<iframe", "<form", "refresh", "svg+xml"):
        assert bad not in clean, clean


def test_sanitizer_keeps_figures_and_safe_links():
    page = ('<a href="https://example.org">a</a><a href="mailto:x@example.org">m</a><a href="#s">f</a>'
            '<a href="other/report.html">r</a><img src="data:image/png;base64,iVBORw0KGgo="/>')
    assert sanitize_html(page) == page


@pytest.mark.slow
def test_hostile_names_and_values_render_inert_with_figures(tmp_path, write_study):
    rng = np.random.default_rng(1)
    rating = rng.integers(1, 6, 300)
    pd.DataFrame({"rating": rating, "buy": rng.integers(0, 2, 300)}).to_csv(tmp_path / "d.csv", index=False)
    study = write_study({"study": "evil", "notebook": "loyalty", "title": f"Title {EVIL}",
                         "data": {"path": "d.csv", "columns": {"experience": "rating", "buy[x](javascript:alert(2))": "buy"}},
                         "experience": {"scale": [1, 5], "tiers": {f"low {EVIL}": [1, 2], "$\\frac{1}{0}$ high": [3, 5]}},
                         "outcomes": ["buy[x](javascript:alert(2))"]})
    out = tmp_path / "out"
    res = run_cli("run", str(study), "--out", str(out))
    assert res.returncode == 0, res.stdout + res.stderr
    for page in (out / "index.html", out / "evil" / "evil.html", out / "evil" / "evil-code.html"):
        html = page.read_text().lower()
        assert 'href="javascript' not in html and "href=\"data:text/html" not in html and "<script" not in html, page
        assert "content-security-policy" in html, page
    report = (out / "evil" / "evil.html").read_text()
    assert CSP in report and report.count('src="data:image/png') >= 1  # the figure still renders


# 6. output folder problems ----------------------------------------------------------------------------------------

def test_unusable_output_folder_is_one_line_and_exit_2(tmp_path, write_study):
    study = small(write_study, "o")
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    cases = {"file": "is a file, not a folder", "dangling": "which does not exist"}
    for name, needle in cases.items():
        res = run_cli("run", str(study), "--out", str(tmp_path / name), timeout=60)
        assert res.returncode == 2 and needle in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = run_cli("run", str(study), "--out", str(tmp_path / "ro"), env={"CXLAB_FAULT": "lock:EROFS"}, timeout=60)
    assert res.returncode == 2 and "Read-only file system" in res.stderr and "Traceback" not in res.stderr
    if os.geteuid() != 0:  # root writes into read-only folders anyway
        ro = tmp_path / "ro2"
        ro.mkdir()
        ro.chmod(0o555)
        res = run_cli("run", str(study), "--out", str(ro), timeout=60)
        assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_disk_full_fails_the_study_cleans_staging_and_the_index_says_so(tmp_path, write_study):
    out = tmp_path / "out"
    study = small(write_study, "full")
    assert run_cli("run", str(study), "--out", str(out)).returncode == 0
    before = (out / "full" / "results.json").read_text()
    res = run_cli("run", str(small(write_study, "full", seed=2)), "--out", str(out),
                  env={"CXLAB_FAULT": "writing:ENOSPC"})
    assert res.returncode == 1
    assert "No space left on device" in res.stderr and "Traceback" not in res.stderr
    assert len([l for l in res.stderr.splitlines() if l.strip()]) == 1
    assert (out / "full" / "results.json").read_text() == before  # the last good report is kept
    assert not [p for p in (out / ".reports").iterdir() if p.name.startswith(".staging")]
    assert "No space left on device" in (out / "index.html").read_text()


# 9. noise for cron ------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_quiet_is_silent_on_dask_and_timeout_is_one_line(tmp_path, write_study):
    out = tmp_path / "out"
    res = run_cli("run", str(small(write_study, "qd")), "--out", str(out), "--quiet", "--scheduler", "local",
                  "--jobs", "1")
    assert res.returncode == 0 and res.stdout == "" and res.stderr == "", res.stderr


@pytest.mark.slow
def test_sigterm_and_timeout_print_one_line(tmp_path, write_study):
    notebooks = _faulty_notebooks(tmp_path)
    out = tmp_path / "out"
    hang = small(write_study, "hang", description="sleep")
    res = run_cli("run", str(hang), "--out", str(out), "--notebooks", str(notebooks), "--timeout", "3", "--quiet")
    assert res.returncode == 1 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and "hang: failed" in res.stderr, res.stderr
    assert (out / "hang.failed" / "kernel.log").is_file() or (out / "hang.failed" / "hang.ipynb").is_file()
    for jobs in ("1", "2"):
        proc = subprocess.Popen([sys.executable, "-m", "cxlab.cli", "run", str(hang),
                                 str(small(write_study, "other", description="sleep")), "--out", str(out),
                                 "--notebooks", str(notebooks), "--jobs", jobs, "--force"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(8)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM
        assert len(stderr.strip().splitlines()) == 1 and "SIGTERM" in stderr, stderr
