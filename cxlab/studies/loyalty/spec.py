"""The study-file model of ``notebook: loyalty`` (DESIGN 5.1)."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, field_validator

from ...params import Column, ExperienceSpec, StudyBase, WeightSpec

COLUMNS = (
    Column("experience", "rating", ("satisf", "experience", "csat", "rating", "overall", "score", "cx")),
    Column("outcome", "binary", ("repurchase", "recommend", "retain", "refer", "again", "renew", "loyal"),
           many="outcomes"),
)


class LoyaltyStudy(StudyBase):
    """``notebook: loyalty`` (DESIGN 5.1)."""

    notebook: Literal["loyalty"]
    experience: ExperienceSpec = Field(default_factory=ExperienceSpec)
    outcomes: list[str] = Field(min_length=1)
    weight: Optional[WeightSpec] = None

    @field_validator("outcomes")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("outcomes are listed more than once")
        return v
