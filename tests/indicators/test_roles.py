"""Indicator roles ("scored" / "context") and retired indicators: the tree, the catalog, profiles and scoring."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from etl.contract.catalog import default_catalog_dir, load_catalog
from indicators.catalog import Catalog, CatalogError
from indicators.framework import Framework, FrameworkError, Node
from indicators.model import score
from indicators.profile import ProfileError, WeightProfile
from indicators.spec import ModelSpec


def _fw(retired: dict[str, str] | None = None) -> Framework:
    return Framework.from_nodes([
        Node("index", None),
        Node("a", "index"),
        Node("b", "index"),
        Node("a1", "a", is_indicator=True),
        Node("a2", "a", is_indicator=True, weight=2.0),
        Node("ctx", "a", is_indicator=True, weight=0.0, role="context"),
        Node("b1", "b", is_indicator=True),
    ], retired=retired)


def _profile(**changes: Any) -> WeightProfile:
    data: dict[str, Any] = {"name": "p", "title_zh": "测试", "title_en": "Test", "author": "t",
                            "date": dt.date(2026, 1, 1), "rationale": {"en": "because"}}
    data.update(changes)
    return WeightProfile.from_dict(data, source="p.toml")


# -- the tree ------------------------------------------------------------------------------------------------------
def test_context_indicator_is_listed_apart_and_never_weighted() -> None:
    fw = _fw()
    assert fw.indicators == ("a1", "a2", "ctx", "b1")  # still a column of every matrix: computed and shown
    assert fw.context_indicators == ("ctx",)
    assert fw.scored_indicators == ("a1", "a2", "b1")
    assert fw.weighted_children("a") == ("a1", "a2")
    # an override cannot give it weight: the engine keeps it at 0
    assert fw.weights({"ctx": 5.0})["ctx"] == 0.0
    eff = dict(zip(fw.indicators, fw.effective_weights({"ctx": 5.0}), strict=True))
    assert eff["ctx"] == 0.0 and eff["a1"] == pytest.approx(0.5 / 3)


@pytest.mark.parametrize("node, message", [
    (Node("x", "a", is_indicator=True, weight=1.0, role="context"), "takes no weight"),
    (Node("x", "index", weight=0.0, role="context"), "only an indicator"),
    (Node("x", "a", is_indicator=True, role="target"), "role must be one of"),
])
def test_bad_roles_are_refused_naming_the_node(node: Node, message: str) -> None:
    nodes = [*_fw().nodes, node]
    if node.parent == "index" and not node.is_indicator:
        nodes.append(Node("x1", "x", is_indicator=True))
    with pytest.raises(FrameworkError, match=rf"'x'.*{message}|{message}.*'x'"):
        Framework.from_nodes(nodes)


def test_a_retired_code_cannot_stay_in_the_tree() -> None:
    with pytest.raises(FrameworkError, match="retired indicator.*a1"):
        _fw(retired={"a1": "gone"})


def test_the_context_role_changes_the_fingerprint_but_the_default_adds_nothing() -> None:
    def tree(role: str | None) -> Framework:
        leaf = Node("i", "r", is_indicator=True, weight=0.0) if role is None else \
            Node("i", "r", is_indicator=True, weight=0.0, role=role)
        return Framework.from_nodes([Node("r", None), Node("j", "r", is_indicator=True), leaf])
    assert tree(None).fingerprint() == tree("scored").fingerprint()  # stored editions keep their hash
    assert tree("context").fingerprint() != tree("scored").fingerprint()


# -- scoring -------------------------------------------------------------------------------------------------------
def test_a_context_indicator_never_moves_a_score_or_a_rank() -> None:
    fw = _fw()
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 100, size=(6, 4))
    base = score(fw, X, ModelSpec())
    X2 = X.copy()
    X2[:, 2] = rng.uniform(0, 100, size=6)  # a completely different context column
    X2[0, 2] = np.nan
    other = score(fw, X2, ModelSpec(weights={"ctx": 10.0}))  # even with a weight asked for
    root = base.order.index("index")
    np.testing.assert_allclose(base.values[..., root], other.values[..., root])
    assert other.weights.get("ctx", 0.0) == 0.0


# -- profiles ------------------------------------------------------------------------------------------------------
def test_a_profile_weight_on_a_context_indicator_loads_with_a_note_and_weighs_nothing() -> None:
    fw = _fw()
    p = _profile(weights={"ctx": 3.0, "a1": 2.0})
    p.validate_against(fw)
    notes = p.notes(fw)
    assert [(n.code, n.kind) for n in notes] == [("ctx", "context")]
    assert "context" in notes[0].text()
    assert p.resolved_weights(fw)["ctx"] == 0.0
    assert p.effective_weights(fw) == _profile(weights={"a1": 2.0}).effective_weights(fw)
    assert "ctx" not in p.missing_nodes(fw)  # a context indicator needs no weight to be complete
    assert _profile(weights={"ctx": 0.0}).notes(fw) == []  # a zero weight says nothing new


def test_a_profile_naming_a_retired_indicator_loads_with_a_note() -> None:
    fw = _fw(retired={"old": "saturated: every item is online"})
    p = _profile(weights={"old": 1.5, "a1": 2.0},
                 methods={"normalisation_overrides": {"old": {"name": "minmax"}}})
    p.validate_against(fw)
    assert [(n.code, n.kind, n.where) for n in p.notes(fw)] == [
        ("old", "retired", "weights"), ("old", "retired", "methods.normalisation_overrides")]
    assert "saturated" in p.notes(fw)[0].text()
    assert p.resolved_weights(fw) == _profile(weights={"a1": 2.0}).resolved_weights(fw)
    assert "old" not in p.model_spec(fw).normalisation_overrides
    score(fw, np.ones((3, 4)), p.model_spec(fw))  # and it scores


def test_an_unknown_code_that_was_never_retired_is_still_an_error() -> None:
    with pytest.raises(ProfileError, match="not in the framework: 'nope'"):
        _profile(weights={"nope": 1.0}).validate_against(_fw(retired={"old": "x"}))


# -- the catalog ---------------------------------------------------------------------------------------------------
def _catalog_dicts() -> tuple[dict[str, Any], dict[str, Any]]:
    d = default_catalog_dir()
    with (d / "framework.toml").open("rb") as fh:
        fw = tomllib.load(fh)
    with (d / "indicators.toml").open("rb") as fh:
        ind = tomllib.load(fh)
    return fw, ind


def _entry(ind: dict[str, Any], indicator_id: str) -> dict[str, Any]:
    return next(e for e in ind["indicator"] if e["id"] == indicator_id)


def test_the_shipped_context_indicators_say_why_and_are_never_weighted() -> None:
    cat = load_catalog()
    fw = cat.framework()
    ctx = {d.id for d in cat if d.role == "context"}
    assert {"online_rate_60plus", "raw_good_rate", "prompt_bias_gap"} <= ctx
    assert set(fw.context_indicators) == ctx
    for d in cat:
        if d.role == "context":
            assert d.context_note_zh and d.context_note_en and fw.node(d.id).weight == 0
    # the elderly online rate is context because the study protects offline service for older people
    assert "保证线下的适老服务" in cat.indicator("online_rate_60plus").context_note_zh


def test_catalog_refuses_a_context_indicator_with_a_weight_or_without_a_note() -> None:
    fw, ind = _catalog_dicts()
    bad = copy.deepcopy(ind)
    _entry(bad, "online_rate_60plus")["weight"] = 1
    with pytest.raises(CatalogError, match=r"online_rate_60plus.*takes no weight"):
        Catalog.from_dicts(fw, bad)
    bad = copy.deepcopy(ind)
    del _entry(bad, "online_rate_60plus")["context_note_en"]
    with pytest.raises(CatalogError, match=r"online_rate_60plus.*context_note_zh and context_note_en"):
        Catalog.from_dicts(fw, bad)
    bad = copy.deepcopy(ind)
    _entry(bad, "item_coverage_rate")["context_note_en"] = "why"
    with pytest.raises(CatalogError, match=r"item_coverage_rate.*apply only to role = 'context'"):
        Catalog.from_dicts(fw, bad)


def test_catalog_retired_entries_are_checked() -> None:
    fw, ind = _catalog_dicts()
    live = {"retired": [{"id": "item_coverage_rate", "retired_in": "x", "reason_zh": "理由", "reason_en": "why"}]}
    with pytest.raises(CatalogError, match="'item_coverage_rate' is still an indicator"):
        Catalog.from_dicts(fw, ind, retired=live)
    ghost = {"retired": [{"id": "gone", "retired_in": "x", "reason_zh": "理由", "reason_en": "why",
                          "replaced_by": ["no_such_indicator"]}]}
    with pytest.raises(CatalogError, match="replaced_by names unknown indicator.*no_such_indicator"):
        Catalog.from_dicts(fw, ind, retired=ghost)
    typo = {"retired": [{"id": "gone", "retired_in": "x", "reason_zh": "理由", "reason_en": "why", "reason": "?"}]}
    with pytest.raises(CatalogError, match="retired.toml.*unknown key"):
        Catalog.from_dicts(fw, ind, retired=typo)
    ok = Catalog.from_dicts(fw, ind, retired={"retired": [
        {"id": "gone", "retired_in": "issue 18", "reason_zh": "理由", "reason_en": "why"}]})
    assert ok.framework().retired == {"gone": "why"}
    assert ok.retired_reason("gone") is not None and ok.retired_reason("item_coverage_rate") is None


def test_every_retired_indicator_is_in_the_readme_table() -> None:
    """The README's retired table says why, for every entry of retired.toml (and lists nothing else)."""
    cat = load_catalog()
    readme = (Path(default_catalog_dir()) / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Retired indicators", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().strip("`") for line in section.splitlines()
            if line.startswith("| `")}
    assert rows == {r.id for r in cat.retired}


def test_the_readme_lists_every_indicator_with_its_standard() -> None:
    cat = load_catalog()
    readme = (Path(default_catalog_dir()) / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Indicators and their standards", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().strip("`"): line for line in section.splitlines() if line.startswith("| `")}
    assert set(rows) == set(cat.ids)
    for d in cat:
        assert d.role in rows[d.id] and rows[d.id].rstrip(" |").split("|")[-1].strip(), d.id  # role and a standard
