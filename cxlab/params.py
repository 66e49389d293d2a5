"""Study files: models and validation (DESIGN section 3).

A study file is validated completely before any kernel starts. Every problem is
reported as one :class:`~cxlab.errors.StudyFileError` line naming the file and
the key, e.g. ``params/x.yaml: key 'data.path': file not found: data/x.csv``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from typing_extensions import Annotated

from .errors import StudyFileError

SLUG_PATTERN = r"^[A-Za-z0-9_-]+$"
#: Longest study name (ASCII by :data:`SLUG_PATTERN`, so bytes). The longest file name a run derives from it,
#: ``.staging-<study>-failed-<time>-<hex>``, is 39 bytes longer: within the 255-byte limit of file names.
MAX_STUDY_NAME = 100
NAME_MAX = 255
DATA_SUFFIXES = (".csv", ".parquet", ".pq", ".xlsx", ".xlsm", ".sav", ".zsav", ".dta")  # cxlab.sources.SUFFIXES


#: A seed for a random generator: numpy takes whole numbers from 0 to 2**32 - 1.
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]
#: Rows drawn by an embedded generator (in chunks above a million or two: cxlab.synth.chunks).
MAX_SYNTHETIC_ROWS = 100_000_000


def iso_date(v: Any) -> Any:
    """A study file's date as ``YYYY-MM-DD`` text (YAML reads an unquoted 2025-12-31 as a date); else a clear error."""
    import datetime
    if isinstance(v, datetime.date):
        return v.isoformat()
    if v is not None:
        try:
            datetime.date.fromisoformat(str(v))
        except ValueError:
            raise ValueError(f"{v!r} is not a date (write YYYY-MM-DD)") from None
    return v


class _Model(BaseModel):
    """Base of every study-file model: unknown keys refused, numbers finite (no .nan, .inf)."""

    model_config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)

    @model_validator(mode="after")
    def _seeds_in_range(self) -> "_Model":
        # a study package that declares its own ``seed: int`` still gets the domain of :data:`Seed`
        for name, value in self:
            if "seed" in name and isinstance(value, int) and not 0 <= value <= 2**32 - 1:
                raise ValueError(f"{name} must be a whole number from 0 to 4294967295, got {value}")
        return self


