"""The study-file model of ``notebook: value`` (CLV by experience, issue 21)."""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from ...params import BootstrapSpec, Column, DataSpec, ExperienceSpec, StudyBase, iso_date

COLUMNS = (
    Column("customer_id", "id", ("customer", "client", "account", "member", "id")),
    Column("date", "date", ("date", "day", "time", "ordered", "purchase")),
    Column("amount", "number", ("amount", "value", "revenue", "total", "spend", "price", "sales")),
    Column("experience", "rating", ("nps", "recommend", "satisf", "experience", "csat", "rating", "tier",
                                    "segment")),
)


class ValueBootstrap(BootstrapSpec):
    """Customer-level bootstrap that refits both models (fewer resamples than elsewhere: each one is a refit);
    ``resamples: 0`` skips it (no intervals, no test: for a first look at large data)."""

    resamples: int = Field(default=200, ge=0, le=100_000)
    workers: Optional[int] = Field(default=None, ge=1, le=64)
    """Processes the resamples are split over; by default the cores available (at most 4) once the bootstrap is
    large. Every resample draws from its own seed, so the figures do not depend on it."""

    @field_validator("resamples")
    @classmethod
    def _none_or_enough(cls, v: int) -> int:
        if 0 < v < 20:
            raise ValueError("resamples is 0 (no bootstrap) or at least 20")
        return v


class ValueStudy(StudyBase):
    """``notebook: value``: CLV by experience group and the value of a better experience."""

    notebook: Literal["value"]
    customers: Optional[DataSpec] = None
    """The customer table (``customer_id`` and ``experience``); without it the experience is read from the
    transaction log (one value per customer)."""
    experience: ExperienceSpec = Field(default_factory=ExperienceSpec)
    groups: Optional[list[str]] = None
    """A categorical experience (a tier or segment column): its levels, worst to best. Without it the
    experience is a numeric rating grouped by ``experience.tiers``."""
    observation_end: Optional[str] = None
    holdout_from: Optional[str] = None
    horizon: int = Field(default=36, ge=0, le=600)
    discount_rate: float = Field(default=0.1, ge=0, le=1)
    margin: float = Field(default=1.0, gt=0, le=1)
    value_unit: Optional[str] = Field(default=None, min_length=1, max_length=20)
    roi_share: float = Field(default=0.1, gt=0, le=1)
    experiment: bool = False
    drop_nonpositive: bool = False
    bootstrap: ValueBootstrap = Field(default_factory=ValueBootstrap)

    @field_validator("observation_end", "holdout_from", mode="before")
    @classmethod
    def _iso_date(cls, v: Any) -> Any:
        return iso_date(v)

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: Optional[list[str]]) -> Optional[list[str]]:
        if v is not None:
            v = [str(g).strip() for g in v]
            if len(v) < 2 or len(set(v)) != len(v) or not all(v):
                raise ValueError("groups lists at least two distinct levels, worst to best")
        return v

    @model_validator(mode="after")
    def _check(self) -> "ValueStudy":
        if self.holdout_from and self.observation_end and self.holdout_from >= self.observation_end:
            raise ValueError(f"holdout_from {self.holdout_from} is not before observation_end "
                             f"{self.observation_end}: the holdout period would be empty")
        return self

    def data_specs(self) -> list[tuple[str, DataSpec]]:
        """The transaction log, and the customer table when the study names one."""
        return super().data_specs() + ([("customers", self.customers)] if self.customers is not None else [])


__all__ = ["COLUMNS", "ValueStudy"]
