"""Issue 23, operations: a hostile history, lock file, full disks, two runs at once, a killed kernel server,
a damaged results.json, long and bidirectional names.

Each test builds the situation, runs the real CLI as a user would and checks the rule: one clear line (no
traceback), the right exit status, nothing of the user's lost or overwritten, no published good report
replaced, no hang (every run has a timeout), no process or lock left.

Disk full is real: a small tmpfs mounted for the test (``mount -t tmpfs -o size=...``, root only; skipped
otherwise), filled with ``fallocate`` until the run meets ENOSPC.
"""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from conftest import ROOT, alive, check_results_doc, descendants, run_cli

from cxlab.batch import history
from cxlab.batch.lock import LOCK, OutputLock

NO_PDF = {"CXLAB_PDF": "0"}  # the PDF is not what these tests attack (but the names test prints one)
SLEEP = '''import time
if str(study.get("description", "")).startswith("sleep "):
    time.sleep(float(study["description"].split()[1]))'''


def study_doc(slug: str, seed: int = 1, **extra) -> dict:
    return {"study": slug, "notebook": "loyalty", "data": {"synthetic": "customers", "n": 300, "seed": seed},
            "outcomes": ["repurchase"], **extra}


def write(folder: Path, doc: dict, name: str | None = None) -> Path:
    path = folder / f"{name or doc['study']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_clean(res: subprocess.CompletedProcess, status: int, n_lines: int = 1) -> list[str]:
    """The run ended with ``status`` and ``n_lines`` lines on stderr, no traceback; those lines."""
    err = lines(res.stderr)
    assert res.returncode == status, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout and "internal error" not in res.stderr, res.stderr
    assert len(err) == n_lines, res.stderr
    return err


def assert_released(out: Path) -> None:
    """No half-written file is published or left behind, and the lock is free (and empty: released)."""
    assert not [p for p in (out / ".reports").iterdir() if p.name.startswith(".staging")]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert (out / LOCK).read_text() == ""
    with OutputLock(out, wait=False):
        pass


def results(out: Path, slug: str) -> dict:
    return json.loads((out / slug / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """Two small studies published once (``ops``, ``ops2``): each test attacks its own copy (:func:`site`)."""
    base = tmp_path_factory.mktemp("published")
    files = [write(base, study_doc("ops")), write(base, study_doc("ops2", seed=2))]
    res = run_cli("run", *map(str, files), "--out", str(base / "out"), env=NO_PDF, timeout=300)
    assert res.returncode == 0, res.stderr
    return base


@pytest.fixture
def site(published: Path, tmp_path: Path) -> Path:
    """A copy of the published output folder (``site/out``) beside its study files (``site/ops.yaml``)."""
    shutil.copytree(published, tmp_path / "site", symlinks=True)
    return tmp_path / "site"


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> Path:
    """The loyalty notebook with a cell that sleeps when the study's description says ``sleep <seconds>``."""
    folder = tmp_path_factory.mktemp("notebooks")
    nb = nbformat.read(ROOT / "notebooks" / "loyalty.ipynb", as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(SLEEP))
    nbformat.write(nb, folder / "loyalty.ipynb")
    return folder


# --- processes ------------------------------------------------------------------------------------------------

def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def assert_all_gone(family: set[int]) -> None:
    deadline = time.time() + 20
    while time.time() < deadline and any(alive(p) for p in family):
        time.sleep(0.2)
    left = {p: cmdline(p) for p in family if alive(p)}
    assert not left, f"processes of the run survive it: {left}"


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cxlab.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, **(env or NO_PDF)))


