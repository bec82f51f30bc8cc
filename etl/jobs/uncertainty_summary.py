"""The refresh's default uncertainty summary: Monte Carlo rank intervals per weight profile, stored in the warehouse.

Uses the default uncertainty spec (weights/uncertainty/default.toml) with the refresh's modest sample count and
seed, over the latest complete period of the given grain. Each (profile) result is one row of `uncertainty_runs` (spec,
seed, samples, failures: everything needed to regenerate it) and one row per unit in `uncertainty_ranks`.

Parts (issue 13.2): when the indicator values carry standard errors and the spec draws the data (`data = true`), each
profile gets three runs: data and method uncertainty together (the default the overview shows; stored under the
profile's content hash), method only (`<hash>#method`) and data only (`<hash>#data`), so a leader can see each part.
"""

from __future__ import annotations

import hashlib
import json
import dataclasses
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from etl.contract.catalog import load_catalog
from etl.stores.profiles import load_profile
from etl.warehouse import connection as warehouse, ddl
from indicators.framework import Framework
from etl.warehouse.panel import covered_months, default_panel_period, load_indicator_panel, read_uncertainty_spec
from indicators.model import has_composite
from indicators.periods import completeness
from indicators.uncertainty import montecarlo as mc
from indicators.uncertainty.problem import (
    DataUncertainty, DrawCache, Inputs, PanelPreparer, UncertaintySpec, build_problem, data_uncertainty_from_long,
    model_preparer,
)

PARTS = ("both", "method", "data")  # the stored parts of the rank intervals; "both" is the default


def part_hash(profile_hash: str, part: str) -> str:
    """The `profile_hash` a part is stored under: the plain hash for both parts together, else `<hash>#<part>`."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; parts: {', '.join(PARTS)}")
    return profile_hash if part == "both" else f"{profile_hash}#{part}"


def part_specs(spec: UncertaintySpec, with_data: bool) -> dict[str, UncertaintySpec]:
    """The spec of each part: both as given; method only without the data factor; data only without any method
    factor. Without standard errors (or with `data = false`) there is one part, the method's, stored as both."""
    if not (with_data and spec.data):
        return {"both": spec.model_copy(update={"data": False})}
    return {"both": spec, "method": spec.model_copy(update={"data": False}),
            "data": spec.model_copy(update={"weight_noise": (), "blend": None, "normalisation": (), "aggregation": (),
                                            "imputation": False, "drop_indicators": False})}

@dataclass(frozen=True)
class UncertaintyRun:
    """One stored summary."""

    run_id: str
    profile_name: str
    period: str
    samples: int
    samples_ok: int


