"""The batched Monte Carlo engine equals the scoring engine sample by sample; ranks, summaries, failures, seeds."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from indicators.aggregate import AggregationError, aggregate_tree, node_order
from indicators.model import build_plan, has_composite, score
from indicators.ranking import rank_desc
from indicators.uncertainty.montecarlo import CompiledTree, MonteCarloError, RankError, RankTally, effective_weights_batch, evaluate, power_mean, rank_table, ranks_desc, ranks_desc_sorted, run_monte_carlo, summarise
from indicators.spec import MethodSpec, ModelSpec
from indicators.uncertainty.problem import BlendRange, Problem, UncertaintyError, UncertaintySpec, WeightNoise, build_problem, check
from indicators.uncertainty.factors import apply_drops
from indicators.uncertainty.sampling import uniform_chunks
from tests.indicators.uncertainty.uncertainty_fixtures import inputs_for, raw_data, reference_problem, two_sided


def test_ranks_are_descending_with_ties_at_the_minimum() -> None:
    s = np.array([[3.0, 1.0, 3.0, 2.0], [0.1, 0.4, 0.3, 0.2]])
    r = ranks_desc(s)
    for row, ranks in zip(s, r, strict=True):
        assert list(ranks) == list(stats.rankdata(-row, method="min").astype(int))


@pytest.mark.parametrize("method", [("amean", {}), ("gmean", {}), ("hmean", {}), ("pmean", {"p": 2.0}),
                                    ("pmean", {"p": -0.5, "shift": 1.0})])
def test_batched_composite_equals_aggregate_tree_per_sample(method: tuple[str, dict]) -> None:
    fw = two_sided()
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 100, (16, len(fw.indicators)))
    X[2, 4] = np.nan  # missing values: weights renormalised over present children
    X[5, :3] = np.nan
    tree = CompiledTree.build(fw)
    W = rng.uniform(0.2, 2.0, (6, tree.n_slots))
    W[1, tree.slot_of["supply_value_0"]] = 0.0
    methods = tree.methods(None, method)
    thr = [0.5 if s.code == "supply_value" else 0.0 for s in tree.steps]
    ev = evaluate(tree, X, W, methods, thr)
    for s in range(W.shape[0]):
        ref = aggregate_tree(fw, X, dict(zip(tree.slots, W[s], strict=True)), default=method,
                             availability={"supply_value": 0.5})
        np.testing.assert_allclose(ev.root[s], ref[:, -1], rtol=1e-12, atol=1e-12)


def test_fast_path_equals_general_path_and_effective_weights() -> None:
    fw = two_sided()
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 100, (16, len(fw.indicators)))
    tree = CompiledTree.build(fw)
    W = rng.uniform(0.1, 3, (50, tree.n_slots))
    fast = evaluate(tree, X, W, tree.methods())
    general = evaluate(tree, X, W, tree.methods(), keep_nodes=True)  # keep_nodes forces the level-wise path
    np.testing.assert_allclose(fast.root, general.root, rtol=1e-12)
    eff = effective_weights_batch(tree, W[:3])
    for s in range(3):
        np.testing.assert_allclose(eff[s], fw.effective_weights(dict(zip(tree.slots, W[s], strict=True))))


def test_reweighting_that_keeps_proportions_keeps_scores_and_ranks() -> None:
    fw = two_sided()
    X = np.random.default_rng(2).uniform(1, 100, (16, len(fw.indicators)))
    tree = CompiledTree.build(fw)
    w = tree.weight_vector()
    scaled = w.copy()
    for parent in fw.aggregates:  # one factor per sibling group
        idx = [tree.slot_of[c] for c in fw.children(parent)]
        scaled[idx] *= 1 + 3 * fw.aggregates.index(parent)
    choices: tuple[tuple[str, dict], ...] = (("amean", {}), ("gmean", {}))
    for m in choices:
        a = evaluate(tree, X, np.stack([w, scaled]), tree.methods(None, m)).root
        np.testing.assert_allclose(a[0], a[1], rtol=1e-12)
        assert (ranks_desc(a[:1]) == ranks_desc(a[1:])).all()


def test_batched_scores_equal_the_engine_score_for_sampled_settings() -> None:
    fw = two_sided()
    X = raw_data(fw, missing=3)
    model = ModelSpec(imputation=MethodSpec(name="mean"))
    inputs = inputs_for(fw, X, model)
    norms = (MethodSpec(name="minmax", params={"l": 1, "u": 100}), MethodSpec(name="zscore", params={"m": 10, "s": 2}))
    aggs = (MethodSpec(name="amean"), MethodSpec(name="gmean"))
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1), WeightNoise(level=2, distribution="dirichlet")),
                           blend=BlendRange(demand=(0.3, 0.7)), normalisation=norms, aggregation=aggs,
                           imputation=True, drop_indicators=True)
    problem = build_problem(spec, inputs)
    u = np.random.default_rng(5).random((8, problem.n_columns))
    W, n_i, imp, a_i = problem.settings(u)
    scores, reasons = problem.evaluate_settings(W, n_i, imp, a_i)
    for s in range(len(u)):
        m = ModelSpec(imputation=model.imputation if imp[s] else MethodSpec(name="none"),
                      normalisation=norms[n_i[s]], aggregation=aggs[a_i[s]],
                      weights=dict(zip(problem.tree.slots, W[s], strict=True)))
        ref = score(fw, X, m).root_scores[0]
        assert reasons[s] == -1
        np.testing.assert_allclose(scores[s], ref, rtol=1e-10, atol=1e-10)


def test_monte_carlo_summaries_and_seed() -> None:
    fw = two_sided()
    problem = build_problem(UncertaintySpec(weight_noise=(WeightNoise(level=2, spread=0.6),),
                                            blend=BlendRange(demand=(0.2, 0.8))), inputs_for(fw, raw_data(fw)))
    r1 = run_monte_carlo(problem, 3000, np.random.default_rng(11))
    r2 = run_monte_carlo(problem, 3000, np.random.default_rng(11))
    r3 = run_monte_carlo(problem, 3000, np.random.default_rng(12))
    assert np.array_equal(r1.scores, r2.scores) and not np.array_equal(r1.scores, r3.scores)
    sm = r1.summary
    assert sm.n_ok == 3000 and r1.failures() == {}
    ranks = ranks_desc(r1.scores)
    assert sm.mean_rank == pytest.approx(ranks.mean(axis=0))
    assert sm.median_rank == pytest.approx(np.quantile(ranks, 0.5, axis=0, method="inverted_cdf"))
    assert sm.rank_high == pytest.approx(np.quantile(ranks, 0.95, axis=0, method="inverted_cdf"))
    assert sm.p_rank_at_most[:, -1] == pytest.approx(1.0)
    assert sm.p_rank_at_most[:, 0] == pytest.approx((ranks == 1).mean(axis=0))
    np.testing.assert_allclose(sm.p_above + sm.p_above.T + np.eye(16), 1.0)  # no ties between distinct units
    assert sm.p_above[0, 1] == pytest.approx((r1.scores[:, 0] > r1.scores[:, 1]).mean())
    assert sm.score_quantiles[2] == pytest.approx(np.quantile(r1.scores, 0.5, axis=0))


def test_samples_are_counted_never_dropped_and_a_unit_without_a_composite_is_unranked_in_them() -> None:
    *_, problem = reference_problem()  # availability thresholds + dropped indicators: some units have no composite
    res = run_monte_carlo(problem, 1000, np.random.default_rng(0))
    assert sum(res.failures().values()) + res.summary.n_ok == 1000 and res.ok.all()
    missing = np.isnan(res.scores)
    assert res.unranked() == {res.units[u]: int(missing[:, u].sum()) for u in np.flatnonzero(missing.any(axis=0))}
    assert res.unranked() and np.array_equal(res.summary.ranked, 1000 - missing.sum(axis=0))


def test_a_geometric_alternative_over_zeros_runs_on_the_1_100_scale_instead_of_failing() -> None:
    """Issue 13.8: minmax [0, 100] puts a 0 in every indicator, so a gmean alternative failed half of the samples.
    As in COINr, the alternative now runs on the values rescaled to [1, 100]: exactly minmax(l=1, u=100)."""
    fw = two_sided()
    X = raw_data(fw)
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1),),
                           aggregation=(MethodSpec(name="amean"), MethodSpec(name="gmean")))
    inputs = inputs_for(fw, X)
    warn = [i for i in check(spec, inputs) if i.factor == "aggregation"]
    assert warn and "[1, 100]" in warn[0].message
    problem = build_problem(spec, inputs)
    res = run_monte_carlo(problem, 1000, np.random.default_rng(0))
    assert res.failures() == {} and res.summary.n_ok == 1000
    u = np.random.default_rng(1).random((6, problem.n_columns))
    W, n_i, imp, a_i = problem.settings(u)
    a_i[:] = 1  # gmean
    scores, reasons = problem.evaluate_settings(W, n_i, imp, a_i)
    assert (reasons == -1).all()
    for s in range(len(u)):
        ref = score(fw, X, ModelSpec(normalisation=MethodSpec(name="minmax", params={"l": 1, "u": 100}),
                                     aggregation=MethodSpec(name="gmean"),
                                     weights=dict(zip(problem.tree.slots, W[s], strict=True)))).root_scores[0]
        np.testing.assert_allclose(scores[s], ref, rtol=1e-10)


def test_a_quarter_of_samples_no_longer_fail_from_256_units_up() -> None:
    """Issue 16.3: 2,496 of 10,000 samples failed from 256 units up. Cause: zscore(m=50, s=10) goes below 0 for a
    unit more than 5 deviations out, impossible at 16 units (|z| <= (n - 1) / sqrt(n) = 3.75) but common in skewed
    data at 256+ units (a negative-direction lognormal indicator); every zscore x gmean sample (1/2 x 1/2) failed."""
    fw = two_sided()
    n = 256
    X = np.random.default_rng(0).lognormal(2.0, 0.7, (n, len(fw.indicators)))
    z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1) * fw.directions()[None, :]
    assert (50 + 10 * z <= 0).any()  # the cause: a zscore below -5 exists here
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1),),
                           normalisation=(MethodSpec(name="minmax", params={"l": 1, "u": 100}),
                                          MethodSpec(name="zscore", params={"m": 50, "s": 10})),
                           aggregation=(MethodSpec(name="amean"), MethodSpec(name="gmean", params={"shift": 1})))
    problem = build_problem(spec, inputs_for(fw, X))
    res = run_monte_carlo(problem, 2000, np.random.default_rng(0))
    assert res.failures() == {}


def test_spec_is_strict_and_check_explains_up_front() -> None:
    fw = two_sided()
    inputs = inputs_for(fw, raw_data(fw))
    with pytest.raises(UncertaintyError, match=r"weight_noise.0.sprad: unknown key; allowed keys: name, level"):
        UncertaintySpec.from_dict({"weight_noise": [{"level": 1, "sprad": 0.2}]})
    with pytest.raises(UncertaintyError, match="exactly one of `level`"):
        UncertaintySpec.from_dict({"weight_noise": [{"level": 1, "nodes": ["supply"]}]})
    bad = UncertaintySpec(blend=BlendRange(demand=(0.5, 1.2)), weight_noise=(WeightNoise(nodes=("supply_x",)),),
                          aggregation=(MethodSpec(name="wmedian"), MethodSpec(name="amean")),
                          normalisation=(MethodSpec(name="minmax", params={"l": 5, "u": 1}),))
    msgs = {(i.factor, i.message) for i in check(bad, inputs) if i.severity == "error"}
    text = " | ".join(m for _, m in msgs)
    assert "0 <= low <= high <= 1, got [0.5, 1.2]" in text
    assert "unknown node code(s) supply_x" in text
    assert "'wmedian' cannot be evaluated in batch" in text
    assert "needs l < u" in text
    with pytest.raises(UncertaintyError, match="blend"):
        build_problem(bad, inputs)
    with pytest.raises(MonteCarloError, match="batched methods"):
        power_mean("median")


def test_summarise_with_no_successful_sample() -> None:
    sm = summarise(("a", "b"), np.full((3, 2), np.nan), np.zeros(3, dtype=bool))
    assert sm.n_ok == 0 and np.isnan(sm.median_rank).all()


# -- the fast rank/summary paths against a straightforward reference ----------------------------------------------
def _reference_summary(scores: np.ndarray, ok: np.ndarray, qs=(0.05, 0.25, 0.5, 0.75, 0.95)) -> dict:
    """Per-sample scipy min-ranks of the units scored in it (a NaN score is unranked in that sample), then counts,
    quantiles, means and pairwise comparisons over the samples where each unit (pair) has a score, the obvious way."""
    good = scores[ok]
    ranks = np.full(good.shape, np.nan)
    for s, row in enumerate(good):
        has = np.isfinite(row)
        ranks[s, has] = stats.rankdata(-row[has], method="min")
    U = scores.shape[1]
    counts = np.array([[np.sum(ranks[:, u] == r + 1) for r in range(U)] for u in range(U)])

    def col(u: int) -> np.ndarray:
        return ranks[np.isfinite(ranks[:, u]), u]

    def q(level: float) -> np.ndarray:
        return np.array([np.quantile(col(u), level, method="inverted_cdf") if col(u).size else np.nan
                         for u in range(U)])

    def above(a: int, b: int) -> float:
        both = np.isfinite(good[:, a]) & np.isfinite(good[:, b])
        return float(np.mean(good[both, a] > good[both, b])) if both.any() else np.nan

    return {
        "ranks": ranks, "counts": counts, "mean": np.array([col(u).mean() if col(u).size else np.nan
                                                            for u in range(U)]),
        "median": q(0.5), "low": q(0.05), "high": q(0.95),
        "p_above": np.array([[above(a, b) for b in range(U)] for a in range(U)]),
        "score_q": np.array([[np.quantile(good[np.isfinite(good[:, u]), u], lv) if np.isfinite(good[:, u]).any()
                              else np.nan for u in range(U)] for lv in qs]),
    }


@pytest.mark.parametrize("n_units", [1, 2, 7, 16, 51, 130])  # 130 > PAIRWISE_MAX_UNITS: the sorting fallback
def test_fast_ranks_and_summary_equal_the_reference_with_ties_and_failed_rows(n_units: int) -> None:
    rng = np.random.default_rng(n_units)
    S = 700 if n_units < 100 else 150
    scores = rng.integers(0, 6, (S, n_units)).astype(float)  # few distinct values: ties in almost every row
    scores[::3] += rng.normal(0, 1e-3, (len(scores[::3]), n_units))  # and some rows without ties
    scores[5, :] = 2.0  # a row where every unit ties
    scores[7, 0], scores[7, -1] = 0.0, -0.0  # signed zeros are equal scores
    ok = np.ones(S, dtype=bool)
    ok[[3, 10, 11, S - 1]] = False
    scores[~ok] = np.nan  # failed samples: NaN rows, flagged not ok
    scores[10, 0] = 1e9  # a failed row's leftover finite value must not count either
    ref = _reference_summary(scores, ok)
    assert np.array_equal(ranks_desc(scores[ok]), ref["ranks"])
    assert np.array_equal(ranks_desc_sorted(scores[ok]), ref["ranks"])
    sm = summarise(tuple(map(str, range(n_units))), scores, ok)
    assert sm.n_ok == ok.sum()
    assert np.array_equal(sm.rank_counts, ref["counts"])
    assert np.array_equal(sm.mean_rank, ref["mean"])  # exact: integer sums either way
    for got, key in ((sm.median_rank, "median"), (sm.rank_low, "low"), (sm.rank_high, "high")):
        assert np.array_equal(got, ref[key])
    assert np.array_equal(sm.p_above, ref["p_above"])
    assert np.array_equal(sm.score_quantiles, ref["score_q"])


@pytest.mark.parametrize("n_units", [2, 7, 51, 130])  # 130 > PAIRWISE_MAX_UNITS: the sorting fallback
def test_a_unit_without_a_score_in_a_sample_is_unranked_there_and_the_others_are_ranked_among_themselves(
        n_units: int) -> None:
    """Issue 16 goal 3 (COINr's practice): a successful sample may leave some unit without a composite; it is
    unranked in that sample, the others keep ranks 1..k by the one rank rule, and each unit's summaries are over
    the samples in which it has a rank (pairs: in which both have one). Chunking changes nothing."""
    rng = np.random.default_rng(n_units)
    S = 600 if n_units < 100 else 120
    scores = rng.integers(0, 6, (S, n_units)).astype(float)  # ties in most rows
    scores[rng.random((S, n_units)) < 0.08] = np.nan  # scattered units without a score
    scores[::7, 0] = np.nan  # one unit often unscored
    scores[4] = np.nan  # a sample that scored no unit at all: still counted, ranks nobody
    ok = np.ones(S, dtype=bool)
    ok[[1, 9]] = False
    scores[9, :] = 1e9  # a failed row's values must not count
    ref = _reference_summary(scores, ok)
    sm = summarise(tuple(map(str, range(n_units))), scores, ok)
    assert sm.n_ok == ok.sum()
    assert np.array_equal(sm.ranked, np.isfinite(scores[ok]).sum(axis=0))
    assert np.array_equal(sm.rank_counts, ref["counts"])
    assert np.array_equal(sm.rank_counts.sum(axis=1), sm.ranked)
    np.testing.assert_allclose(sm.mean_rank, ref["mean"], rtol=1e-12)
    for got, key in ((sm.median_rank, "median"), (sm.rank_low, "low"), (sm.rank_high, "high")):
        np.testing.assert_array_equal(got, ref[key])
    np.testing.assert_array_equal(sm.p_above, ref["p_above"])
    np.testing.assert_allclose(sm.score_quantiles, ref["score_q"], rtol=1e-12)
    np.testing.assert_allclose(sm.p_rank_at_most[:, -1], 1.0)
    tally = RankTally(n_units, True)  # in chunks, some all-finite: the same counts
    good = scores[ok]
    for start in range(0, len(good), 64):
        tally.add(good[start : start + 64])
    assert np.array_equal(tally.rank_counts, sm.rank_counts) and np.array_equal(tally.n_ranked, sm.ranked)
    np.testing.assert_array_equal(tally.p_above, ref["p_above"])


def _thin_unit_problem(n_units: int = 16) -> tuple[Problem, int]:
    """The national demo's case (a county such as 450902 with most indicators missing): unit d03 has no supply
    indicator and, on the demand side, only 2 of demand_value's 3 (the two-thirds availability of the profiles,
    dimensions only). Its nominal composite stands on that one dimension; dropping one of its two indicators
    leaves 1 of 2, below two thirds, so under that choice d03 has no composite."""
    fw = two_sided()
    X = raw_data(fw, n_units)
    u = 3
    X[u, [j for j, c in enumerate(fw.indicators) if not c.startswith("demand_value") or c == "demand_value_0"]] = np.nan
    model = ModelSpec(availability=0.667, availability_nodes="dimensions")
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1),), drop_indicators=True,
                           normalisation=(MethodSpec(name="minmax", params={"l": 1, "u": 100}),
                                          MethodSpec(name="zscore", params={"m": 50, "s": 10})))
    return build_problem(spec, inputs_for(fw, X, model)), u


def test_a_unit_without_a_composite_under_an_alternative_no_longer_fails_the_sample() -> None:
    """The uncertainty summary on the national demo failed whole samples because one thin unit had no composite
    when an indicator it relies on was dropped. Now the sample counts and that unit is unranked in it only."""
    problem, u = _thin_unit_problem()
    assert np.isfinite(problem.nominal_scores()).all()  # the nominal run scores d03: it is not excluded up front
    res = run_monte_carlo(problem, 2048, np.random.default_rng(5))
    drops = problem.draw(np.asarray(next(iter(uniform_chunks(2048, problem.n_columns, np.random.default_rng(5),
                                                                "sobol", 2048))))).drop
    lost = np.isin(drops, [problem.tree.framework.scored_indicators.index(c)
                           for c in ("demand_value_1", "demand_value_2")])
    assert res.failures() == {} and res.ok.all() and res.summary.n_ok == 2048
    assert 0.02 < lost.mean() < 0.1 and np.array_equal(np.isnan(res.scores[:, u]), lost)
    assert np.isfinite(np.delete(res.scores, u, axis=1)).all()
    assert res.unranked() == {"d03": int(lost.sum())}
    assert res.summary.ranked[u] == 2048 - lost.sum() and (np.delete(res.summary.ranked, u) == 2048).all()
    # in the samples without d03 the others hold ranks 1..15; d03's interval is over the samples it is in
    assert np.array_equal(res.summary.rank_counts.sum(axis=0)[-1], (~lost).sum())
    table = rank_table(res)
    row = table.filter(pl.col("unit") == "d03").row(0, named=True)
    ref = _reference_summary(res.scores, res.ok)
    assert row["median_rank"] == ref["median"][u] and row["rank_high"] == ref["high"][u]
    assert row["p_top1"] == pytest.approx(ref["counts"][u, 0] / (~lost).sum())
    # the Sobol/tornado evaluations, which need every unit in every row, still flag such a sample with its reason
    st = problem.draw(np.full((1, problem.n_columns), 0.5))
    st.drop[:] = problem.tree.framework.scored_indicators.index("demand_value_1")
    apply_drops(st, problem.tree)  # the dropped indicator's weight 0, as draw() sets it
    _, reasons = problem.evaluate_drawn(st)
    assert "no composite for unit 'd03'" in problem.reason_labels[reasons[0]]


def test_rank_tally_is_exact_across_chunks_and_lane_folds() -> None:
    """More chunks than a uint8 lane can hold (255): folding into int64 must lose nothing."""
    U = 16
    rng = np.random.default_rng(4)
    scores = rng.integers(0, 4, (300 * 64 + 17, U)).astype(float)
    tally = RankTally(U)
    for start in range(0, len(scores), 64):  # 301 small chunks
        tally.add(scores[start : start + 64])
    whole = summarise(tuple(map(str, range(U))), scores, np.ones(len(scores), dtype=bool))
    assert tally.n == len(scores)
    assert np.array_equal(tally.rank_counts, whole.rank_counts)
    assert np.array_equal(tally.wins / tally.n, whole.p_above)
    assert tally.wins[0, 1] == np.sum(scores[:, 0] > scores[:, 1])


def test_ranks_refuse_non_finite_rows() -> None:
    with pytest.raises(RankError, match="sample row 1, unit column 2 is nan"):
        ranks_desc(np.array([[1.0, 2.0, 3.0], [1.0, 2.0, np.nan]]))


@pytest.mark.parametrize("sampler", ["sobol", "random"])
def test_chunked_design_is_the_whole_design(sampler: str) -> None:
    from indicators.uncertainty.sampling import uniform_chunks, uniform_matrix

    for n in (1, 5, 1000, 4096, 5000):
        whole = uniform_matrix(1 << (n - 1).bit_length() if sampler == "sobol" else n, 3,
                               np.random.default_rng(9), sampler)[:n]
        parts = np.vstack(list(uniform_chunks(n, 3, np.random.default_rng(9), sampler, chunk=1024)))
        assert np.array_equal(parts, whole)


def test_monte_carlo_results_do_not_depend_on_the_chunk_size() -> None:
    *_, problem = reference_problem()  # availability thresholds and dropped indicators: units without a composite
    a = run_monte_carlo(problem, 3000, np.random.default_rng(3), chunk=512)
    b = run_monte_carlo(problem, 3000, np.random.default_rng(3), chunk=4096)
    assert a.failures() == b.failures() and a.unranked() == b.unranked() and 0 < sum(a.unranked().values()) < 3000
    assert np.array_equal(a.ok, b.ok)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-13)  # BLAS may round the last bit by block size
    np.testing.assert_array_equal(rank_desc(a.scores, axis=1), rank_desc(b.scores, axis=1))
    assert np.array_equal(a.summary.rank_counts, b.summary.rank_counts)
    assert np.array_equal(a.summary.p_above, b.summary.p_above)
    ref = _reference_summary(a.scores, a.ok)
    assert np.array_equal(a.summary.rank_counts, ref["counts"])
    assert np.array_equal(a.summary.p_above, ref["p_above"])


# -- zero weights: a child weighted 0 in a sample takes no part in it (as in indicators.aggregate) ------------------
def _zero_some(tree: CompiledTree, W: np.ndarray, rng: np.random.Generator, share: float,
               keep: tuple[str, ...] = ()) -> np.ndarray:
    """Zero a random `share` of the weights, per sample; a sibling group left all zero (the engine refuses it) gets
    its weights back, except those of `keep` (set by the test)."""
    out = np.where(rng.random(W.shape) < share, 0.0, W)
    fw = tree.framework
    for parent in fw.aggregates:
        kids = [tree.slot_of[c] for c in fw.children(parent)]
        free = [tree.slot_of[c] for c in fw.children(parent) if c not in keep]
        dead = out[:, kids].sum(axis=1) == 0
        out[np.ix_(dead, free)] = W[np.ix_(dead, free)]
    return out


def _engine_agrees(fw, tree, X, W, default, overrides, thresholds, ev) -> int:  # type: ignore[no-untyped-def]
    """Every node of every sample equals aggregate_tree with that sample's weights; a domain error there is the same
    node's failed sample here. Returns the number of samples that scored (so a test can insist on some)."""
    order = node_order(fw)
    n_ind = len(fw.indicators)
    availability = {s.code: t for s, t in zip(tree.steps, thresholds, strict=True)}
    scored = 0
    for s in range(W.shape[0]):
        weights = dict(zip(tree.slots, W[s].tolist(), strict=True))
        try:
            ref = aggregate_tree(fw, X, weights, overrides, default=default, availability=availability)
        except AggregationError as e:
            assert ev.domain_step[s] >= 0, f"sample {s}: the engine fails at {e.node!r}, the batch scored it"
            assert tree.steps[ev.domain_step[s]].code == e.node
            continue
        assert ev.domain_step[s] == -1, f"sample {s}: failed at {tree.steps[ev.domain_step[s]].code!r}"
        assert ev.nodes is not None
        for code in fw.aggregates:
            np.testing.assert_allclose(ev.nodes[code][s], ref[:, order.index(code)], rtol=1e-12, atol=1e-12,
                                       err_msg=f"sample {s}, node {code}")
        np.testing.assert_allclose(ev.root[s], ref[:, n_ind + len(fw.aggregates) - 1], rtol=1e-12, atol=1e-12)
        scored += 1
    return scored


