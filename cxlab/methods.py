"""The methods each study's report names in its closing Methods section, with references.

Every definition lives in ``docs/methods.md`` (in the project's words); this
module holds, per method, its name, the heading it has there and its
reference, and per study the methods its report uses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    """One method: its name in ``docs/methods.md`` (a heading) and its published reference."""

    heading: str
    reference: str

    @property
    def anchor(self) -> str:
        """The heading's anchor in ``docs/methods.md`` (GitHub's rule: lower case, spaces to '-')."""
        slug = re.sub(r"[^\w\- ]", "", self.heading.lower())
        return slug.replace(" ", "-")


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
    """The Methods section of a report: a heading, then each method with its reference and where it is defined."""
    names = STUDY_METHODS.get(study, ())
    lines = ["## Methods", "",
             f"Every figure above is defined exactly in `{doc}` of the cxlab repository, under the headings "
             "below. All intervals are 95%.", ""]
    for name in names:
        m = METHODS[name]
        lines.append(f"- **{name}** ({doc}#{m.anchor}). {m.reference}.")
    return "\n".join(lines)
