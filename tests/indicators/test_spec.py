"""ModelSpec: strict, with allowed names listed on errors; codes checked against a framework."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from indicators.framework import Framework, Node
from indicators.spec import BandSpec, MethodSpec, ModelSpec


def test_defaults_and_json_roundtrip() -> None:
    s = ModelSpec()
    assert s.normalisation.name == "minmax" and s.aggregation.name == "amean" and s.fit_on == "panel"
    assert ModelSpec.model_validate_json(s.model_dump_json()) == s
    assert len(s.fingerprint()) == 16


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"normalisation": {"name": "minmaxx"}}, "allowed: minmax, zscore, goalposts"),
        ({"aggregation": {"name": "amean", "params": {"p": 2}}}, "unknown parameter"),
        ({"treatment": {"name": "coinr_default", "params": {"winmax": "five"}}}, "winmax must be a number"),
        ({"imputation": {"name": "knn"}}, "allowed: none, mean, median"),
        ({"normalisations": {"name": "minmax"}}, "Extra inputs are not permitted"),
        ({"availability": 1.5}, "within \\[0, 1\\]"),
        ({"treat_by": "unit"}, "treat_by"),
    ],
)
def test_bad_specs_fail_loudly(kwargs: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ModelSpec(**kwargs)


def test_codes_checked_against_framework() -> None:
    fw = Framework.from_nodes([Node("r", None), Node("i", "r", is_indicator=True)])
    ModelSpec(weights={"i": 2}).validate_for(fw)
    with pytest.raises(ValueError, match="'nope'"):
        ModelSpec(aggregation_overrides={"nope": MethodSpec(name="gmean")}).validate_for(fw)
    with pytest.raises(ValueError, match="aggregate node"):
        ModelSpec(aggregation_overrides={"i": MethodSpec(name="gmean")}).validate_for(fw)


def test_bands_validated() -> None:
    with pytest.raises(ValidationError, match="decreasing"):
        BandSpec(cuts=(0.25, 0.5, 0.75))
    with pytest.raises(ValidationError, match="one more label"):
        BandSpec(method="fixed", cuts=(80.0,))
