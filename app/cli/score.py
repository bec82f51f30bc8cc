"""`govindex score`: score a COINr-style iMeta/iData pair to CSV, or score the warehouse and store the run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import numpy as np
import polars as pl
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from app.cli.jsonout import Busy, emit, json_errors
from app.cli.options import config_options, load, period_text
from app.cli.paths import warehouse_for_reading
from etl.config import Config
from etl.safe_export import csv_safe
from indicators.aggregate import AGGREGATORS, AggregationError
from indicators.catalog import CatalogError
from indicators.framework import Framework, FrameworkError
from indicators.model import ScoringError, score as run_score
from indicators.profile import ProfileError
from indicators.registry import MethodError
from indicators.spec import MethodSpec, ModelSpec

NORMALISE_HELP = (
    "Normalisation: minmax:L,U | zscore:M,S | rank | prank | distance_to_best | goalposts | distance_to_target | none "
    "(default minmax:0,100)."
)


def parse_method(text: str, verb: str) -> MethodSpec:
    """'minmax:1,100' → MethodSpec(minmax, l=1, u=100); 'pmean:0.5' → p=0.5; a bare name keeps the defaults."""
    name, _, args = text.strip().partition(":")
    name = name.strip().lower()
    params: dict[str, Any] = {}
    if args:
        try:
            nums = [float(a) for a in args.split(",")]
        except ValueError:
            raise click.BadParameter(f"{text!r}: parameters after ':' must be numbers, e.g. minmax:0,100") from None
        keys = {"minmax": ("l", "u"), "zscore": ("m", "s"), "pmean": ("p",), "goalposts": ("scale",),
                "distance_to_best": ("scale",), "distance_to_target": ("scale",)}.get(name)
        if keys is None or len(nums) != len(keys):
            example = {"minmax": "minmax:0,100", "zscore": "zscore:10,2", "pmean": "pmean:0.5"}.get(name, name)
            raise click.BadParameter(
                f"{text!r}: {name} takes {', '.join(keys) if keys else 'no parameters'} (e.g. {example})"
            )
        params = dict(zip(keys, nums))
    return MethodSpec(name=name, params=params)


def _read_csv(path: Path, what: str) -> pl.DataFrame:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise click.ClickException(f"cannot read {what} file {path}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise click.ClickException(f"{what} file {path} is neither UTF-8 nor GB18030 text") from None
    try:
        return pl.read_csv(text.encode(), infer_schema_length=0)  # all text: we convert with row-level messages
    except Exception as e:  # polars raises several error types for malformed CSV
        raise click.ClickException(f"{what} file {path} is not a readable CSV: {e}") from None


def _imeta_frame(df: pl.DataFrame) -> pl.DataFrame:
    """Cast the text columns COINr iMeta holds to numbers, naming the row and column of a bad value."""
    out = df.with_columns(pl.col(c).str.strip_chars() for c in df.columns)
    for col in ("Level", "Direction", "Weight", "Target"):
        if col not in out.columns:
            continue
        bad = out.with_row_index("row", offset=2).filter(
            pl.col(col).is_not_null() & (pl.col(col) != "") & pl.col(col).cast(pl.Float64, strict=False).is_null()
        )
        if bad.height:
            r = bad.row(0, named=True)
            raise click.ClickException(f"iMeta row {r['row']} ({r.get('iCode')!r}), column {col}: "
                                       f"{r[col]!r} is not a number")
        out = out.with_columns(pl.when(pl.col(col) == "").then(None).otherwise(pl.col(col)).cast(pl.Float64).alias(col))
    return out


def _idata_matrix(df: pl.DataFrame, fw: Framework, path: Path) -> tuple[list[str], np.ndarray]:
    if "uCode" not in df.columns:
        raise click.ClickException(f"iData file {path} has no uCode column")
    missing = [c for c in fw.indicators if c not in df.columns]
    if missing:
        raise click.ClickException(f"iData file {path} lacks indicator column(s) named in iMeta: {', '.join(missing)}")
    units = [str(u).strip() if u is not None else "" for u in df["uCode"].to_list()]
    blank = [i + 2 for i, u in enumerate(units) if not u]
    if blank:
        raise click.ClickException(f"iData file {path}: row {blank[0]} has an empty uCode")
    seen: set[str] = set()
    for i, u in enumerate(units):
        if u in seen:
            raise click.ClickException(f"iData file {path}: row {i + 2}: unit {u!r} appears more than once")
        seen.add(u)
    cols = []
    for c in fw.indicators:
        s = df[c].str.strip_chars()
        s = pl.Series(c, [None if v in (None, "", "NA", "NaN") else v for v in s.to_list()], dtype=pl.String)
        num = s.cast(pl.Float64, strict=False)
        bad = [(i + 2, v) for i, (v, n) in enumerate(zip(s.to_list(), num.to_list())) if v is not None and n is None]
        if bad:
            raise click.ClickException(f"iData file {path}: row {bad[0][0]}, column {c}: {bad[0][1]!r} is not a number")
        cols.append(num.fill_null(np.nan).to_numpy())
    return units, np.column_stack(cols)


def score_files(imeta: Path, idata: Path, out: Path, normalise: str, aggregate: str, treat: str) -> int:
    # Load inputs
    try:
        fw = Framework.from_imeta(_imeta_frame(_read_csv(imeta, "iMeta")))
    except FrameworkError as e:
        raise click.ClickException(f"iMeta file {imeta}: {e}") from None
    units, X = _idata_matrix(_read_csv(idata, "iData"), fw, idata)
    # Process data
    try:
        spec = ModelSpec(
            treatment=MethodSpec(name="coinr_default" if treat == "default" else "none"),
            normalisation=parse_method(normalise, "normalisation"),
            aggregation=parse_method(aggregate, "aggregation"),
        )
    except ValidationError as e:
        raise click.ClickException("; ".join(str(err["msg"]).removeprefix("Value error, ") for err in e.errors())) from None
    try:
        res = run_score(fw, X, spec, units=units, periods=["all"])
    except (ScoringError, AggregationError, MethodError) as e:
        raise click.ClickException(str(e)) from None
    table = res.wide().with_columns(pl.col(c).fill_nan(None) for c in res.order)
    # Save outputs
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        csv_safe(table).write_csv(out, float_precision=None)  # unit codes are free text: no live formulas
    except OSError as e:
        raise click.ClickException(f"cannot write {out}: {e.strerror or e}") from None
    return table.height


@click.command("score")
@click.option("--imeta", type=click.Path(path_type=Path), help="COINr-style iMeta CSV (Level, iCode, Parent, Direction, Weight, Type).")
@click.option("--idata", type=click.Path(path_type=Path), help="COINr-style iData CSV: uCode plus one column per indicator.")
@click.option("--out", type=click.Path(path_type=Path), help="Output CSV (file mode): one row per unit, uCode first.")
@click.option("--normalise", default="minmax:0,100", show_default=True, help=NORMALISE_HELP)
@click.option("--aggregate", default="amean", show_default=True,
              help=f"Aggregation at every level: {' | '.join(AGGREGATORS.names)} (pmean:P for a power mean).")
@click.option("--treat", type=click.Choice(["default", "none"]), default="default", show_default=True,
              help="Outlier treatment: COINr's default rule (winsorise up to 5 points, else log) or none.")
@click.option("--profile", default=None,
              help="Warehouse mode: weight profile name (shipped or saved in paths.weights_dir; default: equal).")
@click.option("--grain", default="quarter", show_default=True, help="Warehouse mode: period grain of indicator values.")
@click.option("--audit", "with_audit", is_flag=True,
              help="Warehouse mode: also print the data audit: reliability per indicator at quarterly and annual grain "
                   "(flagged below the profile's threshold, with the grain at which each becomes reliable) and the "
                   "pairs of indicators with |r| >= 0.9 (double counting).")
@config_options
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object on stdout (warehouse mode: the stored run and its ranking).")
def score(
    imeta: Path | None, idata: Path | None, out: Path | None, normalise: str, aggregate: str, treat: str,
    profile: str | None, grain: str, with_audit: bool, config_file: str | None, db_path: str | None, as_json: bool,
) -> None:
    """Score units with a hierarchical composite-indicator model (COINr semantics).

    File mode (--imeta, --idata, --out): treat, normalise and aggregate a COINr-style pair and write every
    indicator's normalised value and every aggregate's score per unit. Warehouse mode (no --imeta): score the
    warehouse's indicator values with a weight profile and store the run with its full specification.
    Exit codes: 0 scored; 1 failed; 2 bad usage; 75 a refresh is running (try later).
    """
    with json_errors(as_json):
        if imeta is not None or idata is not None:
            if imeta is None or idata is None or out is None:
                raise click.UsageError("file mode needs --imeta, --idata and --out together")
            n = score_files(imeta, idata, out, normalise, aggregate, treat)
            if as_json:
                emit({"status": "ok", "mode": "file", "units": n, "out": str(out)})
            else:
                click.echo(f"scored {n} units → {out}")
            return
        score_warehouse(profile, load(config_file, db=db_path), grain, as_json=as_json, with_audit=with_audit)


def score_warehouse(profile_name: str | None, config: Config, grain: str, *, as_json: bool = False,
                    with_audit: bool = False) -> None:
    """Warehouse mode: catalog framework + named profile → score indicator_values → score_runs / scores."""
    # imported here: file mode needs neither the warehouse nor the catalog
    from etl.contract.catalog import load_catalog
    from etl.errors import EtlError
    from etl.jobs.locks import LockHeld
    from etl.jobs.refresh import refresh_lock
    from etl.stores.profiles import load_profile
    from etl.stores.scores import score_and_store
    from etl.warehouse.connection import WarehouseError
    try:
        path = warehouse_for_reading(config.paths.db)
        fw = load_catalog().framework()
        prof = load_profile(profile_name or "equal", config.paths.weights_dir)
        prof.validate_against(fw)
        # the live warehouse: a refresh swapping its snapshot in meanwhile would discard this run
        with refresh_lock(Path(os.path.abspath(path))).acquire(0.0, command="score"):
            run = score_and_store(path, fw, prof, grain)
    except LockHeld as e:
        raise Busy(f"not scoring now: {e} · 正在刷新，请稍后再试") from None
    except (CatalogError, ProfileError, EtlError, WarehouseError, ScoringError, AggregationError,
            FrameworkError, MethodError) as e:
        raise click.ClickException(str(e)) from None
    for w in run.warnings:
        click.echo(f"warning: {w}", err=True)
    audit = _audit(path, fw, prof.methods.reliability_threshold) if with_audit else None
    if as_json:
        period, ranking = _ranking(path, run.run_id, fw)
        out = {"status": "ok", "mode": "warehouse", "run_id": run.run_id, "profile": prof.name, "grain": grain,
               "db": str(path), "n_units": run.n_units, "n_periods": run.n_periods, "n_rows": run.n_rows,
               "warnings": list(run.warnings), "period": period, "ranking": ranking.to_dicts()}
        if audit is not None:
            out["audit"] = {"reliability_threshold": audit.reliability.threshold,
                            "reliability": audit.reliability.rows.to_dicts(),
                            "unreliable": audit.unreliable().to_dicts(), "collinear": audit.redundant.to_dicts()}
        emit(out)
        return
    click.echo(f"run {run.run_id}: {run.n_units} units × {run.n_periods} periods ({grain}), {run.n_rows} score rows "
               f"stored in {path}")
    _print_ranking(path, run.run_id, fw, prof.title_zh or prof.name)
    if audit is not None:
        _print_audit(audit, fw)


def _audit(path: Path, fw: Framework, threshold: float) -> Any:
    """The data audit of the warehouse (reliability, double counting)."""
    # local: slow to import (scipy, pandera or duckdb); only the warehouse mode needs it
    from app.views.methodology import census_indicators
    from etl.contract.catalog import load_catalog
    from etl.stores.scores import read_audit

    return read_audit(path, fw, census_indicators(load_catalog()), threshold)


def _print_audit(audit: Any, fw: Framework) -> None:
    """Reliability per indicator and grain (flagged rows first), then the pairs with |r| >= 0.9."""
    flagged = {r["indicator"]: r for r in audit.unreliable().iter_rows(named=True)}
    wide = audit.reliability.wide()
    grains = [c for c in wide.columns if c != "indicator"]
    table = Table(title=f"信度 reliability (阈值 threshold {audit.reliability.threshold:g})", title_justify="left")
    table.add_column("指标 indicator")
    for g in grains:
        table.add_column({"quarter": "季度 quarter", "year": "年度 year", "month": "月度 month"}.get(g, g),
                         justify="right")
    table.add_column("结论 verdict")
    rows = sorted(wide.iter_rows(named=True), key=lambda r: r["indicator"] not in flagged)
    for r in rows:
        if all(r[g] is None for g in grains):
            continue
        f = flagged.get(r["indicator"])
        verdict = "" if f is None else (f"可靠于 reliable at {f['reliable_at']}" if f["reliable_at"]
                                        else "各粒度均不可靠 not reliable at any grain")
        name = fw.node(r["indicator"]).name_zh or r["indicator"]
        table.add_row(f"{name} {r['indicator']}", *["—" if r[g] is None else f"{r[g]:.2f}" for g in grains], verdict)
    Console().print(table)
    red = audit.redundant
    click.echo(f"重复计分 double counting (|r| >= 0.9 across districts, per period, median): {red.height} pair(s)")
    for r in red.sort(["grain", "r"], descending=[False, True]).iter_rows(named=True):
        click.echo(f"  {r['grain']}: {r['code_a']} ~ {r['code_b']}  r = {r['r']:.2f} "
                   f"({r['r_low']:.2f}–{r['r_high']:.2f}, {r['n_periods']} periods)")


def _ranking(path: Path, run_id: str, fw: Framework) -> tuple[str, pl.DataFrame]:
    """The stored run's ranking for the latest complete period."""
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.stores.scores import read_ranking

    return read_ranking(path, run_id, fw)


def _print_ranking(path: Path, run_id: str, fw: Framework, title: str) -> None:
    """The stored run's ranking for the latest complete period: what a person checks first."""
    period, ranking = _ranking(path, run_id, fw)
    table = Table(title=f"{title} · {period_text(period)}", title_justify="left")
    table.add_column("名次 rank", justify="right")
    table.add_column("区 unit")
    nodes = [("index", fw.node(fw.root))] + [(c, fw.node(c)) for c in fw.children(fw.root)]
    for _, node in nodes:
        table.add_column(f"{node.name_zh or node.code} {node.name_en or ''}".strip(), justify="right")
    table.add_column("等级 band")
    for r in ranking.iter_rows(named=True):
        cells = ["—" if r.get(code) is None else f"{r[code]:.1f}" for code, _ in nodes]
        table.add_row(str(r["rank"] or "—"), f"{r['name_zh'] or ''} {r['unit_code']}".strip(), *cells, r["band"] or "")
    Console(width=120).print(table)
