"""`govindex edition`: create, publish, list, show and diff assessment editions (评估版本).

The annual workflow: `govindex refresh` → `edition create --cycle 2025 --profile NAME` (a draft) → review it (`show`,
`diff`, the /editions page) → `edition publish ID --by WHO --reason …` (immutable from then on). A correction is a
new edition: `edition create … --supersedes ID --reason …`; once it is published the old one shows as superseded.
Every refusal is one line, English then Chinese, and changes nothing.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from app.cli.options import config_options, load, period_text
from app.cli.paths import warehouse_for_reading
from app.ui.i18n import t
from etl.config import Config
from etl.contract.catalog import load_catalog
from etl.stores import editions as store
from etl.stores.profiles import load_profile
from etl.stores.roles import Permission, can, roles_with
from etl.stores.users import UserError, load_users
from etl.warehouse import connection as warehouse
from etl.warehouse.connection import WarehouseError
from etl.warehouse.snapshot import data_snapshot_id
from indicators.errors import ScoringError
from indicators.profile import ProfileError


def _fail(e: store.EditionError) -> click.ClickException:
    return click.ClickException(f"{e} · {t(e.key, 'zh', **e.params)}")


@click.group("edition")
def edition() -> None:
    """Assessment editions: an annual result frozen with its method and data, published once (评估版本)."""


@edition.command("create")
@click.option("--cycle", required=True, help="Assessment cycle: a calendar year, e.g. 2025.")
@click.option("--profile", "profile_name", default=None, help="Weight profile (default: app.default_profile).")
@click.option("--reference", default=None,
              help="An earlier edition whose frozen normalisation bounds are reused as goalposts (one scale for both).")
@click.option("--allow-partial", is_flag=True, help="Create it although months of the cycle are missing (flagged).")
@click.option("--supersedes", default=None, help="The edition this one corrects (needs --reason).")
@click.option("--reason", default=None, help="Why (required with --supersedes).")
@click.option("--by", "who", default=None, help="Who creates it (default: the login name).")
@config_options
def create(cycle: str, profile_name: str | None, reference: str | None, allow_partial: bool, supersedes: str | None,
           reason: str | None, who: str | None, config_file: str | None, db_path: str | None) -> None:
    """Score CYCLE with a profile and store it as a draft edition, with everything the result depends on."""
    config = load(config_file, db=db_path)
    name = profile_name or config.app.default_profile
    try:
        fw = load_catalog().framework()
        prof = load_profile(name, config.paths.weights_dir)
        prof.validate_against(fw)
    except ProfileError as e:
        raise click.ClickException(f"{e} · {t('edition.err.profile', 'zh', detail=name)}") from None
    try:
        made = store.create_edition(
            warehouse_for_reading(config.paths.db), config.paths.editions_path, fw, prof, cycle,
            who=who or getpass.getuser(), allow_partial=allow_partial, reference=reference, supersedes=supersedes,
            reason=reason, mc_samples=config.app.rank_samples, mc_seed=config.refresh.seed,
        )
    except store.EditionError as e:
        raise _fail(e) from None
    except (WarehouseError, ScoringError) as e:
        raise click.ClickException(str(e)) from None
    ed = made.edition
    flag = f" PARTIAL (missing {', '.join(ed.missing_months)}) · 不完整期" if ed.partial else ""
    click.echo(f"created draft edition {ed.edition_id}: cycle {period_text(ed.cycle)}, {prof.name} v{ed.profile_version}, "
               f"{ed.n_units} units, values from {ed.source_grain} ({', '.join(ed.periods)}), data snapshot "
               f"{ed.data_snapshot_id}, in {made.seconds:.1f} s → {config.paths.editions_path}{flag}")
    for w in ed.warnings:
        click.echo(f"warning: {w}", err=True)
    _print_results(config, ed)


@edition.command("publish")
@click.argument("edition_id")
@click.option("--by", "who", required=True, help="Who publishes (recorded with the edition and in the audit trail).")
@click.option("--reason", required=True, help="Why this edition stands (recorded).")
@config_options
def publish(edition_id: str, who: str, reason: str, config_file: str | None, db_path: str | None) -> None:
    """Publish draft EDITION_ID: immutable from now on; who, when and why go into the audit trail."""
    config = load(config_file, db=db_path)
    role = _role_of(config, who)
    try:
        ed = store.publish_edition(config.paths.editions_path, edition_id, who=who, reason=reason, role=role,
                                   live_snapshot=_live_snapshot(config), weights_dir=config.paths.weights_dir)
    except store.EditionError as e:
        raise _fail(e) from None
    click.echo(f"published {ed.edition_id} (cycle {period_text(ed.cycle)}) by {ed.published_by} at {ed.published_at} · 已发布")


def _role_of(config: Config, who: str) -> str | None:
    """The user's role from the users file; a user it does not list (when it lists any) or a role without the
    permission is refused. Without a users file (a single-user install) the shell user may publish."""
    try:
        users = load_users(config.users_path) if Path(config.users_path).is_file() else {}
    except UserError as e:
        raise click.ClickException(str(e)) from None
    if not users:
        return None
    user = users.get(who)
    if user is None:
        raise click.ClickException(f"{who!r} is not a user in {config.users_path} · 用户 {who} 不存在。未作任何更改。")
    if not can(user.role, Permission.PUBLISH_EDITION):
        allowed = ", ".join(roles_with(Permission.PUBLISH_EDITION))
        raise click.ClickException(f"role {user.role} may not publish editions (allowed: {allowed}) · "
                                   + t("edition.err.role", "zh", role=user.role, roles=allowed))
    return user.role


def _live_snapshot(config: Config) -> str | None:
    """The warehouse's current data snapshot id (None when there is no warehouse to compare with)."""
    try:
        path = warehouse_for_reading(config.paths.db)
        with warehouse.connection(path, read_only=True) as con:
            return data_snapshot_id(con)
    except (click.ClickException, WarehouseError):
        return None


