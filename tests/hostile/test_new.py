"""Hostile input to ``cxlab new`` (issue 23): names and labels that carry YAML syntax never change the study
written (it loads back, with the project's own loader, to exactly the mapping intended), and a target that is
there in any form (file, folder, symbolic link) is never overwritten or followed."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cxlab import scaffold
from cxlab.columnmatch import draft_label, inspect, match
from cxlab.errors import StudyFileError
from cxlab.fmt import in_sentence
from cxlab.params import SLUG_PATTERN, load_study_file
from cxlab.safeyaml import load_yaml
from cxlab.scaffold import new_study, render, write_new
from cxlab.studies.loyalty.spec import COLUMNS as LOYALTY

YAML_SYNTAX = ["a: b", "# not a comment", "{x: 1}", "[1, 2]", "line\nbreak: yes", "!!python/object/apply:os.system",
               "&anchor", "*alias", "yes", "null", "~", "1e3", "on", "- item", "'single'", '"double"', "back\\slash",
               "trailing ", "\ttab", "nel\x85u2028\u2028end", "del\x7f", "bom\ufeff", "%TAG", "@at", "`tick", "|",
               ">", "? key", "---", "..."]
TOP = {"study", "notebook", "title", "data", "experience", "outcomes", "labels"}


def written(tmp_path: Path, text: str) -> dict:
    """The study file as the project's own loader reads it."""
    path = tmp_path / "study.yaml"
    path.write_bytes(text.encode("utf-8"))  # no lone surrogate survives unescaped: this would raise
    return load_yaml(path)


def survey(rating: str, outcomes: list[str], other: str, n: int = 30) -> pd.DataFrame:
    return pd.DataFrame({rating: [1 + i % 5 for i in range(n)],
                         **{name: [(i + k) % 2 for i in range(n)] for k, name in enumerate(outcomes)},
                         other: [f"level {i % 3}" for i in range(n)]})


names = st.text(min_size=1, max_size=24)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(study=st.from_regex(SLUG_PATTERN, fullmatch=True).filter(lambda s: len(s) < 60),
       cols=st.lists(names, min_size=4, max_size=4, unique=True), file_name=names, label=names,
       value_labels=st.lists(names, min_size=5, max_size=5))
@example(study="yes", cols=["a: b", "x\ny: 1", "!!python/object/apply:os.system", "*a"], file_name="f: {x}\n#.csv",
         label="&a label\nstudy: other", value_labels=["no", "1e3", "a: b", "#", "null"])
@example(study="1e3", cols=["a b", "a-b", "a_b", "line\u2028break"], file_name="\x85", label="\x00",
         value_labels=["x\n", " x", "\ufeffy", "~", "%z"])
def test_names_and_labels_load_back_to_exactly_the_mapping_intended(tmp_path_factory, study, cols, file_name,
                                                                      label, value_labels):
    rating, out1, out2, other = cols
    frame = survey(rating, [out1, out2], other)
    frame.attrs["labels"] = {rating: label, other: label}
    frame.attrs["value_labels"] = {rating: {float(k + 1): v for k, v in enumerate(value_labels)},
                                   other: {"level 0": label}}
    infos = inspect(frame)
    found = match(LOYALTY, infos)
    assert [i.name for i in found["experience"]] == [rating]
    assert sorted(i.name for i in found["outcome"]) == sorted([out1, out2])
    doc = written(tmp_path_factory.mktemp("new"), render(study, "loyalty", {"path": file_name}, file_name, infos,
                                                         found, LOYALTY))
    # nothing added, nothing changed: the keys cxlab new writes, each holding exactly the text it came from
    assert set(doc) == TOP, set(doc)
    assert doc["study"] == study and doc["notebook"] == "loyalty"
    # the drafted title and labels are text made from the names: they load back as the text intended
    info = next(i for i in infos if i.name == rating)
    rating_label = draft_label(info.label or info.name)
    assert doc["title"] == f"Loyalty by {in_sentence(rating_label)}"
    assert doc["labels"]["experience"] == rating_label
    extra = set(doc["labels"]) - {"experience", *doc["outcomes"]}   # rating points the question names ("1 = poor")
    assert {"experience", *doc["outcomes"]} <= set(doc["labels"]) and all(k.isdigit() for k in extra)
    assert doc["data"] == {"path": file_name, "columns": doc["data"]["columns"]}
    columns = doc["data"]["columns"]
    assert columns["experience"] == rating
    assert len(doc["outcomes"]) == 2 and set(columns) == {"experience", *doc["outcomes"]}
    assert sorted(columns[k] for k in doc["outcomes"]) == sorted([out1, out2])
    assert all(isinstance(k, str) for k in doc["outcomes"])
    stripped = [v.strip() for v in value_labels]
    tiers = {v: [float(k + 1)] * 2 for k, v in enumerate(stripped)} if len(set(stripped)) == 5 else None
    assert doc["experience"] == {"scale": [1, 5], "tiers": tiers}


