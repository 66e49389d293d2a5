"""The studies cxlab knows: one entry per notebook, the single place that lists them.

Study-file validation (:mod:`cxlab.params`), the batch runner (:mod:`cxlab.batch`),
``cxlab validate`` and the docs read this registry. Adding a study means a
package under ``cxlab/studies/<name>/``, a notebook ``notebooks/<name>.ipynb``,
an example study file, tests, and one :class:`StudyType` line below.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .params import StudyBase

_PROJECT_NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the project checkout, else of the current folder (an installed package)."""
    return _PROJECT_NOTEBOOKS if _PROJECT_NOTEBOOKS.is_dir() else Path("notebooks").resolve()


@dataclass(frozen=True)
class StudyType:
    """One kind of study: its notebook, its study-file model and its parts.

    Attributes
    ----------
    name : str
        The value of ``notebook:`` in a study file; also the notebook's file name.
    spec : str
        ``module:Class`` of the study-file model (a :class:`~cxlab.params.StudyBase`).
    question, method : str
        What the study answers and how, in a few words (docs and ``cxlab validate``).
    synthetic : tuple of str
        The embedded generators of :mod:`cxlab.synth` whose data suit the study.
    """

    name: str
    spec: str
    question: str
    method: str
    synthetic: tuple[str, ...] = ()

    @property
    def package(self) -> str:
        """Dotted name of the study's package."""
        return f"cxlab.studies.{self.name}"

    def model(self) -> type["StudyBase"]:
        """The study-file model class."""
        module, _, cls = self.spec.partition(":")
        return getattr(importlib.import_module(module), cls)

    def part(self, name: str) -> ModuleType:
        """One part of the study package: ``spec``, ``load``, ``analysis``, ``narrative`` or ``figures``."""
        return importlib.import_module(f"{self.package}.{name}")

    def notebook_file(self, notebooks_dir: str | Path | None = None) -> Path:
        """The notebook that runs the study."""
        return Path(notebooks_dir or default_notebooks_dir()) / f"{self.name}.ipynb"


STUDIES: dict[str, StudyType] = {s.name: s for s in (
    StudyType("loyalty", "cxlab.studies.loyalty.spec:LoyaltyStudy",
              "How do repurchase, recommendation, retention and referral differ by experience rating?",
              "rates by tier with Wilson intervals, chi-square, Cochran-Armitage trend, logistic odds ratio",
              ("customers",)),
    StudyType("retention", "cxlab.studies.retention.spec:RetentionStudy",
              "How long do customers stay, by experience tier?",
              "Kaplan-Meier, log-rank, Cox PH, RMST (lifelines)", ("lifecycles",)),
    StudyType("leaders", "cxlab.studies.leaders.spec:LeadersStudy",
              "Do CX leaders grow faster than laggards?",
              "yearly leader/laggard portfolios on a company panel, Welch test, Hedges' g, bootstrap", ("panel",)),
    StudyType("metrics", "cxlab.studies.metrics.spec:MetricsStudy",
              "Where do NPS, CSAT and CES stand, where do segments differ, what moved and why?",
              "adjusted-Wald and Wilson intervals, pairwise tests with Holm and letters, mix decomposition, "
              "fixed cohort", ("survey",)),
    StudyType("drivers", "cxlab.studies.drivers.spec:DriversStudy",
              "Which parts of the experience go with satisfaction?",
              "Johnson's relative weights, LMG, bootstrap intervals, importance-performance map", ("drivers",)),
    StudyType("value", "cxlab.studies.value.spec:ValueStudy",
              "What is a customer worth, by experience, and what would a better experience be worth?",
              "BG/NBD and Gamma-Gamma (maximum likelihood), discounted CLV, customer bootstrap refits, holdout check",
              ("transactions",)),
)}


def get(name: str) -> StudyType:
    """The study type named ``name`` (KeyError when unknown)."""
    return STUDIES[name]


def synthetic_generators() -> tuple[str, ...]:
    """Every embedded generator some study uses, in registry order."""
    out: list[str] = []
    for s in STUDIES.values():
        out.extend(g for g in s.synthetic if g not in out)
    return tuple(out)