@pytest.mark.parametrize("method,bad", [
    (("gmean", {}), 0.0), (("gmean", {}), -3.0), (("hmean", {}), 0.0), (("hmean", {}), -3.0),
    (("pmean", {"p": -2.0}), 0.0), (("pmean", {"p": 0.5}), -3.0), (("pmean", {"p": -0.5, "shift": 1.0}), -1.0),
])
def test_zero_weight_child_outside_the_domain_takes_no_part(method: tuple[str, dict], bad: float) -> None:
    fw = two_sided(reference=True)
    tree = CompiledTree.build(fw)
    rng = np.random.default_rng(21)
    X = rng.uniform(1, 100, (16, len(fw.indicators)))
    X[::2, -1] = bad  # the reference-only indicator outside the domain for half the units
    X[3, :3] = bad  # supply_value (arithmetic mean, below) is `bad` for unit 3: an aggregate child outside the domain
    X[7, 5] = np.nan
    overrides: dict[str, tuple[str, dict]] = {"supply_value": ("amean", {})}
    W = rng.uniform(0.2, 2.0, (40, tree.n_slots))
    ref_slot, sv_slot = tree.slot_of["demand_value_ref"], tree.slot_of["supply_value"]
    W[2:, ref_slot] = 0.0  # samples 0 and 1 weight the reference: they must fail at demand_value
    W[0:2, ref_slot] = 1.0
    W[:, sv_slot] = np.where(np.arange(40) % 4 == 1, 1.5, 0.0)  # every 4th sample weights supply_value: fails
    W = _zero_some(tree, W, rng, 0.15, keep=("demand_value_ref", "supply_value"))  # zero weights per sample
    methods = tree.methods(overrides, method)
    ev = evaluate(tree, X, W, methods, keep_nodes=True)
    assert np.isfinite(ev.root[ev.domain_step < 0]).all()  # never a silent NaN
    codes = [s.code for s in tree.steps]
    expect = np.where(W[:, sv_slot] != 0, codes.index("supply"), -1)  # weighted children outside the domain fail
    expect = np.where(W[:, ref_slot] != 0, codes.index("demand_value"), expect)  # demand_value comes first
    assert np.array_equal(ev.domain_step, expect) and 0 < (expect < 0).sum() < 35
    assert _engine_agrees(fw, tree, X, W, method, overrides, [0.0] * len(tree.steps), ev) == (expect < 0).sum()
    # the root alone (no keep_nodes) is the same
    np.testing.assert_array_equal(evaluate(tree, X, W, methods).root, ev.root)


