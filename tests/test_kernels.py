"""Warm kernels (issue 15): nothing leaks from one study into the next, and a warm kernel is a cold one's twin."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PARAMS, ROOT, run_cli

PROBE = '''import json, logging, os, sys, warnings
import matplotlib, matplotlib.pyplot as plt, numpy as np
_ppid = os.getppid()
with open(f"/proc/{_ppid}/cmdline", "rb") as _fh:
    _parent = _fh.read().replace(b"\\0", b" ").decode()
_seen = {"leaked_global": "LEAKED" in globals(), "figures": plt.get_fignums(), "cwd": os.getcwd(),
         "rc": {k: repr(v) for k, v in matplotlib.rcParams.items()}, "warnings": [repr(f) for f in warnings.filters],
         "log_level": logging.getLogger().level, "log_handlers": len(logging.getLogger().handlers),
         "random": float(np.random.random()), "warm": "cxlab.batch.kernels" in _parent,
         "seaborn_preloaded": "seaborn" in sys.modules, "sys_path": sys.path, "execution_count": get_ipython().execution_count}
with open(os.path.join(study_dir, f"probe-{study['study']}.json"), "w") as _fh:
    json.dump(_seen, _fh)
if study.get("description") == "leak":
    LEAKED = 1
    matplotlib.rcParams["lines.linewidth"] = 9.5
    import seaborn as sns
    sns.set_theme(style="darkgrid")
    plt.figure()
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.DEBUG)
    np.random.seed(0)
    os.chdir("/")'''


def _probe_notebooks(tmp_path: Path, after: int = 1) -> Path:
    """A notebooks folder whose loyalty notebook runs PROBE ``after`` cells after its parameters (as
    tests/test_faults.py does): 1, before the notebook imports anything; 2, after its imports and analysis."""
    import nbformat
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / "loyalty.ipynb", as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(index + after, nbformat.v4.new_code_cell(PROBE))
    nbformat.write(nb, notebooks / "loyalty.ipynb")
    return notebooks


def _study(write_study, slug: str, description: str) -> Path:
    return write_study({"study": slug, "notebook": "loyalty", "description": description,
                        "data": {"synthetic": "customers", "n": 400, "seed": 1}, "outcomes": ["repurchase"]})


@pytest.mark.slow
def test_nothing_leaks_from_one_study_into_the_next(tmp_path, write_study):
    notebooks = _probe_notebooks(tmp_path)
    studies = [_study(write_study, "first", "leak"), _study(write_study, "second", "probe")]
    res = run_cli("run", *map(str, studies), "--out", str(tmp_path / "out"), "--notebooks", str(notebooks),
                  "--jobs", "1")
    assert res.returncode == 0, res.stderr
    first = json.loads((tmp_path / "probe-first.json").read_text())
    second = json.loads((tmp_path / "probe-second.json").read_text())
    assert first["warm"] and second["warm"], "the studies did not run in kernels forked by the kernel server"
    assert second["seaborn_preloaded"]  # the imports were done before the study began
    assert not second["leaked_global"]
    assert second["figures"] == []
    assert second["rc"]["lines.linewidth"] == repr(1.5) and second["rc"] == first["rc"]  # seaborn theme gone too
    assert second["warnings"] == first["warnings"]
    assert "'ignore', None, <class 'Warning'>" not in " ".join(second["warnings"])
    assert second["cwd"] == str(tmp_path) and second["log_handlers"] == 0 and second["log_level"] == 30
    assert second["random"] != first["random"]  # each kernel has its own global random state
    import numpy as np
    np.random.seed(0)
    assert second["random"] != float(np.random.random())
    assert second["execution_count"] == first["execution_count"]


@pytest.mark.slow
def test_a_warm_kernel_starts_in_the_state_of_a_cold_one(tmp_path, write_study):
    notebooks = _probe_notebooks(tmp_path)
    study = str(_study(write_study, "probe", "probe"))
    seen = {}
    for warm in ("1", "0"):
        res = run_cli("run", study, "--out", str(tmp_path / f"out{warm}"), "--notebooks", str(notebooks),
                      env={"CXLAB_WARM": warm})
        assert res.returncode == 0, res.stderr
        seen[warm] = json.loads((tmp_path / "probe-probe.json").read_text())
    warm, cold = seen["1"], seen["0"]
    assert warm["warm"] and not cold["warm"] and not cold["seaborn_preloaded"]
    for key in ("rc", "cwd", "log_level", "log_handlers", "sys_path", "figures", "execution_count"):
        assert warm[key] == cold[key], key
    # the only difference: the filters scipy and statsmodels install for their own warnings when imported
    assert set(cold["warnings"]) <= set(warm["warnings"])
    extra = set(warm["warnings"]) - set(cold["warnings"])
    assert all("statsmodels." in f or "scipy." in f or "matrix subclass" in f for f in extra), extra


@pytest.mark.slow
def test_warm_and_cold_kernels_give_the_same_results_for_the_default_loyalty_study(tmp_path):
    docs = {}
    for warm in ("1", "0"):
        out = tmp_path / f"out{warm}"
        res = run_cli("run", str(PARAMS / "loyalty.yaml"), "--out", str(out), env={"CXLAB_WARM": warm})
        assert res.returncode == 0, res.stderr
        docs[warm] = json.loads((out / "loyalty" / "results.json").read_text())
    assert docs["1"]["results"] == docs["0"]["results"]
    assert docs["1"]["status"] == docs["0"]["status"] == "ok"


@pytest.mark.slow
def test_forked_pool_workers_use_the_runs_kernel_server(tmp_path, write_study):
    notebooks = _probe_notebooks(tmp_path)
    studies = [_study(write_study, f"w{i}", "probe") for i in range(3)]
    res = run_cli("run", *map(str, studies), "--out", str(tmp_path / "out"), "--notebooks", str(notebooks),
                  "--jobs", "2")
    assert res.returncode == 0, res.stderr
    for i in range(3):
        seen = json.loads((tmp_path / f"probe-w{i}.json").read_text())
        assert seen["warm"] and seen["seaborn_preloaded"], f"w{i} ran in a cold kernel"


@pytest.mark.slow
@pytest.mark.parametrize("warm", [True, False])
def test_engine_loses_no_output_and_leaves_no_kernel(tmp_path, monkeypatch, warm):
    """The run's engine: the first output of a kernel just started arrives (IOPub is connected before the
    first cell, although the start-up wait is short), the notebook is written once, when it ends, and
    the kernel, killed at once when the notebook is done, is gone when the call returns."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from cxlab.batch import kernels
    from cxlab.batch.engine import execute_notebook

    monkeypatch.setenv("CXLAB_WARM", "1" if warm else "0")
    notebook = new_notebook(cells=[new_code_cell("study = None", metadata={"tags": ["parameters"]}),
                                   new_code_cell("import os\nprint('first', os.getpid())"),
                                   new_code_cell("print('second', study['study'])")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source = tmp_path / "probe.ipynb"
    nbformat.write(notebook, source)
    server = kernels.start()
    assert (server is not None) == warm
    if server is not None:
        server.eager = False
    try:
        for i in range(3):
            work = tmp_path / f"work{i}"
            work.mkdir()
            executed = tmp_path / f"executed{i}.ipynb"
            execute_notebook(str(source), executed, {"study": {"study": f"s{i}"}}, cwd=str(tmp_path), timeout=60,
                             work=work)
            cells = nbformat.read(executed, as_version=4).cells
            first = "".join(o.get("text", "") for o in cells[2].outputs).split()
            assert first[0] == "first" and "".join(o.get("text", "") for o in cells[3].outputs) == f"second s{i}\n"
            pid = int(first[1])
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = "gone"
            assert state in ("gone", "Z"), (pid, state)  # dead (a zombie only until its parent reaps it)
    finally:
        kernels.stop()
