"""Quarterly resident survey waves: platform use (~95%), reasons (about a third voluntary), satisfaction, skill."""

from __future__ import annotations

import numpy as np
import polars as pl

from etl.demo.calendar import DAY_S, Window
from etl.demo.columns import col, dt
from etl.demo.districts import Profiles

_SCHEMA = {"wave": pl.Utf8, "surveyed_on": pl.Date, "district_code": pl.Utf8, "weight": pl.Float64, "age": pl.Int64,
           "uses_platform": pl.Boolean, "reason_for_use": pl.Utf8, "csat": pl.Int64, "trust": pl.Int64,
           "ease": pl.Int64, "digital_skill": pl.Int64, "internet_access": pl.Boolean}


def waves(window: Window) -> list[tuple[str, np.ndarray, float]]:
    """(wave label, days of fieldwork, window position): a quarter is surveyed in its middle month, if in the window."""
    out = []
    for m in window.months:
        month_no = int(m.label[5:7])
        if month_no % 3 == 2:
            out.append((f"{m.label[:4]}Q{(month_no - 1) // 3 + 1}", m.days, window.position(m)))
    return out


def likert(rng: np.random.Generator, mean: np.ndarray) -> np.ndarray:
    """1–5 answers centred on `mean` (a 1–5 number per respondent)."""
    return np.clip(np.round(mean + rng.normal(0, 0.8, len(mean))), 1, 5).astype(np.int64)


def _access(wave: str, age: np.ndarray, uses: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Smartphone or home internet (接入), from a generator of its own so the other columns' draws do not move.

    Calibration: CNNIC's 52nd statistical report (2023) counts about 140 million internet users aged 60+, roughly
    half of China's 60+ population; Shanghai is well above the national level and the source study's respondents
    use the platform at 95.3%. So: every platform user has access; of the others, most under 60 and about half of
    the 60–69 and a third of the 70+ have it, a little more in districts with better demand-side profiles."""
    g = np.random.default_rng([int(wave[:4]), int(wave[-1]), len(age), 18])
    p = np.select([age < 60, age < 70], [0.9, 0.5], 0.33) + 0.05 * demand
    return uses | (g.random(len(age)) < np.clip(p, 0.0, 1.0))


def make_survey(rng: np.random.Generator, window: Window, profiles: Profiles, scale: float) -> pl.DataFrame:
    """All survey responses of the window; sample size per district and wave grows gently with scale."""
    per = int(round(profiles.density.survey_per_wave * float(np.clip(scale, 0.4, 2.0))))
    frames = []
    for wave, days, t in waves(window):
        nd = len(profiles.codes)
        counts = rng.poisson(per, nd)
        dist = np.repeat(np.arange(nd), counts)
        n = len(dist)
        dd, s = profiles.demand_at(t)[dist], profiles.supply_at(t)[dist]
        old_share = (profiles.pop_60plus / profiles.population)[dist]
        old = rng.random(n) < old_share
        age = np.where(old, 60 + np.minimum(rng.exponential(9, n), 45), rng.uniform(18, 60, n)).astype(np.int64)
        p_use = np.select([age < 60, age < 70], [0.975, 0.90], 0.82)
        uses = rng.random(n) < p_use
        # The paper: 95.3% use it, 67.3% of users because of social norms or organisational pressure.
        p_need = np.clip(0.327 + 0.07 * dd + 0.03 * t, 0.2, 0.45)
        u = rng.random(n)
        reason = np.where(u < p_need, "personal_need", np.where(u < p_need + (1 - p_need) * 0.58, "social_norm",
                                                                  "org_pressure"))
        voluntary = reason == "personal_need"
        base = 3.6 + 0.35 * dd + 0.1 * s + 0.25 * voluntary
        skill = likert(rng, 4.3 - 0.045 * np.maximum(age - 35, 0))
        csat = likert(rng, base)
        trust = likert(rng, base - 0.1 + 0.1 * (age < 60))
        ease = likert(rng, base - 0.1 + 0.15 * (skill - 3))
        miss = rng.random((4, n)) < 0.03  # item non-response
        day = days.astype(np.int64)[rng.integers(0, len(days), n)]
        access = _access(wave, age, uses, dd)
        frames.append(
            pl.DataFrame(
                [
                    col("wave", np.full(n, wave), pl.Utf8),
                    dt("surveyed_on", day * DAY_S).cast(pl.Date),
                    col("district_code", profiles.codes[dist], pl.Utf8),
                    col("weight", np.round(rng.lognormal(0, 0.3, n), 3), pl.Float64),
                    col("age", age, pl.Int64),
                    col("uses_platform", uses, pl.Boolean),
                    col("reason_for_use", reason, pl.Utf8, null=~uses),
                    col("csat", csat, pl.Int64, null=~uses | miss[0]),
                    col("trust", trust, pl.Int64, null=miss[1]),
                    col("ease", ease, pl.Int64, null=~uses | miss[2]),
                    col("digital_skill", skill, pl.Int64, null=miss[3]),
                    col("internet_access", access, pl.Boolean),
                ]
            ).sort("surveyed_on", "district_code", maintain_order=True)
        )
    out = pl.concat(frames) if frames else pl.DataFrame(schema=_SCHEMA)
    n = len(out)
    rid = pl.select(pl.concat_str(pl.lit("S"), out["wave"], pl.lit("-"),
                                  pl.Series(np.arange(1, n + 1)).cast(pl.Utf8).str.zfill(6))).to_series()
    return out.insert_column(0, rid.alias("response_id"))
