"""The refresh's steps (ingest → indicator values → scores → uncertainty summary), each writing into the snapshot
being built through the run's one connection (`ctx.con`, on `ctx.db_path`), never the live warehouse.

Each step returns a typed result (a frozen dataclass with a `note()` for the run history); a later step reads an
earlier one's result by type (`ctx.result(ScoresResult)`), never its display text. Tests inject their own steps
next to these; a step may also return a plain note (str) or None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, Union

from etl.warehouse import connection as warehouse

# The steps import what they run when they run (the ingest's pandera, the scores, scipy in the uncertainty step): a
# refresh with nothing new, which runs no step, starts without them (tests/etl/jobs/test_refresh_imports.py).
if TYPE_CHECKING:
    # local: imported when the step runs (a refresh with nothing new runs none; see the module's imports)
    from etl.config import Config
    from etl.ingest.accounting import IngestReport
    from etl.jobs.uncertainty_summary import UncertaintyRun
    from etl.stores.scores import ScoreInputs
    from etl.warehouse.indicator_values import Compute

SCORE_GRAIN = "quarter"  # the grain the app reads scores at (quarterly monitoring)


def score_grains(config: Config) -> tuple[str, ...]:
    """The grains a refresh scores: quarterly monitoring, and the assessment cycle when it differs (year)."""
    return (SCORE_GRAIN,) if config.refresh.cycle == SCORE_GRAIN else (SCORE_GRAIN, config.refresh.cycle)


class RefreshError(RuntimeError):
    """A refresh could not be carried out; the message says which step or file."""


class StepSkipped(Exception):
    """Raised by a step that has nothing to do (the message says why); the refresh goes on."""


# --- typed step results ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IngestResult:
    """What the ingest step loaded (the run counters hold the same numbers, summed over the run)."""

    files: int
    files_skipped: int
    files_rejected: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int

    def note(self) -> str:
        return (
            f"{self.files} file(s) loaded, {self.files_skipped} unchanged, {self.files_rejected} rejected:"
            f" {self.rows_loaded} rows loaded, {self.rows_quarantined} quarantined, {self.rows_duplicate} duplicate"
        )


@dataclass(frozen=True)
class IndicatorValuesResult:
    """How many indicator values were written, and whether they are exactly those the snapshot held before."""

    rows: int
    unchanged: bool
    detail: str = ""  # how they were computed (incremental: cells bounded, indicators computed whole and why)

    def note(self) -> str:
        return (f"{self.rows} indicator value row(s)" + (f"; {self.detail}" if self.detail else "")
                + (", unchanged" if self.unchanged else ""))


@dataclass(frozen=True)
class ScoresResult:
    """Profiles scored now (name, run id), profiles whose stored run stands (unchanged), profiles left out (why)."""

    scored: tuple[tuple[str, str], ...]
    unchanged: tuple[str, ...]
    left_out: tuple[tuple[str, str], ...]
    published: tuple[tuple[str, str], ...] = ()  # (name@vN, run id): published versions leaders see, where they differ

    @property
    def profiles(self) -> tuple[str, ...]:
        """Every profile with a valid stored run over this snapshot (scored now or unchanged), once each."""
        return tuple(dict.fromkeys([*(name for name, _ in self.scored), *self.unchanged]))

    def note(self) -> str:
        done = [f"{name} → {run_id}" for name, run_id in self.scored]
        parts = [f"{len(done)} profile(s) scored" + (f": {', '.join(done)}" if done else "")]
        if self.unchanged:
            parts.append(f"unchanged (same data, profile and framework as a stored run): {', '.join(self.unchanged)}")
        if self.published:
            parts.append("published versions scored: " + ", ".join(f"{n} → {r}" for n, r in self.published))
        if self.left_out:
            parts.append("left out: " + "; ".join(f"{name} ({why})" for name, why in self.left_out))
        return "; ".join(parts)


@dataclass(frozen=True)
class UncertaintyResult:
    """The summaries stored now, the sample count, and how many profiles kept their stored summary."""

    runs: tuple[UncertaintyRun, ...]
    samples: int
    unchanged: int

    def note(self) -> str:
        profiles = len({r.profile_name for r in self.runs})  # one summary per part (data + method, each alone)
        return f"{profiles} profile(s) in {len(self.runs)} summaries, {self.samples} samples each" + (
            f", period {self.runs[0].period}" if self.runs else ""
        ) + (f"; {self.unchanged} unchanged (same data, profile and spec as a stored run)" if self.unchanged else "")


StepResult = Union[IngestResult, IndicatorValuesResult, ScoresResult, UncertaintyResult]
R = TypeVar("R", IngestResult, IndicatorValuesResult, ScoresResult, UncertaintyResult)


@dataclass
class RefreshContext:
    """What a step gets: the run's one connection to the snapshot being built, what to read, the counters it may
    fill in, and the typed results of the steps before it."""

    config: Config
    run_id: int
    trigger: str
    snapshot_id: str
    db_path: Path  # the snapshot being built: steps write here, never to live_path
    live_path: Path
    source: Path | None  # folder of raw files to ingest (the --source folder, or the staged inbox); None = none
    started_at: datetime
    inbox_files: list[Path] | None = None  # staged inbox files to ingest (None: ingest the whole source folder)
    counts: dict[str, int] = field(
        default_factory=lambda: {
            "files": 0, "files_skipped": 0, "files_rejected": 0,
            "rows_loaded": 0, "rows_quarantined": 0, "rows_duplicate": 0,
        }
    )  # fmt: skip
    rejected_files: dict[str, str] = field(default_factory=dict)  # file name → reason (file-level ingest rejection)
    unchanged_files: dict[str, str] = field(default_factory=dict)  # file name → why the ingest skipped it
    results: list[Any] = field(default_factory=list)  # StepResult of each step that returned one, in order
    checksums: dict[str, tuple[str, int]] = field(default_factory=dict)  # path → (sha256, size) already computed
    con: warehouse.Connection | None = None  # opened by the refresh once the snapshot file exists; closed at the seal

    @property
    def connection(self) -> warehouse.Connection:
        """The run's connection to the snapshot being built (steps share it; the refresh closes it)."""
        if self.con is None:
            raise RefreshError("the snapshot being built has no open connection")
        return self.con

    def result(self, kind: type[R]) -> R | None:
        """The latest result of that type from an earlier step of this run (None when no step produced one)."""
        for r in reversed(self.results):
            if isinstance(r, kind):
                return r
        return None


