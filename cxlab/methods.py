"""The methods each study's report names in its closing Methods section, with references.

Every definition lives in ``docs/methods.md`` (in the project's words); this
module holds, per method, its name, the heading it has there and its
reference, and per study the methods its report uses. A run publishes the
definitions as ``methods.html`` beside the index (:func:`write_page`), and each
method a report names links to its section there.
"""
from __future__ import annotations

import html
import logging
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DOC = Path(__file__).resolve().parent.parent / "docs" / "methods.md"
"""The definitions, in the project's checkout."""
PAGE = "methods.html"
"""The published page, in the output folder beside ``index.html``; a report links to ``../methods.html#<anchor>``."""


def slug(heading: str) -> str:
    """A heading's anchor (GitHub's rule, so ``docs/methods.md#...`` works there too): the plain text in lower
    case, characters other than letters, digits, '-', '_' and spaces removed, spaces to '-'."""
    text = html.unescape(re.sub(r"<[^>]+>", "", heading)).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@dataclass(frozen=True)
class Method:
    """One method: its name in ``docs/methods.md`` (a heading) and its published reference."""

    heading: str
    reference: str

    @property
    def anchor(self) -> str:
        """The heading's anchor in ``docs/methods.md`` and ``methods.html`` (:func:`slug`)."""
        return slug(self.heading)


