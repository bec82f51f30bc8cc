"""The one rank rule of the project, and rank summaries over many samples (exact integer tallies, chunk by chunk).

The rule (`rank_desc`), used by the stored runs (indicators.outputs → `scores.rank`), the app's live what-if and the
uncertainty analyses alike: rank 1 = highest score, tied scores share the best (minimum) rank, i.e.
rank(u) = 1 + #{v with a score : score_v > score_u}. A missing score (NaN or otherwise non-finite) is unranked: its
rank is missing (NaN here, NULL in the `scores` table) and it does not count against anyone else's rank, so the
ranked units keep ranks 1..k whatever the others lack.

`ranks_desc` is the same rule, vectorised for Monte Carlo samples: it takes sample rows that are all finite (a
failed sample must be left out by the caller, it raises RankError otherwise) and returns small integers.
`RankTally` also takes sample rows in which some units have no score (no composite under that sample's choices, as
COINr leaves them NA): such a unit is unranked in that sample, the others are ranked among themselves by the same
rule, and every per-unit summary is over the samples in which the unit has a rank. For up to PAIRWISE_MAX_UNITS units that count is cheaper than sorting each
row (numpy sorts row by row with a per-row overhead), and the same comparisons give the pairwise P(A above B) for
free. Every Monte Carlo summary is then an integer count (rank histogram, pairwise wins), so samples can be tallied chunk by
chunk (bounded memory, data in cache) and the result is exact whatever the chunking.
"""

from __future__ import annotations

import warnings

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


class RankError(ValueError):
    """Ranks were asked of scores that cannot be ranked (non-finite values in a sample meant to be successful)."""


PAIRWISE_MAX_UNITS = 128  # above this the (U, U) comparisons per sample cost more than a sort: rank by sorting
_COMPARE_BYTES = 1 << 20  # size of one chunk's (U, U, c) comparison tensor: about half of a core's L2 cache


