"""The study-file model of ``notebook: leaders`` (DESIGN 5.3)."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from ...params import BootstrapSpec, Column, DataSpec, StudyBase

COLUMNS = (
    Column("company", "id", ("company", "firm", "brand", "name", "ticker")),
    Column("period", "integer", ("year", "period", "fy", "wave")),
    Column("cx_score", "number", ("cx", "score", "index", "satisf", "nps")),
    Column("value", "number", ("revenue", "value", "sales", "growth", "turnover")),
    Column("sector", "category", ("sector", "industry", "segment"), required=False),
)


class LeadersStudy(StudyBase):
    """``notebook: leaders`` (DESIGN 5.3)."""

    notebook: Literal["leaders"]
    layout: Literal["long", "wide"] = "long"
    aggregate: Optional[Literal["mean"]] = None
    benchmark: Optional[DataSpec] = None
    leader_quantile: float = Field(default=0.75, gt=0, lt=1)
    laggard_quantile: float = Field(default=0.25, gt=0, lt=1)
    within: Optional[Literal["sector"]] = None
    period_unit: Literal["year", "half-year", "quarter", "month", "week", "day", "period"] = "year"
    """What one period of the panel is: the report says "annualised" and "a year" only for years, and "per
    quarter" (etc.) otherwise; ``period`` when the periods have no calendar length."""
    bootstrap: BootstrapSpec = Field(default_factory=BootstrapSpec)

    @model_validator(mode="after")
    def _check(self) -> "LeadersStudy":
        if self.laggard_quantile >= self.leader_quantile:
            raise ValueError("laggard_quantile must be below leader_quantile")
        wide = self.data.scores is not None
        if self.data.synthetic is not None and self.layout == "wide":
            raise ValueError("layout 'wide' needs data.scores and data.values files; synthetic panels are long")
        if self.data.synthetic is None and wide != (self.layout == "wide"):
            raise ValueError("layout 'wide' takes data.scores and data.values; layout 'long' takes data.path")
        return self

    def data_specs(self) -> list[tuple[str, DataSpec]]:
        """The panel, and the benchmark series when the study names one."""
        return super().data_specs() + ([("benchmark", self.benchmark)] if self.benchmark is not None else [])