@pytest.mark.parametrize("method", [("amean", {}), ("gmean", {}), ("pmean", {"p": 2.0})])
def test_availability_share_counts_only_the_samples_weighted_children(method: tuple[str, dict]) -> None:
    fw = two_sided(reference=True)
    tree = CompiledTree.build(fw)
    rng = np.random.default_rng(33)
    X = rng.uniform(1, 100, (16, len(fw.indicators)))
    X[rng.random(X.shape) < 0.3] = np.nan
    # demand_value: two of its three weighted children missing, the reference present: 1/3 weighted (not 2/4)
    X[0, fw.indicators.index("demand_value_0")] = X[0, fw.indicators.index("demand_value_1")] = np.nan
    X[0, fw.indicators.index("demand_value_2")] = X[0, -1] = 50.0
    W = rng.uniform(0.2, 2.0, (60, tree.n_slots))
    W[:, tree.slot_of["demand_value_ref"]] = 0.0
    W = _zero_some(tree, W, rng, 0.25, keep=("demand_value_ref",))
    W[0] = tree.weight_vector()  # nominal weights
    for thr in (0.3, 0.5, 0.6, 0.75, 1.0):
        thresholds = [thr if i % 2 == 0 else 0.6 for i in range(len(tree.steps))]
        ev = evaluate(tree, X, W, tree.methods(None, method), thresholds, keep_nodes=True)
        assert _engine_agrees(fw, tree, X, W, method, None, thresholds, ev) == 60
        assert ev.nodes is not None
        assert np.isfinite(ev.nodes["demand_value"]).any() and np.isnan(ev.nodes["demand_value"]).any()
        if thresholds[tree.framework.aggregates.index("demand_value")] > 1 / 3:
            assert np.isnan(ev.nodes["demand_value"][0, 0])  # engine: too few weighted children present