def write_uncertainty_summary(
    db_path: str | Path | warehouse.Connection,
    profile_names: list[str],
    weights_dir: str | Path,
    *,
    samples: int,
    seed: int,
    snapshot_id: str | None = None,
    grain: str = "quarter",
    spec_path: str | Path | None = None,
    now: datetime | None = None,
    skip_existing: bool = False,
    reuse: bool = False,
) -> list[UncertaintyRun]:
    """Run the default uncertainty analysis for each profile on the latest complete period and append it to the warehouse.

    With `skip_existing` (the caller knows the indicator values did not change), a profile whose stored run has the
    same profile content, spec, grain and period is not run again (its numbers would be identical). With `reuse`
    (an incremental refresh), neither is one whose latest stored run read the same inputs (`inputs_digest`: the
    values of the complete periods, the scored period's values and standard errors, the framework, the code).
    """
    # score_runs/uncertainty_runs.created_at hold UTC (TIMESTAMP without zone): pages convert to Beijing time
    created = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    base = read_uncertainty_spec(spec_path)
    spec = type(base).from_dict({**base.model_dump(), "samples": samples, "seed": seed}, source="refresh")
    fw = load_catalog().framework()
    # Load inputs (read-only; the writable connection below is opened only after)
    frame = load_indicator_panel(db_path, fw, grain)
    period = default_panel_period(db_path, frame)
    periods = sorted(frame["period"].unique().to_list())
    prepare, units = model_preparer(fw, frame, period=period, complete=completeness(periods, covered_months(db_path)))
    data = standard_errors(db_path, fw, grain, period, units)
    parts = part_specs(spec, data is not None)
    spec_json = spec.model_dump_json()
    done = _existing(db_path, spec_json, grain, period) if skip_existing else set()
    complete = completeness(periods, covered_months(db_path))
    digest = inputs_digest(frame, complete, period, units, data, spec_json, grain, fw)
    if reuse:
        done |= _same_inputs(db_path, spec_json, grain, period, digest)
    runs, run_rows, rank_frames = [], [], []
    cache = DrawCache()  # the data draws and their prepared matrices, shared by every profile and part below
    for name, part in ((n, p) for n in profile_names for p in parts):
        # Process data
        t0 = time.perf_counter()
        prof = load_profile(name, weights_dir)
        p_hash = part_hash(prof.content_hash(), part)
        if p_hash in done:
            continue
        # a district whose data are too thin for a composite (the profile's availability threshold) has no rank to
        # vary: it is left out of the Monte Carlo instead of failing it (its page says "k of n indicators"). One
        # that has a nominal composite but loses it under some sample's choices (a county standing on one dimension
        # at exactly two thirds, one of whose indicators the drop factor leaves out) is unranked in those samples
        # only; its rank interval is over the samples in which it has a composite (run_monte_carlo, COINr's NA)
        methods = prof.methods_for(fw)  # without codes of retired indicators (reported by prof.notes)
        keep = has_composite(fw, methods, prepare(methods), prof.resolved_weights(fw))
        if not keep.any():
            continue
        sub = tuple(u for u, k in zip(units, keep) if k)
        sub_data = data if data is None or keep.all() else dataclasses.replace(data, se=data.se[keep])
        rows = prepare if keep.all() else (prepare.only(keep) if isinstance(prepare, PanelPreparer)
                                           else (lambda m, _k=keep: prepare(m)[_k]))
        inputs = Inputs(fw, sub, rows, methods, prof.resolved_weights(fw), data=sub_data, cache=cache)
        part_spec = parts[part]
        problem = build_problem(part_spec, inputs)
        res = mc.run_monte_carlo(problem, spec.samples, np.random.default_rng(spec.seed), spec.sampler)
        run_id = f"{created:%Y%m%dT%H%M%S}-" + hashlib.sha256(
            f"{p_hash}{spec_json}{snapshot_id}{grain}{period}".encode()
        ).hexdigest()[:8]
        ranks = mc.rank_table(res).rename({"unit": "unit_code"})
        rank_frames.append(ranks.with_columns(pl.lit(run_id).alias("run_id")))
        n_ok = int(res.ok.sum())
        run_rows.append(
            {
                "run_id": run_id, "created_at": created, "snapshot_id": snapshot_id, "profile_name": name,
                "profile_hash": p_hash, "grain": grain, "period": period, "samples": spec.samples,
                "samples_ok": n_ok, "seed": spec.seed, "sampler": spec.sampler, "spec_json": spec_json,
                "failures_json": json.dumps(res.failures(), ensure_ascii=False),
                "seconds": time.perf_counter() - t0,
            }
        )  # fmt: skip
        runs.append(UncertaintyRun(run_id, name, period, spec.samples, n_ok))
    # Save outputs
    rank_cols = ["run_id", "unit_code", "nominal_score", "nominal_rank", "median_rank", "rank_low", "rank_high",
                 "mean_rank", "p_top1", "score_q05", "score_q25", "score_q50", "score_q75", "score_q95"]
    with warehouse.connection(db_path) as con, warehouse.transaction(con):
        ddl.create(con, "uncertainty_runs", "uncertainty_ranks")
        if run_rows:
            warehouse.insert_frame(con, "uncertainty_runs", pl.DataFrame(run_rows))
            ranks_all = pl.concat(rank_frames, how="vertical_relaxed")
            present = [c for c in rank_cols if c in ranks_all.columns]
            warehouse.insert_frame(con, "uncertainty_ranks", ranks_all.select(present))
            ddl.create(con, INPUTS_TABLE)
            warehouse.insert_frame(con, INPUTS_TABLE, pl.DataFrame({"run_id": [r["run_id"] for r in run_rows],
                                                                    "inputs": [digest] * len(run_rows)}))
    return runs


