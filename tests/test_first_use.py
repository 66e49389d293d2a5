"""A first user's own survey (issue 24 items 2, 3, 6, 11): question-text headers, yes/no answers, a 0-10 recommend,
1-5 satisfaction items, a region and a survey month, as CSV and xlsx. ``cxlab new`` drafts study files that
validate, with short labels a reader can take in and a real title; the reports never show a snake_case name;
``cxlab validate`` says "ok" only when the run would read the data."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_cli

from cxlab import cli, fmt
from cxlab.columnmatch import draft_label, scale_of, slug
from cxlab.params import load_study_file
from cxlab.scaffold import new_study

RECOMMEND = "How likely are you to recommend us to a friend or colleague? (0-10)"
OVERALL = "Overall, how satisfied are you with our service? (1 = very dissatisfied, 5 = very satisfied)"
PARTS = {"How satisfied are you with the speed of delivery?": "Speed of delivery",
         "How satisfied are you with the price you paid?": "Price you paid",
         "How satisfied are you with the friendliness of our staff?": "Friendliness of staff",
         "How satisfied are you with our website?": "Website"}
RENEWED, AGAIN = "Have you renewed your contract with us?", "Would you buy from us again?"


def survey(n: int = 600, seed: int = 1, panel: bool = False) -> pd.DataFrame:
    """The survey a user would make: one row per response, three survey months (``panel``: the same customers
    answer every month, identified by a customer number)."""
    rng = np.random.default_rng(seed)
    sat = rng.integers(1, 6, n)
    p = 1 / (1 + np.exp(-(sat - 3)))
    months = np.repeat(["2024-01", "2024-02", "2024-03"], n // 3)
    ids = np.tile(np.arange(5001, 5001 + n // 3), 3) if panel else np.arange(1001, 1001 + n)
    return pd.DataFrame({
        "Customer number" if panel else "Respondent ID": ids,
        "Survey month": months,
        "Region": rng.choice(["North", "South", "East", "West"], n),
        RECOMMEND: np.clip(2 * sat + rng.integers(-2, 2, n), 0, 10),
        OVERALL: sat,
        **{q: np.clip(sat + rng.integers(-1, 2, n), 1, 5) for q in PARTS},
        RENEWED: np.where(rng.random(n) < p, "Yes", "No"),
        AGAIN: np.where(rng.random(n) < p, "yes", "no"),
    })


def write(frame: pd.DataFrame, folder: Path, kind: str) -> Path:
    path = folder / f"survey.{kind}"
    frame.to_csv(path, index=False) if kind == "csv" else frame.to_excel(path, index=False)
    return path


# --- labels and scales -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("header, part, label", [
    (RENEWED, False, "Renewed contract"),
    (AGAIN, False, "Would buy again"),
    (RECOMMEND, False, "Likelihood to recommend"),
    (OVERALL, False, "Overall satisfaction"),
    ("How satisfied are you with the speed of delivery?", True, "Speed of delivery"),
    ("How satisfied are you with the speed of delivery?", False, "Satisfaction with speed of delivery"),
    ("How satisfied are you with the friendliness of our staff?", True, "Friendliness of staff"),
    ("Which region do you live in?", False, "Region"),
    ("product_quality", True, "Product quality"),
    ("NPS", False, "NPS"),
])
def test_a_label_is_drafted_from_the_question(header, part, label):
    assert draft_label(header, part) == label


def test_a_long_question_is_cut_at_six_words():
    text = draft_label("Thinking about your last visit to one of our stores in the city centre, what did you buy")
    assert len(text.split()) == 6 and text.endswith("\u2026")


@pytest.mark.parametrize("low, high, header, scale", [
    (1, 5, "Speed", (1, 5)), (2, 4, "Speed", (1, 5)), (0, 10, "Recommend", (0, 10)), (1, 7, "Effort", (1, 7)),
    (3, 9, "Recommend (0-10)", (0, 10)), (2, 4, "Q (1 = poor, 7 = great)", (1, 7)), (1, 13, "Odd", (1, 13))])
def test_a_rating_gets_the_scale_its_question_names_or_the_smallest_standard_one(low, high, header, scale):
    from cxlab.columnmatch import ColumnInfo
    assert scale_of(ColumnInfo(header, {"rating"}, low=low, high=high)) == scale


# --- cxlab new on the survey -----------------------------------------------------------------------------------

@pytest.fixture(params=["csv", "xlsx"])
def drafted(request, tmp_path):
    data = write(survey(), tmp_path, request.param)
    params = tmp_path / "params"
    paths = {}
    for notebook in ("loyalty", "metrics", "drivers"):
        path, summary, ok = new_study(f"my-{notebook}", notebook, str(data), params)
        assert ok, summary
        paths[notebook] = path
    return paths


def test_drafted_loyalty_names_its_outcomes_by_verb_and_label(drafted):
    study = load_study_file(drafted["loyalty"])
    assert study.title == "Loyalty by overall satisfaction"
    assert study.outcomes == ["renew", "buy"]           # known loyalty verbs: "88% ... renewed"
    assert study.data.columns == {"experience": OVERALL, "renew": RENEWED, "buy": AGAIN}
    assert study.labels == {"experience": "Overall satisfaction", "renew": "Renewed contract",
                            "buy": "Would buy again", "1": "Very dissatisfied", "5": "Very satisfied"}
    assert study.experience.scale == (1, 5)


def test_drafted_drivers_validate_on_one_scale_without_the_recommend_question(drafted):
    """Item 3: the drafted drivers file validates and reads its data; the 0-10 recommend question is not a
    driver; the scale is the ratings' own [1, 5]."""
    study = load_study_file(drafted["drivers"])
    assert study.data.columns == {"outcome": OVERALL}
    assert study.driver_columns() == {slug(label): question for question, label in PARTS.items()}
    assert RECOMMEND not in study.driver_columns().values()
    assert study.drivers_scale == (1, 5)
    assert study.labels == {"outcome": "Overall satisfaction", **{slug(v): v for v in PARTS.values()}}
    assert study.title == "What goes with overall satisfaction: key drivers"
    assert not study.draft