def test_dropped_and_reference_indicators_equal_the_engine_score_per_sample() -> None:
    fw, X, model, problem = reference_problem()
    prepared = problem.tensors[(-1, True)]
    assert (prepared[:, -1] == 0).any() and np.nanmin(prepared[:, :-1]) >= 1
    assert not [i for i in problem.issues if i.factor == "aggregation"]  # the reference cannot fail a sample
    u = np.random.default_rng(8).random((len(fw.indicators) * 4, problem.n_columns))
    u[:, problem.factors[-1].columns[0]] = (np.arange(len(u)) % (len(fw.indicators) + 1) + 0.5) / (
        len(fw.indicators) + 1)  # every indicator dropped in turn, and none
    W, n_i, imp, a_i = problem.settings(u)
    assert (W[:, problem.tree.slot_of["demand_value_ref"]] == 0).all()
    scores, reasons = problem.evaluate_settings(W, n_i, imp, a_i)
    n_ok = n_below = 0
    for s in range(len(u)):
        res = score(fw, X, model.model_copy(update={"weights": dict(zip(problem.tree.slots, W[s], strict=True))}))
        ref = res.root_scores[0]
        n_below += bool(res.below_threshold.any())
        if np.isfinite(ref).all():
            assert reasons[s] == -1, problem.reason_labels[reasons[s]]
            np.testing.assert_allclose(scores[s], ref, rtol=1e-10, atol=1e-10)
            n_ok += 1
        else:  # the engine leaves a unit without a composite: a failed sample, counted with its reason
            assert reasons[s] >= 0 and np.isnan(scores[s]).all()
            assert "availability threshold" in problem.reason_labels[reasons[s]]
    assert len(u) // 2 < n_ok < len(u) and n_below > len(u) - n_ok  # some nodes below threshold, some composites
    mc = run_monte_carlo(problem, 2000, np.random.default_rng(1))
    # the Monte Carlo keeps those samples: the unit without a composite is unranked in them, the others ranked
    assert mc.failures() == {} and mc.summary.n_ok == 2000
    assert "d07" in mc.unranked() and 0 < mc.unranked()["d07"] < 1000


