"""The version history view model (app/views/history.py): built once, printed by the CLI, shown by the page."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli.weights import weights as weights_cli
from app.views.history import profile_history, trail_changes, version_changes
from etl.contract.catalog import load_catalog
from etl.stores.profiles import SHIPPED_DIR, HISTORY, load_profile, publish_profile, save_profile
from indicators.profile import ProfileError
from indicators.spec import MethodSpec

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def wdir(tmp_path: Path) -> Path:
    d = tmp_path / "weights"
    shutil.copytree(SHIPPED_DIR, d, ignore=shutil.ignore_patterns(HISTORY))
    return d


def test_history_lists_versions_flags_and_trail(wdir: Path) -> None:
    p = load_profile("equal", wdir)
    v2 = save_profile(p.with_weights({"supply_value": 2.0}), wdir, who="ana", rationale="更重视供给")
    publish_profile("equal", p.version, "chief", "审定", wdir)
    v3 = save_profile(v2.with_weights({"supply_value": 3.0}), wdir, who="bo")
    h = profile_history("equal", wdir)
    assert h.numbers == [p.version, v2.version, v3.version] and h.current == v3.version and h.published == p.version
    assert [(r.published, r.current) for r in h.versions] == [(True, False), (False, False), (False, True)]
    assert h.versions[1].author == v2.author and h.versions[1].hash == v2.content_hash()[:12]
    assert [r["event"] for r in h.records] == ["save", "publish", "save"]
    assert "weights.supply_value" in h.trail_rows()[0]["changes"]
    # an archived version that no longer parses is a row that says why, not a failure of the whole history
    (wdir / HISTORY / "equal" / f"v{v2.version}.toml").write_text("not = [toml", encoding="utf-8")
    broken = profile_history("equal", wdir).versions[1]
    assert broken.error and broken.date is None
    with pytest.raises(ProfileError, match="no profile 'nope'"):
        profile_history("nope", wdir)


def test_cli_prints_the_view_model(wdir: Path) -> None:
    p = load_profile("equal", wdir)
    save_profile(p.with_weights({"supply_value": 2.0}), wdir, who="ana")
    publish_profile("equal", p.version, "chief", "审定", wdir)
    out = CliRunner().invoke(weights_cli, ["history", "equal", "--weights-dir", str(wdir)])
    assert out.exit_code == 0, out.output
    h = profile_history("equal", wdir)
    for row in h.versions:
        assert f"v{row.version}  {row.date}  {row.author}  hash {row.hash}" in out.output
    assert f"current v{h.current}; published v{h.published}" in out.output


def test_the_page_and_the_cli_do_not_assemble_the_history_themselves() -> None:
    """Both read the history through app.views.history, not from the stores directly."""
    assembled_elsewhere = {"profile_versions", "published_info", "read_trail", "load_profile_version"}
    page = ast.parse((ROOT / "app/pages/history.py").read_text(encoding="utf-8"))
    cli = ast.parse((ROOT / "app/cli/weights.py").read_text(encoding="utf-8"))
    cli_history = next(n for n in ast.walk(cli) if isinstance(n, ast.FunctionDef) and n.name == "history")
    for where, tree in (("page", page), ("cli", cli_history)):
        used = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        used |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert "profile_history" in used and not (used & assembled_elsewhere), (where, used & assembled_elsewhere)


# -- issue 14 finding 2: the audit "变化" column shows what changed against the previous version ----------------------
def test_trail_changes_name_only_what_moved(wdir: Path) -> None:
    fw = load_catalog().framework()
    base = load_profile("user-centred", wdir)
    moved = dict(base.resolved_weights(fw))
    moved["supply"], moved["demand"] = 0.3, 0.7  # the blend
    dims = fw.children("demand")
    moved[dims[0]] = moved[dims[0]] * 2 + 0.1
    # a profile made from user-centred, listing every weight (as the weights page saves it)
    new = base.with_weights(moved).model_copy(update={"name": "mine", "version": 1})
    save_profile(new, wdir, who="ana", rationale="需求侧更重")
    again = load_profile("mine", wdir)
    changed = dict(again.resolved_weights(fw))
    changed[dims[0]] = changed[dims[0]] + 0.5
    save_profile(again.with_weights(changed), wdir, who="ana", rationale="再调")
    h = profile_history("mine", wdir)
    assert len(h.trail_rows()[0]["changes"].split("; ")) > 10  # the stored record compared against nothing
    changes = trail_changes(h, wdir, fw, baseline=base)
    first, against = changes[h.records[0]["seq"]]
    assert against == "user-centred"
    assert {c.code for c in first} == {"supply", "demand", dims[0]}  # not every key of the profile
    second, against2 = changes[h.records[1]["seq"]]
    assert against2 is None and [c.code for c in second] == [dims[0]]
    assert second[0].new > second[0].old


def test_method_changes_are_named_by_step(wdir: Path) -> None:
    fw = load_catalog().framework()
    base = load_profile("user-centred", wdir)
    other = base.model_copy(update={"methods": base.methods.model_copy(update={
        "aggregation": MethodSpec(name="gmean", params={"shift": 1.0})})})
    assert [(c.kind, c.code, c.new[0]) for c in version_changes(base, other, fw)] == [
        ("method", "aggregation", "gmean")]