def test_drafted_metrics_take_the_survey_month_as_waves_and_no_respondent_id(drafted):
    """Item 11: the survey month is the wave, the mix is split by the segment, a respondent id (one per row)
    is not mapped as a customer id (no spurious cohort caveat)."""
    study = load_study_file(drafted["metrics"])
    text = drafted["metrics"].read_text()
    assert study.data.columns["wave"] == "Survey month"
    assert "customer_id" not in study.data.columns
    assert "'Respondent ID' is not mapped: no id answers in two waves" in text
    assert study.segments == ["region"] and study.mix_by == "region"
    assert study.data.columns["nps"] == RECOMMEND and study.nps.scale == (0, 10)
    assert study.data.columns["csat"] == OVERALL and study.csat.scale == (1, 5)
    assert study.title == "NPS and CSAT by region and survey month"


def test_customer_ids_that_repeat_across_waves_are_mapped(tmp_path):
    data = write(survey(panel=True), tmp_path, "csv")
    path, summary, ok = new_study("panel", "metrics", str(data), tmp_path / "params")
    assert ok, summary
    assert load_study_file(path).data.columns["customer_id"] == "Customer number"


def test_a_draft_that_cannot_run_is_marked_and_skipped_by_a_run_of_every_study(tmp_path):
    """Item 3: when the drafted file would not run, it is written with `draft: true` and a TODO; `cxlab run`
    over the folder skips it with a line; `cxlab validate` names the problem."""
    frame = survey()
    for question in PARTS:  # every driver the same answer: its weight is not defined
        frame[question] = 3
    data = write(frame, tmp_path, "csv")
    params = tmp_path / "params"
    path, summary, ok = new_study("const", "drivers", str(data), params)
    assert not ok and "Written as a draft (draft: true" in summary
    text = path.read_text()
    assert text.splitlines()[1].startswith("draft: true  # TODO: ") and "the driver is constant" in text
    run = run_cli("run", "--params", str(params), "--out", str(tmp_path / "out"), timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"{path}: skipped: a draft (draft: true)" in run.stdout and "0 studies, 0 failed" in run.stdout
    shown = run_cli("validate", str(path), timeout=300)
    assert shown.returncode == 1 and "the driver is constant" in shown.stderr and "ok" not in shown.stdout


# --- cxlab validate (item 6) -------------------------------------------------------------------------------------

def test_validate_says_ok_only_when_the_data_read_whatever_rows(tmp_path):
    data = write(survey(), tmp_path, "csv")
    good, _, ok = new_study("good", "loyalty", str(data), tmp_path / "params")
    assert ok
    bad = tmp_path / "params" / "bad.yaml"
    doc = yaml.safe_load(good.read_text())
    doc["study"], doc["data"]["columns"]["renew"] = "bad", "Renewed?"     # a column the file does not have
    bad.write_text(yaml.safe_dump(doc))
    for rows in ("0", "3"):
        res = run_cli("validate", str(good), str(bad), "--rows", rows, timeout=300)
        assert res.returncode == 1, res.stdout
        assert f"{good}: ok (loyalty" in res.stdout and f"{bad}: ok" not in res.stdout
        assert "column 'Renewed?': column is missing" in res.stderr
        assert ("experience" in res.stdout) == (rows != "0")   # the rows are shown only when asked


def test_validate_checks_every_row_not_only_the_first_batch_it_shows(tmp_path):
    """A bad value past the rows validate shows (and past its first 1,000) fails validate as it fails the run."""
    frame = survey()
    frame = pd.concat([frame] * (1 + 1500 // len(frame)), ignore_index=True)
    data = write(frame, tmp_path, "csv")
    good, _, ok = new_study("late", "loyalty", str(data), tmp_path / "params")
    assert ok and run_cli("validate", str(good), timeout=300).returncode == 0
    rating = next(c for c in frame.columns if c.startswith("Overall, how satisfied"))
    frame.loc[1400, rating] = 9                      # outside the 1-5 scale, far down the file
    write(frame, tmp_path, "csv")
    for rows in ("0", "3"):
        res = run_cli("validate", str(good), "--rows", rows, timeout=300)
        assert res.returncode == 1 and ": ok" not in res.stdout, res.stdout
        assert "row 1,40" in res.stderr or "row 140" in res.stderr, res.stderr
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


def test_validate_checks_every_file_and_says_which_is_invalid(tmp_path):
    data = write(survey(), tmp_path, "csv")
    good, _, _ = new_study("good", "loyalty", str(data), tmp_path / "params")
    broken = tmp_path / "params" / "broken.yaml"
    broken.write_text(good.read_text().replace('study: "good"', 'study: "broken"\nunknown_key: 1'))
    res = run_cli("validate", str(broken), str(good), "--rows", "0", timeout=300)
    assert res.returncode == 2
    assert "key 'unknown_key': unknown key" in res.stderr and f"{good}: ok (loyalty" in res.stdout


# --- Ctrl-C --------------------------------------------------------------------------------------------------

def test_ctrl_c_is_one_line_and_status_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "_validate", interrupted)
    assert cli.main(["validate"]) == 130
    err = capsys.readouterr().err
    assert err == "cxlab: interrupted\n"


# --- the reports of the drafted studies -------------------------------------------------------------------------

def visible_text(html: str) -> str:
    """What a reader sees on a page: its text and the charts' alt texts (no code, no styles)."""
    from bs4 import BeautifulSoup
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    return soup.get_text(" ") + " " + " ".join(img.get("alt", "") for img in soup.find_all("img"))


@pytest.mark.slow
def test_a_users_survey_reads_as_words_from_cxlab_new_to_the_pages(tmp_path):
    """Done-when of issue 24 for items 2, 3, 11: `cxlab new` on the survey (CSV and xlsx) for loyalty, metrics
    and drivers, then `cxlab run`: every study runs, no page shows a snake_case column name (the drafted keys or
    the header made snake_case), and the labels are what the pages say."""
    frame = survey()
    params = tmp_path / "params"
    for kind in ("csv", "xlsx"):
        folder = tmp_path / kind
        folder.mkdir()
        data = write(frame, folder, kind)
        for notebook in ("loyalty", "metrics", "drivers"):
            res = run_cli("new", f"{kind}-{notebook}", "--notebook", notebook, "--data", str(data),
                          "--params", str(params), timeout=300)
            assert res.returncode == 0, res.stderr
            assert "it validates and its data read" in res.stdout
    checked = run_cli("validate", "--params", str(params), "--rows", "0", timeout=300)
    assert checked.returncode == 0 and checked.stdout.count(": ok (") == 6, checked.stderr
    out = tmp_path / "out"
    res = run_cli("run", "--params", str(params), "--out", str(out), "--jobs", "2", timeout=900,
                  env={"CXLAB_PDF": "0"})
    assert res.returncode == 0, res.stderr
    assert "6 studies, 0 failed" in res.stdout
    snake = {slug(c) for c in frame.columns if "_" in slug(c)}  # "have_you_renewed_your_contract_with_us"
    for path in params.glob("*.yaml"):
        study = load_study_file(path)
        snake |= {name for name in study.labels if "_" in name}
        page = visible_text((out / study.study / f"{study.study}.html").read_text())
        for name in sorted(snake):
            assert not re.search(rf"\b{re.escape(name)}\b", page), (study.study, name)
        for name, label in study.labels.items():
            if study.notebook != "metrics" or name in study.segments:
                assert label in page, (study.study, label)
        assert study.title in page
    index = visible_text((out / "index.html").read_text())
    assert not [name for name in snake if re.search(rf"\b{re.escape(name)}\b", index)]
    assert "Renewed contract: best-tier rate" in index
    assert re.search("share of (" + "|".join(PARTS.values()) + ")", index)
    drivers = visible_text((out / "csv-drivers" / "csv-drivers.html").read_text())
    assert drivers.count(OVERALL) == 1  # in the table of columns read; the sentences say "overall satisfaction"
    assert "variation in overall satisfaction" in drivers
    metrics = visible_text((out / "csv-metrics" / "csv-metrics.html").read_text())
    assert "Over time" in metrics and "Why NPS moved" in metrics and "mix by region" in metrics
    assert "No customer answered NPS in both" not in metrics  # a respondent id claimed no cohort (item 11)


def test_loyalty_sentences_use_the_labels_of_outcomes_and_tiers(tmp_path):
    """The headline and the reading of the tests say the labels, never the keys (item 2)."""
    from cxlab import parse_study
    from cxlab.studies.loyalty import analysis, load, narrative
    frame = survey()
    pd.DataFrame({"experience": frame[OVERALL], "held_on": (frame[RENEWED] == "Yes").astype(int)}).to_csv(
        tmp_path / "x.csv", index=False)
    base = {"study": "s", "notebook": "loyalty", "outcomes": ["held_on"], "data": {"path": "x.csv"}}
    plain = parse_study(base, base_dir=tmp_path)
    labelled = parse_study({**base, "labels": {"held_on": "Renewed contract", "1": "Very dissatisfied",
                                               "5": "Very satisfied"}}, base_dir=tmp_path)
    data, _ = load.read(plain, tmp_path)
    said = narrative.headline(analysis.analyze(data, plain), plain)
    assert said.startswith("The held_on rate was ") and "who rated 5" in said
    result = analysis.analyze(load.read(labelled, tmp_path)[0], labelled)
    said = narrative.headline(result, labelled)
    assert said.startswith("The renewed contract rate was ") and "in the Very satisfied tier" in said
    assert "in the Very dissatisfied tier" in said and "held_on" not in said
    text = narrative.interpret(result, labelled)
    assert text.startswith("- **Renewed contract** (") and "held_on" not in text
    assert "odds of renewed contract" in text


def test_survey_months_stored_as_excel_dates_are_waves_named_by_their_day(tmp_path):
    """Item 11: Excel keeps "Survey month" as dates; the waves read "2024-01-01", never "2024-01-01 00:00:00"."""
    from cxlab.studies.metrics import load
    frame = survey()
    frame["Survey month"] = pd.to_datetime(frame["Survey month"] + "-01")
    data = write(frame, tmp_path, "xlsx")
    path, summary, ok = new_study("dated", "metrics", str(data), tmp_path / "params")
    assert ok, summary
    study = load_study_file(path)
    assert study.data.columns["wave"] == "Survey month"
    canonical, _ = load.read(study, path.parent)
    assert list(canonical["wave"].cat.categories) == ["2024-01-01", "2024-02-01", "2024-03-01"]
