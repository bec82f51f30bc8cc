"""`govindex sensitivity`: Monte Carlo rank uncertainty, Sobol indices, tornado, swap points and the statistical audit."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import numpy as np
import polars as pl
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from etl.contract.catalog import load_catalog
from etl.stores.profiles import load_profile
from indicators.periods import completeness
from indicators.profile import ProfileError

from app.cli.options import config_options, load, period_text
from etl.safe_export import csv_safe

SPEC_HELP = "Uncertainty spec TOML (default: weights/uncertainty/default.toml; see that file for every key)."


def _write(frame: pl.DataFrame, out: Path, name: str) -> None:
    csv_safe(frame).write_csv(out / f"{name}.csv", float_precision=None)  # names are text: no live formulas
    frame.write_parquet(out / f"{name}.parquet")


def _district_names(db: Path) -> dict[str, str]:
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.warehouse import connection as warehouse

    # The names are a courtesy: a warehouse without a district table still gets codes. Any other failure (a wrong
    # column, a broken file) is an error worth seeing, so nothing is swallowed here.
    with warehouse.connection(db, read_only=True) as con:
        if "district" not in warehouse.table_names(con):
            return {}
        df = warehouse.query(con, 'SELECT district_code, name_zh FROM "district"')
    return {str(r["district_code"]): str(r["name_zh"]) for r in df.iter_rows(named=True)}


def _summary(ctx: dict[str, Any], ranks: pl.DataFrame, fails: pl.DataFrame, sobol: pl.DataFrame,
             tornado: pl.DataFrame, swaps: pl.DataFrame, dims: pl.DataFrame, flags: pl.DataFrame,
             issues: list[Any], names: dict[str, str]) -> str:
    def nm(u: str) -> str:
        return f"{names[u]} ({u})" if u in names else u

    lines = [
        "# 敏感性与不确定性分析 / Sensitivity and uncertainty analysis", "",
        f"- 权重方案 / profile: `{ctx['profile']}`; 期间 / period: `{ctx['period']}` ({ctx['grain']})",
        f"- 样本 / samples: Monte Carlo {ctx['samples']:,}, Sobol base N {ctx['sobol_n']:,} "
        f"({ctx['sobol_evaluations']:,} evaluations); seed {ctx['seed']}; sampler {ctx['sampler']}",
        f"- 不确定因素 / factors: {', '.join(ctx['factors'])}",
        f"- 用时 / time: {ctx['seconds']:.2f} s", "",
        "## 排名区间 / Rank intervals", "",
        "| 名义排名 nominal | 区 unit | 中位排名 median | 90% 区间 interval | P(第一 first) |", "|---|---|---|---|---|",
    ]
    for r in ranks.iter_rows(named=True):
        lines.append(f"| {int(r['nominal_rank'])} | {nm(r['unit'])} | {r['median_rank']:.0f} | "
                     f"{r['rank_low']:.0f}–{r['rank_high']:.0f} | {r['p_top1']:.2f} |")
    lines += ["", "## 样本结果 / Samples accounted for", "", "| 结果 outcome | 样本 samples | 占比 share |", "|---|---|---|"]
    lines += [f"| {r['outcome']} | {r['samples']:,} | {r['share']:.1%} |" for r in fails.iter_rows(named=True)]
    shift = sobol.filter(pl.col("output") == "mean_abs_rank_shift").sort("ST", descending=True, nulls_last=True)
    lines += ["", "## Sobol 指数（平均排名变动）/ Sobol indices on the mean absolute rank shift", "",
              "| 因素 factor | 一阶 S (95% CI) | 总效应 ST (95% CI) |", "|---|---|---|"]
    lines += [f"| {r['factor']} | {r['S']:.3f} ({r['S_low']:.3f}, {r['S_high']:.3f}) | {r['ST']:.3f} "
              f"({r['ST_low']:.3f}, {r['ST_high']:.3f}) |" for r in shift.iter_rows(named=True)]
    top = (tornado.group_by("factor", "setting")
           .agg(pl.col("rank_change").fill_nan(None).abs().max().alias("max_shift"),
                pl.col("failure").drop_nulls().first().alias("failure"))
           .sort("max_shift", descending=True, nulls_last=True).head(10))
    lines += ["", "## 单因素影响（最大排名变动）/ One at a time: largest rank changes", "",
              "| 因素 factor | 设定 setting | 最大排名变动 max rank change |", "|---|---|---|"]
    lines += [f"| {r['factor']} | {r['setting']} | "
              f"{int(r['max_shift']) if r['max_shift'] is not None else 'failed: ' + str(r['failure'])} |"
              for r in top.iter_rows(named=True)]
    if swaps.height:
        lines += ["", "## 需求侧权重的换位点 / Demand share at which neighbours swap", "",
                  "| 区 A | 区 B | 名义 nominal | 换位点 swap at | 方法 method |", "|---|---|---|---|---|"]
        for r in swaps.iter_rows(named=True):
            at = "—" if r["swap_share"] != r["swap_share"] else f"{r['swap_share']:.3f}"  # NaN: never swap
            lines.append(f"| {nm(r['unit_a'])} | {nm(r['unit_b'])} | {r['nominal_share']:.2f} | {at} | "
                         f"{r['method']} |")
    lines += ["", "## 统计审计 / Statistical audit", "", "| 维度 node | α | PC1 share |", "|---|---|---|"]
    lines += [f"| {r['code']} | {r['alpha']:.2f} | {r['pc1_share']:.2f} |" for r in dims.iter_rows(named=True)]
    if flags.height:
        lines += ["", "| 维度 parent | 指标 A | 指标 B | r | 标记 flag |", "|---|---|---|---|---|"]
        lines += [f"| {r['parent']} | {r['code_a']} | {r['code_b']} | {r['r']:.2f} | {r['flag']} |"
                  for r in flags.iter_rows(named=True)]
    if issues:
        lines += ["", "## 检查提示 / Checks", ""] + [f"- {i.severity}: {i.factor}: {i.message}" for i in issues]
    return "\n".join(lines) + "\n"


@click.command("sensitivity")
@click.option("--profile", default="equal", show_default=True,
              help="Weight profile name (shipped or saved in paths.weights_dir), or a .toml path.")
@click.option("--spec", "spec_path", type=click.Path(path_type=Path), default=None, help=SPEC_HELP)
@click.option("--samples", type=int, default=None, help="Monte Carlo samples (overrides the spec's `samples`).")
@click.option("--sobol-samples", type=int, default=None,
              help="Base N of the Saltelli design, a power of two (overrides the spec's `sobol_samples`).")
@click.option("--seed", type=int, default=None, help="Random seed (overrides the spec's `seed`); same seed, same numbers.")
@click.option("--grain", default="quarter", show_default=True, help="Period grain of the indicator values (month | quarter).")
@click.option("--period", default=None, help="Period to analyse (default: the latest period the data cover completely).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the tables and summary.md.")
@config_options
def sensitivity(profile: str, spec_path: Path | None, samples: int | None, sobol_samples: int | None,
                seed: int | None, grain: str, period: str | None, out: Path, config_file: str | None,
                db_path: str | None) -> None:
    """Robustness of the ranking: rank intervals, P(rank <= k), pairwise P(A above B), Sobol indices with
    confidence intervals and convergence, a tornado, blend swap points and the statistical audit.

    Writes every table as CSV and Parquet into --out, plus summary.md (bilingual) and run.json (the full spec).
    """
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from etl.warehouse.panel import PanelError, covered_months, default_panel_period, load_indicator_panel, read_uncertainty_spec
    from indicators.uncertainty import montecarlo as mc
    from indicators.audit import audit
    from indicators.uncertainty.sensitivity import SensitivityError, sobol_analysis, swap_points, tornado
    from indicators.uncertainty.problem import Inputs, UncertaintyError, build_problem, check, model_preparer

    config = load(config_file, db=db_path)
    db = config.paths.db  # opened read-only
    t0 = time.perf_counter()
    # Load inputs
    try:
        spec = read_uncertainty_spec(spec_path)
        updates = {k: v for k, v in (("samples", samples), ("sobol_samples", sobol_samples), ("seed", seed))
                   if v is not None}
        if updates:
            spec = type(spec).from_dict({**spec.model_dump(), **updates}, source="command line")
        fw = load_catalog().framework()
        prof = load_profile(profile, config.paths.weights_dir)
        frame = load_indicator_panel(db, fw, grain)
        period = period or default_panel_period(db, frame)
        complete = completeness(sorted(frame["period"].unique().to_list()), covered_months(db))
        prepare, units = model_preparer(fw, frame, period=period, complete=complete)
        weights = prof.resolved_weights(fw)
    except (UncertaintyError, PanelError, ProfileError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    chosen = period
    inputs = Inputs(fw, units, prepare, prof.methods, weights)
    issues = check(spec, inputs)
    for i in issues:
        click.echo(f"{i.severity}: {i.factor}: {i.message}", err=True)
    if any(i.severity == "error" for i in issues):
        raise click.ClickException("the uncertainty spec does not fit this framework/data (errors above)")

    # Process data
    rng = np.random.default_rng(spec.seed)
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("准备 / preparing", total=6)
        try:
            problem = build_problem(spec, inputs)
            bar.update(task, advance=1, description="蒙特卡洛 / Monte Carlo")
            res = mc.run_monte_carlo(problem, spec.samples, rng, spec.sampler)
            bar.update(task, advance=1, description="Sobol")
            sa = sobol_analysis(problem, spec.sobol_samples, rng, sampler=spec.sampler, n_boot=spec.bootstrap,
                                confidence=spec.confidence)
            bar.update(task, advance=1, description="单因素 / tornado")
            tor = tornado(problem)
            bar.update(task, advance=1, description="换位点 / swap points")
            swaps = swap_points(problem, "demand") if "demand" in fw and fw.node("demand").parent else pl.DataFrame()
            bar.update(task, advance=1, description="审计 / audit")
            rep = audit(fw, problem.nominal_nodes(), fw.effective_weights(weights), n_units=len(units))
            bar.update(task, advance=1)
        except (UncertaintyError, SensitivityError, mc.MonteCarloError) as e:
            raise click.ClickException(str(e)) from None
    seconds = time.perf_counter() - t0

    # Save outputs
    try:
        out.mkdir(parents=True, exist_ok=True)
        ranks = mc.rank_table(res)
        fails = mc.failures_table(res)
        sobol = sa.table()
        tables = {
            "rank_intervals": ranks, "p_rank_at_most": mc.p_rank_table(res), "pairwise": mc.pairwise_table(res),
            "failures": fails, "sobol": sobol, "sobol_convergence": sa.convergence_table(), "tornado": tor,
            "swap_points": swaps, "audit_correlations": rep.correlations, "audit_dimensions": rep.dimensions,
            "audit_importance": rep.importance, "audit_flags": rep.flags,
            "issues": pl.DataFrame({"severity": [i.severity for i in issues], "factor": [i.factor for i in issues],
                                    "message": [i.message for i in issues]}, schema={"severity": pl.String,
                                                                                     "factor": pl.String,
                                                                                     "message": pl.String}),
        }
        for name, frame_ in tables.items():
            _write(frame_, out, name)
        ctx = {"profile": prof.name, "period": chosen, "grain": grain, "samples": spec.samples,
               "sobol_n": spec.sobol_samples, "sobol_evaluations": sa.n_evaluations, "seed": spec.seed,
               "sampler": spec.sampler, "factors": [f.name for f in problem.factors], "seconds": seconds}
        (out / "summary.md").write_text(
            _summary(ctx, ranks, fails, sobol, tor, swaps, rep.dimensions, rep.flags, issues, _district_names(db)),
            encoding="utf-8")
        run = {**ctx, "spec": spec.model_dump(mode="json"), "profile_hash": prof.scoring_hash(),
               "model": json.loads(prof.methods.to_json()), "db": str(db), "units": list(units),
               "framework": [[n.code, n.parent, n.weight] for n in fw.nodes],
               "sobol_dropped_rows": sa.result.n_dropped, "tables": sorted(tables)}
        (out / "run.json").write_text(json.dumps(run, ensure_ascii=False, indent=2), encoding="utf-8")
    except OSError as e:
        raise click.ClickException(f"cannot write to {out}: {e.strerror or e}") from None
    n_fail = int((~res.ok).sum())
    click.echo(f"{len(units)} units, period {period_text(chosen)}: {spec.samples:,} Monte Carlo samples ({n_fail:,} failed, by "
               f"reason in failures.csv), Sobol N={spec.sobol_samples} over {len(problem.factors)} factors, "
               f"{seconds:.1f} s → {out}")