def wait_for_lock(out: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            if (out / LOCK).read_text().startswith("pid"):
                return
        except OSError:
            pass
        time.sleep(0.05)
    pytest.fail("the first run never took the lock")


# --- the index history -------------------------------------------------------------------------------------------

def good(i: int) -> bytes:
    return json.dumps({"ended": f"run {i}", "figures": {"repurchase: best-tier rate": 0.5 + i / 100}}).encode()


HOSTILE_LINES = [b"not json", b"[1, 2]", b'{"figures": 3}', b"\xff\xfe\x00 not utf-8", b"[" * 200_000, b"",
                 b'{"ended": "cut', b"\x00" * 5000]


def sparkline_label(out: Path) -> str:
    """The accessible label of ``ops``'s sparkline in the index ("last 12 runs: ...")."""
    page = (out / "index.html").read_text(encoding="utf-8")
    section = page[page.index('id="ops"'):]
    found = re.search(r'(?:aria-label|title)="(last [^"]*)"', section)
    assert found, section[:2000]
    return html.unescape(found.group(1))


@pytest.mark.slow
def test_history_with_corrupt_lines_keeps_every_good_line_and_appends_whole_lines(site):
    out, file = site / "out", site / "out" / history.HISTORY / "ops.jsonl"
    body = b"\n".join([good(i) for i in range(6)] + HOSTILE_LINES + [good(i) for i in range(6, 16)])
    body += b"\n" + b'{"ended": "cut short by a full dis'  # a last line without its end
    file.write_bytes(body)
    fifo = out / history.HISTORY / "ops2.jsonl"  # and the other study's history is a FIFO nobody writes
    fifo.unlink()
    os.mkfifo(fifo)

    res = run_cli("run", str(site / "ops.yaml"), str(site / "ops2.yaml"), "--out", str(out), env=NO_PDF, timeout=60)
    assert_clean(res, 0, 0)  # up to date: the index is drawn from the history without hanging on the FIFO
    label = sparkline_label(out)
    assert label.startswith(f"last {history.HISTORY_RUNS} runs: ") and label.endswith(" 65%"), label  # headline digits
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)

    res = run_cli("run", str(site / "ops.yaml"), str(site / "ops2.yaml"), "--out", str(out), "--force",
                  env=NO_PDF, timeout=180)
    (warning,) = assert_clean(res, 0)
    assert "history of ops2 not written: not a regular file" in warning
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # left as it was
    after = file.read_bytes()
    assert after.startswith(body)  # every line kept, byte for byte
    new = after[len(body):]
    assert new.startswith(b"\n") and new.endswith(b"\n") and new.count(b"\n") == 2  # the cut line ended first
    assert json.loads(new)["ended"] == results(out, "ops")["provenance"]["ended"]
    runs = history.read_history(out, "ops")
    assert len(runs) == history.HISTORY_RUNS and runs[-1] == json.loads(new) and runs[-2] == json.loads(good(15))


