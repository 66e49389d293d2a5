"""Large synthetic sets: chunked generation, Parquet output, `cxlab synth`, and column-pruned Parquet reads."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cxlab import synth
from cxlab.data import read_table
from cxlab.errors import DataError, StudyFileError
from cxlab.synth import chunks


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of at most 1,000 rows, so that chunking shows at test sizes."""
    limits = {name: (1_000, ids) for name, (_, ids) in chunks.LIMITS.items()}
    monkeypatch.setattr(chunks, "LIMITS", limits)


def test_plan_splits_evenly_within_the_limit():
    for n in (1, 999_999, 1_000_000, 1_000_001, 7_654_321, 100_000_000):
        sizes = chunks.plan("customers", n)
        assert sum(sizes) == n and max(sizes) <= 1_000_000 and max(sizes) - min(sizes) <= 1
    assert chunks.plan("panel", 300) == [300]
    with pytest.raises(ValueError, match="100,000,000"):
        chunks.plan("customers", 100_000_001)


def test_one_chunk_is_exactly_the_generator():
    a = synth.generate("customers", 5_000, seed=3)
    pd.testing.assert_frame_equal(a, synth.GENERATORS["customers"](n=5_000, seed=3))


def test_chunks_are_the_generator_with_derived_seeds_and_continued_ids(small_chunks):
    frame = synth.generate("lifecycles", 2_500, seed=7)
    assert len(frame) == 2_500
    assert frame["customer_id"].tolist() == list(range(1, 2_501))
    sizes = chunks.plan("lifecycles", 2_500)
    assert sizes == [834, 833, 833]
    start = 0
    for i, rows in enumerate(sizes):
        expected = synth.GENERATORS["lifecycles"](n=rows, seed=chunks.chunk_seed(7, i))
        expected["customer_id"] += start
        got = frame.iloc[start:start + rows].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)
        start += rows
    assert len({chunks.chunk_seed(7, i) for i in range(50)}) == 50


def test_survey_chunks_never_share_a_customer(small_chunks):
    frame = synth.generate("survey", 3_000, seed=1)
    sizes = chunks.plan("survey", 3_000)
    bounds = np.cumsum([0, *sizes])
    customers = [set(frame["customer_id"].iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    assert all(not (customers[i] & customers[j]) for i in range(3) for j in range(i + 1, 3))
    assert frame["response_id"].is_unique


def test_write_parquet_gives_the_rows_generate_gives(small_chunks, tmp_path):
    path = synth.write_parquet("survey", 2_200, tmp_path / "s.parquet", seed=5, scenario="within")
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, synth.generate("survey", 2_200, seed=5, scenario="within"))
    import pyarrow.parquet as pq
    assert pq.ParquetFile(path).num_row_groups == 3
    assert [p.name for p in tmp_path.iterdir()] == ["s.parquet"]      # no partial file left


def test_write_parquet_refuses_the_panel(tmp_path):
    with pytest.raises(StudyFileError, match="not rows"):
        synth.write_parquet("panel", 300, tmp_path / "p.parquet")
    assert not list(tmp_path.iterdir())


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cxlab.cli", "synth", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_cli_writes_a_file_and_never_replaces_one(tmp_path):
    res = _cli("customers", "--n", "1500", "--out", "c.parquet", "--seed", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "1,500 of 1,500 rows" in res.stderr and "wrote 1,500 rows" in res.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "c.parquet"), synth.GENERATORS["customers"](n=1_500, seed=2))
    before = (tmp_path / "c.parquet").read_bytes()
    res = _cli("customers", "--n", "900", "--out", "c.parquet", cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "--force" in res.stderr
    assert (tmp_path / "c.parquet").read_bytes() == before
    res = _cli("customers", "--n", "900", "--out", "c.parquet", "--force", "-q", cwd=tmp_path)
    assert res.returncode == 0 and res.stderr == ""
    assert len(pd.read_parquet(tmp_path / "c.parquet")) == 900


@pytest.mark.parametrize("args, words", [
    (("customers", "--n", "500", "--out", "c.csv"), "must end in .parquet"),
    (("customers", "--n", "500", "--out", "nowhere/c.parquet"), "does not exist"),
    (("panel", "--n", "500", "--out", "p.parquet"), "not rows"),
    (("nosuch", "--n", "500", "--out", "p.parquet"), "unknown generator"),
    (("survey", "--n", "500", "--out", "p.parquet", "-o", "colour=red"), "not an option"),
    (("survey", "--n", "500", "--out", "p.parquet", "-o", "scenario"), "KEY=VALUE"),
    (("customers", "--n", "10", "--out", "c.parquet"), "between 100"),
])
def test_cli_bad_arguments_give_one_line(tmp_path, args, words):
    res = _cli(*args, cwd=tmp_path)
    assert res.returncode == 2 and words in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert not list(tmp_path.glob("*.parquet"))


def test_parquet_read_for_the_needed_columns_only(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]})
    frame.to_parquet(tmp_path / "f.parquet")
    got = read_table(tmp_path / "f.parquet", columns=["c", "a", "zz"])
    assert list(got.columns) == ["c", "a"] and got["a"].tolist() == [1, 2]
    assert got.attrs["header"] == ["a", "b", "c"]
    assert list(read_table(tmp_path / "f.parquet").columns) == ["a", "b", "c"]