def test_dirichlet_noise_keeps_a_zero_weight_at_zero() -> None:
    fw, _, _, problem = reference_problem(drop=False, noise="dirichlet")
    u = np.full((3, problem.n_columns), 1 - 1e-13)  # the top of the Gamma inverse CDF, where a tiny alpha is > 0
    u[1] = 0.5
    W = problem.settings(u)[0]
    assert (W[:, problem.tree.slot_of["demand_value_ref"]] == 0).all()
    assert np.isfinite(W).all() and (W[:, problem.tree.slot_of["demand_value_0"]] > 0).all()


def test_progress_is_reported_per_chunk_and_an_exception_from_it_stops_the_run() -> None:
    """The app's cancel raises from the progress callback: the run must stop there, not after every sample."""
    fw = two_sided()
    problem = build_problem(UncertaintySpec(weight_noise=(WeightNoise(level=1),)), inputs_for(fw, raw_data(fw)))
    seen: list[float] = []
    run_monte_carlo(problem, 5000, np.random.default_rng(0), chunk=1024, progress=seen.append)
    assert seen == pytest.approx([1024 / 5000, 2048 / 5000, 3072 / 5000, 4096 / 5000, 1.0])

    class Stop(Exception):
        pass

    def stop(x: float) -> None:
        seen.append(x)
        raise Stop

    seen.clear()
    with pytest.raises(Stop):
        run_monte_carlo(problem, 5000, np.random.default_rng(0), chunk=1024, progress=stop)
    assert len(seen) == 1