def test_huge_fifo_device_or_linked_history_never_hangs_the_run(site):
    out, file = site / "out", site / "out" / history.HISTORY / "ops.jsonl"
    with open(file, "wb") as fh:  # 200 MB: sparse, then the last runs
        fh.truncate(200 << 20)
        fh.seek(0, os.SEEK_END)
        fh.write(b"\n" + b"\n".join(good(i) for i in range(30)) + b"\n")
    t0 = time.perf_counter()
    res = run_cli("run", str(site / "ops.yaml"), "--out", str(out), env=NO_PDF, timeout=60)
    assert_clean(res, 0, 0)
    assert time.perf_counter() - t0 < 30
    assert sparkline_label(out).endswith(" 79%")  # the last of the 30 runs, read from the end
    assert file.stat().st_size == (200 << 20) + 1 + sum(len(good(i)) + 1 for i in range(30))

    hostile = {"fifo": lambda p: os.mkfifo(p), "link to /dev/zero": lambda p: p.symlink_to("/dev/zero")}
    if os.geteuid() == 0:
        hostile["device"] = lambda p: os.mknod(p, 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero itself
    for name, make in hostile.items():
        file.unlink()
        make(file)
        kind = stat.S_IFMT(os.lstat(file).st_mode)
        res = run_cli("run", str(site / "ops.yaml"), "--out", str(out), env=NO_PDF, timeout=60)
        assert_clean(res, 0, 0)
        assert sparkline_label(out).startswith("last 1 run: "), name  # drawn from the report's figure alone
        assert stat.S_IFMT(os.lstat(file).st_mode) == kind, name  # left as it was


def test_history_reads_at_most_its_tail(tmp_path, monkeypatch):
    """However large the file, a read draws the last runs from at most TAIL_BYTES at its end."""
    folder = tmp_path / history.HISTORY
    folder.mkdir()
    with open(folder / "s.jsonl", "wb") as fh:
        fh.write(b"\n".join(good(i) for i in range(50)) + b"\n")
        fh.truncate(300 << 20)  # then 300 MB without a single line end
    read = []
    real = os.pread

    def counting(fd: int, n: int, offset: int) -> bytes:
        read.append(n)
        return real(fd, n, offset)

    monkeypatch.setattr(history.os, "pread", counting)
    assert history.read_history(tmp_path, "s") == []  # the good lines lie beyond the tail
    assert sum(read) <= history.TAIL_BYTES
    read.clear()
    (folder / "t.jsonl").write_bytes(b"x" * (10 << 20) + b"\n" + b"\n".join(good(i) for i in range(50)))
    runs = history.read_history(tmp_path, "t")
    assert [r["ended"] for r in runs] == [f"run {i}" for i in range(38, 50)]
    assert sum(read) <= 1 << 16  # the last 12 runs lie in the last block


# --- the lock file ----------------------------------------------------------------------------------------------

def test_lock_file_that_is_a_link_a_hard_link_or_a_fifo_is_never_followed_or_written(site, tmp_path):
    out, lock = site / "out", site / "out" / LOCK
    mine = tmp_path / "thesis.txt"
    mine.write_text("four years of work\n")
    cases = {"symbolic link": lambda: lock.symlink_to(mine),
             "dangling": lambda: lock.symlink_to(tmp_path / "not-yet"),
             "hard link": lambda: os.link(mine, lock),
             "not a regular file": lambda: os.mkfifo(lock)}
    expect = {"symbolic link": "is a symbolic link; cxlab never follows it", "dangling": "is a symbolic link",
              "hard link": "a hard link", "not a regular file": "is not a regular file"}
    for name, make in cases.items():
        lock.unlink()
        make()
        res = run_cli("run", str(site / "ops.yaml"), "--out", str(out), env=NO_PDF, timeout=60)
        (line,) = assert_clean(res, 2)
        assert line.startswith(f"cxlab: {lock}: ") and expect[name] in line, line
        assert mine.read_text() == "four years of work\n", name  # never truncated nor written
        assert not (tmp_path / "not-yet").exists()  # never created through the link
    assert stat.S_ISFIFO(os.lstat(lock).st_mode)  # left in place for the user to look at


# --- disk full ------------------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path):
    """A tmpfs of 8 MB mounted at ``tmp_path/disk`` (root only), unmounted afterwards."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full disk is simulated with a small tmpfs, which needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill ``disk`` but ``leave`` bytes (whole pages)."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize - leave
    filler = disk / "filler"
    if free > 0:
        with open(filler, "ab") as fh:
            os.posix_fallocate(fh.fileno(), 0, free)
    return filler


@pytest.mark.slow
@pytest.mark.parametrize("leave", [64 << 10, 0])
def test_disk_full_in_out_keeps_the_good_report_and_the_next_run_succeeds(site, small_disk, leave):
    out = small_disk / "out"
    shutil.copytree(site / "out", out, symlinks=True)
    good_report = (out / "ops" / "results.json").read_bytes()
    changed = write(site, study_doc("ops", seed=3))
    filler = fill(small_disk, leave)

    res = run_cli("run", str(changed), str(site / "ops2.yaml"), "--out", str(out), env=NO_PDF, timeout=180)
    err = lines(res.stderr)
    assert res.returncode == 1 and "Traceback" not in res.stderr + res.stdout, res.stderr
    failed = [l for l in err if l.startswith("ops: failed")]
    assert len(failed) == 1 and failed[0].endswith("No space left on device"), res.stderr
    # besides the study's line, at most one: the index could not be written either (nothing left at all)
    assert len(err) == 1 + (leave == 0) and all("index.html" in l for l in err if l not in failed), res.stderr
    assert "ops2: up to date" in res.stdout
    assert (out / "ops" / "results.json").read_bytes() == good_report  # the last good report stays
    assert_released(out)

    filler.unlink()  # space is back
    res = run_cli("run", str(changed), "--out", str(out), env=NO_PDF, timeout=180)
    assert_clean(res, 0, 0)
    doc = check_results_doc(out / "ops" / "results.json", "ops", "loyalty")
    assert doc["provenance"]["parameters"]["data"]["seed"] == 3
    assert not os.path.lexists(out / "ops.failed")
    assert_released(out)
    assert history.read_history(out, "ops")[-1]["ended"] == doc["provenance"]["ended"]


@pytest.mark.slow
def test_disk_full_in_the_temporary_folder_fails_the_study_in_one_line(site, small_disk):
    out = site / "out"
    good_report = (out / "ops" / "results.json").read_bytes()
    changed = write(site, study_doc("ops", seed=3))
    filler = fill(small_disk, 16 << 10)
    res = run_cli("run", str(changed), "--out", str(out), env={**NO_PDF, "TMPDIR": str(small_disk)}, timeout=180)
    (line,) = assert_clean(res, 1)
    assert line.startswith("ops: failed") and line.endswith(
        f"cannot write in the temporary folder {small_disk}: No space left on device"), line
    assert (out / "ops" / "results.json").read_bytes() == good_report
    assert not list(small_disk.glob("cxlab-*"))  # the study's work folder is removed
    assert_released(out)
    filler.unlink()
    res = run_cli("run", str(changed), "--out", str(out), env={**NO_PDF, "TMPDIR": str(small_disk)}, timeout=180)
    assert_clean(res, 0, 0)
    assert results(out, "ops")["provenance"]["parameters"]["data"]["seed"] == 3
    assert not os.path.lexists(out / "ops.failed")


# --- two runs at once; a killed kernel server -------------------------------------------------------------------

@pytest.mark.slow
def test_a_second_run_on_the_same_out_refuses_in_one_line_or_waits(site, notebooks):
    out = site / "out"
    slow = write(site, study_doc("slow", description="sleep 4"))
    first = start("run", str(slow), "--out", str(out), "--notebooks", str(notebooks))
    family: set[int] = set()
    wait_for_lock(out, first)
    family |= descendants(first.pid)
    res = run_cli("run", str(site / "ops.yaml"), "--out", str(out), env=NO_PDF, timeout=60)
    (line,) = assert_clean(res, 2)
    assert f"another cxlab run holds the output folder (pid {first.pid} since" in line and "--wait" in line
    second = start("run", str(site / "ops.yaml"), "--out", str(out), "--force", "--wait")
    time.sleep(1)
    assert second.poll() is None  # waiting for the first
    while first.poll() is None:
        family |= descendants(first.pid) | descendants(second.pid)
        time.sleep(0.2)
    assert first.wait(timeout=120) == 0, first.stderr.read()
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0 and "ops: ok" in stdout, stderr
    assert len(lines(stderr)) == 1 and "waiting for the lock" in stderr  # the one line that says why it waits
    assert_all_gone(family)
    assert_released(out)
    check_results_doc(out / "slow" / "results.json", "slow", "loyalty")


@pytest.mark.slow
def test_a_killed_kernel_server_fails_its_study_cleanly_and_leaves_no_kernel(site, notebooks):
    out = site / "out"
    slow = write(site, study_doc("slow", description="sleep 8"))
    after = write(site, study_doc("after", seed=4))
    good_report = (out / "ops" / "results.json").read_bytes()
    run = start("run", str(slow), str(after), "--out", str(out), "--notebooks", str(notebooks), "--jobs", "1")
    family: set[int] = set()
    server = kernel = None
    deadline = time.time() + 90
    while time.time() < deadline and kernel is None:  # the server (the run's child), and the kernel it forked
        family |= descendants(run.pid)
        try:
            children = list(map(int, Path(f"/proc/{run.pid}/task/{run.pid}/children").read_text().split()))
        except OSError:  # the run ended already
            break
        server = next((p for p in children if "kernels import serve" in cmdline(p) and alive(p)), None)
        kernel = next((p for p in descendants(server) if alive(p)), None) if server else None
        time.sleep(0.2)
    assert kernel is not None, "no kernel forked by the server"
    time.sleep(2)  # inside the notebook's sleep
    family |= descendants(run.pid)
    os.kill(server, signal.SIGKILL)
    while run.poll() is None and time.time() < deadline:
        family |= descendants(run.pid)
        time.sleep(0.2)
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 1, stderr
    (line,) = lines(stderr)
    assert line.startswith("slow: failed") and "Traceback" not in stderr, stderr
    assert "after: ok" in stdout  # the next study ran on a cold kernel
    check_results_doc(out / "slow.failed" / "results.json", "slow", "loyalty", status="failed")
    check_results_doc(out / "after" / "results.json", "after", "loyalty")
    assert (out / "ops" / "results.json").read_bytes() == good_report
    assert_all_gone(family | {kernel})
    assert_released(out)


# --- a damaged results.json ---------------------------------------------------------------------------------

def _truncated(doc: dict, text: str) -> str:
    return text[:len(text) // 2]


DAMAGE = {
    "truncated": (_truncated, "not JSON"),
    "not JSON": (lambda doc, text: "results? what results", "not JSON"),
    "empty": (lambda doc, text: "", "not JSON"),
    "a list": (lambda doc, text: "[1, 2, 3]", "not a JSON object (a list)"),
    "provenance a string": (lambda doc, text: json.dumps({**doc, "provenance": "x"}), "key 'provenance' is a str"),
    "results a string": (lambda doc, text: json.dumps({**doc, "results": "x"}), "key 'results' is not an object"),
    "figures a list": (lambda doc, text: json.dumps({**doc, "headline": {**doc["headline"], "figures": [1]}}),
                       "key 'headline.figures' is a list"),
    "status unknown": (lambda doc, text: json.dumps({**doc, "status": "great"}), "neither ok nor failed"),
    "another study's": (lambda doc, text: json.dumps({**doc, "study": "other"}), "report of study 'other'"),
}


@pytest.mark.parametrize("case", DAMAGE, ids=list(DAMAGE))
def test_a_damaged_results_json_makes_its_study_out_of_date(published, tmp_path, case, caplog):
    from cxlab.batch.cache import decide
    from cxlab.batch.plan import plan

    site = tmp_path / "site"
    shutil.copytree(published, site, symlinks=True)
    path = site / "out" / "ops" / "results.json"
    text = path.read_text(encoding="utf-8")
    damage, reason = DAMAGE[case]
    path.write_text(damage(json.loads(text), text), encoding="utf-8")
    (job,) = plan([site / "ops.yaml"])
    decision = decide(job, site / "out", force=False)
    assert decision.startswith("ran: the published results.json was damaged (") and reason in decision, decision
    assert [r.getMessage() for r in caplog.records if r.name == "cxlab.batch.cache"] == [
        f"{path}: {decision[len('ran: the published results.json was damaged ('):-1]}; "
        "study ops is out of date and reruns"]


def test_a_results_json_that_is_a_fifo_does_not_hang_the_run(site):
    path = site / "out" / "ops" / "results.json"
    path.unlink()
    os.mkfifo(path)
    res = run_cli("run", str(site / "ops2.yaml"), "--out", str(site / "out"), env=NO_PDF, timeout=60)
    assert_clean(res, 0, 0)  # the index is drawn without it (and without hanging on it)
    assert 'id="ops2"' in (site / "out" / "index.html").read_text() and 'id="ops"' not in (
        site / "out" / "index.html").read_text()


@pytest.mark.slow
def test_damaged_results_json_is_said_in_one_line_and_the_study_reruns(site):
    out = site / "out"
    truncated = out / "ops" / "results.json"
    truncated.write_bytes(truncated.read_bytes()[:500])
    typed = out / "ops2" / "results.json"
    typed.write_text(json.dumps({**json.loads(typed.read_text()), "provenance": ["not", "an", "object"]}))

    res = run_cli("run", str(site / "ops.yaml"), "--out", str(out), env=NO_PDF, timeout=60, )
    assert res.returncode == 0 and "internal error" not in res.stderr  # the index skips the damaged ops2
    (line,) = [l for l in lines(res.stderr)]
    assert str(truncated) in line and "not JSON" in line and "study ops is out of date and reruns" in line
    assert "ops: ok" in res.stdout

    res = run_cli("run", str(site / "ops.yaml"), str(site / "ops2.yaml"), "--out", str(out), env=NO_PDF,
                  timeout=180)
    (line,) = assert_clean(res, 0)
    assert "key 'provenance' is a list; study ops2 is out of date and reruns" in line
    assert "ops: up to date" in res.stdout and "ops2: ok" in res.stdout
    for slug in ("ops", "ops2"):
        doc = check_results_doc(out / slug / "results.json", slug, "loyalty")
        assert doc["provenance"]["decision"].startswith(("ran: the published results.json was damaged", "up to"))
    assert results(out, "ops2")["provenance"]["decision"] == \
        "ran: the published results.json was damaged (key 'provenance' is a list)"
    assert 'id="ops2"' in (out / "index.html").read_text()


# --- long, right-to-left and combining names --------------------------------------------------------------------

def test_a_study_name_longer_than_file_names_allow_is_refused_at_validation(tmp_path):
    path = write(tmp_path, study_doc("s" * 101), name="long")
    res = run_cli("validate", str(path), "--rows", "0", timeout=60)
    (line,) = assert_clean(res, 2)
    assert line == (f"cxlab: {path}: key 'study': a study name has at most 100 characters (the file names a run "
                    "derives from it must fit the file system's limit of 255 bytes), got 101")


def test_an_output_folder_too_deep_for_its_reports_is_refused_with_the_limit(tmp_path):
    study = write(tmp_path, study_doc("deep"))
    deep = tmp_path
    while len(os.fsencode(str(deep))) < 4000:
        deep = deep / ("d" * 200)
    deep = Path(str(deep)[:4030].rstrip("/"))
    deep.mkdir(parents=True)
    res = run_cli("run", str(study), "--out", str(deep), env=NO_PDF, timeout=60)
    (line,) = assert_clean(res, 2)
    assert "study deep: its report would be written at a path of" in line
    assert line.endswith("longer than the file system allows (4095); choose a shorter --out"), line[-200:]
    assert list(deep.iterdir()) == []  # nothing ran, nothing written


def test_a_temporary_folder_too_deep_for_kernel_sockets_fails_the_study_in_one_line(site, tmp_path):
    deep = tmp_path / ("t" * 120)
    deep.mkdir()
    changed = write(site, study_doc("ops", seed=3))
    res = run_cli("run", str(changed), "--out", str(site / "out"), env={**NO_PDF, "TMPDIR": str(deep)}, timeout=60)
    (line,) = assert_clean(res, 1)  # before: zmq failed to connect, then the run hung at exit
    assert line.startswith("ops: failed") and f"the temporary folder {deep} is too deep for the kernel's sockets (" \
        in line and "at most 107); set TMPDIR to a shorter folder" in line, line
    assert not list(deep.iterdir())
    assert_released(site / "out")


def test_a_deep_temporary_folder_shortens_the_work_folder_name_to_fit_the_kernel_sockets(tmp_path):
    """A temporary folder 66 bytes deep: the work folder (``cxlab-study-<pid>-<label>-XXXXXXXX``) leaves room
    for the kernel's sockets only without most of a 20-character study name, so the name is cut, not the study
    failed (the sockets, ``<work>/k-<n>``, stay within 107 bytes for any pid up to 7 digits)."""
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="cx-", dir="/tmp"))
    try:
        deep = base / ("t" * (66 - len(str(base)) - 1))
        deep.mkdir()
        assert len(os.fsencode(str(deep))) == 66
        study = write(tmp_path, study_doc("operations-long-name"))
        res = run_cli("run", str(study), "--out", str(tmp_path / "out"), env={**NO_PDF, "TMPDIR": str(deep)},
                      timeout=120)
        assert_clean(res, 0, 0)
        assert results(tmp_path / "out", "operations-long-name")["status"] == "ok"
        assert not list(deep.iterdir())  # the work folder removed
    finally:
        shutil.rmtree(base, ignore_errors=True)


RTL = "דוח נאמנות \u202eשל לקוחות\u202c تقرير الولاء"  # Hebrew, an override, Arabic
COMBINING = "Cafe\u0301 e\u0301\u0301\u0301 Z\u0335\u0321a\u0336l\u0334g\u0337o\u0338"


@pytest.mark.slow
def test_long_right_to_left_and_combining_names_keep_pages_pdf_and_file_names_valid(tmp_path):
    import numpy as np
    import pandas as pd
    from openpyxl import load_workbook

    from cxlab.batch.pdf import chromium

    rng = np.random.default_rng(5)
    rating = rng.integers(1, 6, 300)
    outcome = f"רכישה חוזרת {COMBINING}"
    pd.DataFrame({"تقييم": rating, outcome: (rng.random(300) < rating / 6).astype(int)}).to_csv(
        tmp_path / "נתונים.csv", index=False, encoding="utf-8")
    slug = "n" * 100  # the longest study name allowed
    title = (f"{RTL} {COMBINING} " * 60).strip()
    study = write(tmp_path, {"study": slug, "notebook": "loyalty", "title": title,
                             "data": {"path": "נתונים.csv", "columns": {"experience": "تقييم"}},
                             "experience": {"scale": [1, 5], "tiers": {f"נמוך {COMBINING}": [1, 2],
                                                                      f"عالٍ \u202e{RTL}": [3, 5]}},
                             "outcomes": [outcome]}, name="דוח\u0301 נאמנות")
    out = tmp_path / "out"
    res = run_cli("run", str(study), "--out", str(out), timeout=300)
    assert_clean(res, 0, 0)
    doc = check_results_doc(out / slug / "results.json", slug, "loyalty")
    assert doc["title"] == title and outcome in doc["results"]["outcomes"]
    names = [p.relative_to(out / slug) for p in (out / slug).rglob("*")]
    for name in names:  # every file name is ASCII, within the file system's limits
        assert str(name).isascii() and all(len(part) <= 255 for part in name.parts), name
    for page in (out / slug / f"{slug}.html", out / slug / f"{slug}-code.html", out / "index.html"):
        text = page.read_bytes().decode("utf-8")  # valid UTF-8
        assert re.sub("[\u202a-\u202e\u2066-\u2069]", "", title) in html.unescape(text), page  # no override
        assert 'charset="utf-8"' in text.lower(), page
    assert outcome in html.unescape((out / slug / f"{slug}.html").read_text(encoding="utf-8"))
    sheets = load_workbook(out / slug / "tables.xlsx", read_only=True)
    assert any(outcome in str(cell) for ws in sheets for row in ws.iter_rows(values_only=True) for cell in row)
    if chromium() is not None:
        pdf = (out / slug / f"{slug}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]


def test_a_huge_index_html_is_judged_by_its_first_bytes(tmp_path):
    """Whether an index.html is cxlab's is read from its start: a huge one is not read whole."""
    import tracemalloc

    from cxlab.batch.run import INDEX_MARKERS, prepare_output
    from cxlab.errors import RunnerError

    out = tmp_path / "out"
    out.mkdir()
    with open(out / "index.html", "wb") as fh:
        fh.write(f"<!DOCTYPE html>{INDEX_MARKERS[0]}".encode())
        fh.truncate(256 << 20)  # 256 MB, sparse
    tracemalloc.start()
    try:
        assert prepare_output(out, []) == out
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    os.unlink(out / "index.html")
    os.mkfifo(out / "index.html")  # not cxlab's, and never waited on
    with pytest.raises(RunnerError, match="an index.html cxlab did not write is in the way"):
        prepare_output(out, [])