class DataSpec(_Model):
    """Where the data come from: a file (``path``), two wide tables, a SQL query, or an embedded generator."""

    path: Optional[str] = None
    sheet: Optional[Union[StrictInt, str]] = None   # .xlsx: sheet name or 0-based index (default the first)
    format: Optional[Literal["qualtrics"]] = None  # a Qualtrics CSV export (three header rows)
    url: Optional[str] = None                      # a database server (SQLAlchemy URL, no password): ``sql`` runs there
    password_env: Optional[str] = None             # the environment variable holding the server password
    timeout: Optional[float] = Field(default=None, gt=0)  # seconds the server may spend on each statement (url)
    sql: Optional[str] = None                      # a DuckDB query (over Parquet/CSV files it names, or tables)
    database: Optional[str] = None                 # the DuckDB database file the query runs in
    scores: Optional[str] = None          # leaders, layout wide: one row per company, a column per period
    values: Optional[str] = None          # leaders, layout wide: same shape, the value level
    synthetic: Optional[str] = None
    n: Optional[int] = Field(default=None, ge=1, le=MAX_SYNTHETIC_ROWS)
    seed: Seed = 0
    options: dict[str, Any] = Field(default_factory=dict)
    columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("synthetic")
    @classmethod
    def _known_generator(cls, v: Optional[str]) -> Optional[str]:
        from .registry import synthetic_generators
        if v is not None and v not in synthetic_generators():
            raise ValueError(f"unknown generator {v!r} (one of {', '.join(synthetic_generators())})")
        return v

    @field_validator("url")
    @classmethod
    def _server_url(cls, v: Optional[str]) -> Optional[str]:
        if v is not None:
            from .dbsource import check_url
            check_url(v)  # a known server, no password written in the study file
        return v

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise ValueError("give the name of an environment variable (letters, digits, '_'), not the password")
        return v

    @field_validator("sql")
    @classmethod
    def _read_only_query(cls, v: Optional[str], info: ValidationInfo) -> Optional[str]:
        if info.data.get("url") is not None:
            return v  # the server's SQL dialect: it runs in a read-only transaction (cxlab.dbsource)
        if v is not None and v.strip():
            from .sqlsafe import check_query
            check_query(v)  # one SELECT: a query that writes, attaches or loads is refused here
        return v

    @field_validator("options")
    @classmethod
    def _known_options(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        synthetic = info.data.get("synthetic")
        if synthetic is not None and v:
            from .synth import check_options
            return check_options(synthetic, v)
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "DataSpec":
        sources = [s for s in (self.path, self.synthetic, self.sql) if s is not None]
        wide = self.scores is not None or self.values is not None
        if wide and (self.scores is None or self.values is None):
            raise ValueError("a wide panel needs both 'scores' and 'values' files")
        if len(sources) + wide != 1:
            raise ValueError("give exactly one of 'path', 'sql', 'synthetic' or 'scores'+'values'")
        if self.synthetic is None and (self.n is not None or self.options):
            raise ValueError("'n' and 'options' apply only to 'synthetic' data")
        if self.database is not None and self.sql is None:
            raise ValueError("'database' applies only to a 'sql' query")
        if self.url is not None and self.sql is None:
            raise ValueError("'url' names a database server: give the query to run there in 'sql'")
        if self.url is not None and self.database is not None:
            raise ValueError("'database' is a DuckDB file: with 'url' the query runs on that server, drop 'database'")
        if self.password_env is not None and self.url is None:
            raise ValueError("'password_env' applies only to a database server named by 'url'")
        if self.timeout is not None and self.url is None:
            raise ValueError("'timeout' applies only to a database server named by 'url'")
        if self.sql is not None and not self.sql.strip():
            raise ValueError("'sql' is an empty query")
        files = [f for f in (self.path, self.scores, self.values) if f is not None]
        if self.sheet is not None and not any(Path(f).suffix.lower() in (".xlsx", ".xlsm") for f in files):
            raise ValueError("'sheet' applies only to an Excel (.xlsx) file")
        if isinstance(self.sheet, int) and self.sheet < 0:
            raise ValueError("'sheet' is a sheet name or a 0-based index (0 is the first sheet)")
        if self.format == "qualtrics" and not (self.path and Path(self.path).suffix.lower() == ".csv"):
            raise ValueError("'format: qualtrics' applies only to a CSV file named by 'path'")
        return self

    def files(self) -> list[str]:
        """The data files named by this spec (relative as written); files named inside ``sql`` are not
        among them (see :func:`cxlab.sources.input_files`)."""
        return [f for f in (self.path, self.scores, self.values, self.database) if f is not None]


@dataclass(frozen=True)
class Column:
    """A canonical column a study reads (each study's ``spec.COLUMNS``; ``cxlab new`` maps files onto them).

    ``kind``: rating, score, binary, number, integer, date, category or id. ``words``:
    fragments of a file's column name or label that suggest it. ``many``: the
    study key that lists every such column (e.g. ``outcomes``) instead of one
    column. ``key``: the study key that names the column (instead of ``data.columns``). ``mapping``: the
    ``many`` key is itself a mapping ``{name: column}`` (``drivers``), not a list of names under ``data.columns``.
    """

    name: str
    kind: str
    words: tuple[str, ...] = ()
    required: bool = True
    many: Optional[str] = None
    key: Optional[str] = None
    mapping: bool = False


class ExperienceSpec(_Model):
    """The experience rating: its valid range and its tiers, worst to best."""

    scale: tuple[float, float] = (1, 5)
    tiers: Optional[dict[str, tuple[float, float]]] = None

    @model_validator(mode="after")
    def _check(self) -> "ExperienceSpec":
        lo, hi = self.scale
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise ValueError(f"scale must be [low, high] with low < high, got {list(self.scale)}")
        if self.tiers is not None:
            if len(self.tiers) < 2:
                raise ValueError("tiers needs at least two tiers (or null for one per value)")
            bounds = list(self.tiers.items())
            for label, (a, b) in bounds:
                if a > b:
                    raise ValueError(f"tier {label!r}: low {a} is above high {b}")
                if a < lo or b > hi:
                    raise ValueError(f"tier {label!r}: [{a}, {b}] lies outside scale {list(self.scale)}")
            for (l1, (a1, b1)), (l2, (a2, b2)) in zip(bounds, bounds[1:]):
                if a2 <= b1:
                    raise ValueError(
                        f"tiers {l1!r} [{a1}, {b1}] and {l2!r} [{a2}, {b2}] overlap or are out of order "
                        "(list tiers worst to best with increasing, disjoint ranges)")
        return self


class StudyBase(_Model):
    """The keys every study file has (DESIGN section 3); each study's ``spec`` extends it."""

    study: str = Field(pattern=SLUG_PATTERN)
    notebook: str
    title: str = ""
    description: str = ""
    data: DataSpec
    #: What a reader sees for a name the study uses (an outcome, driver, segment, tier, the rating):
    #: ``{name: label}``; a name without one is shown through :func:`cxlab.fmt.label`.
    labels: dict[str, str] = Field(default_factory=dict)
    #: Written by ``cxlab new`` when its draft needs editing: a run of every study file skips it.
    draft: bool = False

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, text in v.items():
            text = " ".join(str(text).split())
            if not text:
                raise ValueError(f"the label of {name!r} is empty: give the words a reader should see, "
                                 "or leave the name out")
            out[str(name)] = text
        return out

    @field_validator("study")
    @classmethod
    def _name_fits_file_names(cls, v: str) -> str:
        if len(v) > MAX_STUDY_NAME:
            raise ValueError(f"a study name has at most {MAX_STUDY_NAME} characters (the file names a run derives "
                             f"from it must fit the file system's limit of {NAME_MAX} bytes), got {len(v)}")
        return v

    def data_specs(self) -> list[tuple[str, DataSpec]]:
        """Every data source of the study with its key (``data``; a study may add more, e.g. ``benchmark``)."""
        return [("data", self.data)]


class WeightSpec(_Model):
    """Row weights (DESIGN 5.1 revision): ``weight: {column: W, kind: frequency | sampling}``.

    ``frequency``: each row stands for W identical rows (figures equal those of
    the expanded data). ``sampling``: survey, post-stratification or raking
    weights: weighted shares with design-based (linearised) variances and tests.
    """

    column: str
    kind: Literal["frequency", "sampling"]

    @model_validator(mode="before")
    @classmethod
    def _explain_bare(cls, v: Any) -> Any:
        if isinstance(v, str):
            raise ValueError(
                f"give the weight as {{column: {v}, kind: frequency}} (each row stands for W identical rows) or "
                f"{{column: {v}, kind: sampling}} (survey or raking weights: weighted shares, design-based intervals)")
        return v


class BootstrapSpec(_Model):
    resamples: int = Field(default=10000, ge=100, le=1_000_000)
    seed: Seed = 0


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if not str(p).startswith("function-"))
    msg = err.get("msg", "invalid")
    if err.get("type") == "extra_forbidden":
        msg = "unknown key"
    elif err.get("type") == "missing":
        msg = "required key is missing"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    msg = " ".join(msg.split())  # one line, whatever the validator wrote
    return f"key {loc!r}: {msg}" if loc else msg


