"""Property-based: malformed weight profiles fail only with ProfileError naming the key or node, never a crash."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.profile import ProfileError, WeightProfile

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {p.stem: tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "weights").glob("*.toml"))}
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.dates())
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)


def _paths(d: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, (*prefix, k))
    return out


def _check(data: Any) -> None:
    try:
        p = WeightProfile.from_dict(data, source="fuzz.toml")
    except ProfileError as e:
        msg = str(e)
        assert msg.startswith("fuzz.toml") or msg.startswith("profile"), msg
        assert ": " in msg and len(msg) > 12, msg  # says what is wrong, not just that something is
        return
    # whatever parses must round-trip through TOML unchanged (nothing lost)
    again = WeightProfile.from_toml(p.to_toml(), source="again")
    assert again.content_hash() == p.content_hash()


@pytest.mark.slow
@FUZZ
@given(name=st.sampled_from(sorted(SHIPPED)), data=st.data())
def test_mutated_shipped_profiles_fail_cleanly(name: str, data: st.DataObject) -> None:
    doc = copy.deepcopy(SHIPPED[name])
    paths = _paths(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        parent = doc
        for k in path[:-1]:
            parent = parent.get(k) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if action == "replace":
            parent[path[-1]] = data.draw(values)
        elif action == "delete":
            parent.pop(path[-1], None)
        else:
            parent[data.draw(st.text(min_size=1, max_size=8))] = data.draw(values)
    _check(doc)


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(["name", "version", "title_zh", "title_en", "author", "date", "rationale",
                                            "blend", "weights", "omitted", "methods", "derived_from", "extra"]),
                           values, max_size=8))
def test_random_tables_fail_cleanly(doc: dict) -> None:
    _check(doc)


@FUZZ
@given(text=st.text(max_size=200))
def test_random_text_fails_cleanly(text: str) -> None:
    try:
        WeightProfile.from_toml(text, source="fuzz.toml")
    except ProfileError as e:
        assert str(e).startswith("fuzz.toml")


@FUZZ
@given(weights=st.dictionaries(st.text(max_size=10), st.floats(allow_nan=True, allow_infinity=True), max_size=5))
def test_bad_weights_name_the_node(weights: dict) -> None:
    doc = copy.deepcopy(SHIPPED["equal"])
    doc["weights"] = weights
    doc.pop("blend", None)
    try:
        WeightProfile.from_dict(doc, source="fuzz.toml")
    except ProfileError as e:
        bad = [k for k, w in weights.items() if not (w == w and abs(w) != float("inf") and w >= 0)]
        assert bad and any(repr(k) in str(e) or "weights" in str(e) for k in bad), str(e)


def test_tomli_w_is_the_writer() -> None:  # the round-trip above relies on it
    assert tomllib.loads(tomli_w.dumps({"a": 1})) == {"a": 1}