METHODS: dict[str, Method] = {m.heading: m for m in (
    Method("Experience tiers", "cxlab's definition: tiers from the study file's experience scale, worst to best"),
    Method("Wilson score interval", "Wilson EB (1927). Probable inference, the law of succession, and statistical "
           "inference. JASA 22:209-212"),
    Method("Pearson chi-square test", "Agresti A (2013). Categorical Data Analysis, 3rd ed. Wiley, section 3.2"),
    Method("Monte Carlo permutation p-value", "Davison AC, Hinkley DV (1997). Bootstrap Methods and their "
           "Application. Cambridge University Press, chapter 4"),
    Method("Cochran-Armitage test for trend", "Cochran WG (1954). Biometrics 10:417-451; Armitage P (1955). "
           "Biometrics 11:375-386"),
    Method("Logistic regression odds ratio", "Hosmer DW, Lemeshow S, Sturdivant RX (2013). Applied Logistic "
           "Regression, 3rd ed. Wiley"),
    Method("Separation", "Albert A, Anderson JA (1984). On the existence of maximum likelihood estimates in "
           "logistic regression models. Biometrika 71:1-10"),
    Method("Weights", "Kish L (1965). Survey Sampling. Wiley; Rao JNK, Scott AJ (1984). Annals of Statistics "
           "12:46-60; Lumley T (2010). Complex Surveys. Wiley"),
    Method("Kaplan-Meier estimator", "Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete "
           "observations. JASA 53:457-481"),
    Method("Median survival and its interval", "Brookmeyer R, Crowley J (1982). A confidence interval for the "
           "median survival time. Biometrics 38:29-41"),
    Method("Log-rank test", "Mantel N (1966). Cancer Chemotherapy Reports 50:163-170; Peto R, Peto J (1972). "
           "JRSS A 135:185-207"),
    Method("Holm adjustment", "Holm S (1979). A simple sequentially rejective multiple test procedure. "
           "Scandinavian Journal of Statistics 6:65-70"),
    Method("Cox proportional hazards", "Cox DR (1972). Regression models and life-tables. JRSS B 34:187-220; "
           "Efron B (1977). JASA 72:557-565 (ties)"),
    Method("Penalised Cox refit", "Verweij PJM, Van Houwelingen HC (1994). Penalized likelihood in Cox "
           "regression. Statistics in Medicine 13:2427-2436"),
    Method("Proportional-hazards test", "Grambsch PM, Therneau TM (1994). Proportional hazards tests and "
           "diagnostics based on weighted residuals. Biometrika 81:515-526"),
    Method("Restricted mean survival time", "Royston P, Parmar MKB (2013). BMC Medical Research Methodology "
           "13:152; Uno H et al. (2014). Journal of Clinical Oncology 32:2380-2385"),
    Method("Durations from dates", "dateutil relativedelta; lubridate's %m+% (calendar months)"),
    Method("Value at stake", "cxlab's definition: mean time as a customer times mean value per period, "
           "undiscounted"),
    Method("Leader and laggard portfolios", "Forrester's CX Index comparisons of leaders and laggards; "
           "cxlab's exact eligibility and cut-off rules"),
    Method("Cumulative growth, end ratio and annualised gap", "cxlab's definitions (chained portfolio means)"),
    Method("Clustered comparison of growth", "Cameron AC, Miller DL (2015). A practitioner's guide to "
           "cluster-robust inference. Journal of Human Resources 50:317-372"),
    Method("Sector-adjusted comparison", "the within (sector-period demeaning) transformation: Wooldridge JM "
           "(2010). Econometric Analysis of Cross Section and Panel Data, 2nd ed., ch. 10, MIT Press; with "
           "company-clustered errors as above"),
    Method("Welch t-test", "Welch BL (1947). The generalization of Student's problem when several different "
           "population variances are involved. Biometrika 34:28-35"),
    Method("Hedges' g", "Hedges LV (1981). Distribution theory for Glass's estimator of effect size. Journal of "
           "Educational Statistics 6:107-128"),
    Method("Percentile bootstrap", "Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & "
           "Hall"),
    Method("Company block bootstrap", "Field CA, Welsh AH (2007). Bootstrapping clustered data. JRSS B "
           "69:369-390"),
    Method("Net Promoter Score and its interval", "Reichheld FF (2003). Harvard Business Review 81(12):46-54; "
           "Rocks B (2016). The American Statistician 70:365-372"),
    Method("Top-box share and mean rating", "Wilson (1927) for the share; Student's t interval for the mean"),
    Method("Difference of two proportions", "Newcombe RG (1998). Interval estimation for the difference between "
           "independent proportions. Statistics in Medicine 17:873-890"),
    Method("Compact letters", "cxlab's banner-table letters (as survey tabulation tools show them)"),
    Method("Mix decomposition", "Kitagawa EM (1955). Components of a difference between two rates. JASA "
           "50:1168-1194"),
    Method("Fixed cohort", "cxlab's definition: paired change of category scores, t interval"),
    Method("Relative weights", "Johnson JW (2000). Multivariate Behavioral Research 35:1-19; Tonidandel S, "
           "LeBreton JM (2010). Organizational Research Methods 13:767-781"),
    Method("LMG decomposition", "Lindeman RH, Merenda PF, Gold RZ (1980). Introduction to Bivariate and "
           "Multivariate Analysis; Groemping U (2006). Journal of Statistical Software 17(1)"),
    Method("Importance-performance map", "Martilla JA, James JC (1977). Importance-performance analysis. "
           "Journal of Marketing 41(1):77-79"),
    Method("Collinearity checks", "Belsley DA, Kuh E, Welsch RE (1980). Regression Diagnostics. Wiley"),
    Method("Purchase histories", "cxlab's definition: one purchase per customer and day; frequency, recency, age "
           "and mean repeat spend (Fader, Hardie & Lee 2005)"),
    Method("BG/NBD model", "Fader PS, Hardie BGS, Lee KL (2005). Counting your customers the easy way: an "
           "alternative to the Pareto/NBD model. Marketing Science 24:275-284"),
    Method("Gamma-Gamma spend model", "Fader PS, Hardie BGS, Lee KL (2005). RFM and CLV: using iso-value curves "
           "for customer base analysis. Journal of Marketing Research 42:415-430"),
    Method("Discounted CLV", "cxlab's definition: margin x expected spend x expected purchases per month, "
           "discounted monthly at an annual rate"),
    Method("Customer bootstrap with refits", "Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. "
           "Chapman & Hall"),
    Method("Value at stake and scenario", "cxlab's definition: differences of mean CLV times customers"),
    Method("Holdout check", "Fader PS, Hardie BGS, Lee KL (2005), Marketing Science 24:275-284 (conditional "
           "expectations by calibration frequency)"),
)}