def parse_study(raw: Any, source: str = "<study>", base_dir: str | Path | None = None,
                check_files: bool = True) -> StudyBase:
    """Validate a study mapping and return its model.

    Parameters
    ----------
    raw : mapping
        The study as read from YAML (or as injected into a notebook).
    source : str
        Name of the file, used in error messages.
    base_dir : path, optional
        Folder that relative data paths resolve against (the study file's folder).
    check_files : bool
        Also check that data files exist and have a supported suffix.

    Raises
    ------
    StudyFileError
        One line naming ``source`` and the offending key.
    """
    from .registry import STUDIES
    if not isinstance(raw, dict):
        raise StudyFileError(f"{source}: a study file must be a mapping of keys, got {type(raw).__name__}")
    notebook = raw.get("notebook")
    names = ", ".join(STUDIES)
    if notebook is None:
        raise StudyFileError(f"{source}: key 'notebook': required key is missing (one of {names})")
    if not isinstance(notebook, str):
        raise StudyFileError(f"{source}: key 'notebook': give the notebook's name (one of {names}), "
                             f"not a {type(notebook).__name__}")
    if notebook not in STUDIES:
        raise StudyFileError(f"{source}: key 'notebook': unknown notebook {notebook[:60]!r} (one of {names})")
    try:
        model = STUDIES[notebook].model().model_validate(raw)
    except ValidationError as exc:
        raise StudyFileError(f"{source}: {_describe(exc.errors()[0])}") from None
    if check_files:
        base = Path(base_dir) if base_dir is not None else Path(".")
        for prefix, spec in model.data_specs():
            for key in ("path", "scores", "values", "database"):
                rel = getattr(spec, key)
                if rel is None:
                    continue
                full = base / rel
                if key != "database" and Path(rel).suffix.lower() not in DATA_SUFFIXES:
                    raise StudyFileError(f"{source}: key '{prefix}.{key}': {rel} is not a data file cxlab reads "
                                         f"(use one of {', '.join(DATA_SUFFIXES)}, or 'sql')")
                if not full.is_file():
                    raise StudyFileError(f"{source}: key '{prefix}.{key}': file not found: {full}")
    return model


def load_study_file(path: str | Path) -> StudyBase:
    """Read and validate one study YAML file (see :func:`parse_study`)."""
    from .safeyaml import load_yaml
    path = Path(path)
    if not path.is_file():
        raise StudyFileError(f"{path}: study file not found")
    raw = load_yaml(path)
    return parse_study(raw, source=str(path), base_dir=path.parent)


def is_draft(path: str | Path) -> bool:
    """Whether a study file says ``draft: true`` (``cxlab new`` writes it on a draft that needs editing).

    A file that cannot be read is not a draft: the run reports it as the invalid study file it is.
    """
    from .safeyaml import load_yaml
    try:
        raw = load_yaml(path)
    except StudyFileError:
        return False
    return isinstance(raw, dict) and raw.get("draft") is True


def study_dict(study: StudyBase) -> dict[str, Any]:
    """The study as plain JSON-able data (what papermill injects)."""
    return study.model_dump(mode="json", exclude_none=False)