Step = Callable[[RefreshContext], "StepResult | str | None"]


def step_ingest(ctx: RefreshContext) -> IngestResult:
    """Load the raw files of ctx.source into the snapshot (per-file accounting lands in ingest_files)."""
    # local: imported when the step runs (a refresh with nothing new runs none; see the module's imports)
    from etl.ingest.files import ingest_files, ingest_folder

    if ctx.source is None:
        raise StepSkipped("no new files")
    if ctx.inbox_files is not None:  # the staged inbox: exactly the planned files, by name
        report = ingest_files(ctx.inbox_files, ctx.connection, code_pattern=ctx.config.units.code_pattern)
    else:
        report = ingest_folder(ctx.source, ctx.connection, checksums=ctx.checksums,
                               code_pattern=ctx.config.units.code_pattern)
    return _count_ingest(ctx, report)


def _count_ingest(ctx: RefreshContext, report: IngestReport) -> IngestResult:
    """Fold an IngestReport's per-file accounting (etl.ingest.accounting.FileReport) into the run counters."""
    n = dict.fromkeys(("files", "files_skipped", "files_rejected", "rows_loaded", "rows_quarantined",
                       "rows_duplicate"), 0)  # fmt: skip
    for f in report.files:
        if f.status == "rejected":
            ctx.rejected_files[f.name] = f.message or "the file could not be read"
            n["files_rejected"] += 1
        elif f.status == "unchanged":
            # The ingest's own checksum check: this exact file is already in the warehouse (e.g. via --source).
            ctx.unchanged_files[f.name] = "unchanged: the same content (sha256) is already in the warehouse"
            n["files_skipped"] += 1
        else:
            n["files"] += 1
        n["rows_loaded"] += int(f.rows_loaded)
        n["rows_quarantined"] += int(f.rows_quarantined)
        n["rows_duplicate"] += int(f.rows_duplicate)
    for k, v in n.items():
        ctx.counts[k] += v
    return IngestResult(**n)


