"""The weights page's logic without Dash: controls → weights → live ranking; AHP and budget helpers; saving.

`recompute` is the reweighting callback's own function (timed by bench/app.py): it re-aggregates the cached
normalised tensor, ranks, and builds the two small figures; nothing in it touches the warehouse.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl

from app.ui import figures
from app.ui.i18n import pick, t
from app.views import frames as views
from app.state import AppContext
from indicators.framework import FrameworkError
from indicators.profile import SUPPLY, DEMAND, Derivation, ProfileError, Rationale, WeightProfile
from indicators.weighting.derive import WeightingError, budget_weights
from indicators.weighting.ahp import ahp_weights

# Saaty's scale, most to least important; stored as floats, shown as 9 … 1 … 1/9.
SAATY: tuple[float, ...] = (9, 8, 7, 6, 5, 4, 3, 2, 1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 7, 1 / 8, 1 / 9)


def saaty_label(v: float) -> str:
    f = Fraction(v).limit_denominator(9)
    return str(f.numerator) if f.denominator == 1 else f"1/{f.denominator}"


def blend_nodes_present(ctx: AppContext) -> bool:
    fw = ctx.framework
    return SUPPLY in fw and DEMAND in fw and fw.node(SUPPLY).parent == fw.node(DEMAND).parent


def slider_nodes(ctx: AppContext) -> tuple[list[str], dict[str, list[str]]]:
    """(dimension-level nodes under the sides, {dimension: its indicators}) — everything below the blend."""
    fw = ctx.framework
    tops = set(fw.children(fw.root))
    dims = [c for c in fw.aggregates if c != fw.root and c not in tops] if blend_nodes_present(ctx) else \
        [c for c in fw.aggregates if c != fw.root]
    groups = {d: [k for k in fw.weighted_children(d) if fw.node(k).is_indicator] for d in dims}  # no context ones
    return dims, groups


def profile_notes(ctx: AppContext, profile: WeightProfile, lang: str) -> list[str]:
    """What the profile names that the framework no longer takes (context weights, retired codes), for people."""
    out = []
    for n in profile.notes(ctx.framework):
        if n.kind == "context":
            out.append(t("profile.note.context", lang, code=views.node_label(ctx, n.code, lang)))
        else:
            r = ctx.catalog.retired_reason(n.code)
            why = pick(r.reason_zh, r.reason_en, lang) if r is not None else n.reason
            out.append(t("profile.note.retired", lang, code=n.code, why=why, where=n.where))
    return out


def weights_from_controls(blend: float | None, codes: Sequence[str], values: Sequence[float | None],
                          base: Mapping[str, float]) -> dict[str, float]:
    """All relative weights: the profile's resolved ones, with the blend and every slider applied."""
    w = dict(base)
    for code, v in zip(codes, values, strict=True):
        if v is not None:
            w[code] = max(0.0, float(v))
    if blend is not None and SUPPLY in w and DEMAND in w:
        b = min(1.0, max(0.0, float(blend)))
        w[SUPPLY], w[DEMAND] = 1.0 - b, b
    return w


def shares_within_parent(ctx: AppContext, w: Mapping[str, float], codes: Sequence[str]) -> list[str]:
    fw = ctx.framework
    out = []
    for c in codes:
        parent = fw.node(c).parent
        total = sum(w.get(k, 0.0) for k in fw.children(parent)) if parent else 0.0
        out.append(f"{w.get(c, 0.0) / total * 100:.0f}%" if total > 0 else "—")
    return out


@dataclass(frozen=True)
class Recomputed:
    table: pl.DataFrame
    ranking: figures.FigureDict
    effective: figures.FigureDict
    shares: list[str]
    weights: dict[str, float]
    ms: float


class WeightsInvalid(ValueError):
    """All children of a node are at zero (or another weight problem); the message names the node."""