def test_a_missing_column_still_names_the_whole_header(tmp_path):
    from cxlab.params import load_study_file
    from cxlab.studies.loyalty.load import read
    data = synth.GENERATORS["customers"](n=500, seed=1)
    data["unused"] = 1.0
    data.drop(columns="refer").to_parquet(tmp_path / "d.parquet")
    (tmp_path / "s.yaml").write_text("study: s\nnotebook: loyalty\ndata: {path: d.parquet}\n"
                                     "outcomes: [repurchase, refer]\n")
    study = load_study_file(tmp_path / "s.yaml")
    with pytest.raises(DataError) as err:
        read(study, tmp_path)
    assert "'refer'" in str(err.value) and "unused" in str(err.value)


def test_pruned_parquet_gives_the_same_loyalty_data_as_csv(tmp_path):
    from cxlab.params import load_study_file
    from cxlab.studies.loyalty.load import read
    data = synth.GENERATORS["customers"](n=2_000, seed=4)
    data["note"] = "free text " * 5
    data.to_parquet(tmp_path / "d.parquet")
    data.to_csv(tmp_path / "d.csv", index=False)
    frames = []
    for name in ("d.parquet", "d.csv"):
        (tmp_path / "s.yaml").write_text(f"study: s\nnotebook: loyalty\ndata: {{path: {name}}}\n"
                                         "outcomes: [repurchase, recommend]\n")
        frames.append(read(load_study_file(tmp_path / "s.yaml"), tmp_path)[0])
    pd.testing.assert_frame_equal(frames[0], frames[1], check_dtype=False)


def test_every_row_wise_generator_can_be_chunked_and_names_real_id_columns():
    assert set(synth.GENERATORS) - set(chunks.LIMITS) == {"panel"}
    for name, (limit, ids) in chunks.LIMITS.items():
        frame = synth.generate(name, 200, seed=0)
        assert all(col in frame and frame[col].min() >= 1 for col in ids), name
        assert limit >= 1_000_000


def test_checking_a_study_file_imports_only_the_generators_it_names():
    """Validating a study file's generator options imports that generator's module, not every generator (the
    drivers' module computes its truth with scipy, the lifecycles' module imports lifelines)."""
    from conftest import PARAMS
    code = ("import sys; from cxlab.params import load_study_file; load_study_file(sys.argv[1]); "
            "print(' '.join(m for m in ('cxlab.synth.panel', 'cxlab.synth.drivers', 'cxlab.synth.lifecycles', "
            "'lifelines', 'scipy.stats') if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code, str(PARAMS / "leaders.yaml")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["cxlab.synth.panel"]