#: run_id → the digest of what the run read (inputs_digest): an incremental refresh keeps a run whose inputs stand
INPUTS_TABLE = "uncertainty_inputs"


def _code_digest() -> bytes:
    h = hashlib.sha256(Path(__file__).read_bytes())
    for p in sorted(Path(mc.__file__).parents[1].rglob("*.py")):  # the indicators package: scoring and Monte Carlo
        h.update(p.read_bytes())
    return h.digest()


def inputs_digest(frame: pl.DataFrame, complete: tuple[str, ...] | None, period: str, units: tuple[str, ...],
                  data: DataUncertainty | None, spec_json: str, grain: str, fw: Framework) -> str:
    """What a summary of `period` reads: the scoring engine fits on complete periods only and scores each period
    by itself (indicators.model), so the values of the complete periods and of the scored one, its standard
    errors, the units, the framework, the spec and the code; a partial period's values are not read."""
    keep = set(complete) | {period} if complete is not None else set(frame["period"].cast(pl.String).to_list())
    rows = frame.filter(pl.col("period").cast(pl.String).is_in(sorted(keep)))
    h = hashlib.sha256(_code_digest())
    h.update(rows.sort(rows.columns).write_csv().encode())
    h.update(json.dumps([sorted(complete) if complete is not None else None, period, list(units), spec_json, grain,
                         fw.fingerprint()]).encode())
    if data is not None:
        for a in (data.se, data.lower, data.upper, data.proportion):
            h.update(b"-" if a is None else np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def _same_inputs(db_path: str | Path | warehouse.Connection, spec_json: str, grain: str, period: str,
                 digest: str) -> set[str]:
    """Profile hashes whose latest stored run (this spec, grain and period) read exactly these inputs."""
    with warehouse.connection(db_path) as con:
        if not {"uncertainty_runs", INPUTS_TABLE} <= set(warehouse.table_names(con)):
            return set()
        rows = warehouse.query(
            con,
            "SELECT r.profile_hash, i.inputs FROM (SELECT *, row_number() OVER (PARTITION BY profile_hash "
            "ORDER BY created_at DESC, run_id DESC) AS n FROM uncertainty_runs WHERE spec_json = ? AND grain = ? "
            f"AND period = ?) r LEFT JOIN {INPUTS_TABLE} i USING (run_id) WHERE r.n = 1",
            [spec_json, grain, period],
        )
    return {h for h, i in rows.iter_rows() if i == digest}


def standard_errors(db_path: str | Path | warehouse.Connection, fw: Framework, grain: str, period: str,
                     units: tuple[str, ...]) -> DataUncertainty | None:
    """The scored period's standard errors from `indicator_values.se` (None: no such column, or none stored)."""
    cols = warehouse.query(db_path, "SELECT column_name FROM information_schema.columns WHERE table_name = "
                                    "'indicator_values'")["column_name"].to_list()
    if "se" not in cols:
        return None
    frame = warehouse.query(
        db_path, "SELECT CAST(unit_code AS VARCHAR) AS unit_code, CAST(period AS VARCHAR) AS period, indicator_id, "
                 "CAST(value AS DOUBLE) AS value, CAST(se AS DOUBLE) AS se FROM indicator_values "
                 "WHERE grain = ? AND period = ?", [grain, period])
    return data_uncertainty_from_long(fw, frame, units, period)


def _existing(db_path: str | Path | warehouse.Connection, spec_json: str, grain: str, period: str) -> set[str]:
    """Profile hashes that already have a stored run with this spec, grain and period."""
    with warehouse.connection(db_path) as con:
        if "uncertainty_runs" not in warehouse.table_names(con):
            return set()
        rows = warehouse.query(
            con,
            "SELECT DISTINCT profile_hash FROM uncertainty_runs WHERE spec_json = ? AND grain = ? AND period = ?",
            [spec_json, grain, period],
        )
    return set(rows["profile_hash"].to_list())
