"""The fixed cohort from a streamed source (issue 22): answers spilled to DuckDB on disk, grouped by customer there.

The streamed cohort (``read_counts`` in small batches, :class:`cxlab.studies.metrics.cohort.CohortSpill`) must
give the figures of the whole read (``read`` then ``analyze``) and of a plain-Python reference (a dict per
customer, the t interval of the mean difference), on data users send: text ids with blanks and stray spaces,
customers who answered twice in a wave, missing ids, skipped NPS answers, and the first wave met only late in
the file (so the waves kept while streaming change as it goes).
"""
from __future__ import annotations

import math
import tempfile

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy import stats as sps

from conftest import assert_same_figures
from cxlab.params import parse_study
from cxlab.studies.metrics import analysis, load
from cxlab.studies.metrics.cohort import CohortSpill, cohort_pairs

STREAMED = ("read whole", "streamed")


def _study(folder, path: str) -> object:
    return parse_study({"study": "c", "notebook": "metrics", "data": {"path": path, "columns": {"nps": "likely"}},
                        "segments": ["channel"]}, base_dir=folder)


def reference(frame: pd.DataFrame) -> dict:
    """The cohort by a dict per customer: mean category score per wave, then the one-sample t interval."""
    waves = sorted(frame["wave"].dropna().unique())
    scores: dict[str, dict[str, list[int]]] = {}
    for who, wave, nps in frame[["customer_id", "wave", "likely"]].itertuples(index=False):
        who = None if pd.isna(who) else str(who).strip()
        if not who or pd.isna(nps) or wave not in (waves[0], waves[-1]):
            continue
        score = 1 if nps >= 9 else -1 if nps <= 6 else 0
        scores.setdefault(who, {}).setdefault(wave, []).append(score)
    pairs = [(np.mean(s[waves[0]]), np.mean(s[waves[-1]])) for s in scores.values() if len(s) == 2]
    d = np.array([b - a for a, b in pairs])
    se = d.std(ddof=1) / math.sqrt(len(d))
    half = sps.t.ppf(0.975, len(d) - 1) * se
    return {"n": len(d), "change": d.mean(), "ci_low": d.mean() - half, "ci_high": d.mean() + half,
            "p": 2 * sps.t.sf(abs(d.mean() / se), len(d) - 1), "nps_first": np.mean([a for a, _ in pairs]),
            "nps_last": np.mean([b for _, b in pairs])}


def messy(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, n // 3, n).astype(str)
    ids = np.where(rng.random(n) < 0.1, np.char.add(" ", ids), ids)          # ' 17' is customer '17'
    ids = np.where(rng.random(n) < 0.05, "", ids)                             # no id
    nps = rng.integers(0, 11, n).astype(float)
    nps[rng.random(n) < 0.05] = np.nan
    wave = np.where(np.arange(n) < n // 2, rng.choice(["2024-Q2", "2024-Q3"], n),
                    rng.choice(["2024-Q1", "2024-Q2", "2024-Q4"], n))          # 2024-Q1 only in the second half
    return pd.DataFrame({"customer_id": ids, "likely": nps, "wave": wave,
                         "channel": rng.choice(["web", "store"], n)})


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_streamed_cohort_equals_the_whole_read_and_a_plain_reference(tmp_path, fmt, monkeypatch):
    frame = messy(3_000, 1)
    path = tmp_path / f"answers.{fmt}"
    frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path)
    study = _study(tmp_path, path.name)
    spill_root = tmp_path / "tmp"
    spill_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spill_root))
    whole = analysis.analyze(load.read(study, tmp_path)[0], study)
    streamed = analysis.analyze(load.read_counts(study, tmp_path, batch_rows=200)[0], study)
    assert_same_figures(whole.results, streamed.results, STREAMED)
    assert whole.warnings == streamed.warnings and any("more than once" in w for w in streamed.warnings)
    got = streamed.results["cohort"]
    for key, value in reference(frame).items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    assert list(spill_root.iterdir()) == []                  # the spill's database is removed