def step_indicator_values(ctx: RefreshContext) -> IndicatorValuesResult:
    """Recompute indicator_values from the catalog over everything in the snapshot.

    No value at all means the refresh produced nothing a page or a score could show: that fails the run (so a
    scheduler sees a non-zero exit) instead of swapping in an empty snapshot.
    """
    # local: imported when the step runs (a refresh with nothing new runs none; see the module's imports)
    from etl.contract.catalog import load_catalog
    from etl.warehouse import incremental
    from etl.warehouse.indicator_values import write_indicator_values

    before = _values_digest(ctx.connection)
    engine, detail = indicator_engine(ctx.config), ""
    if engine is None:  # DuckDB: only the cells the new data can reach (etl.warehouse.incremental)
        frame, detail = incremental.write_values(ctx.connection, load_catalog(),
                                                 params=ctx.config.haochaping.params())
    else:
        frame = write_indicator_values(ctx.connection, load_catalog(), params=ctx.config.haochaping.params(),
                                       compute=engine)
    if frame.height == 0:
        raise RefreshError(
            "no indicator values could be computed: the warehouse holds no raw data"
            " (give a folder with --source, or put files in the inbox)"
        )
    return IndicatorValuesResult(frame.height, before is not None and before == _values_digest(ctx.connection),
                                 detail)


def indicator_engine(config: Config) -> Compute | None:
    """The configured engine of the indicator stage ([engine] indicators): None = DuckDB in process, or Spark."""
    if config.engine.indicators != "spark":
        return None
    # local: pyspark is the optional extra govindex[spark]; a DuckDB refresh never loads it
    # local: imported when the step runs (a refresh with nothing new runs none; see the module's imports)
    from etl.warehouse.indicator_values_spark import SparkEngine
    from etl.warehouse.spark_session import spark_session

    cfg, db = config.spark, config.paths.db
    # beside the live warehouse, not the snapshot being built: one export, replaced table by table on each refresh
    parquet_dir = cfg.parquet_dir or db.with_name(db.name + ".parquet")
    return SparkEngine(spark_session(cfg), parquet_dir, cfg.parallel_queries)


def _values_digest(con: warehouse.Connection) -> str | None:
    """An order-independent digest of indicator_values (None when the table does not exist yet)."""
    if "indicator_values" not in warehouse.table_names(con):
        return None
    row = warehouse.query(
        con,
        "SELECT count(*) AS n, sum(hash(unit_code, period, grain, indicator_id, value, numerator, denominator)"
        "::HUGEINT)::VARCHAR AS h FROM indicator_values",
    ).row(0)
    return f"{row[0]}:{row[1]}"


def _values_unchanged(ctx: RefreshContext) -> bool:
    values = ctx.result(IndicatorValuesResult)
    return values is not None and values.unchanged


def _profiles(ctx: RefreshContext, *, needed: bool) -> list[str]:
    """The profiles to score. None at all is a failed run when scoring needs them (`needed`), else a skipped step."""
    # local: imported when the step runs (a refresh with nothing new runs none; see the module's imports)
    from etl.stores.profiles import SHIPPED_DIR, list_profiles

    names = list_profiles(ctx.config.paths.weights_path)
    if not names:
        message = f"no weight profiles in {ctx.config.paths.weights_path} nor among the shipped ones ({SHIPPED_DIR})"
        if needed:
            raise RefreshError(message + ": nothing could be scored")
        raise StepSkipped(message)
    return names


