"""`govindex weights`: list, show, derive (AHP, budget, entropy, CRITIC, PCA, equal), publish and audit profiles."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np
import polars as pl

from etl.contract.catalog import load_catalog
from etl.stores import profiles as io
from etl.stores.audit_trail import (
    AuditError, anchor_trail, audit_path, format_change, head_path, trail_csv, verify_trail,
)
from etl.stores.profiles import (
    load_profile, load_profile_version, load_profiles, profile_versions, publish_profile, save_profile,
)
from indicators.framework import Framework
from indicators.nanreduce import nanmin_max
from indicators.profile import Derivation, ProfileError, WeightProfile
from indicators.weighting.report import effective_weights_report

from app.cli.columns import clip, pad
from app.cli.options import config_option, load
from app.views.history import profile_history

DATA_METHODS = ("entropy", "critic", "pca")
F = TypeVar("F", bound=Callable[..., Any])


def _weights_dir(option: str | None, config_file: str | None) -> Path:
    """--weights-dir, else paths.weights_dir of the configuration (GOVINDEX_WEIGHTS_DIR); shipped profiles are listed
    from the package's weights/ in any case."""
    return load(config_file, weights_dir=option).paths.weights_dir


def _framework(imeta: str | None) -> Any:
    try:
        if imeta:
            return Framework.from_imeta(pl.read_csv(imeta, infer_schema_length=0))
        return load_catalog().framework()
    except Exception as e:  # noqa: BLE001 - turned into a message for people
        raise click.ClickException(f"cannot load the framework: {e}") from None


def _fail(e: Exception) -> click.ClickException:
    return click.ClickException(str(e))


_weights_dir_option = click.option(
    "--weights-dir",
    "weights_dir",
    default=None,
    help="Writable folder of saved profiles, their history and audit trail (default from configuration: "
    "paths.weights_dir); the shipped profiles are listed too.",
)


def _dir_option(f: F) -> F:
    """--weights-dir and --config (the weights folder comes from the configuration unless given)."""
    return _weights_dir_option(config_option(f))


_imeta_option = click.option(
    "--imeta",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Use a COINr-style iMeta CSV as the framework instead of the indicator catalog.",
)


@click.group()
def weights() -> None:
    """Weight profiles: list, show, derive, publish, and their history (权重方案)."""


@weights.command("list")
@_dir_option
def list_cmd(weights_dir: str | None, config_file: str | None) -> None:
    """List the saved weight profiles with their blend, method, version and author."""

    folder = _weights_dir(weights_dir, config_file)
    try:
        profiles = load_profiles(folder)
    except ProfileError as e:
        raise _fail(e) from None
    if not profiles:
        click.echo(f"no profiles in {folder}")
        return
    click.echo(f"{pad('name', 20)} {'ver':>3} {'supply/demand':<13} {'method':<8} {pad('author', 24)} title")
    for name, p in profiles.items():
        blend = f"{p.blend.supply:.2f}/{p.blend.demand:.2f}" if p.blend else "-"
        kept = len(profile_versions(name, folder))
        ver = f"{p.version}" + (f" ({kept} kept)" if kept > 1 else "")
        click.echo(f"{pad(name, 20)} {ver:>3} {blend:<13} {p.method:<8} {pad(clip(p.author, 24), 24)} {p.title_zh} / {p.title_en}")


@weights.command("show")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["text", "toml", "json"]), default="text", show_default=True,
              help="text: summary and effective weights; toml: the file as saved; json: resolved weights as JSON.")
