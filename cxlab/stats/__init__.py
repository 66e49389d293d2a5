"""Estimators shared by the studies: intervals, tests, models.

Each module holds one family, as pure functions on arrays or tidy frames, each
tested against an independent computation (scipy, statsmodels, lifelines, R):

- :mod:`~cxlab.stats.proportions`: intervals for proportions (Wilson), differences (Newcombe, pooled z);
- :mod:`~cxlab.stats.tables`: contingency-table tests (chi-square, its Monte Carlo p, Cochran-Armitage);
- :mod:`~cxlab.stats.logistic`: logistic regression on one rating, separation;
- :mod:`~cxlab.stats.multitest`: multiple-comparison adjustment (Holm), significance letters;
- :mod:`~cxlab.stats.counts`: survival rows aggregated to counts per (time, covariate pattern);
- :mod:`~cxlab.stats.survival`: Kaplan-Meier, RMST, log-rank, from counts (lifelines, counts as weighted rows);
- :mod:`~cxlab.stats.efron`: Efron's partial likelihood on aggregated risk sets, its Newton fit, the PH score test;
- :mod:`~cxlab.stats.cox`: the Cox models the studies fit (cells or lifelines on rows, penalised fallback, time split);
- :mod:`~cxlab.stats.covariates`: the adjusted Cox model (rating and covariates, one-hot design);
- :mod:`~cxlab.stats.groups`: two-group comparisons (Welch, Hedges' g, bootstrap);
- :mod:`~cxlab.stats.weights`: Kish's effective sample size;
- :mod:`~cxlab.stats.survey`: design-based estimators for sampling weights (Rao-Scott F, svyglm-style
  logistic regression with sandwich standard errors);
- :mod:`~cxlab.stats.clustered`: two-group comparisons of clustered data (company-clustered OLS, CR1;
  company block bootstrap);
- :mod:`~cxlab.stats.nps`: Net Promoter Score, adjusted-Wald interval (Rocks 2016) and differences;
- :mod:`~cxlab.stats.means`: weighted means with t intervals;
- :mod:`~cxlab.stats.mix`: mix decomposition of a change, paired (fixed-cohort) change;
- :mod:`~cxlab.stats.relimp`: relative importance (Johnson's and logistic relative weights, LMG);
- :mod:`~cxlab.stats.relimp_bootstrap`: the percentile bootstrap of relative weights, failed resamples by reason;
- :mod:`~cxlab.stats.clv`: BG/NBD and Gamma-Gamma fits, P(alive), expected purchases and spend;
- :mod:`~cxlab.stats.clv_horizon`: discounted CLV over a horizon from those fits.
"""
from __future__ import annotations

from scipy import stats as _sps

Z95 = float(_sps.norm.ppf(0.975))
"""The normal quantile of a two-sided 95% interval (1.959963984540054)."""
