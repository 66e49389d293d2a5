"""The hostile-input corpus (tests/hostile/): every file is refused with one line naming the file and key,
or the column and an example row; never a traceback, never another exception."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from cxlab.errors import DataError, StudyFileError
from cxlab.params import load_study_file
from cxlab.registry import STUDIES

CORPUS = ROOT / "tests" / "hostile"
CASES = sorted(CORPUS.glob("*.yaml"))


def expected(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: <substring>'"
    return first[len("# expect: "):]


def refusal(path: Path) -> Exception:
    """The error cxlab raises for the case: at validation, else when the study's data are read."""
    try:
        study = load_study_file(path)
    except StudyFileError as exc:
        return exc
    try:
        STUDIES[study.notebook].part("load").read(study, base_dir=path.parent)
    except DataError as exc:
        return exc
    pytest.fail(f"{path.name}: accepted, but it should be refused with {expected(path)!r}")


def test_corpus_is_not_empty():
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_hostile_input_is_one_clear_line(path):
    exc = refusal(path)
    message = str(exc)
    assert expected(path) in message, message
    assert "\n" not in message and len(message) < 400, message
    if isinstance(exc, StudyFileError):
        assert message.startswith(str(path)), message  # names the file
    else:
        assert "data/" in message or "data\\" in message, message


def test_cli_refuses_a_study_file_with_exit_2_and_one_line():
    for name in ("alias-bomb", "duplicate-key", "latin1-study", "notebook-mapping", "rmst-tau-inf"):
        res = run_cli("validate", str(CORPUS / f"{name}.yaml"), timeout=60)
        assert res.returncode == 2, res.stderr
        assert res.stdout == "" and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert "Traceback" not in res.stderr
