"""Shared fixtures for the uncertainty / sensitivity / audit tests: a small two-sided framework and its data."""

from __future__ import annotations

import numpy as np

from indicators.framework import Framework, Node
from indicators.spec import MethodSpec, ModelSpec
from indicators.uncertainty.problem import BlendRange, Inputs, Problem, UncertaintySpec, WeightNoise, build_problem, model_preparer

DIMS = ("value", "institution", "technology", "environment")


def two_sided(per_dim: int = 3, single_child: bool = False, reference: bool = False) -> Framework:
    """index -> supply/demand -> 4 dimensions each -> `per_dim` indicators (unequal weights, one negative direction).

    With `single_child`, an extra dimension 'demand_solo' holds one indicator (noise on its weight is a no-op).
    With `reference`, 'demand_value_ref' (last indicator) sits in demand_value with weight 0, shown for reference only
    (like the catalog's raw_good_rate).
    """
    nodes = [Node("index", None), Node("supply", "index", 0.5), Node("demand", "index", 0.5)]
    for side in ("supply", "demand"):
        for d in DIMS:
            nodes.append(Node(f"{side}_{d}", side))
            for k in range(per_dim):
                nodes.append(Node(f"{side}_{d}_{k}", f"{side}_{d}", weight=1.0 + k % 2, is_indicator=True,
                                  direction=-1 if k == 2 else 1, unit="%"))
    if single_child:
        nodes.append(Node("demand_solo", "demand"))
        nodes.append(Node("demand_solo_0", "demand_solo", is_indicator=True, unit="%"))
    if reference:
        nodes.append(Node("demand_value_ref", "demand_value", weight=0.0, is_indicator=True, unit="%"))
    return Framework.from_nodes(nodes)


def raw_data(fw: Framework, n_units: int = 16, seed: int = 0, missing: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    latent = rng.normal(0, 1, (n_units, 1))
    X = 50 + 8 * latent * fw.directions()[None, :] + rng.normal(0, 6, (n_units, len(fw.indicators)))
    for i in range(missing):
        X[(3 * i + 1) % n_units, (5 * i + 2) % X.shape[1]] = np.nan
    return X


def inputs_for(fw: Framework, X: np.ndarray, model: ModelSpec | None = None,
               weights: dict[str, float] | None = None) -> Inputs:
    model = model or ModelSpec()
    units = tuple(f"d{i:02d}" for i in range(X.shape[0]))
    prepare, units = model_preparer(fw, X, units=units)
    return Inputs(fw, units, prepare, model, fw.weights({**model.weights, **(weights or {})}))


def reference_problem(drop: bool = True, noise: str = "uniform") -> tuple[Framework, np.ndarray, ModelSpec, Problem]:
    """A reference-only indicator normalised onto [0, 100] (so it has a 0) under a geometric mean, missing data and an
    availability threshold: the catalog's raw_good_rate case."""
    fw = two_sided(reference=True)
    X = raw_data(fw, missing=6)
    minmax1 = MethodSpec(name="minmax", params={"l": 1, "u": 100})
    # d07 lacks demand_value_0: dropping another demand_value indicator leaves 1 of its 2 weighted children (the
    # present reference does not count), below 0.6, so demand (needs all 4 dimensions) and then the composite fail
    model = ModelSpec(normalisation=minmax1, aggregation=MethodSpec(name="gmean"), availability=0.6,
                      availability_overrides={"demand": 1.0},
                      normalisation_overrides={"demand_value_ref": MethodSpec(name="minmax")})
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1, distribution=noise),  # type: ignore[arg-type]
                                         WeightNoise(level=2, distribution="dirichlet")),
                           blend=BlendRange(demand=(0.3, 0.7)), drop_indicators=drop)
    return fw, X, model, build_problem(spec, inputs_for(fw, X, model))