def recompute(ctx: AppContext, profile_name: str | None, blend: float | None, codes: Sequence[str],
              values: Sequence[float | None], period: str | None, lang: str) -> Recomputed:
    """The live path: controls → weights → re-aggregate cached tensor → ranking + effective weights."""
    t0 = time.perf_counter()
    profile = ctx.profile(profile_name)
    prep = ctx.prepared(profile)
    w = weights_from_controls(blend, codes, values, profile.resolved_weights(ctx.framework))
    try:
        ctx.framework.weights(w)
    except FrameworkError as e:
        raise WeightsInvalid(str(e)) from None
    table = views.live_ranking(ctx, prep, w, period, lang)
    ranking = figures.live_ranking_figure(table, lang)
    effective = figures.effective_weights_figure(views.effective_weights(ctx, w, lang), lang)
    shares = shares_within_parent(ctx, w, codes)
    return Recomputed(table, ranking, effective, shares, w, (time.perf_counter() - t0) * 1000)


# -- AHP and budget ------------------------------------------------------------------------------------------------
def ahp_from_cells(codes: Sequence[str], cells: Sequence[tuple[int, int, float | None]]) -> dict[str, Any]:
    """Weights, CR and whether it passes, from the upper-triangle judgements (i < j, value = a_ij)."""
    n = len(codes)
    a = np.ones((n, n))
    for i, j, v in cells:
        x = float(v) if v is not None and float(v) > 0 else 1.0
        a[i, j], a[j, i] = x, 1.0 / x
    res = ahp_weights(a, codes, max_cr=None)
    d = res.diagnostics
    return {"weights": res.weights, "cr": float(d["cr"]), "consistent": float(d["cr"]) <= 0.1,
            "matrix": a.tolist(), "lambda_max": float(d["lambda_max"])}


def budget_from_points(codes: Sequence[str], points: Sequence[float | None]) -> dict[str, Any]:
    pts = {c: float(p or 0.0) for c, p in zip(codes, points, strict=True)}
    total = sum(pts.values())
    if total <= 0:
        raise WeightingError("allocate some points first")
    res = budget_weights({"allocation": {c: v / total * 100 for c, v in pts.items()}}, codes)
    return {"weights": res.weights, "total": total, "points": pts}


# -- saving --------------------------------------------------------------------------------------------------------
def still_applies(derivation: Derivation, weights: Mapping[str, float], tol: float = 1e-3) -> bool:
    """Whether `weights` (relative within parent) still give the derivation's codes the shares it derived."""
    codes = [c for c in derivation.codes if c in derivation.weights]
    if not codes or any(c not in weights for c in codes):
        return False
    total = sum(weights[c] for c in codes)
    if total <= 0:
        return False
    want = sum(derivation.weights[c] for c in codes) or 1.0
    return all(abs(weights[c] / total - derivation.weights[c] / want) <= tol for c in codes)


def profile_from_controls(base: WeightProfile, weights: Mapping[str, float], name: str, author: str,
                          rationale: str, lang: str, derivations: Sequence[Derivation] = (),
                          today: dt.date | None = None) -> WeightProfile:
    """A new named profile: the base profile's methods with the current weights, author, rationale and date."""
    if not (name or "").strip() or not (author or "").strip() or not (rationale or "").strip():
        raise ProfileError("name, author and rationale are required")
    w = {k: float(v) for k, v in weights.items() if math.isfinite(float(v))}
    # A derivation is recorded only while the weights still follow it: sliders moved after an AHP or a budget
    # allocation (or a reset, or another profile) make it a claim the saved weights no longer support.
    derivations = [d for d in derivations if still_applies(d, w)]
    # Folding supply/demand back into the blend is the profile's own rule (WeightProfile.with_weights).
    data = base.with_weights(w).to_dict()
    data.update(
        name=name.strip(), version=1, title_zh=name.strip(), title_en=name.strip(), author=author.strip(),
        date=today or dt.date.today(),
        rationale=Rationale(zh=rationale.strip(), en="") if lang == "zh" else Rationale(zh="", en=rationale.strip()),
        derived_from=[d.model_dump(exclude_none=True) for d in derivations],
    )
    data["rationale"] = data["rationale"].model_dump()
    return WeightProfile.from_dict(data, source=f"profile {name!r}")
