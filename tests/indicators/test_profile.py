"""Weight profiles: strict parsing, errors that name the node or key, blend handling, resolution and hashing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from indicators.framework import Framework, Node
from indicators.profile import Derivation, ProfileError, WeightProfile
from indicators.spec import ModelSpec


def _fw(with_sides: bool = True) -> Framework:
    if with_sides:
        return Framework.from_nodes(
            [
                Node("index", None),
                Node("supply", "index", weight=2.0),
                Node("demand", "index"),
                Node("supply_value", "supply"),
                Node("supply_tech", "supply", weight=3.0),
                Node("s1", "supply_value", is_indicator=True),
                Node("s2", "supply_value", is_indicator=True),
                Node("s3", "supply_tech", is_indicator=True),
                Node("d1", "demand", is_indicator=True),
                Node("d2", "demand", is_indicator=True),
            ]
        )
    return Framework.from_nodes(
        [Node("root", None), Node("a", "root", is_indicator=True), Node("b", "root", is_indicator=True)]
    )


def _data(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "test-profile",
        "title_zh": "测试",
        "title_en": "Test",
        "author": "tester",
        "date": dt.date(2025, 1, 2),
        "rationale": {"en": "because"},
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def _p(**changes: Any) -> WeightProfile:
    return WeightProfile.from_dict(_data(**changes), source="t.toml")


# -- strict parsing ---------------------------------------------------------------------------------------------------
def test_minimal_profile_defaults() -> None:
    p = _p()
    assert p.version == 1 and p.blend is None and p.weights == {} and p.method == "manual"
    # a profile's nodes need two thirds of their children (the engine's own default stays COINr's 0)
    assert p.methods == ModelSpec(availability=2 / 3, availability_nodes="dimensions")
    assert _p(methods={"imputation": {"name": "none"}}).methods.availability == pytest.approx(2 / 3)
    assert _p(methods={"availability": 0.0}).methods.availability == 0.0


def test_unknown_top_level_key_names_file_key_and_allowed_keys() -> None:
    with pytest.raises(ProfileError) as e:
        _p(weigths={"a": 1})
    msg = str(e.value)
    assert msg.startswith("t.toml: weigths: unknown key")
    assert "allowed keys: name, version" in msg and "weights" in msg


def test_unknown_nested_key_names_its_table() -> None:
    with pytest.raises(ProfileError, match=r"blend\.suply: unknown key; allowed keys: supply, demand"):
        _p(blend={"supply": 0.5, "suply": 0.5})
    with pytest.raises(ProfileError, match=r"rationale\.fr: unknown key; allowed keys: zh, en"):
        _p(rationale={"en": "x", "fr": "y"})


def test_method_choices_are_checked_against_the_engine_registry() -> None:
    with pytest.raises(ProfileError, match=r"t\.toml: methods: .*normalisation.*unknown normalisation method 'minmx'"):
        _p(methods={"normalisation": {"name": "minmx"}})
    with pytest.raises(ProfileError, match=r"put weights in \[weights\], not in \[methods\.weights\]"):
        _p(methods={"weights": {"s1": 2.0}})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Bad Name"}, "name: String should match pattern"),
        ({"name": "../x"}, "name: String should match pattern"),
        ({"version": 0}, "version: Input should be greater than or equal to 1"),
        ({"date": "yesterday"}, "date: Input should be a valid date"),
        ({"rationale": {"zh": " "}}, "rationale: give the rationale in Chinese"),
        ({"title_zh": None}, "title_zh: required key is missing"),
        ({"derived_from": [{"method": "magic"}]}, "derived_from.0.method: Input should be 'manual'"),
    ],
)
def test_bad_fields_name_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace(".", r"\.").replace("[", r"\[")):
        _p(**change)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_weights_name_the_node(bad: float) -> None:
    with pytest.raises(ProfileError, match="node 's1': weight must be a finite non-negative number"):
        _p(weights={"s1": bad})


def test_blend_must_sum_to_one() -> None:
    with pytest.raises(ProfileError, match="blend supply \\+ demand must be 1, got 0.7 \\+ 0.6"):
        _p(blend={"supply": 0.7, "demand": 0.6})
    with pytest.raises(ProfileError, match="blend.supply: Input should be less than or equal to 1"):
        _p(blend={"supply": 1.5, "demand": -0.5})


def test_blend_and_weights_for_the_same_node_conflict() -> None:
    with pytest.raises(ProfileError, match="'supply' are set both by \\[blend\\] and in \\[weights\\]"):
        _p(blend={"supply": 0.5, "demand": 0.5}, weights={"supply": 1.0})


def test_from_dict_rejects_non_tables() -> None:
    with pytest.raises(ProfileError, match="t.toml: expected a table"):
        WeightProfile.from_dict([1, 2], source="t.toml")  # type: ignore[arg-type]


def test_toml_syntax_error_names_the_source() -> None:
    with pytest.raises(ProfileError, match="x.toml: not valid TOML"):
        WeightProfile.from_toml("name = ", source="x.toml")


# -- validation against a framework ----------------------------------------------------------------------------------
def test_unknown_code_is_named_with_a_suggestion() -> None:
    with pytest.raises(ProfileError, match="not in the framework: 'supply_vlue' \\(did you mean 'supply_value'\\?\\)"):
        _p(weights={"supply_vlue": 1.0}).validate_against(_fw())


def test_root_takes_no_weight() -> None:
    with pytest.raises(ProfileError, match="node 'index' is the root"):
        _p(weights={"index": 1.0}).validate_against(_fw())


def test_all_zero_siblings_name_the_parent() -> None:
    with pytest.raises(ProfileError, match="children of node 'supply_value' \\(s1, s2\\) are all zero"):
        _p(weights={"s1": 0.0, "s2": 0.0}).validate_against(_fw())
    with pytest.raises(ProfileError, match="children of node 'index' \\(supply, demand\\) are all zero"):
        _p(weights={"supply": 0, "demand": 0}).validate_against(_fw())


def test_blend_needs_supply_and_demand_nodes() -> None:
    with pytest.raises(ProfileError, match="framework has no 'supply' or 'demand'"):
        _p(blend={"supply": 0.5, "demand": 0.5}).validate_against(_fw(with_sides=False))


def test_method_overrides_naming_unknown_nodes_are_refused() -> None:
    p = _p(methods={"aggregation_overrides": {"nowhere": {"name": "gmean"}}})
    with pytest.raises(ProfileError, match="\\[methods\\] aggregation_overrides: 'nowhere'"):
        p.validate_against(_fw())


def test_complete_flag_names_missing_nodes() -> None:
    p = _p(weights={"s1": 1.0})
    p.validate_against(_fw())  # omitted nodes are allowed by default
    assert "s2" in p.missing_nodes(_fw()) and "index" not in p.missing_nodes(_fw())
    with pytest.raises(ProfileError, match="no weight for node\\(s\\) supply, demand, supply_value"):
        p.validate_against(_fw(), complete=True)


# -- resolution ------------------------------------------------------------------------------------------------------
def test_resolved_weights_precedence_framework_then_weights_then_blend() -> None:
    fw = _fw()
    plain = _p().resolved_weights(fw)
    assert plain["supply"] == pytest.approx(2 / 3) and plain["supply_tech"] == pytest.approx(0.75)
    p = _p(weights={"s1": 3.0}, blend={"supply": 0.25, "demand": 0.75})
    r = p.resolved_weights(fw)
    assert r["supply"] == 0.25 and r["demand"] == 0.75
    assert r["s1"] == pytest.approx(0.75) and r["s2"] == pytest.approx(0.25)
    assert r["supply_tech"] == pytest.approx(0.75)  # framework default 3 vs 1 kept
    assert "index" not in r
    for parent in fw.aggregates:
        assert sum(r[k] for k in fw.children(parent)) == pytest.approx(1.0)


def test_omitted_equal_ignores_framework_defaults_but_keeps_exclusions() -> None:
    r = _p(omitted="equal").resolved_weights(_fw())
    assert r["supply"] == 0.5 and r["supply_tech"] == 0.5
    fw = Framework.from_nodes([*_fw().nodes[:-1], Node("d2", "demand", weight=0.0, is_indicator=True)])
    r = _p(omitted="equal").resolved_weights(fw)
    assert r["d2"] == 0.0 and r["d1"] == 1.0  # a comparison-only indicator (framework weight 0) stays out


def test_rescaling_a_nodes_children_leaves_resolved_weights_unchanged() -> None:
    fw = _fw()
    a = _p(weights={"s1": 1.0, "s2": 4.0, "d1": 2.0, "d2": 0.5})
    b = _p(weights={"s1": 10.0, "s2": 40.0, "d1": 2e-3, "d2": 5e-4})
    assert a.resolved_weights(fw) == pytest.approx(b.resolved_weights(fw))
    assert a.effective_weights(fw) == pytest.approx(b.effective_weights(fw))


def test_effective_weights_follow_the_blend() -> None:
    eff = _p(blend={"supply": 0.2, "demand": 0.8}, omitted="equal").effective_weights(_fw())
    assert eff["d1"] == pytest.approx(0.4) and eff["s3"] == pytest.approx(0.1) and eff["s1"] == pytest.approx(0.05)
    assert sum(eff.values()) == pytest.approx(1.0)


def test_model_spec_carries_the_resolved_weights() -> None:
    p = _p(weights={"s1": 3.0}, methods={"aggregation": {"name": "gmean"}})
    spec = p.model_spec(_fw())
    assert spec.aggregation.name == "gmean"
    assert spec.weights == p.resolved_weights(_fw())


def test_with_weights_routes_supply_and_demand_into_the_blend() -> None:
    p = _p(blend={"supply": 0.5, "demand": 0.5})
    q = p.with_weights({"supply": 3, "demand": 1, "s1": 2.0})
    assert q.blend is not None and q.blend.supply == 0.75 and q.weights == {"s1": 2.0}
    with pytest.raises(ProfileError, match="update both 'supply' and 'demand'"):
        p.with_weights({"supply": 3})
    d = Derivation(method="equal", node="supply_value", codes=["s1", "s2"], weights={"s1": 0.5, "s2": 0.5})
    assert p.with_weights({"s1": 1, "s2": 1}, derivation=d).method == "equal"


# -- round trip and hashes -------------------------------------------------------------------------------------------
def test_toml_round_trip() -> None:
    d = Derivation(
        method="ahp",
        node="supply_value",
        codes=["s1", "s2"],
        weights={"s1": 0.75, "s2": 0.25},
        inputs={"matrix": [[1.0, 3.0], [1 / 3, 1.0]]},
        diagnostics={"cr": 0.0},
    )
    p = _p(
        weights={"s1": 0.75, "s2": 0.25},
        blend={"supply": 0.4, "demand": 0.6},
        rationale={"zh": "用户为中心", "en": "user-centred"},
        derived_from=[d.model_dump()],
        methods={"normalisation": {"name": "zscore", "params": {"m": 10.0, "s": 2.0}}},
    )
    text = p.to_toml()
    assert "用户为中心" in text
    q = WeightProfile.from_toml(text)
    assert q == p
    assert q.content_hash() == p.content_hash()


def test_content_hash_ignores_version_but_not_weights() -> None:
    p = _p(weights={"s1": 1.0})
    assert p.content_hash() == p.model_copy(update={"version": 7}).content_hash()
    assert p.content_hash() != _p(weights={"s1": 2.0}).content_hash()
    assert p.content_hash() != _p(weights={"s1": 1.0}, author="someone else").content_hash()
    # the scoring hash only moves with what changes numbers
    assert p.scoring_hash() == _p(weights={"s1": 1.0}, author="someone else").scoring_hash()
    assert p.scoring_hash() != _p(weights={"s1": 1.0}, blend={"supply": 0.5, "demand": 0.5}).scoring_hash()
    assert len(p.content_hash()) == 64