def _compare_chunk(n_units: int) -> int:
    """Samples per chunk of the comparison tensor (a multiple of 64, at least 64)."""
    return max(64, _COMPARE_BYTES // (n_units * n_units) // 64 * 64)


def _check_finite(scores: np.ndarray) -> None:
    if not np.isfinite(scores).all():
        s, u = np.argwhere(~np.isfinite(scores))[0]
        raise RankError(f"ranks need finite scores; sample row {s}, unit column {u} is {scores[s, u]} "
                              f"(failed samples must be left out)")


def rank_desc(values: np.ndarray, axis: int = -1) -> np.ndarray:
    """THE rank rule along `axis` (floats): 1 = highest, ties share the minimum rank, a missing score is unranked.

    A NaN (or other non-finite) score gets rank NaN and does not count against the others (see the module doc).
    """
    v = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    missing = ~np.isfinite(v)
    key = np.where(missing, np.inf, -v)  # missing scores sort after every real one, so they push no rank down
    order = np.argsort(key, axis=-1, kind="stable")
    s = np.take_along_axis(key, order, axis=-1)
    is_new = np.ones(s.shape, dtype=bool)
    is_new[..., 1:] = s[..., 1:] != s[..., :-1]
    pos = np.broadcast_to(np.arange(v.shape[-1]), s.shape)
    first = np.maximum.accumulate(np.where(is_new, pos, 0), axis=-1)  # start of each run of equal values
    ranks = np.empty(v.shape)
    np.put_along_axis(ranks, order, first + 1.0, axis=-1)
    ranks[missing] = np.nan
    return np.moveaxis(ranks, -1, axis)


def ranks_desc_sorted(scores: np.ndarray) -> np.ndarray:
    """The reference ranking by sorting each row (any unit count): rank 1 = highest, ties share the minimum rank."""
    S, U = scores.shape
    # any sort will do: tied scores all get the start of their run, whatever their order within it (quicksort is
    # 4x faster than the stable sort at 2,844 units)
    order = np.argsort(-scores, axis=1)
    srt = np.take_along_axis(scores, order, axis=1)
    dtype = np.int16 if U < 32_000 else np.int32  # small integers: the pairwise passes stream less memory
    tie = srt[:, 1:] == srt[:, :-1]
    if tie.any():
        new = np.ones((S, U), dtype=bool)
        new[:, 1:] = ~tie
        start = np.maximum.accumulate(np.where(new, np.arange(U)[None, :], 0), axis=1)
        ranks = (start + 1).astype(dtype)
    else:  # no ties (the rule for floats from a continuous design): position + 1
        ranks = np.broadcast_to(np.arange(1, U + 1, dtype=dtype), (S, U))
    out = np.empty((S, U), dtype=dtype)
    np.put_along_axis(out, order, ranks, axis=1)
    return out


def _above(xt: np.ndarray, g: np.ndarray, above: np.ndarray) -> None:
    """g[a, b, s] = (score_a > score_b) in sample s; above[b, s] = units strictly above b = rank - 1.

    Scores come unit-major (U x c) so every comparison and sum runs along a long contiguous sample axis.
    """
    np.greater(xt[:, None, :], xt[None, :, :], out=g)
    np.add.reduce(g.view(np.uint8), axis=0, out=above)  # at most U - 1 < 256: uint8 cannot overflow


def ranks_desc(scores: np.ndarray) -> np.ndarray:
    """`rank_desc(scores, axis=1)` for finite sample rows (S, U), as small integers: the Monte Carlo form.

    Rows must be finite (RankError otherwise): a failed sample is left out, never ranked with holes.
    """
    scores = np.asarray(scores, dtype=float)
    _check_finite(scores)
    S, U = scores.shape
    if U > PAIRWISE_MAX_UNITS or S == 0:
        return ranks_desc_sorted(scores)
    out = np.empty((S, U), dtype=np.int16)
    c = min(_compare_chunk(U), S)
    g, above = np.empty((U, U, c), dtype=bool), np.empty((U, c), dtype=np.uint8)
    for start in range(0, S, c):
        k = min(c, S - start)
        _above(np.ascontiguousarray(scores[start : start + k].T), g[:, :, :k], above[:, :k])
        np.add(above[:, :k].T, 1, out=out[start : start + k])
    return out


class RankTally:
    """Integer tallies over successful samples, added chunk by chunk: rank histogram and pairwise wins.

    `wins[a, b]` counts samples with score_a > score_b (so rank_a < rank_b); `rank_counts[u, r]` samples where unit
    u has rank r + 1. The comparison tensor's 0/1 entries are first summed lane-wise in uint8 (vectorised adds of
    whole chunks) and folded into the int64 totals before a lane could pass 255.
    """

    def __init__(self, n_units: int, pairwise: bool | Sequence[int] | None = None) -> None:
        """`pairwise`: True tallies P(A above B) for every pair, False for none, a list of unit indices for those
        units against all (the rows a page asks about); None (default) = every pair up to PAIRWISE_MAX_UNITS units,
        none above (the U x U tally was 84% of a 2,844-unit run and nobody reads 8 million pairs)."""
        self.n_units = n_units
        self.n = 0
        if pairwise is None:
            pairwise = n_units <= PAIRWISE_MAX_UNITS
        self.pairwise_rows: np.ndarray = (np.arange(n_units) if pairwise is True else
                                          np.zeros(0, dtype=int) if pairwise is False else
                                          np.unique(np.asarray(pairwise, dtype=int)))
        if self.pairwise_rows.size and not (0 <= self.pairwise_rows[0] and self.pairwise_rows[-1] < n_units):
            raise RankError(f"pairwise unit indices must lie in 0..{n_units - 1}")
        self.rank_counts = np.zeros((n_units, n_units), dtype=np.int64)
        self._wins = np.zeros((n_units, n_units), dtype=np.int64)
        self._offsets = (np.arange(n_units) * n_units)[:, None]
        c = _compare_chunk(n_units)
        small = n_units <= PAIRWISE_MAX_UNITS
        self._g = np.empty((n_units, n_units, c) if small else (0, 0, 0), dtype=bool)
        self._above = np.empty((n_units, c) if small else (0, 0), dtype=np.uint8)
        self._lanes = np.zeros((n_units, n_units, c) if small else (0, 0, 0), dtype=np.uint8)
        self._pending = 0
        # per unit: tallied samples in which it had no score (unranked there); per pairwise row: samples in which
        # the unit or the other one had none (allocated at the first such sample)
        self.unranked = np.zeros(n_units, dtype=np.int64)
        self._pair_absent: np.ndarray | None = None

    @property
    def n_ranked(self) -> np.ndarray:
        """Per unit: tallied samples in which it has a rank."""
        return self.n - self.unranked

    def add(self, scores: np.ndarray) -> None:
        """Tally successful samples (rows). A non-finite entry is a unit without a score in that sample: it is
        unranked there and the sample's other units are ranked among themselves (the module's rank rule)."""
        scores = np.asarray(scores, dtype=float)
        present = np.isfinite(scores)
        if not present.all():
            full = present.all(axis=1)
            if full.any():
                self.add(scores[full])
            self._add_partial(scores[~full], present[~full])
            return
        self.n += scores.shape[0]
        if self.n_units > PAIRWISE_MAX_UNITS or self.pairwise_rows.size < self.n_units:
            self._add_sorted(scores)
            return
        c = self._g.shape[2]
        for start in range(0, scores.shape[0], c):
            k = min(c, scores.shape[0] - start)
            g, above = self._g[:, :, :k], self._above[:, :k]
            xt = scores[start : start + k].T  # unit-major; no copy when the scores are stored that way
            _above(xt if xt.strides[1] == xt.itemsize else np.ascontiguousarray(xt), g, above)
            self._histogram(above)
            lanes = self._lanes[:, :, :k]
            np.add(lanes, g.view(np.uint8), out=lanes)
            self._pending += 1
            if self._pending == 255:
                self._fold()

    def _histogram(self, rank0: np.ndarray) -> None:
        """rank0: (U, c) zero-based ranks -> rank_counts, by an unbuffered scatter-add (numpy's np.add.at fast path:
        O(entries); a bincount with U x U bins allocated and added a 64 MB table per chunk at 2,844 units, half of
        the run)."""
        np.add.at(self.rank_counts.reshape(-1), (rank0 + self._offsets).ravel(), 1)

    def _add_sorted(self, scores: np.ndarray) -> None:
        """Many units (or only some pairwise rows): rank by sorting, then one pass over the small integer ranks per
        unit whose pairwise row is asked for (memory O(c U))."""
        r = ranks_desc_sorted(scores)
        self._histogram((r.T - 1).astype(np.intp))
        for a in self.pairwise_rows:
            self._wins[a] += np.count_nonzero(r[:, a : a + 1] < r, axis=0)

    def _add_partial(self, scores: np.ndarray, present: np.ndarray) -> None:
        """Rows with some units unscored: ranks with the missing ones put below every scored unit (-inf: the rank
        rule counts only units strictly above, so a scored unit's rank is the same as among the scored alone),
        histogram of the scored entries only, pairwise wins among units both scored (a comparison with NaN is
        false) and their counts."""
        self.n += scores.shape[0]
        self.unranked += np.count_nonzero(~present, axis=0)
        r = ranks_desc_sorted(np.where(present, scores, -np.inf))
        s_i, u_i = np.nonzero(present)
        np.add.at(self.rank_counts.reshape(-1), u_i * self.n_units + r[s_i, u_i].astype(np.intp) - 1, 1)
        if self.pairwise_rows.size:
            if self._pair_absent is None:
                self._pair_absent = np.zeros((self.n_units, self.n_units), dtype=np.int64)
            for a in self.pairwise_rows:
                self._wins[a] += np.count_nonzero(scores[:, a : a + 1] > scores, axis=0)
                self._pair_absent[a] += np.count_nonzero(~present[:, a : a + 1] | ~present, axis=0)

    def _fold(self) -> None:
        self._wins += self._lanes.sum(axis=2, dtype=np.int64)
        self._lanes[...] = 0
        self._pending = 0

    @property
    def wins(self) -> np.ndarray:
        if self._pending:
            self._fold()
        return self._wins

    @property
    def p_above(self) -> np.ndarray:
        """P(score_a > score_b) over the tallied samples in which both have a score; NaN in the rows not tallied
        (see `pairwise`) and for pairs never both scored."""
        if self._pair_absent is not None:
            rows = self.pairwise_rows
            both = self.n - self._pair_absent[rows]
            p = np.full((self.n_units, self.n_units), np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                p[rows] = np.where(both > 0, self.wins[rows] / np.maximum(both, 1), np.nan)
            return p
        if self.pairwise_rows.size == self.n_units:
            return self.wins / max(self.n, 1)
        p = np.full((self.n_units, self.n_units), np.nan)  # (the U x U division of every row is not done for none)
        p[self.pairwise_rows] = self.wins[self.pairwise_rows] / max(self.n, 1)
        return p


def rank_quantile(counts: np.ndarray, q: float) -> np.ndarray:
    """Per unit, the smallest rank r with P(rank <= r) >= q, from a (U x U) rank-count table (inverted CDF)."""
    return rank_quantiles(counts, (q,))[0]


def rank_quantiles(counts: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
    """rank_quantile for several levels from one cumulative table (one U x U pass, not one per level)."""
    cum = np.cumsum(counts, axis=1)
    total = np.maximum(cum[:, -1:], 1).astype(float)
    # smallest r with cum_r >= q * total: count the ranks whose cum is still below it (cum is non-decreasing)
    return [(cum < (q - 1e-12) * total).sum(axis=1) + 1 for q in qs]


@dataclass(frozen=True)
class RankSummary:
    """Per-unit rank and score distribution over the successful samples, and pairwise dominance."""

    units: tuple[str, ...]
    n_ok: int
    rank_counts: np.ndarray  # (U, U): samples in which unit u had rank r+1
    median_rank: np.ndarray
    rank_low: np.ndarray  # 5% quantile (best end of the interval)
    rank_high: np.ndarray  # 95% quantile
    mean_rank: np.ndarray
    score_quantiles: np.ndarray  # (len(qs), U)
    quantile_levels: tuple[float, ...]
    p_above: np.ndarray  # (U, U): P(score_a > score_b); NaN rows where the pairwise tally was not asked for
    # (U,): samples in which each unit has a rank (n_ok for all when every unit was scored in every sample)
    n_ranked: np.ndarray | None = None

    @property
    def ranked(self) -> np.ndarray:
        """Per unit: the successful samples in which it has a rank (the denominators of its summaries)."""
        return np.full(len(self.units), self.n_ok, dtype=np.int64) if self.n_ranked is None else self.n_ranked

    @property
    def p_rank_at_most(self) -> np.ndarray:
        """(U, U): P(rank <= k) for k = 1..U (column k-1), over the samples in which the unit has a rank."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.cumsum(self.rank_counts, axis=1) / np.where(self.ranked > 0, self.ranked, np.nan)[:, None]


def score_quantiles(good: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """np.quantile(good, qs, axis=0), exactly: sort each unit's column once (numpy's vectorised sort beats a
    partition at several order statistics), then numpy's default (linear) interpolation read off the sorted columns
    (np.quantile would copy and select again per level). A unit without a score in some samples (NaN): the
    quantiles of the samples in which it has one (np.nanquantile; NaN when it has none)."""
    if np.isnan(good).any():
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a unit never scored: all-NaN column -> NaN
            return np.atleast_2d(np.nanquantile(good, list(qs), axis=0))
    srt = np.sort(good.T, axis=1)
    n = srt.shape[1]
    out = np.empty((len(qs), srt.shape[0]))
    for i, q in enumerate(qs):
        pos = q * (n - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, n - 1)
        frac = pos - lo
        # numpy's _lerp, including its switch at frac >= 0.5, so the result is bit-identical to np.quantile
        a, b = srt[:, lo], srt[:, hi]
        out[i] = b - (b - a) * (1 - frac) if frac >= 0.5 else a + (b - a) * frac
    return out


def summary_from_tally(
    units: Sequence[str], tally: RankTally, good: np.ndarray,
    interval: tuple[float, float] = (0.05, 0.95), qs: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
) -> RankSummary:
    """The rank summary from a tally and the successful samples' scores (rows; for the score quantiles)."""
    U, n = tally.n_units, tally.n
    if n == 0:
        nan = np.full(U, np.nan)
        return RankSummary(tuple(units), 0, np.zeros((U, U), dtype=np.int64), nan, nan, nan, nan,
                           np.full((len(qs), U), np.nan), tuple(qs), np.full((U, U), np.nan))
    counts = tally.rank_counts
    ranked = tally.n_ranked
    with np.errstate(invalid="ignore", divide="ignore"):  # exact integer sum, as ranks.mean() gives
        mean_rank = (counts @ np.arange(1, U + 1, dtype=np.int64)) / np.where(ranked > 0, ranked, np.nan)
    median, low, high = (np.where(ranked > 0, r.astype(float), np.nan)
                         for r in rank_quantiles(counts, (0.5, *interval)))
    return RankSummary(
        tuple(units), n, counts, median, low, high,
        mean_rank, score_quantiles(good, qs), tuple(qs), tally.p_above, ranked.copy(),
    )


def summarise(
    units: Sequence[str], scores: np.ndarray, ok: np.ndarray,
    interval: tuple[float, float] = (0.05, 0.95), qs: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95),
    pairwise: bool | Sequence[int] | None = True,
) -> RankSummary:
    """Rank and score summaries over the rows flagged ok (failed rows are counted elsewhere, never silently used).
    `pairwise` as RankTally's (default: every pair)."""
    ok = np.asarray(ok, dtype=bool)
    good = np.asarray(scores, dtype=float)
    good = good if ok.all() else good[ok]
    tally = RankTally(good.shape[1], pairwise)
    tally.add(good)
    return summary_from_tally(units, tally, good, interval, qs)