def test_profile_availability_is_the_scoring_engines_in_the_monte_carlo() -> None:
    """A profile's two-thirds threshold on each dimension's indicators (written 0.667): 2 of 3 present is enough,
    and the sides/composite aggregate the dimensions present. The Monte Carlo's nominal composite equals the scoring
    engine's for every unit (it read the threshold for every node, and without the engine's slack, so 2 of 3 failed)."""
    fw = two_sided()
    X = raw_data(fw)
    X[3, fw.indicators.index("demand_value_0")] = np.nan  # 2 of 3 present in demand_value
    X[5, [fw.indicators.index(f"supply_value_{k}") for k in range(2)]] = np.nan  # 1 of 3: supply_value missing
    model = ModelSpec(availability=0.667, availability_nodes="dimensions")
    problem = build_problem(UncertaintySpec(samples=16, weight_noise=[]), inputs_for(fw, X, model))
    plan = build_plan(fw, model)
    prepared = inputs_for(fw, X, model).prepare(model)
    engine = plan.run(prepared, fw.weights()).values[:, plan.order.index(fw.root)]
    assert np.isfinite(engine).all() and has_composite(fw, model, prepared).all()
    nominal = problem.nominal_nodes()[fw.root]
    np.testing.assert_allclose(nominal, engine, atol=1e-9)
    assert model.node_availability(fw)["supply_value"] == 0.667 and model.node_availability(fw)["supply"] == 0.0


