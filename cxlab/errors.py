"""Exception and warning classes: one per kind of user error or statistical caveat.

Errors carry a message that says what to fix. Warnings are collected by the
analyses and turned into sentences by the reports (see :func:`warning_sentences`).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterable, Iterator


class CxlabError(Exception):
    """Base class of every error cxlab raises on purpose (user-facing, one line)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a one-line error quotes."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class StudyFileError(CxlabError):
    """A study file is malformed: unknown key, wrong type, bad slug, missing file."""


class DataError(CxlabError):
    """The data do not match what the study declares.

    The message names the file, the column and an example row.
    """

    def __init__(self, message: str, *, path: str | None = None, column: str | None = None,
                 row: int | None = None, value: object = None) -> None:
        from .paths import relative_paths

        parts = []
        if path is not None:  # relative to the study's folder: never the machine's folders
            parts.append(relative_paths(str(path)))
        if column is not None:
            parts.append(f"column {column!r}")
        if hasattr(value, "item"):  # numpy scalar: show the plain value
            value = value.item()
        if row is not None:
            parts.append(f"row {row}" + (f" (value {value!r})" if value is not None else ""))
        prefix = ", ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.path, self.column, self.row, self.value = path, column, row, value


class RunnerError(CxlabError):
    """The batch run cannot start (lock held, output folder unusable)."""


class TemporaryStorageError(CxlabError):
    """cxlab cannot keep its temporary files (the temporary folder is full, missing or not writable)."""


class CxlabWarning(UserWarning):
    """Base class of the statistical caveats that reports explain in words."""


class SeparationWarning(CxlabWarning):
    """An outcome is (quasi-)perfectly separated by the rating; the model estimate is undefined."""


class ConstantOutcomeWarning(CxlabWarning):
    """An outcome takes one value only; it has no association, trend or odds ratio to estimate."""


class SmallExpectedWarning(CxlabWarning):
    """An expected count of a contingency table is below 5; the chi-square approximation is doubtful."""


class EmptyTierWarning(CxlabWarning):
    """A tier has no rows in the data."""


class NoEventsWarning(CxlabWarning):
    """A survival analysis (or one of its tiers) has no events."""


class PenalizedFitWarning(CxlabWarning):
    """A Cox model needed a ridge penalty to converge."""


class FollowUpWarning(CxlabWarning):
    """A horizon or the RMST window reaches past a tier's follow-up."""


class ProportionalHazardsWarning(CxlabWarning):
    """The Schoenfeld test rejects proportional hazards: a single hazard ratio is an average over time."""


class CovariateWarning(CxlabWarning):
    """A covariate was left out of the adjusted Cox model (constant, or a single level)."""


class RowLevelWarning(CxlabWarning):
    """A figure was computed from the individual rows because it cannot come from aggregated counts."""


class ModelWarning(CxlabWarning):
    """A model library (lifelines) cautioned about a fit or an approximation."""


class TiedCutoffWarning(CxlabWarning):
    """Leader and laggard cut-offs coincide, so some companies are in both portfolios."""


class BenchmarkWarning(CxlabWarning):
    """The benchmark series does not cover every period; its cumulative growth is not reported."""


class UndefinedRatioWarning(CxlabWarning):
    """A ratio of figures is undefined (its denominator is zero or negative)."""


class FewCompaniesWarning(CxlabWarning):
    """A period or sector has too few eligible companies for a reliable split."""


class CollinearityWarning(CxlabWarning):
    """Drivers overlap so much (a VIF above 10) that their separate weights are uncertain."""


class ResampleWarning(CxlabWarning):
    """Some bootstrap resamples could not be computed and were left out of the intervals."""


def warn(category: type[CxlabWarning], sentence: str) -> None:
    """Emit a cxlab warning whose message is a complete sentence for the report."""
    warnings.warn(sentence, category, stacklevel=3)


def warning_sentences(caught: Iterable[warnings.WarningMessage]) -> list[str]:
    """Sentences of the cxlab warnings among ``caught``, in order, without repeats."""
    out: list[str] = []
    for w in caught:
        if issubclass(w.category, CxlabWarning):
            text = str(w.message)
            if text not in out:
                out.append(text)
    return out


@contextmanager
def collecting_warnings() -> Iterator[list[str]]:
    """Collect cxlab warnings raised inside the block as report sentences.

    Other warnings pass through unchanged. Usage::

        with collecting_warnings() as sentences:
            ...
        # sentences now holds the cxlab warnings, in order
    """
    sentences: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CxlabWarning)
        yield sentences
    sentences.extend(warning_sentences(caught))
    for w in caught:
        if not issubclass(w.category, CxlabWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


class FewResponsesWarning(CxlabWarning):
    """A segment level or a survey wave has too few responses (none, or one) for an interval or a test."""


class DecompositionWarning(CxlabWarning):
    """Part of the data is left out of the mix decomposition or the fixed cohort."""


class UnreliableBootstrapWarning(ResampleWarning):
    """More than 1% of the bootstrap resamples failed (separation, too few events): the intervals are unreliable."""
