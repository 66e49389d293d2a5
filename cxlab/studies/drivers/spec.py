"""The study-file model of ``notebook: drivers`` (DESIGN 5.5)."""
from __future__ import annotations

import math
from typing import Literal, Optional, Union

from pydantic import Field, field_validator, model_validator

from ...params import BootstrapSpec, Column, StudyBase, WeightSpec

COLUMNS = (
    Column("outcome", "score", ("overall", "satisf", "recommend", "csat", "nps")),
    Column("driver", "score", ("rating", "quality", "speed", "price", "staff", "ease", "service"), many="drivers",
           mapping=True),
)


class DriversBootstrap(BootstrapSpec):
    """``bootstrap: {resamples: 2000, seed: 0}`` (the drivers default is 2,000 resamples)."""

    resamples: int = Field(default=2000, ge=100)


class DriversStudy(StudyBase):
    """``notebook: drivers`` (DESIGN 5.5).

    ``drivers`` is a list of file columns (each named as itself) or a mapping
    ``{label: column}`` in order; the outcome is ``outcome`` (mapped under
    ``data.columns``, else the column named ``outcome``).
    """

    notebook: Literal["drivers"]
    drivers: Union[list[str], dict[str, str]]
    drivers_scale: tuple[float, float]
    weight: Optional[WeightSpec] = None
    bootstrap: DriversBootstrap = Field(default_factory=DriversBootstrap)

    @field_validator("drivers")
    @classmethod
    def _drivers(cls, v: Union[list[str], dict[str, str]]) -> Union[list[str], dict[str, str]]:
        columns = list(v.values()) if isinstance(v, dict) else list(v)
        if len(columns) < 2:
            raise ValueError("list at least two drivers (file columns, or {label: column})")
        repeated = sorted({c for c in columns if columns.count(c) > 1})
        if repeated:
            raise ValueError(f"column {repeated[0]!r} is listed more than once")
        return v

    @field_validator("drivers_scale")
    @classmethod
    def _scale(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = v
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise ValueError(f"drivers_scale must be [low, high] with low < high, got {list(v)}")
        return v

    @field_validator("weight")
    @classmethod
    def _frequency_only(cls, v: Optional[WeightSpec]) -> Optional[WeightSpec]:
        if v is not None and v.kind == "sampling":
            raise ValueError(
                "the drivers study takes frequency weights only (each row stands for W identical rows); "
                "relative weights with survey (sampling) weights need a design-based variance it does not "
                "compute: use kind: frequency if that is what the weights are, or leave the weight out")
        return v

    @model_validator(mode="after")
    def _outcome_not_a_driver(self) -> "DriversStudy":
        outcome = self.data.columns.get("outcome", "outcome")
        if outcome in self.driver_columns().values():
            raise ValueError(f"key 'drivers': the outcome column {outcome!r} is also listed as a driver")
        return self

    def driver_columns(self) -> dict[str, str]:
        """Driver label -> column in the file, in the given order."""
        return dict(self.drivers) if isinstance(self.drivers, dict) else {c: c for c in self.drivers}