@edition.command("list")
@config_options
def list_(config_file: str | None, db_path: str | None) -> None:
    """Every edition with its status (draft / published / superseded) and who made and published it."""
    config = load(config_file, db=db_path)
    eds = store.list_editions(config.paths.editions_path)
    if not eds:
        click.echo(f"no editions in {config.paths.editions_path} · 尚无评估版本")
        return
    table = Table(title=f"评估版本 editions · {config.paths.editions_path}", title_justify="left")
    for col in ("edition", "cycle", "profile", "status", "created", "published", "snapshot", "method", "corrects"):
        table.add_column(col)
    for e in eds:
        status = t(f"editions.status.{e.status}", "zh") + f" {e.status}" + (" · 不完整期 partial" if e.partial else "")
        pub = f"{e.published_by} {e.published_at}: {e.published_reason}" if e.published_by else "—"
        table.add_row(e.edition_id, e.cycle, f"{e.profile_name} v{e.profile_version}", status,
                      f"{e.created_by} {e.created_at}", pub, e.data_snapshot_id, e.spec_hash,
                      f"{e.supersedes}: {e.reason}" if e.supersedes else "—")
    Console(width=200).print(table)


@edition.command("show")
@click.argument("edition_id")
@config_options
def show(edition_id: str, config_file: str | None, db_path: str | None) -> None:
    """One edition: what it froze (profile, framework, spec, bounds, bands, data) and its ranking."""
    config = load(config_file, db=db_path)
    try:
        ed = store.get_edition(config.paths.editions_path, edition_id)
    except store.EditionError as e:
        raise _fail(e) from None
    click.echo(f"{ed.edition_id}  [{ed.status}]  cycle {period_text(ed.cycle)}  profile {ed.profile_name} v{ed.profile_version} "
               f"({ed.profile_hash[:12]})")
    click.echo(f"  framework {ed.framework_hash}  spec {ed.spec_hash}  data snapshot {ed.data_snapshot_id}  "
               f"values from {ed.source_grain} ({', '.join(ed.periods)})")
    click.echo(f"  created by {ed.created_by} at {ed.created_at} in {ed.seconds:.1f} s; results sha256 "
               f"{ed.results_sha256[:16]}; rank intervals from {ed.mc_samples} samples (seed {ed.mc_seed})")
    if ed.published_by:
        click.echo(f"  published by {ed.published_by} ({ed.published_role or '—'}) at {ed.published_at}: "
                   f"{ed.published_reason}")
    if ed.supersedes:
        click.echo(f"  corrects {ed.supersedes}: {ed.reason}")
    if ed.superseded_by:
        click.echo(f"  superseded by {', '.join(ed.superseded_by)}")
    if ed.reference_edition:
        click.echo(f"  bounds frozen from {ed.reference_edition}")
    if ed.partial:
        click.echo(f"  PARTIAL PERIOD · 不完整期: missing {', '.join(ed.missing_months)}")
    click.echo(f"  bands: {ed.bands.get('method')} {list(ed.bands.get('cuts', []))} {list(ed.bands.get('labels_zh', []))}")
    methods = sorted({b['method'] for b in ed.bounds.values()})
    click.echo(f"  normalisation bounds for {len(ed.bounds)} indicators ({', '.join(methods)}), frozen "
               "with the full spec in the edition")
    _print_results(config, ed)


