"""Shared fixtures for the uncertainty / sensitivity / audit tests: a small two-sided framework and its data."""

from __future__ import annotations

import numpy as np

from indicators.framework import Framework, Node
from indicators.spec import ModelSpec
from indicators.uncertainty import Inputs, model_preparer

DIMS = ("value", "institution", "technology", "environment")


def two_sided(per_dim: int = 3, single_child: bool = False) -> Framework:
    """index -> supply/demand -> 4 dimensions each -> `per_dim` indicators (unequal weights, one negative direction).

    With `single_child`, an extra dimension 'demand_solo' holds one indicator (noise on its weight is a no-op).
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