def test_numeric_ids_with_gaps_and_missing_values(tmp_path):
    frame = messy(2_000, 2)
    frame["customer_id"] = pd.to_numeric(frame["customer_id"], errors="coerce") * 1_000_003   # NaN where blank
    frame.to_parquet(tmp_path / "answers.parquet")
    study = _study(tmp_path, "answers.parquet")
    whole = analysis.analyze(load.read(study, tmp_path)[0], study).results
    streamed = analysis.analyze(load.read_counts(study, tmp_path, batch_rows=150)[0], study).results
    assert_same_figures(whole, streamed, STREAMED)
    assert streamed["cohort"]["n"] > 100


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2), st.integers(0, 10), st.integers(1, 3)),
                min_size=1, max_size=60))
def test_spill_and_memory_give_the_same_pairs(study_of, answers):
    """Every (customer, wave, answer, repeat count): DuckDB's grouping equals the in-memory one."""
    study = study_of
    ids = np.repeat([a[0] for a in answers], [a[3] for a in answers])
    wave = np.repeat([a[1] for a in answers], [a[3] for a in answers])
    nps = np.repeat([float(a[2]) for a in answers], [a[3] for a in answers])
    memory = cohort_pairs(ids, wave, nps, 0, 2, study)
    with CohortSpill(study) as spill:
        spill.add(np.array([a[0] for a in answers], float), np.array([a[1] for a in answers]),
                  np.array([float(a[2]) for a in answers]), np.array([a[3] for a in answers]))
        spilled = spill.pairs(0, 2)
    assert spilled.repeated == memory.repeated
    assert spilled.first.tolist() == memory.first.tolist() and spilled.last.tolist() == memory.last.tolist()
    assert spilled.customers.tolist() == memory.customers.tolist()


@pytest.fixture
def study_of(tmp_path):
    (tmp_path / "x.csv").write_text("likely,wave\n1,a\n")
    return _study(tmp_path, "x.csv")


def test_duckdb_draws_no_progress_bar_on_the_users_output(study_of, tmp_path):
    """A DuckDB query over two seconds draws a progress bar on standard output (into a notebook's cells or a
    batch's log) unless told not to: the cohort's grouping and every study query are told."""
    from cxlab.sqlsafe import _connect
    with CohortSpill(study_of) as spill:
        assert spill._con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
    con = _connect(None, tmp_path)
    try:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)
    finally:
        con.close()


def test_an_unusable_temporary_folder_is_one_line(tmp_path, monkeypatch):
    """The spill needs a temporary folder: when it cannot have one (TMPDIR a file, full, gone) the study stops with
    one line saying what to do, and nothing is left behind."""
    from cxlab.errors import TemporaryStorageError
    frame = messy(500, 3)
    frame.to_parquet(tmp_path / "answers.parquet")
    study = _study(tmp_path, "answers.parquet")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(blocker))
    with pytest.raises(TemporaryStorageError) as failed:
        load.read_counts(study, tmp_path, batch_rows=100)
    assert len(str(failed.value).splitlines()) == 1 and "TMPDIR" in str(failed.value)


def test_the_cohort_spill_runs_inside_a_jupyter_kernel(tmp_path):
    """The notebooks are where the spill runs: in a Jupyter kernel DuckDB refuses any change of its progress-bar
    setting when ipywidgets are missing (it draws no bar there); the spill must run all the same."""
    import nbformat
    import papermill as pm
    messy(600, 4).to_csv(tmp_path / "answers.csv", index=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from cxlab.params import parse_study\n"
        "from cxlab.studies.metrics import analysis, load\n"
        f"folder = {str(tmp_path)!r}\n"
        "study = parse_study({'study': 'c', 'notebook': 'metrics', 'data': {'path': 'answers.csv', "
        "'columns': {'nps': 'likely'}}, 'segments': ['channel']}, base_dir=folder)\n"
        "print('cohort n', analysis.analyze(load.read_counts(study, folder, batch_rows=100)[0], study)"
        ".results['cohort']['n'])")]
    nbformat.write(nb, tmp_path / "spill.ipynb")
    out = pm.execute_notebook(str(tmp_path / "spill.ipynb"), str(tmp_path / "out.ipynb"), kernel_name="python3",
                              progress_bar=False, cwd=str(tmp_path))
    study = _study(tmp_path, "answers.csv")
    expected = analysis.analyze(load.read(study, tmp_path)[0], study).results["cohort"]["n"]
    assert out.cells[0].outputs[0]["text"].strip() == f"cohort n {expected}"
