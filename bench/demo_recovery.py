"""Demo recovery report: how well each pillar's score recovers the generator's latent district strengths.

Generates the demo (`govindex demo`, with --supply-demand-corr), builds the warehouse with `govindex refresh` (which
scores every shipped profile at quarter and year grain), and prints, per profile, grain and pillar, the Spearman
correlation across the 16 districts between the pillar score and the latent strength (etl.demo.recovery): median,
min and max over periods, and pooled over all district-periods. It also prints how many indicator values the
precision rule left out and why, per grain.

Run: .venv/bin/python -m bench.demo_recovery [--months 24] [--scale 0.5] [--corr 0.3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from etl.demo.recovery import latent_strengths, recovery
from etl.warehouse import connection as warehouse

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent / "govindex"


def _run(*args: str, cwd: Path) -> None:
    exe = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "app.cli"]
    subprocess.run([*exe, *args], check=True, capture_output=True, cwd=cwd)


def build(folder: Path, months: int, scale: float, seed: int, corr: float) -> Path:
    raw, db = folder / "raw", folder / "warehouse.duckdb"
    _run("demo", "--out", str(raw), "--months", str(months), "--scale", str(scale), "--seed", str(seed),
         "--supply-demand-corr", str(corr), "--quiet", cwd=ROOT)
    _run("refresh", "--source", str(raw), "--db", str(db), cwd=folder)
    return db


def pillar_scores(db: Path) -> pl.DataFrame:
    """profile, unit_code, period, grain, supply, demand from the stored score runs."""
    return warehouse.query(db, """
        SELECT r.profile_name AS profile, s.unit_code, s.period, r.grain,
               max(s.score) FILTER (WHERE s.node = 'supply') AS supply,
               max(s.score) FILTER (WHERE s.node = 'demand') AS demand
        FROM scores s JOIN score_runs r USING (run_id)
        GROUP BY ALL ORDER BY ALL""")


def missing(db: Path) -> pl.DataFrame:
    return warehouse.query(db, """
        SELECT grain, count(*) AS values_n,
               count(*) FILTER (WHERE missing_reason = 'imprecise') AS imprecise,
               count(*) FILTER (WHERE missing_reason = 'no_cases') AS no_cases,
               count(*) FILTER (WHERE missing_reason = 'not_applicable') AS not_applicable
        FROM indicator_values GROUP BY grain ORDER BY grain""")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--corr", type=float, default=0.3, help="latent supply–demand correlation of the draw")
    ap.add_argument("--end-month", default="2026-10")
    ap.add_argument("--keep", type=Path, default=None, help="build in this folder and keep it")
    a = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = a.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "warehouse.duckdb"
        if not db.exists():
            build(folder, a.months, a.scale, a.seed, a.corr)
        scores = pillar_scores(db)
        latent = latent_strengths(a.seed, a.months, a.end_month, a.corr)
        pl.Config.set_tbl_rows(100)
        pl.Config.set_tbl_width_chars(160)
        print(f"demo: {a.months} months to {a.end_month}, scale {a.scale}, seed {a.seed}, "
              f"supply–demand correlation {a.corr}  ({time.perf_counter() - t0:.0f} s)")
        print(missing(db))
        tables: dict[str, list[str]] = {}  # the pillars are the same under every profile unless its weights differ
        for (profile,), g in scores.group_by(["profile"], maintain_order=True):
            text = str(recovery(g.drop("profile"), latent).with_columns(pl.col("^rho_.*$").round(3)))
            tables.setdefault(text, []).append(str(profile))
        for text, profiles in tables.items():
            print(f"\nprofiles {', '.join(profiles)}: Spearman(pillar score, latent strength) across districts")
            print(text)


if __name__ == "__main__":
    main()
