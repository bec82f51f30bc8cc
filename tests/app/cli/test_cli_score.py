"""`govindex score` file mode: reproduces COINr's aggregated ASEM sets end to end; bad inputs give clear messages."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import COINR_ASEM as REF, run_govindex

ROOT = Path(__file__).parents[3]
GOVINDEX = str(Path(sys.executable).parent / "govindex")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GOVINDEX, "score", *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize(
    "aggregate,normalise,ref",
    [
        ("amean", "minmax:0,100", "amean_minmax_0_100"),
        ("gmean", "minmax:1,100", "gmean_minmax_1_100"),
        ("hmean", "minmax:1,100", "hmean_minmax_1_100"),
        ("amean", "zscore:10,2", "amean_zscore_10_2"),
    ],
)
def test_reproduces_coinr_aggregated_sets(tmp_path: Path, aggregate: str, normalise: str, ref: str) -> None:
    out = tmp_path / "out.csv"
    p = run("--imeta", str(REF / "asem_imeta.csv"), "--idata", str(REF / "asem_screened.csv"),
            "--normalise", normalise, "--aggregate", aggregate, "--out", str(out))
    assert p.returncode == 0, p.stderr
    ours, theirs = pl.read_csv(out), pl.read_csv(REF / f"asem_aggregated_{ref}.csv")
    assert ours.columns[0] == "uCode" and set(ours.columns) == set(theirs.columns)
    assert ours["uCode"].to_list() == theirs["uCode"].to_list()
    cols = theirs.columns[1:]
    np.testing.assert_allclose(ours.select(cols).to_numpy(), theirs.select(cols).to_numpy(), rtol=0, atol=1e-9)


def test_treat_none_and_rank(tmp_path: Path) -> None:
    out = tmp_path / "o.csv"
    p = run("--imeta", str(REF / "asem_imeta.csv"), "--idata", str(REF / "asem_treated.csv"), "--treat", "none",
            "--normalise", "minmax:0,100", "--out", str(out))
    assert p.returncode == 0, p.stderr
    ref = pl.read_csv(REF / "asem_normalised_minmax_0_100.csv")
    np.testing.assert_allclose(pl.read_csv(out).select(ref.columns[1:]).to_numpy(),
                               ref.select(ref.columns[1:]).to_numpy(), atol=1e-9, rtol=0)


def _pair(tmp_path: Path, data: str, meta: str | None = None) -> tuple[Path, Path]:
    m = tmp_path / "meta.csv"
    m.write_text(meta or "Level,iCode,Parent,Direction,Weight,Type\n1,x,I,1,1,Indicator\n1,y,I,-1,1,Indicator\n"
                 "2,I,,1,1,Aggregate\n", encoding="utf-8")
    d = tmp_path / "data.csv"
    d.write_text(data, encoding="utf-8")
    return m, d


def test_small_framework_and_missing_values(tmp_path: Path) -> None:
    m, d = _pair(tmp_path, "uCode,x,y\nA,1,10\nB,3,\nC,5,30\n")
    out = tmp_path / "o.csv"
    p = run("--imeta", str(m), "--idata", str(d), "--treat", "none", "--out", str(out))
    assert p.returncode == 0, p.stderr
    df = pl.read_csv(out)
    assert df.columns == ["uCode", "x", "y", "I"]
    assert df["y"].to_list() == [100.0, None, 0.0]
    assert df["I"].to_list() == [50.0, 50.0, 50.0]  # B: y missing, weights renormalised over x alone


@pytest.mark.parametrize(
    "data,meta,args,message",
    [
        ("uCode,x,y\nA,1,oops\n", None, (), "row 2, column y: 'oops' is not a number"),
        ("uCode,x\nA,1\n", None, (), "lacks indicator column(s) named in iMeta: y"),
        ("uCode,x,y\nA,1,2\nA,3,4\n", None, (), "unit 'A' appears more than once"),
        ("uCode,x,y\nA,1,2\n", "Level,iCode,Parent,Direction,Weight,Type\n1,x,I,2,1,Indicator\n2,I,,1,1,Aggregate\n",
         (), "direction must be 1 or -1"),
        ("uCode,x,y\nA,1,2\n", "Level,iCode,Parent,Direction,Weight,Type\n1,x,J,1,1,Indicator\n2,I,,1,1,Aggregate\n",
         (), "parent 'J' is not in the framework"),
        ("uCode,x,y\nA,1,2\nB,0,3\n", None, ("--aggregate", "gmean", "--normalise", "minmax:0,100", "--treat", "none"),
         "node 'I', unit 'B'"),
        ("uCode,x,y\nA,1,2\n", None, ("--normalise", "minmax:1"), "minmax takes l, u"),
        ("uCode,x,y\nA,1,2\n", None, ("--aggregate", "median"), "allowed: amean, gmean, hmean"),
    ],
)
def test_bad_inputs_give_clear_messages(
    tmp_path: Path, data: str, meta: str | None, args: tuple[str, ...], message: str
) -> None:
    m, d = _pair(tmp_path, data, meta)
    p = run("--imeta", str(m), "--idata", str(d), "--out", str(tmp_path / "o.csv"), *args)
    assert p.returncode != 0
    assert message in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


def test_missing_file_and_partial_options(tmp_path: Path) -> None:
    p = run("--imeta", str(tmp_path / "none.csv"), "--idata", str(tmp_path / "none.csv"), "--out", "o.csv")
    assert p.returncode != 0 and "cannot read iMeta file" in p.stderr and "Traceback" not in p.stderr
    p = run("--imeta", "x.csv")
    assert p.returncode != 0 and "needs --imeta, --idata and --out" in p.stderr


def test_help_text() -> None:
    p = subprocess.run([GOVINDEX, "score", "--help"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "--normalise" in p.stdout and "COINr" in p.stdout


def test_warehouse_score_with_audit_prints_reliability_and_double_counting(fixture_db: Path, tmp_path: Path) -> None:
    """`govindex score --audit`: the data audit beside the stored run: reliability per indicator at quarterly and
    annual grain with the unreliable ones and the grain at which they become reliable, and the |r| >= 0.9 pairs."""
    db = Path(shutil.copy(fixture_db, tmp_path / "w.duckdb"))
    out = json.loads(run_govindex("score", "--db", str(db), "--profile", "user-centred", "--audit", "--json",
                                  cwd=tmp_path).stdout)
    audit = out["audit"]
    assert audit["reliability_threshold"] == 0.7
    rel = pl.DataFrame(audit["reliability"])
    assert {"indicator", "grain", "reliability"} <= set(rel.columns) and "quarter" in rel["grain"].to_list()
    assert rel["reliability"].drop_nulls().is_between(0, 1).all()
    for r in audit["unreliable"]:
        assert r["reliability"] < 0.7 and r["reliable_at"] in (None, "year")
    assert all(abs(p["r"]) >= 0.9 for p in audit["collinear"])
    text = run_govindex("score", "--db", str(db), "--profile", "user-centred", "--audit", cwd=tmp_path).stdout
    assert "信度 reliability" in text and "重复计分 double counting" in text
    # the ranking's title names the period as people read it, not the warehouse's code
    assert re.search(r"\d{4}年第[一二三四]季度 \(\d{4} Q\d\)", text) and not re.search(r"· \d{4}Q\d", text), text[:600]
