"""`govindex weights list/show/derive`, run as a person would (subprocesses)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli.columns import cell_width
from etl.stores.profiles import SHIPPED_DIR, load_profile, profile_versions

BIN = Path(sys.executable).parent / "govindex"

IMETA = """Level,iCode,iName,Parent,Direction,Weight,Type
1,s1,Supply one,supply,1,1,Indicator
1,s2,Supply two,supply,-1,1,Indicator
1,d1,Demand one,demand,1,1,Indicator
1,d2,Demand two,demand,1,1,Indicator
2,supply,Supply,index,1,1,Aggregate
2,demand,Demand,index,1,1,Aggregate
3,index,Index,,1,1,Aggregate
"""


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run([str(BIN), "weights", *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert r.returncode == 0, r.stderr + r.stdout
    else:
        assert r.returncode != 0, r.stdout
    return r


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    wdir = tmp_path / "weights"
    wdir.mkdir()
    for name in ("equal", "supply-led", "user-centred"):
        shutil.copy(SHIPPED_DIR / f"{name}.toml", wdir / f"{name}.toml")
    (tmp_path / "imeta.csv").write_text(IMETA, encoding="utf-8")
    return {"dir": str(wdir), "imeta": str(tmp_path / "imeta.csv"), "tmp": str(tmp_path)}


def test_list_shows_the_shipped_profiles(env: dict[str, str]) -> None:
    out = run("list", "--weights-dir", env["dir"]).stdout
    assert "user-centred" in out and "0.40/0.60" in out and "supply-led" in out and "0.80/0.20" in out


def test_list_keeps_its_columns_with_chinese_authors(env: dict[str, str]) -> None:
    """A Chinese author takes two terminal cells per character: the title column still starts at one place."""
    m = Path(env["tmp"]) / "m.csv"
    m.write_text("code,supply,demand\nsupply,1,1/3\ndemand,3,1\n", encoding="utf-8")
    for name, author in (("panel-zh", "上海市第三方评估中心课题组（2025年）"), ("panel-mix", "评估中心 panel")):
        run("derive", "--method", "ahp", "--matrix", str(m), "--name", name, "--author", author,
            "--rationale-zh", "专家打分", "--weights-dir", env["dir"], "--imeta", env["imeta"], "--date", "2025-07-01")
    lines = run("list", "--weights-dir", env["dir"]).stdout.splitlines()
    titles = {"name": "title", **{n: load_profile(n, env["dir"]).title_zh for n in ("panel-zh", "panel-mix", "equal")}}
    rows = {ln.split(" ", 1)[0]: ln for ln in lines if ln.split(" ", 1)[0] in titles}
    assert len(rows) == 4, lines
    starts = {cell_width(ln[: ln.index(titles[n], len(n))]) for n, ln in rows.items()}  # cells before the title
    assert len(starts) == 1, rows
    assert "上海市第三方评估中心" in rows["panel-zh"] and "…" in rows["panel-zh"]  # clipped to its column, and says so


@pytest.mark.slow
def test_show_with_the_catalog_framework() -> None:
    out = run("show", "user-centred").stdout
    assert "blend: supply 0.4, demand 0.6" in out and "effective weight" in out
    data = json.loads(run("show", "supply-led", "--format", "json").stdout)
    assert sum(data["effective_weights"].values()) == pytest.approx(1.0)
    assert data["resolved_weights"]["supply"] == pytest.approx(0.8)


@pytest.mark.slow
def test_show_toml_and_unknown_profile(env: dict[str, str]) -> None:
    assert 'name = "equal"' in run("show", "equal", "--format", "toml", "--weights-dir", env["dir"]).stdout
    r = run("show", "nope", "--weights-dir", env["dir"], "--imeta", env["imeta"], ok=False)
    assert "no profile 'nope'" in r.stderr and "available: equal" in r.stderr


def test_derive_ahp_saves_a_new_profile_with_its_matrix(env: dict[str, str]) -> None:
    m = Path(env["tmp"]) / "m.csv"
    m.write_text("code,supply,demand\nsupply,1,1/3\ndemand,3,1\n", encoding="utf-8")
    out = run("derive", "--method", "ahp", "--matrix", str(m), "--name", "panel-ahp", "--author", "Panel",
              "--rationale-zh", "专家打分", "--weights-dir", env["dir"], "--imeta", env["imeta"],
              "--date", "2025-07-01").stdout
    assert "saved panel-ahp v1" in out
    p = load_profile("panel-ahp", env["dir"])
    assert p.blend is not None and p.blend.demand == pytest.approx(0.75)  # base `equal` blends: AHP sets the blend
    assert p.method == "ahp" and p.derived_from[0].inputs["matrix"][1][0] == 3.0  # demand vs supply, as judged
    assert p.rationale.zh == "专家打分" and str(p.date) == "2025-07-01"


def test_derive_ahp_refuses_inconsistent_judgements(env: dict[str, str]) -> None:
    m = Path(env["tmp"]) / "bad.csv"
    m.write_text("code,s1,s2,x\ns1,1,9,1/9\ns2,1/9,1,9\nx,9,1/9,1\n", encoding="utf-8")
    imeta = Path(env["tmp"]) / "three.csv"
    imeta.write_text(IMETA.replace("1,d2,Demand two,demand", "1,x,Extra,supply"), encoding="utf-8")
    r = run("derive", "--method", "ahp", "--matrix", str(m), "--node", "supply", "--name", "bad", "--author", "A",
            "--rationale-en", "x", "--weights-dir", env["dir"], "--imeta", str(imeta), "--base", "supply-led",
            ok=False)
    assert "too inconsistent: CR =" in r.stderr and "Revisit" in r.stderr
    assert not (Path(env["dir"]) / "bad.toml").exists()


@pytest.mark.slow
def test_derive_budget_and_a_second_version(env: dict[str, str]) -> None:
    a = Path(env["tmp"]) / "alloc.csv"
    a.write_text("assessor,s1,s2\nA,60,40\nB,40,60\nC,50,50\n", encoding="utf-8")
    args = ["derive", "--method", "budget", "--allocations", str(a), "--node", "supply", "--name", "budget-x",
            "--author", "Assessors", "--rationale-en", "average", "--weights-dir", env["dir"], "--imeta", env["imeta"]]
    out = run(*args).stdout
    assert "kendall_w" in out and "saved budget-x v1" in out
    a.write_text("assessor,s1,s2\nA,70,30\nB,70,30\n", encoding="utf-8")
    assert "saved budget-x v2" in run(*args).stdout
    assert profile_versions("budget-x", env["dir"]) == [1, 2]
    assert load_profile("budget-x", env["dir"]).weights == pytest.approx({"s1": 0.7, "s2": 0.3})


def test_derive_budget_with_a_bad_row_names_the_assessor(env: dict[str, str]) -> None:
    a = Path(env["tmp"]) / "alloc.csv"
    a.write_text("assessor,s1,s2\nA,60,30\n", encoding="utf-8")
    r = run("derive", "--method", "budget", "--allocations", str(a), "--node", "supply", "--name", "b",
            "--author", "A", "--rationale-en", "x", "--weights-dir", env["dir"], "--imeta", env["imeta"], ok=False)
    assert "assessor 'A': points sum to 90" in r.stderr


@pytest.mark.slow
@pytest.mark.parametrize("method", ["entropy", "critic", "pca"])
def test_derive_from_data_over_all_indicators(env: dict[str, str], method: str) -> None:
    d = Path(env["tmp"]) / "data.csv"
    d.write_text("unit,s1,s2,d1,d2\nu1,1,5,3,0\nu2,2,3,1,1\nu3,4,4,2,0\nu4,3,1,5,1\n", encoding="utf-8")
    out = run("derive", "--method", method, "--data", str(d), "--name", f"{method}-all", "--author", "A",
              "--rationale-en", "data-driven", "--weights-dir", env["dir"], "--imeta", env["imeta"]).stdout
    assert f"saved {method}-all v1" in out
    p = load_profile(f"{method}-all", env["dir"])
    derived = p.derived_from[0].weights
    assert sum(derived.values()) == pytest.approx(1.0)
    # the profile's relative weights reproduce the derived indicator weights as effective weights
    r = json.loads(run("show", f"{method}-all", "--format", "json", "--weights-dir", env["dir"],
                       "--imeta", env["imeta"]).stdout)
    assert r["effective_weights"] == pytest.approx(derived)


def test_derive_refuses_a_path_like_name(env: dict[str, str]) -> None:
    r = run("derive", "--method", "equal", "--node", "supply", "--name", "../escape", "--author", "A",
            "--rationale-en", "x", "--weights-dir", env["dir"], "--imeta", env["imeta"], ok=False)
    assert "name" in r.stderr and "pattern" in r.stderr
    assert not (Path(env["dir"]).parent / "escape.toml").exists()


@pytest.mark.slow
def test_derive_needs_a_rationale_and_its_input(env: dict[str, str]) -> None:
    r = run("derive", "--method", "equal", "--name", "x", "--author", "A", "--weights-dir", env["dir"],
            "--imeta", env["imeta"], ok=False)
    assert "give a rationale" in r.stderr
    r = run("derive", "--method", "ahp", "--name", "x", "--author", "A", "--rationale-en", "x",
            "--weights-dir", env["dir"], "--imeta", env["imeta"], ok=False)
    assert "--matrix" in r.stderr


def test_dry_run_saves_nothing(env: dict[str, str]) -> None:
    out = run("derive", "--method", "equal", "--node", "supply", "--name", "dry", "--author", "A",
              "--rationale-en", "x", "--dry-run", "--weights-dir", env["dir"], "--imeta", env["imeta"]).stdout
    assert "dry run" in out and not (Path(env["dir"]) / "dry.toml").exists()
