"""The index says what the CLI said (issue 24 items 4 and 15): the studies of the last run's set with the state
the run printed, stale ones marked apart, failures first, a compact table of every study, sparklines on a scale
that does not turn a change within the interval into a cliff, and one invalid study file failing alone."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli

from cxlab.batch.index import render_index, sparkline

# --- the index from results.json objects (fast) ------------------------------------------------------------------


def doc(study: str, status: str = "ok", title: str | None = None, error: str | None = None,
        figures: dict | None = None) -> dict:
    out = {"study": study, "notebook": "loyalty", "title": title or study.capitalize(), "status": status,
           "provenance": {"ended": "2026-01-02T03:04:05+00:00", "seconds": 1.0, "decision": "ran: inputs changed"}}
    if status == "ok":
        out.update(results={}, headline={"text": f"{study} headline", "figures": figures or {}})
    else:
        out["error"] = error or "failed"
    return out


def order(html: str, pattern: str = r'<section class="study[^"]*" id="([^"]+)"') -> list[str]:
    return re.findall(pattern, html)


def test_failures_come_first_then_the_rest_in_order():
    entries = [("alpha", doc("alpha")), ("beta", doc("beta")), ("beta.failed", doc("beta", "failed")),
               ("gamma.failed", doc("gamma", "failed")), ("delta", doc("delta"))]
    html = render_index(entries)
    assert order(html) == ["beta", "gamma", "alpha", "delta"]
    overview = html.split('<table class="overview"')[1].split("</table>")[0]
    assert re.findall(r'href="#([^"]+)"', overview) == ["beta", "gamma", "alpha", "delta"]
    assert overview.count("failed") >= 2


def test_the_index_shows_the_run_set_with_stale_studies_apart():
    entries = [("kept", doc("kept")), ("gone", doc("gone")), ("gone.failed", doc("gone", "failed", error="old"))]
    state = {"studies": ["kept", "bad"], "invalid": {"bad": {"file": "params/bad.yaml",
                                                             "error": "params/bad.yaml: key 'x': unknown key"}}}
    html = render_index(entries, run=state)
    main, stale = html.split('id="stale"')
    assert order(main) == ["bad", "kept"]
    assert "key &#x27;x&#x27;: unknown key" in main or "key 'x': unknown key" in main
    assert "2 studies, 1 failed" in main
    assert order(stale, r'id="stale-([^"]+)"') == ["gone"] and "not in the last run" in stale.lower()
    assert "old" not in main


def _ys(svg: str) -> list[float]:
    points = re.search(r'<polyline[^>]*points="([^"]+)"', svg).group(1)
    return [float(p.split(",")[1]) for p in points.split()]


@pytest.mark.parametrize("spec", [{"format": "pct", "half_width": 0.05, "better": "higher"},
                                  {"format": "pct", "half_width": None, "better": "higher"},
                                  {"format": "nps", "half_width": 0.06, "better": "higher"}])
def test_a_change_within_the_interval_does_not_look_like_a_cliff(spec):
    """Item 15: 50% then 49% (half-width 5 points) once drew a line from the top of the box to its bottom."""
    height = 24
    svg = sparkline([0.50, 0.49], {**spec, "value": 0.49}, height=height)
    ys = _ys(svg)
    assert abs(ys[1] - ys[0]) < 0.25 * height
    if spec["half_width"]:
        assert "<polygon" in svg  # the interval drawn as a band


def test_a_change_beyond_the_interval_still_shows():
    svg = sparkline([0.30, 0.60], {"format": "pct", "half_width": 0.02, "value": 0.60}, height=24)
    ys = _ys(svg)
    assert abs(ys[1] - ys[0]) > 0.5 * 24


# --- the index after real runs (item 4, and an invalid file failing alone, item 15) -----------------------------

def study_file(folder: Path, name: str, data: str | None = None) -> Path:
    path = folder / f"{name}.yaml"
    source = f'  path: "{data}"\n' if data else "  synthetic: customers\n  n: 400\n  seed: 1\n"
    path.write_text(f'study: "{name}"\nnotebook: loyalty\ntitle: "{name.capitalize()} study"\ndata:\n{source}'
                    'outcomes: [repurchase]\n')
    return path


def page(out: Path) -> tuple[str, str]:
    html = (out / "index.html").read_text()
    main, _, stale = html.partition('id="stale"')
    return main, stale


@pytest.mark.slow
def test_index_and_cli_agree_through_a_revert_a_deletion_and_an_invalid_file(tmp_path):
    from cxlab import synth
    params, out = tmp_path / "params", tmp_path / "out"
    params.mkdir()
    csv = params / "answers.csv"
    good = synth.generate("customers", 400, 2)[["experience", "repurchase"]]
    good.to_csv(csv, index=False)
    study_file(params, "fromfile", "answers.csv")
    other = study_file(params, "embedded")
    env = {"CXLAB_PDF": "0"}

    first = run_cli("run", "--params", str(params), "--out", str(out), "--jobs", "1", env=env)
    assert first.returncode == 0, first.stderr

    bad = good.astype({"experience": object})
    bad.loc[3, "experience"] = "great"
    bad.to_csv(csv, index=False)
    broken = run_cli("run", "--params", str(params), "--out", str(out), "--jobs", "1", env=env)
    assert broken.returncode == 1 and "1 failed" in broken.stdout
    main, _ = page(out)
    assert "is not numeric" in main and order(main)[0] == "fromfile"

    good.to_csv(csv, index=False)   # reverted: the last good report is current again
    fixed = run_cli("run", "--params", str(params), "--out", str(out), "--jobs", "1", env=env)
    assert fixed.returncode == 0 and "2 studies, 0 failed" in fixed.stdout, fixed.stdout
    main, stale = page(out)
    assert "is not numeric" not in main and 'status status-failed"' not in main, "the index still shows the old failure"
    assert "2 studies, 0 failed" in main and stale == ""

    other.unlink()                  # deleted: no longer failed or listed as a study of the run
    (params / "bad.yaml").write_text('study: "bad"\nnotebook: loyalty\ndata: {synthetic: customers}\noutcomes: [refer]\nunknown: 1\n')
    alone = run_cli("run", "--params", str(params), "--out", str(out), "--jobs", "1", env=env)
    assert alone.returncode == 1, alone.stderr
    assert "bad: failed" in alone.stderr and "key 'unknown': unknown key" in alone.stderr
    assert "2 studies, 1 failed" in alone.stdout and "fromfile: up to date" in alone.stdout
    main, stale = page(out)
    assert "2 studies, 1 failed" in main and order(main)[:2] == ["bad", "fromfile"]
    assert "unknown key" in main
    assert order(stale, r'id="stale-([^"]+)"') == ["embedded"] and 'status status-failed"' not in stale

    named = run_cli("run", str(params / "bad.yaml"), "--out", str(out), env=env)
    assert named.returncode == 2 and "unknown key" in named.stderr   # named on the command line: refused up front


def test_run_help_lists_exit_codes_environment_and_a_cron_line():
    res = run_cli("run", "--help", timeout=120)
    assert res.returncode == 0
    text = res.stdout
    for needle in ("exit status:", "  0 ", "  1 ", "  2 ", "  130 ", "CXLAB_LOG", "CXLAB_PDF=0", "CXLAB_WARM=0",
                   "15 2 * * *", "--quiet --wait", "draft: true"):
        assert needle in text, needle


def test_a_run_state_that_cannot_be_written_is_said_once_with_the_index(tmp_path, monkeypatch, caplog):
    """A full disk: the run's set of studies is retried before each index, and one line says what went wrong:
    the index's failure when neither could be written, else that the index lists the previous run's studies."""
    import errno

    from cxlab.batch import run as run_mod

    full = OSError(errno.ENOSPC, "No space left on device")
    attempts = []

    def no_state(*args):
        attempts.append(args)
        raise full

    monkeypatch.setattr(run_mod, "write_run_state", no_state)
    monkeypatch.setattr(run_mod, "write_index", lambda *a: (_ for _ in ()).throw(full))
    state, said = {"studies": ["a"], "invalid": {}}, set()
    assert run_mod._record(tmp_path, state) is full
    with caplog.at_level("ERROR", logger="cxlab.batch.run"):
        run_mod._index(tmp_path, {}, said, state)
        run_mod._index(tmp_path, {}, said, state)
    assert [r.getMessage() for r in caplog.records] == [f"{tmp_path}: cannot write index.html: No space left on device"]
    caplog.clear()
    monkeypatch.setattr(run_mod, "write_index", lambda *a: None)   # space for the index, not for the state
    with caplog.at_level("ERROR", logger="cxlab.batch.run"):
        run_mod._index(tmp_path, {}, said, state)
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path}: cannot record the run's studies (the index lists the previous run's): No space left on device"]
    assert len(attempts) == 4
    monkeypatch.setattr(run_mod, "write_run_state", lambda *a: attempts.append(a))
    run_mod._index(tmp_path, {}, said, state)
    run_mod._index(tmp_path, {}, said, state)
    assert len(attempts) == 5 and state["written"]  # written once, then never again