def test_every_yaml_syntax_as_a_column_name_label_and_file_name_through_the_cli(tmp_path):
    """A CSV whose header and file name carry YAML syntax: the study written validates, reads its data, and
    names exactly those columns and that file."""
    rating, out1, out2 = "Satisfaction: score #1 {&a}", "rebuy\n!!python/object:os.system", "*a, again? yes"
    data = tmp_path / "data"
    data.mkdir()
    csv = data / "survey: {x} #1 &a *a.csv"
    survey(rating, [out1, out2], "- note: yes").to_csv(csv, index=False)
    res = run_cli("new", "yes", "--notebook", "loyalty", "--data", str(csv), "--params", str(tmp_path / "params"),
                  timeout=120)
    assert res.returncode == 0, res.stderr
    assert "it validates and its data read" in res.stdout
    study = load_study_file(tmp_path / "params" / "yes.yaml")
    assert study.study == "yes" and study.data.path == "../data/survey: {x} #1 &a *a.csv"
    assert study.data.columns["experience"] == rating
    assert sorted(study.data.columns[k] for k in study.outcomes) == sorted([out1, out2])


def test_spss_labels_with_yaml_syntax_name_the_tiers_exactly(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    frame = survey("Q1", ["rebuy"], "note")
    labels = ["Very poor: 1", "#2 poor", "{fair}", "good\nstudy: evil", "&excellent *a"]
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(frame, str(path), column_labels=["Overall: experience #1\nstudy: x", "rebuy {y}", "n"],
                         variable_value_labels={"Q1": {float(k + 1): v for k, v in enumerate(labels)}})
    target, _, ok = new_study("s", "loyalty", str(path), tmp_path / "params")
    assert ok
    study = load_study_file(target)
    assert study.study == "s"
    assert list(study.experience.tiers) == labels
    assert study.experience.tiers["good\nstudy: evil"] == (4, 4)


# --- the target ----------------------------------------------------------------------------------------------------

@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "survey.csv"
    survey("satisfaction", ["rebuy"], "note").to_csv(path, index=False)
    return path


@pytest.mark.parametrize("kind", ["file", "folder", "link to a file of the user's", "broken link"])
def test_a_target_that_exists_is_never_overwritten_or_followed(kind, tmp_path, csv_file):
    params = tmp_path / "params"
    params.mkdir()
    target = params / "s.yaml"
    mine = tmp_path / "my-notes.txt"
    mine.write_text("my notes")
    if kind == "file":
        target.write_text("study: mine\n")
    elif kind == "folder":
        target.mkdir()
        (target / "inside.txt").write_text("inside")
    elif kind == "link to a file of the user's":
        target.symlink_to(mine)
    else:
        target.symlink_to(tmp_path / "nowhere.yaml")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()}
    link = os.readlink(target) if target.is_symlink() else None
    res = run_cli("new", "s", "--notebook", "loyalty", "--data", str(csv_file), "--params", str(params), timeout=120)
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert "already exists" in res.stderr and "never replaces or follows it" in res.stderr
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()}
    assert after == before
    assert not (tmp_path / "nowhere.yaml").exists()
    assert (os.readlink(target) if target.is_symlink() else None) == link


def test_a_link_that_appears_after_the_check_is_not_written_through(tmp_path):
    """The race the up-front check cannot close: the file is opened O_CREAT|O_EXCL|O_NOFOLLOW."""
    mine = tmp_path / "mine.txt"
    mine.write_text("keep me")
    target = tmp_path / "s.yaml"
    target.symlink_to(mine)
    with pytest.raises(StudyFileError, match=re.escape(f"{target}: already exists (a symbolic link)")):
        write_new(target, "study: s\n")
    assert mine.read_text() == "keep me" and target.is_symlink()


def test_a_write_that_fails_part_way_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "s.yaml"

    class Full:
        def __init__(self, fd, *a, **kw):
            os.close(fd)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, text):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(scaffold.os, "fdopen", Full)
    with pytest.raises(StudyFileError, match="cannot be written: No space left on device; nothing was kept"):
        write_new(target, "study: s\n")
    assert not os.path.lexists(target)


def test_a_params_folder_that_is_a_file_is_one_line(tmp_path, csv_file):
    params = tmp_path / "params"
    params.write_text("not a folder")
    res = run_cli("new", "s", "--notebook", "loyalty", "--data", str(csv_file), "--params", str(params), timeout=120)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "internal error" not in res.stderr
    assert params.read_text() == "not a folder"