def _print_results(config: Config, ed: store.Edition) -> None:
    fw = load_catalog().framework()
    rows = store.results(config.paths.editions_path, ed.edition_id)
    nodes = [fw.root, *fw.children(fw.root)]
    wide = rows.filter(rows["node"].is_in(nodes)).pivot(on="node", index="unit_code", values="score")
    root = rows.filter(rows["node"] == fw.root).select("unit_code", "rank", "rank_low", "rank_high", "band")
    table = Table(title=f"{ed.edition_id} · {period_text(ed.cycle)}" + (" · 不完整期 partial" if ed.partial else ""),
                  title_justify="left")
    for col in ("名次 rank", "区 unit", *(fw.node(n).name_zh or n for n in nodes), "排名区间 interval", "等级 band"):
        table.add_column(col)
    for r in root.join(wide, on="unit_code").sort("rank", nulls_last=True).iter_rows(named=True):
        iv = f"{r['rank_low']}–{r['rank_high']}" if r["rank_low"] is not None else "—"
        table.add_row(str(r["rank"] or "—"), r["unit_code"],
                      *("—" if r.get(n) is None else f"{r[n]:.1f}" for n in nodes), iv, r["band"] or "")
    Console(width=120).print(table)


@edition.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--all-nodes", is_flag=True, help="Every indicator too (default: the composite and its children).")
@config_options
def diff(a: str, b: str, all_nodes: bool, config_file: str | None, db_path: str | None) -> None:
    """What moved from edition A to edition B, and whether data or method moved it."""
    config = load(config_file, db=db_path)
    fw = load_catalog().framework()
    nodes = None if all_nodes else (fw.root, *fw.children(fw.root))
    try:
        d = store.diff_editions(config.paths.editions_path, a, b, nodes)
    except store.EditionError as e:
        raise _fail(e) from None
    click.echo(f"{a} → {b}")
    click.echo(f"  data:   {'moved (snapshot ' + d.a.data_snapshot_id + ' → ' + d.b.data_snapshot_id + ', cycle ' + period_text(d.a.cycle) + ' → ' + period_text(d.b.cycle) + ')' if d.data_changed else 'same snapshot and cycle'}")
    click.echo(f"  method: {'moved: ' + '; '.join(d.method) if d.method else 'same'}")
    if d.bounds:
        click.echo(f"  normalisation bounds moved for {len(d.bounds)} indicator(s): {', '.join(d.bounds)}"
                   + ("" if d.method else " (fitted on the data, so the data moved them)"))
    if d.moved.height == 0:
        click.echo("  results identical · 两版结果完全相同")
        return
    table = Table(title=f"{d.moved.height} moved", title_justify="left")
    for col in ("unit", "node", "A", "B", "Δ", "rank A", "rank B"):
        table.add_column(col)
    for r in d.moved.iter_rows(named=True):
        f = (lambda x: "—" if x is None else f"{x:.2f}")
        table.add_row(r["unit_code"], r["node"], f(r["score_a"]), f(r["score_b"]), f(r["delta"]),
                      str(r["rank_a"] or "—"), str(r["rank_b"] or "—"))
    Console(width=120).print(table)