def test_passes_take_thousands_of_samples_when_a_sample_overflows_the_cache_anyway() -> None:
    """At 2,844 units one sample's scores take 23 KB: 512 samples (the old floor) overflow any cache, and every pass
    prepares each discrete combination's units x indicators matrix again. Such problems take large passes; small ones
    keep passes that fit the caches."""
    from indicators.uncertainty.montecarlo import auto_chunk

    fw = two_sided()
    spec = UncertaintySpec(weight_noise=(WeightNoise(level=1),),
                           normalisation=(MethodSpec(name="minmax", params={"l": 1, "u": 100}),
                                          MethodSpec(name="zscore", params={"m": 50, "s": 10})))
    many = build_problem(spec, inputs_for(fw, raw_data(fw, n_units=2844)))
    few = build_problem(spec, inputs_for(fw, raw_data(fw)))
    assert auto_chunk(many) >= 2048 and 2048 * 8 * len(many.units) <= 64 << 20
    assert auto_chunk(few) == 4096


def test_the_rank_table_reads_p_top1_off_the_histogram_not_the_cumulative_table(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """p_top1 is the histogram's first column; the U x U cumulative table (p_rank_at_most) was built for it once per
    stored summary (8 million cells at 2,844 units, nine summaries a refresh)."""
    from indicators.ranking import RankSummary
    from indicators.uncertainty.montecarlo import rank_table

    *_, problem = reference_problem()
    res = run_monte_carlo(problem, 512, np.random.default_rng(3))
    expected = res.summary.p_rank_at_most[:, 0]

    def refuse(self: RankSummary) -> np.ndarray:
        raise AssertionError("the cumulative rank table was built")

    monkeypatch.setattr(RankSummary, "p_rank_at_most", property(refuse))
    table = rank_table(res)
    order = {u: i for i, u in enumerate(res.units)}
    got = np.array([p for _, p in sorted(zip(table["unit"], table["p_top1"]), key=lambda r: order[r[0]])])
    assert np.array_equal(got, expected)
