"""The study-file model of ``notebook: metrics`` (DESIGN 5.4)."""
from __future__ import annotations

import math
from typing import Literal, Optional

from pydantic import Field, field_validator, model_validator

from ...params import Column, StudyBase, WeightSpec, _Model

COLUMNS = (
    Column("nps", "rating", ("recommend", "nps", "likely", "promoter"), required=False),
    Column("csat", "rating", ("satisf", "csat"), required=False),
    Column("ces", "rating", ("effort", "ces", "easy"), required=False),
    Column("wave", "category", ("wave", "month", "quarter", "period", "year"), required=False),
    Column("customer_id", "id", ("customer", "respondent", "client", "id"), required=False),
    Column("segment", "category", ("segment", "region", "plan", "channel", "country"), required=False,
           many="segments"),
)

METRICS = ("nps", "csat", "ces")


def _check_scale(scale: tuple[float, float]) -> tuple[float, float]:
    lo, hi = scale
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ValueError(f"scale must be [low, high] with low < high, got {list(scale)}")
    if lo != int(lo) or hi != int(hi):
        raise ValueError(f"scale must run between whole numbers, got {list(scale)}")
    return scale


class NpsSpec(_Model):
    """Likelihood to recommend: an 11-point scale [a, a + 10]; promoters >= a + 9, detractors <= a + 6."""

    scale: tuple[float, float] = (0, 10)

    @field_validator("scale")
    @classmethod
    def _eleven_points(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = _check_scale(v)
        if hi - lo != 10:
            raise ValueError(f"the NPS scale must have 11 points, [a, a + 10] such as [0, 10] or [1, 11]; "
                             f"[{lo:g}, {hi:g}] has {hi - lo + 1:g}")
        return v

    @property
    def promoter_from(self) -> float:
        return self.scale[0] + 9

    @property
    def detractor_to(self) -> float:
        return self.scale[0] + 6


class RatingSpec(_Model):
    """A satisfaction or effort rating: its scale and its top box (the ``top`` highest points, or lowest)."""

    scale: tuple[float, float] = (1, 5)
    top: int = Field(default=2, ge=1)
    reverse: bool = False

    @model_validator(mode="after")
    def _check(self) -> "RatingSpec":
        lo, hi = _check_scale(self.scale)
        if self.top >= hi - lo + 1:
            raise ValueError(f"top: {self.top} covers the whole scale [{lo:g}, {hi:g}]; use fewer points")
        return self

    def in_box(self, value: float) -> bool:
        """True when a rating falls in the top box."""
        lo, hi = self.scale
        return value <= lo + self.top - 1 if self.reverse else value >= hi - self.top + 1

    def box_label(self) -> str:
        lo, hi = self.scale
        pts = (lo, lo + self.top - 1) if self.reverse else (hi - self.top + 1, hi)
        return f"{pts[0]:g}-{pts[1]:g}" if pts[0] != pts[1] else f"{pts[0]:g}"


class EffortSpec(RatingSpec):
    """Customer effort: a 1-7 scale by default; ``reverse: true`` when 1 means easiest."""

    scale: tuple[float, float] = (1, 7)


class MetricsStudy(StudyBase):
    """``notebook: metrics`` (DESIGN 5.4)."""

    notebook: Literal["metrics"]
    nps: NpsSpec = Field(default_factory=NpsSpec)
    csat: RatingSpec = Field(default_factory=RatingSpec)
    ces: EffortSpec = Field(default_factory=EffortSpec)
    segments: list[str] = Field(default_factory=list)
    mix_by: Optional[str] = None
    weight: Optional[WeightSpec] = None

    @field_validator("segments")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("segments are listed more than once")
        return v