@click.option("--version", "version", type=int, default=None, help="Show an archived version instead of the current.")
@_dir_option
@_imeta_option
def show(name: str, fmt: str, version: int | None, weights_dir: str | None, config_file: str | None,
         imeta: str | None) -> None:
    """Show profile NAME (a name in the weights folder or a path to a .toml file) and its effective weights."""

    folder = _weights_dir(weights_dir, config_file)
    try:
        p = load_profile_version(name, version, folder) if version is not None else load_profile(name, folder)
    except ProfileError as e:
        raise _fail(e) from None
    if fmt == "toml":
        click.echo(p.to_toml(), nl=False)
        return
    fw = _framework(imeta)
    try:
        resolved = p.resolved_weights(fw)
    except ProfileError as e:
        raise _fail(e) from None
    report = effective_weights_report(fw, resolved)
    if fmt == "json":
        out = {
            "name": p.name,
            "version": p.version,
            "content_hash": p.content_hash(),
            "resolved_weights": resolved,
            "effective_weights": dict(zip(report["code"].to_list(), report["nominal_share"].to_list(), strict=True)),
        }
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(f"{p.name} v{p.version}: {p.title_zh} / {p.title_en}")
    click.echo(f"author: {p.author}   date: {p.date.isoformat()}   method: {p.method}   hash: {p.content_hash()[:12]}")
    if p.blend:
        click.echo(f"blend: supply {p.blend.supply:g}, demand {p.blend.demand:g}")
    m = p.methods
    click.echo(
        f"methods: imputation {m.imputation.name}, treatment {m.treatment.name}, normalisation "
        f"{m.normalisation.name} {m.normalisation.params or ''} (fit on {m.fit_on}), aggregation {m.aggregation.name}"
    )
    for lang in ("zh", "en"):
        text = getattr(p.rationale, lang)
        if text:
            click.echo(f"rationale ({lang}): {text}")
    click.echo("\nnode weights (share within parent):")
    for code in fw.aggregates[::-1]:
        kids = ", ".join(f"{k} {resolved[k]:.3f}" for k in fw.children(code))
        click.echo(f"  {code}: {kids}")
    click.echo("\neffective weight of each indicator (share of the index):")
    for row in report.iter_rows(named=True):
        click.echo(f"  {row['code']:<34} {row['nominal_share']:.4f}  {row['name_zh']}")


def _derive(method: str, fw: Any, node: str, matrix: str | None, allocations: str | None, data: str | None,
            db: str | None, period: str | None, normalised: bool, max_cr: float) -> tuple[Any, dict[str, Any]]:
    """Run one derivation method; returns the WeightResult and the inputs to keep in the profile."""
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from indicators.weighting.derive import budget_weights, critic_weights, entropy_weights, equal_weights, pca_weights
    from indicators.weighting.ahp import ahp_weights

    kept: dict[str, Any] = {}
    if method == "equal":
        return equal_weights(fw.weighted_children(node)), kept
    if method == "ahp":
        if not matrix:
            raise click.UsageError("--method ahp needs --matrix FILE.csv (a pairwise comparison matrix)")
        codes, mat = io.read_pairwise_csv(matrix)
        kept["source"] = Path(matrix).name
        return ahp_weights(mat, codes, max_cr=max_cr), kept
    if method == "budget":
        if not allocations:
            raise click.UsageError("--method budget needs --allocations FILE.csv (one row per assessor)")
        kept["source"] = Path(allocations).name
        return budget_weights(io.read_allocations_csv(allocations)), kept
    # data-driven: units × the indicators under `node`
    if data:
        units, codes, values = io.read_matrix_csv(data)
        kept["source"] = Path(data).name
    elif db:
        period, units, codes, values = io.read_warehouse_matrix(db, period)
        kept.update({"source": "warehouse indicator_values", "period": period})
    else:
        raise click.UsageError(f"--method {method} needs --data FILE.csv (units × indicators) or --db WAREHOUSE")
    wanted = [c for c in fw.descendant_indicators(node) if not fw.is_context(c)]  # context ones take no weight
    missing = [c for c in wanted if c not in codes]
    if missing:
        raise click.ClickException(f"the data lack indicator(s) under {node!r}: {', '.join(missing)}")
    x = np.array(values, dtype=float)[:, [codes.index(c) for c in wanted]]
    if not normalised:  # min-max to [0, 1] with the framework's directions, so 'more' always means 'better'
        lo, hi = nanmin_max(x)
        span = np.where(hi > lo, hi - lo, 1.0)
        x = (x - lo) / span
        dirs = np.array([fw.node(c).direction for c in wanted])
        x[:, dirs < 0] = 1.0 - x[:, dirs < 0]
    kept.update({"units": list(units), "normalised_here": not normalised})
    fn = {"entropy": entropy_weights, "critic": critic_weights, "pca": pca_weights}[method]
    return fn(x, wanted), kept


@weights.command("derive")
@click.option("--method", "method", required=True,
              type=click.Choice(["ahp", "budget", "entropy", "critic", "pca", "equal"]),
              help="How to derive the weights.")