def step_scores(ctx: RefreshContext) -> ScoresResult:
    """Score every saved weight profile against the new indicator values (score_runs / scores in the snapshot), and
    the published version of each where it differs from the current one: leaders and district officials see the
    published version, and the pages show stored runs.

    A profile that no longer fits the framework, or that cannot be scored on these data at a grain (say, a min-max
    profile while no period is complete yet), is left out and named in the step's note (one assessor's stale profile
    must not stop the daily refresh); any other failure fails the refresh.
    """
    # local: imported when the step runs (a refresh with nothing new runs none; see the module's imports)
    from etl.contract.catalog import load_catalog
    from etl.stores.profiles import load_profile, load_published
    from etl.stores.scores import read_score_inputs, score_and_store
    from indicators.errors import ScoringError
    from indicators.profile import ProfileError

    fw = load_catalog().framework()
    # Only when this refresh left the indicator values exactly as they were can an earlier run stand for this one.
    existing = _existing_score_runs(ctx.connection) if _values_unchanged(ctx) else set()
    scored: list[tuple[str, str]] = []
    unchanged: list[str] = []
    left_out: list[tuple[str, str]] = []
    published: list[tuple[str, str]] = []
    # Every run of a grain scores the same indicator values (this step writes only score runs): read and pivot them
    # once per grain, when the first run needs them, and share them across profiles and their published versions.
    inputs: dict[str, ScoreInputs] = {}

    def shared(grain: str) -> ScoreInputs:
        if grain not in inputs:
            inputs[grain] = read_score_inputs(ctx.connection, grain, fw)
        return inputs[grain]

    for name in _profiles(ctx, needed=True):
        try:
            profile = load_profile(name, ctx.config.paths.weights_path)
            profile.validate_against(fw)
        except ProfileError as e:
            left_out.append((name, str(e)))
            continue
        try:
            pub = load_published(name, ctx.config.paths.weights_path)
            if pub is not None:
                pub.validate_against(fw)
        except ProfileError as e:
            left_out.append((f"{name} (published)", str(e)))
            pub = None
        for grain in score_grains(ctx.config):
            # Same profile, framework, data and grain as a stored run: its numbers would be identical; store once.
            key = (profile.content_hash(), fw.fingerprint(), grain)
            if key in existing:
                unchanged.append(name)
            else:
                try:
                    run = score_and_store(ctx.connection, fw, profile, grain, inputs=shared(grain))
                except ScoringError as e:  # e.g. no complete period yet to fit a min-max profile on: say so, go on
                    left_out.append((name, f"{grain}: {e}"))
                    continue
                scored.append((name, run.run_id))
                existing.add(key)
            if pub is not None and (pub.content_hash(), fw.fingerprint(), grain) not in existing:
                try:
                    run = score_and_store(ctx.connection, fw, pub, grain, inputs=shared(grain))
                except ScoringError as e:
                    left_out.append((f"{name} (published)", f"{grain}: {e}"))
                    continue
                published.append((f"{name}@v{pub.version}", run.run_id))
                existing.add((pub.content_hash(), fw.fingerprint(), grain))
    if not scored and not unchanged:
        raise RefreshError("no weight profile could be scored: " + "; ".join(f"{n} ({e})" for n, e in left_out))
    return ScoresResult(tuple(scored), tuple(dict.fromkeys(unchanged)), tuple(left_out), tuple(published))


def _existing_score_runs(con: warehouse.Connection) -> set[tuple[str, str, str]]:
    """(profile_hash, framework_hash, grain) of the stored score runs over the snapshot's current data."""
    # local: imported when the step runs (a refresh with nothing new runs none; see the module's imports)
    from etl.stores.scores import data_snapshot_id

    if "score_runs" not in warehouse.table_names(con):
        return set()
    rows = warehouse.query(
        con,
        "SELECT DISTINCT profile_hash, framework_hash, grain FROM score_runs WHERE data_snapshot_id = ?",
        [data_snapshot_id(con)],
    )
    return {(r["profile_hash"], r["framework_hash"], r["grain"]) for r in rows.iter_rows(named=True)}


def step_uncertainty(ctx: RefreshContext) -> UncertaintyResult:
    """The default uncertainty summary (Monte Carlo rank intervals per scored profile), a modest sample count."""
    # local: imported when the step runs (a refresh with nothing new runs none; see the module's imports)
    from etl.jobs.uncertainty_summary import write_uncertainty_summary

    n = ctx.config.refresh.uncertainty_samples
    if n <= 0:
        raise StepSkipped("uncertainty_samples = 0")
    scores = ctx.result(ScoresResult)
    names = list(scores.profiles) if scores is not None else _profiles(ctx, needed=False)
    runs = write_uncertainty_summary(
        ctx.connection,
        names,
        ctx.config.paths.weights_path,
        samples=n,
        seed=ctx.config.refresh.seed,
        snapshot_id=ctx.snapshot_id,
        skip_existing=_values_unchanged(ctx),
        reuse=True,  # a summary whose inputs a new month did not reach stands (uncertainty_summary.inputs_digest)
    )
    return UncertaintyResult(tuple(runs), n, len(names) - len({r.profile_name for r in runs}))


DEFAULT_STEPS: tuple[Step, ...] = (step_ingest, step_indicator_values, step_scores, step_uncertainty)
