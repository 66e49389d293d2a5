"""The study-file model of ``notebook: retention`` (DESIGN 5.2)."""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from ...params import Column, ExperienceSpec, StudyBase, iso_date

COLUMNS = (
    Column("experience", "rating", ("satisf", "experience", "csat", "rating", "overall", "score", "cx")),
    Column("duration", "number", ("tenure", "duration", "months", "days", "weeks", "lifetime")),
    Column("event", "binary", ("churn", "event", "cancel", "left", "lost", "status")),
    Column("start_date", "date", ("start", "signup", "sign-up", "joined", "since", "open"), required=False),
    Column("end_date", "date", ("end", "churn", "cancel", "close", "left"), required=False),
    Column("value", "number", ("charge", "revenue", "value", "spend", "arpu", "fee"), required=False,
           key="value_per_period"),
    Column("covariate", "category", ("channel", "segment", "plan", "region", "type"), required=False,
           many="covariates"),
)


class RetentionStudy(StudyBase):
    """``notebook: retention`` (DESIGN 5.2)."""

    notebook: Literal["retention"]
    experience: ExperienceSpec = Field(default_factory=ExperienceSpec)
    time_unit: Literal["days", "weeks", "months"] = "months"
    observation_end: Optional[str] = None
    horizons: list[float] = Field(default_factory=lambda: [12.0, 24.0])
    rmst_tau: Optional[float] = Field(default=None, gt=0)
    covariates: list[str] = Field(default_factory=list)
    value_per_period: Optional[str] = None
    value_unit: Optional[str] = Field(default=None, min_length=1, max_length=20)
    discount_rate: Optional[float] = Field(default=None, ge=0, le=1)
    """Annual rate at which the value at stake is discounted, month by month (null: undiscounted only)."""

    @model_validator(mode="after")
    def _unit_needs_value(self) -> "RetentionStudy":
        if self.value_unit is not None and self.value_per_period is None:
            raise ValueError("value_unit is set but value_per_period is not: name the value column too")
        if self.discount_rate is not None and self.value_per_period is None:
            raise ValueError("discount_rate is set but value_per_period is not: name the value column too")
        return self

    @field_validator("horizons")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        if not v or any(h <= 0 for h in v):
            raise ValueError("horizons must be a non-empty list of positive times")
        return v

    @field_validator("observation_end", mode="before")
    @classmethod
    def _iso_date(cls, v: Any) -> Any:
        return iso_date(v)

    @field_validator("covariates")
    @classmethod
    def _covariates(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("covariates are listed more than once")
        reserved = {"experience", "tier", "duration", "event", "start_date", "end_date", "value"}
        clash = [c for c in v if c in reserved]
        if clash:
            raise ValueError(f"{clash[0]!r} is a name the study uses itself; map the covariate under another name")
        return v
