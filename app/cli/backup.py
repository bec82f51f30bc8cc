"""`govindex backup`, `restore`, `snapshots`, `rollback` and `migrate`: keep, restore and upgrade the state on disk.

backup/restore copy every piece of state (etl.stores.backup); snapshots/rollback list and swap back the previous
warehouse snapshots a refresh keeps (etl.jobs.snapshots); migrate brings the warehouse and the run history up to
this release's schema versions (etl.warehouse.migrations), as a new snapshot swapped in like a refresh's.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import click

from app.cli.options import config_options, load

_wait_option = click.option(
    "--wait", type=click.FloatRange(min=0), default=0.0, show_default=True,
    help="Seconds to wait for a running refresh to finish (0 = refuse at once).",
)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@click.command()
@click.argument("dest", type=click.Path(file_okay=False))
@config_options
@_wait_option
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def backup(dest: str, config_file: str | None, db_path: str | None, wait: float, as_json: bool) -> None:
    """Back up every piece of state into the new folder DEST, while the app keeps running.

    Warehouse snapshot, run history, users file, the weights data folder (saved profiles, history, audit trail),
    the inbox archive, other stores beside the warehouse and the configuration file, with a manifest of sha256
    checksums. Waits for (or refuses during) a refresh, so the copy is one consistent snapshot.
    """
    # local: slow to import (duckdb); only these commands need it
    from etl.stores import backup as backups

    config = load(config_file, db=db_path)
    source = config.source if config.source != "defaults" else None
    try:
        manifest = backups.backup(config, dest, config_file=source, wait_seconds=wait)
    except backups.BackupError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(manifest.to_json(), nl=False)
        return
    click.echo(f"备份完成 · backup written to {dest} in {manifest.seconds:.1f} s ({_mb(manifest.total_bytes)})")
    for section, info in backups.describe(manifest).items():
        click.echo(f"  {section:<10} {info['files']:>5} file(s)  {_mb(info['bytes'])}")
    versions = ", ".join(f"{k} v{v}" for k, v in manifest.schema_versions.items()) or "-"
    click.echo(f"  schema versions: {versions}")


@click.command()
@click.argument("src", type=click.Path(file_okay=False, exists=True))
@config_options
@click.option("--into", type=click.Path(file_okay=False), default=None,
              help="Restore into this folder (default layout) instead of the configured paths.")
@click.option("--force", is_flag=True, help="Replace existing state; the existing files are moved aside, not deleted.")
@_wait_option
def restore(src: str, config_file: str | None, db_path: str | None, into: str | None, force: bool,
            wait: float) -> None:
    """Restore the backup SRC after verifying its checksums (into the configured paths, or --into a folder)."""
    # local: slow to import (duckdb); only these commands need it
    from etl.stores import backup as backups
    from etl.stores.runs import RunStoreError
    from etl.warehouse import migrations

    config = load(config_file, db=db_path)
    t0 = time.perf_counter()
    try:
        done = backups.restore(src, config, into=into, force=force, wait_seconds=wait)
    except (backups.BackupError, RunStoreError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"恢复完成 · restored {len(done.written)} file(s) from {src} (backup of {done.manifest.created_at}) "
               f"in {time.perf_counter() - t0:.1f} s")
    click.echo(f"  warehouse: {done.config.paths.db}")
    for p in done.moved_aside:
        click.echo(f"  moved aside: {p}")
    if done.manifest.schema_versions.get("warehouse", migrations.CURRENT_VERSION) < migrations.CURRENT_VERSION:
        click.echo("  the restored warehouse has an older schema: run `govindex migrate` before serving it")


@click.command("snapshots")
@config_options
def snapshots(config_file: str | None, db_path: str | None) -> None:
    """List the live warehouse snapshot and the previous ones kept for `govindex rollback`."""
    # local: slow to import (duckdb); only these commands need it
    from etl.jobs import snapshots as snaps
    from etl.warehouse import connection as warehouse

    config = load(config_file, db=db_path)
    db = Path(os.path.abspath(config.paths.db))
    try:
        live = snaps.live_snapshot_id(db)
    except warehouse.WarehouseError as e:
        live = f"? ({e})"
    click.echo(f"live      {live or '-'}  {db}")
    kept = snaps.list_snapshots(db)
    for s in kept:
        click.echo(f"kept      {s.id}  {_mb(s.size_bytes)}  written {s.written_at:%Y-%m-%d %H:%M:%S} UTC")
    if not kept:
        click.echo("no previous snapshot kept yet (a refresh keeps refresh.keep_snapshots of them)")


@click.command()
@config_options
@click.option("--to", "to", default=None, help="Snapshot id to go back to (default: the newest older than the live).")
@_wait_option
def rollback(config_file: str | None, db_path: str | None, to: str | None, wait: float) -> None:
    """Swap a previous warehouse snapshot back in as the live one (atomically; recorded in the run history)."""
    # local: slow to import (duckdb); only these commands need it
    from etl.jobs import snapshots as snaps
    from etl.warehouse import connection as warehouse

    config = load(config_file, db=db_path)
    try:
        done = snaps.rollback(config, to, wait_seconds=wait)
    except (snaps.SnapshotError, warehouse.WarehouseError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"已回滚 · rolled back: {done.from_id} → {done.to_id} (run #{done.run.id}); "
               f"`govindex rollback --to {done.from_id}` undoes it")


@click.command()
@config_options
@_wait_option
def migrate(config_file: str | None, db_path: str | None, wait: float) -> None:
    """Bring the warehouse and the run history up to this release's schema versions.

    The warehouse is migrated in a copy that replaces the live file atomically (the previous file is kept as a
    snapshot, so `govindex rollback` can undo it); the app keeps serving meanwhile.
    """
    # local: slow to import (duckdb); only these commands need it
    from etl.jobs import snapshots as snaps
    from etl.jobs.locks import LockHeld
    from etl.stores.runs import RunStore, RunStoreError
    from etl.warehouse import connection as warehouse

    config = load(config_file, db=db_path)
    db = Path(os.path.abspath(config.paths.db))
    lines = []
    lock = snaps.refresh_lock(db)
    try:
        lock.acquire(wait, what="migrate")
    except LockHeld as e:
        raise click.ClickException(str(e)) from None
    try:
        if db.is_file():
            lines.append(_migrate_warehouse(db))
        runs = Path(config.paths.runs_path)
        if runs.is_file():
            applied = RunStore(runs).migrated
            lines.append(f"run history {runs}: " + (f"migrated to v{applied[-1]}" if applied else "up to date"))
    except (warehouse.WarehouseError, RunStoreError, OSError) as e:
        raise click.ClickException(str(e)) from None
    finally:
        lock.release()
    click.echo("\n".join(lines) or "nothing to migrate (no warehouse, no run history yet)")


def _migrate_warehouse(db: Path) -> str:
    # local: slow to import (duckdb); only these commands need it
    from etl.jobs import snapshots as snaps
    from etl.warehouse import connection as warehouse, migrations

    snaps.checkpoint_live(db)
    con = warehouse.connect(db, read_only=True, create=False)
    try:
        found = migrations.version(con)
    finally:
        con.close()
    if found == migrations.CURRENT_VERSION:
        return f"warehouse {db}: up to date (schema v{found})"
    if found > migrations.CURRENT_VERSION:
        raise warehouse.SchemaMismatch(str(migrations.SchemaTooNew(
            f"warehouse {db} has schema v{found}, newer than this govindex (v{migrations.CURRENT_VERSION})")))
    tmp = db.with_name(f"{db.name}.building-migrate-{os.getpid()}")
    shutil.copyfile(db, tmp)
    try:
        con = warehouse.connect(tmp)  # a writable connection applies the pending migrations
        try:
            applied = migrations.version(con)
            warehouse.execute(con, "CHECKPOINT")
        finally:
            con.close()
        snaps.wal_path(tmp).unlink(missing_ok=True)
        snaps.keep(db, f"before-migrate-v{found}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        os.replace(tmp, db)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return f"warehouse {db}: migrated from schema v{found} to v{applied}"