@click.option("--name", "name", required=True, help="Name of the profile to write (a slug, e.g. 'assessor-ahp').")
@click.option("--author", required=True, help="Who is responsible for these weights.")
@click.option("--rationale-zh", default="", help="Why these weights (Chinese).")
@click.option("--rationale-en", default="", help="Why these weights (English). Give at least one rationale.")
@click.option("--title-zh", default=None, help="Chinese title (default: the name).")
@click.option("--title-en", default=None, help="English title (default: the name).")
@click.option("--base", default="equal", show_default=True,
              help="Profile whose other weights, blend and methods the new profile starts from.")
@click.option("--node", default=None,
              help="Node whose children are weighted (default: the root). Data methods weight the indicators under it.")
@click.option("--matrix", type=click.Path(exists=True, dir_okay=False), default=None,
              help="AHP: pairwise matrix CSV, header 'code,<c1>,<c2>,...', one row per code; cells like 3 or 1/3.")
@click.option("--allocations", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Budget: CSV 'assessor,<c1>,<c2>,...', one row per assessor, each row's points summing to 100.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Entropy/CRITIC/PCA: CSV of units × indicators (first column the unit, then one per indicator).")
@click.option("--db", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Entropy/CRITIC/PCA: read indicator_values from this warehouse instead of --data.")
@click.option("--period", default=None, help="With --db: the period to use (default: the latest).")
@click.option("--normalised", is_flag=True, default=False,
              help="The data are already normalised (else min-max to [0, 1] with directions applied here).")
@click.option("--max-cr", type=float, default=0.1, show_default=True,
              help="AHP: largest acceptable consistency ratio.")
@click.option("--date", "date", default=None, help="Date of the profile, YYYY-MM-DD (default: today).")
@click.option("--dry-run", is_flag=True, default=False, help="Print the derived weights without saving.")
@_dir_option
@_imeta_option
def derive(method: str, name: str, author: str, rationale_zh: str, rationale_en: str, title_zh: str | None,
           title_en: str | None, base: str, node: str | None, matrix: str | None, allocations: str | None,
           data: str | None, db: str | None, period: str | None, normalised: bool, max_cr: float, date: str | None,
           dry_run: bool, weights_dir: str | None, config_file: str | None, imeta: str | None) -> None:
    """Derive weights for a node with METHOD and save them as a new profile (or a new version of NAME).

    The new profile starts from --base; only the weights below --node change. Nothing is ever overwritten: the
    previous version of NAME stays in the history folder.
    """
    # local: slow to import (scipy, pandera or duckdb); only this command needs it
    from indicators.weighting.derive import WeightingError, relative_weights_for_node

    if not (rationale_zh.strip() or rationale_en.strip()):
        raise click.UsageError("give a rationale: --rationale-zh and/or --rationale-en")
    folder = _weights_dir(weights_dir, config_file)
    fw = _framework(imeta)
    node = node or fw.root
    if node not in fw or fw.node(node).is_indicator:
        raise click.ClickException(f"--node {node!r} is not an aggregate node of the framework")
    try:
        day = dt.date.fromisoformat(date) if date else dt.date.today()
    except ValueError:
        raise click.BadParameter(f"{date!r} is not a date like 2025-06-01", param_hint="--date") from None
    try:
        start = load_profile(base, folder)
        result, kept = _derive(method, fw, node, matrix, allocations, data, db, period, normalised, max_cr)
        relative = relative_weights_for_node(fw, node, result.weights)
        derivation = Derivation(
            method=method,  # type: ignore[arg-type]
            node=node,
            codes=list(result.weights),
            weights=result.weights,
            inputs={**result.inputs, **kept},
            diagnostics=result.diagnostics,
        )
        new = start.with_weights(relative, derivation=derivation)
        fields = {
            **new.to_dict(),
            "name": name,
            "version": 1,
            "author": author,
            "date": day,
            "rationale": {"zh": rationale_zh.strip(), "en": rationale_en.strip()},
            "title_zh": title_zh or name,
            "title_en": title_en or name,
        }
        profile = WeightProfile.from_dict(fields, source=f"profile {name!r}")
        profile.validate_against(fw)
    except (ProfileError, WeightingError) as e:
        raise _fail(e) from None
    click.echo(f"{method} weights for {node}:")
    for code, w in result.weights.items():
        click.echo(f"  {code:<34} {w:.4f}")
    for key in ("cr", "lambda_max", "kendall_w", "mean_sd_points", "explained_variance_ratio", "constant",
                "negative_loadings", "most_disputed"):
        if key in result.diagnostics and result.diagnostics[key] not in ([], None):
            click.echo(f"  {key}: {result.diagnostics[key]}")
    if dry_run:
        click.echo("dry run: nothing saved")
        return
    try:
        saved = save_profile(profile, folder, who=author)
    except (ProfileError, AuditError) as e:
        raise _fail(e) from None
    click.echo(f"saved {saved.name} v{saved.version} in {folder}")


@weights.command("publish")
@click.argument("name")
@click.option("--version", "version", type=int, default=None, help="Version to publish (default: the current one).")
@click.option("--by", "who", required=True, help="Who publishes (recorded in the audit trail).")
@click.option("--rationale", required=True, help="Why this version is the one leaders should see.")
@_dir_option
def publish(name: str, version: int | None, who: str, rationale: str, weights_dir: str | None,
            config_file: str | None) -> None:
    """Publish a version of profile NAME: leaders see the published version by default (发布权重方案)."""

    folder = _weights_dir(weights_dir, config_file)
    try:
        v = version if version is not None else load_profile(name, folder).version
        p = publish_profile(name, v, who, rationale, folder)
    except (ProfileError, AuditError) as e:
        raise _fail(e) from None
    click.echo(f"published {p.name} v{p.version} (by {who})")


@weights.command("history")
@click.argument("name")
@click.option("--csv", "csv_out", default=None, type=click.Path(dir_okay=False, writable=True),
              help="Also write the audit records of NAME as CSV (UTF-8 with BOM, opens in Excel) to this file.")
@_dir_option
def history(name: str, csv_out: str | None, weights_dir: str | None, config_file: str | None) -> None:
    """Show the versions of profile NAME and its audit trail: who saved or published what, when, and why."""

    folder = _weights_dir(weights_dir, config_file)
    try:
        h = profile_history(name, folder)
    except (ProfileError, AuditError) as e:
        raise _fail(e) from None
    records = list(h.records)
    problem = h.problem
    if problem:  # said first and last: the records below may be forged or incomplete
        click.echo(f"WARNING 审计记录已被篡改或不完整 · the audit trail fails its check: {problem}", err=True)
    click.echo(f"{name}: versions {', '.join(f'v{v}' for v in h.numbers)}"
               + (f"; current v{h.current}" if h.current else "")
               + (f"; published v{h.published}" if h.published is not None else "; not published"))
    for row in h.versions:
        if row.error is not None:
            click.echo(f"  v{row.version}  unreadable: {row.error}")
        else:
            click.echo(f"  v{row.version}  {row.date}  {row.author}  hash {row.hash}"
                       + ("  [published]" if row.published else ""))
    click.echo(f"\naudit trail ({len(records)} record{'s' if len(records) != 1 else ''}):")
    for r in records:
        prev = f" (from v{r['previous_version']})" if r.get("previous_version") else ""
        click.echo(f"  #{r['seq']} {r['at_shanghai']} (UTC {r['at_utc']})  {r['event']} v{r['version']}{prev}  "
                   f"by {r['who']}" + (f" [{r['role']}]" if r.get("role") else ""))
        if r.get("rationale"):
            click.echo(f"      rationale: {r['rationale']}")
        for ch in r.get("changes") or []:
            click.echo(f"      {format_change(ch)}")
    if csv_out:
        warning = f"审计记录已被篡改或不完整 · the audit trail fails its check: {problem}" if problem else None
        Path(csv_out).write_text("\ufeff" + trail_csv(records, warning), encoding="utf-8")
        click.echo(f"\nwrote {len(records)} record(s) to {csv_out}")
    if problem:
        raise click.ClickException(f"the audit trail fails its check (`govindex weights verify`): {problem}")


@weights.command("verify")
@click.option("--anchor", is_flag=True,
              help="For a trail written before heads existed: check its chain and write its head file.")
@_dir_option
def verify(anchor: bool, weights_dir: str | None, config_file: str | None) -> None:
    """Check the audit trail: the hash chain of its records and its head (exit 1 when it was tampered with)."""

    folder = _weights_dir(weights_dir, config_file)
    try:
        if anchor:
            n = anchor_trail(folder)
            click.echo(f"anchored {audit_path(folder)}: {n} record(s), head in {head_path(folder)}")
        n = verify_trail(folder)
    except AuditError as e:
        raise click.ClickException(f"审计记录校验失败 · audit trail check failed: {e}") from None
    click.echo(f"audit trail sound · 审计记录完整: {n} record(s) in {audit_path(folder)}")