STUDY_METHODS: dict[str, tuple[str, ...]] = {
    "loyalty": ("Experience tiers", "Wilson score interval", "Pearson chi-square test",
                "Monte Carlo permutation p-value", "Cochran-Armitage test for trend", "Logistic regression odds ratio",
                "Separation", "Weights"),
    "retention": ("Experience tiers", "Durations from dates", "Kaplan-Meier estimator",
                  "Median survival and its interval", "Log-rank test", "Holm adjustment", "Cox proportional hazards",
                  "Penalised Cox refit", "Proportional-hazards test", "Restricted mean survival time",
                  "Value at stake"),
    "leaders": ("Leader and laggard portfolios", "Cumulative growth, end ratio and annualised gap",
                "Clustered comparison of growth", "Sector-adjusted comparison", "Company block bootstrap",
                "Welch t-test", "Hedges' g",
                "Percentile bootstrap"),
    "metrics": ("Net Promoter Score and its interval", "Top-box share and mean rating",
                "Difference of two proportions", "Holm adjustment", "Compact letters", "Mix decomposition",
                "Fixed cohort", "Weights"),
    "drivers": ("Relative weights", "LMG decomposition", "Percentile bootstrap", "Importance-performance map",
                "Collinearity checks"),
    "value": ("Experience tiers", "Purchase histories", "BG/NBD model", "Gamma-Gamma spend model",
              "Discounted CLV", "Customer bootstrap with refits", "Value at stake and scenario", "Holdout check"),
}


def methods_markdown(study: str, doc: str = "docs/methods.md") -> str:
    """The Methods section of a report: a heading, then each method, linked to its section of the published
    ``methods.html`` beside the index, with its reference."""
    names = STUDY_METHODS.get(study, ())
    lines = ["## Methods", "",
             f"Every figure above is defined exactly in the methods page beside the index of reports "
             f"([{PAGE}](../{PAGE}); `{doc}` in the cxlab repository), under the headings below. "
             "All intervals are 95%.", ""]
    for name in names:
        m = METHODS[name]
        lines.append(f"- [**{name}**](../{PAGE}#{m.anchor}). {m.reference}.")
    return "\n".join(lines)


PAGE_CSS = """
body { max-width: 860px; margin: 0 auto; padding: 0 16px 48px; font: 15px/1.6 system-ui, -apple-system, 'Segoe UI',
  sans-serif; color: #1f2328; overflow-wrap: break-word; }
h1 { font-size: 1.9em; } h2 { font-size: 1.4em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em;
  margin-top: 2em; } h3 { font-size: 1.12em; margin-top: 1.6em; }
h3:target { background: #fff8c5; }
code { font-size: 13px; background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
pre { background: #f6f8fa; padding: 8px 12px; overflow-x: auto; border-radius: 6px; }
pre code { padding: 0; }
table { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse; font-size: 13.5px; }
td, th { padding: 4px 10px; border-bottom: 1px solid #eaeef2; text-align: left; }
nav.cxlab-back { margin: 16px 0; font-size: 14px; }
"""


def page_html(markdown: str) -> str:
    """``docs/methods.md`` as a self-contained page: rendered by mistune (nbconvert's markdown renderer) with
    raw HTML escaped, an ``id`` on every heading (:func:`slug`), no script, the reports' CSP."""
    import mistune

    from .batch.render import CSP_META

    class Renderer(mistune.HTMLRenderer):
        def heading(self, text: str, level: int, **attrs: object) -> str:
            return f'<h{level} id="{html.escape(slug(text))}">{text}</h{level}>\n'

    render = mistune.create_markdown(escape=True, renderer=Renderer(escape=True), plugins=["table", "strikethrough"])
    body = render(markdown)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" + CSP_META +
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<title>cxlab methods</title><link rel=\"icon\" href=\"data:,\">"
            f"<style>{PAGE_CSS}</style></head><body>"
            "<nav class=\"cxlab-back\"><a href=\"index.html\">All reports</a></nav>"
            f"{body}</body></html>\n")


def write_page(out_dir: str | os.PathLike[str], doc: Path = DOC) -> Path | None:
    """Write ``methods.html`` into ``out_dir`` (atomically) from ``docs/methods.md``; None, logged, when the
    checkout's docs are not there (an installed package without them)."""
    try:
        markdown = doc.read_text(encoding="utf-8")
    except OSError as exc:
        log.info("methods page not written: %s", exc)
        return None
    path = Path(out_dir) / PAGE
    tmp = Path(out_dir) / f".methods.{uuid.uuid4().hex[:8]}.tmp"
    try:
        tmp.write_text(page_html(markdown), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
