"""Study files are validated before any kernel starts: one line naming the file and the key, exit 2."""
from __future__ import annotations

import pytest
from conftest import PARAMS, run_cli

from cxlab.errors import StudyFileError
from cxlab.params import load_study_file

BASE = {"study": "ok-study", "notebook": "loyalty", "data": {"synthetic": "customers", "n": 500},
        "outcomes": ["repurchase"]}


@pytest.mark.parametrize("change,needle", [
    ({"colour": "blue"}, "key 'colour': unknown key"),
    ({"data": {"synthetic": "customers", "n": "many"}}, "key 'data.n': Input should be a valid integer"),
    ({"notebook": "churn"}, "key 'notebook': unknown notebook 'churn'"),
    ({"study": "bad slug!"}, "key 'study': String should match pattern"),
    ({"data": {"path": "nowhere.csv"}}, "key 'data.path': file not found"),
    ({"outcomes": []}, "key 'outcomes': List should have at least 1 item"),
    ({"experience": {"scale": [1, 5], "tiers": {"a": [1, 3], "b": [2, 5]}}}, "key 'experience': tiers 'a'"),
    ({"data": {"synthetic": "customers", "seed": 1, "path": "x.csv"}}, "key 'data': give exactly one of"),
])
def test_invalid_study_file_is_one_line_naming_the_key(write_study, change, needle):
    path = write_study({**BASE, **change}, name="s")
    with pytest.raises(StudyFileError) as err:
        load_study_file(path)
    msg = str(err.value)
    assert msg.startswith(str(path) + ": ") and needle in msg and "\n" not in msg


def test_cli_exits_2_before_any_kernel_on_a_bad_file(write_study, tmp_path):
    good = write_study(BASE)
    bad = write_study({**BASE, "study": "other", "outcome": ["x"]}, name="bad")
    res = run_cli("run", str(good), str(bad), "--out", str(tmp_path / "out"), timeout=60)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines == [f"cxlab: {bad}: key 'outcome': unknown key"]
    assert not (tmp_path / "out" / "ok-study").exists()  # nothing ran, not even the good study


def test_not_yaml_and_duplicate_slugs(write_study, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("study: [unclosed\n")
    with pytest.raises(StudyFileError, match="broken.yaml: not valid YAML at line"):
        load_study_file(broken)
    a, b = write_study(BASE, name="a"), write_study(BASE, name="b")
    res = run_cli("validate", str(a), str(b), timeout=60)
    assert res.returncode == 2 and "key 'study': slug 'ok-study' is also used by" in res.stderr


def test_default_params_validate():
    res = run_cli("validate", timeout=60)
    assert res.returncode == 0, res.stderr
    assert "params/loyalty.yaml: ok" in res.stdout


def test_examples_validate():
    examples = sorted(str(p) for p in (PARAMS / "examples").glob("*.yaml"))
    assert len(examples) >= 4
    res = run_cli("validate", *examples, timeout=60)
    assert res.returncode == 0, res.stderr
