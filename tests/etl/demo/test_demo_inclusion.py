"""The demo's issue-18 columns: internet access by age (survey) and e-licence materials (cases), calibrated and
drawn from generators of their own (so the other columns of a seed do not move)."""

from __future__ import annotations

import numpy as np

from etl.demo.cases import _elicence
from etl.demo.survey import _access


def test_access_follows_use_and_falls_with_age() -> None:
    rng = np.random.default_rng(1)
    n = 60_000
    age = rng.integers(18, 95, n)
    uses = rng.random(n) < np.select([age < 60, age < 70], [0.975, 0.90], 0.82)
    got = _access("2025Q3", age, uses, np.zeros(n))
    assert got[uses].all()  # a platform user has access
    share = {band: got[m].mean() for band, m in (("<60", age < 60), ("60-69", (age >= 60) & (age < 70)),
                                                   ("70+", age >= 70))}
    assert share["<60"] > share["60-69"] > share["70+"]
    # non-users: about half of the 60-69 and a third of the 70+ (CNNIC: about half of China's 60+ online)
    assert abs(got[~uses & (age >= 60) & (age < 70)].mean() - 0.5) < 0.05
    assert abs(got[~uses & (age >= 70)].mean() - 0.33) < 0.05
    assert (got == _access("2025Q3", age, uses, np.zeros(n))).all()  # deterministic


def test_elicence_is_part_of_the_shared_materials() -> None:
    rng = np.random.default_rng(2)
    via_share = rng.integers(0, 6, 50_000)
    got = _elicence("2025-07", via_share, np.zeros(len(via_share)), 0.5)
    assert (got >= 0).all() and (got <= via_share).all()
    assert abs(got.sum() / via_share.sum() - 0.525) < 0.01  # a little over half of the substituted materials
    assert (got == _elicence("2025-07", via_share, np.zeros(len(via_share)), 0.5)).all()
