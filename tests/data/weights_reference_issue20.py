"""How the sampling-weight entries of ``loyalty_100k_reference.json`` and ``metrics_100k_reference.json`` were
updated for issue 20 (design-based variances in place of Kish's n; run once from the repository root:
``.venv/bin/python tests/data/weights_reference_issue20.py``).

Only the ``*-sampling`` / ``sampling`` cases change, and they are taken from the row path of the code of issue 20
(``load.read`` then ``analyze`` on the rows). That path is checked independently: against R ``survey`` on small
weighted sets (``tests/test_weights_design.py``, ``tests/test_loyalty_weights.py``) and, on these 100,000 rows,
against the linearised variances computed by pandas on the rows (``test_sampling_intervals_against_the_rows``
in ``tests/test_loyalty_bigdata.py`` and ``tests/test_metrics_bigdata.py``). Everything else in the references
(the unweighted and frequency-weighted cases, and every sampling figure that does not depend on the variance of a
share, an NPS or a mean) is unchanged, which the script checks before writing.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bigdata import LOYALTY_CASES, loyalty_frame, loyalty_raw, metrics_frame, metrics_raw  # noqa: E402

from cxlab.params import parse_study  # noqa: E402
from cxlab.studies.loyalty import analysis as loyalty, load as loyalty_load  # noqa: E402
from cxlab.studies.metrics import analysis as metrics, load as metrics_load  # noqa: E402

CHANGED = {"ci_low", "ci_high", "p", "p_holm", "diff_adjusted", "mean_ci_low", "mean_ci_high", "letters",
           "n_eff_design", "design_effect", "within_ci_low", "within_ci_high", "within_p", "mix_ci_low",
           "mix_ci_high", "mix_p"}


def unchanged(old, new, where=""):
    """Every figure outside CHANGED equal (to 1e-9) in the old and the new results."""
    if isinstance(old, dict):
        for key in old:
            if key not in CHANGED:
                unchanged(old[key], new[key], f"{where}.{key}")
    elif isinstance(old, list):
        for i, (a, b) in enumerate(zip(old, new)):
            unchanged(a, b, f"{where}[{i}]")
    elif isinstance(old, float):
        assert abs(old - new) <= 1e-9 * max(abs(old), 1e-300), where
    else:
        assert old == new, where


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        loyalty_frame().to_parquet(folder / "data.parquet")
        path = HERE / "loyalty_100k_reference.json"
        ref = json.loads(path.read_text())
        for case in (c for c in LOYALTY_CASES if c.endswith("sampling")):
            study = parse_study(loyalty_raw(case), base_dir=folder)
            result = loyalty.analyze(loyalty_load.read(study, folder)[0], study)
            unchanged(ref[case]["results"], result.results)
            ref[case] = {**ref[case], "results": result.results, "warnings": result.warnings}
        path.write_text(json.dumps(ref, indent=1))
        metrics_frame().to_parquet(folder / "data.parquet")
        path = HERE / "metrics_100k_reference.json"
        ref = json.loads(path.read_text())
        study = parse_study(metrics_raw("sampling"), base_dir=folder)
        result = metrics.analyze(metrics_load.read(study, folder)[0], study)
        unchanged(ref["sampling"]["results"], result.results)
        ref["sampling"] = {**ref["sampling"], "results": result.results, "warnings": result.warnings}
        path.write_text(json.dumps(ref, indent=1))


if __name__ == "__main__":
    main()
