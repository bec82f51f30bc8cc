"""The service-item catalogue of each district, with reform attributes driven by the district's supply strength."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from etl.demo.calendar import DAY_S, Window
from etl.demo.districts import Profiles

# (base name, department, for enterprises, popularity 0–1, legal time limit in working days; 0 = on the spot)
_BASE: tuple[tuple[str, str, bool, float, int], ...] = (
    ("居民身份证申领", "公安分局", False, 0.9, 20), ("户口迁移登记", "公安分局", False, 0.6, 20),
    ("居住证办理", "公安分局", False, 0.9, 15), ("出入境证件申请", "公安分局", False, 0.7, 20),
    ("机动车驾驶证换证", "公安分局", False, 0.6, 10), ("出生医学证明办理", "卫生健康委", False, 0.5, 10),
    ("生育登记", "卫生健康委", False, 0.6, 5), ("结婚登记", "民政局", False, 0.5, 0),
    ("婚姻登记记录证明", "民政局", False, 0.3, 5), ("养老服务补贴申请", "民政局", False, 0.5, 20),
    ("最低生活保障申请", "民政局", False, 0.3, 30), ("残疾人两项补贴", "残联", False, 0.3, 20),
    ("社会保障卡申领", "人力资源社会保障局", False, 0.9, 15), ("就业登记", "人力资源社会保障局", False, 0.5, 5),
    ("失业保险金申领", "人力资源社会保障局", False, 0.5, 15), ("职工退休手续办理", "人力资源社会保障局", False, 0.5, 20),
    ("医保参保登记", "医疗保障局", False, 0.8, 5), ("医疗费用零星报销", "医疗保障局", False, 0.7, 20),
    ("长期护理保险评估申请", "医疗保障局", False, 0.4, 20), ("住房公积金提取", "公积金中心", False, 0.9, 5),
    ("公租房申请", "房屋管理局", False, 0.3, 30), ("不动产登记", "规划资源局", False, 0.8, 5),
    ("不动产权籍查询", "规划资源局", False, 0.5, 0), ("义务教育入学登记", "教育局", False, 0.6, 10),
    ("学生资助申请", "教育局", False, 0.3, 15), ("退役军人优待证申领", "退役军人事务局", False, 0.3, 20),
    ("营业执照设立登记", "市场监管局", True, 0.9, 5), ("营业执照变更登记", "市场监管局", True, 0.8, 5),
    ("企业注销登记", "市场监管局", True, 0.5, 10), ("食品经营许可", "市场监管局", True, 0.7, 20),
    ("个体工商户登记", "市场监管局", True, 0.6, 3), ("药品零售许可", "市场监管局", True, 0.3, 20),
    ("建设工程规划许可", "规划资源局", True, 0.4, 20), ("施工许可证核发", "建设管理委", True, 0.4, 15),
    ("排水许可", "水务局", True, 0.3, 20), ("城市道路占用许可", "绿化市容局", True, 0.3, 20),
    ("户外广告设施设置许可", "绿化市容局", True, 0.3, 20), ("税务登记信息确认", "税务局", True, 0.8, 0),
    ("发票申领", "税务局", True, 0.9, 0), ("人力资源服务许可", "人力资源社会保障局", True, 0.2, 20),
    ("消防安全检查", "消防救援支队", True, 0.4, 10), ("环境影响评价审批", "生态环境局", True, 0.3, 30),
    ("道路运输经营许可", "交通委", True, 0.3, 20), ("文化经营许可", "文化旅游局", True, 0.2, 20),
)
_VARIANTS = ("", "（变更）", "（补领）", "（注销）", "（延续）", "（首次）", "（换领）", "（备案）")
# 一件事 bundles (city-wide ids): which base names belong to each.
_BUNDLES: dict[str, tuple[str, ...]] = {
    "OT-01-出生": ("出生医学证明办理", "生育登记", "医保参保登记", "社会保障卡申领"),
    "OT-02-开办企业": ("营业执照设立登记", "税务登记信息确认", "发票申领"),
    "OT-03-退休": ("职工退休手续办理", "医保参保登记", "住房公积金提取"),
    "OT-04-开餐馆": ("食品经营许可", "户外广告设施设置许可", "消防安全检查"),
    "OT-05-入学": ("义务教育入学登记", "居住证办理"),
    "OT-06-二手房交易": ("不动产登记", "不动产权籍查询", "住房公积金提取"),
    "OT-07-残疾人服务": ("残疾人两项补贴", "长期护理保险评估申请"),
    "OT-08-企业注销": ("企业注销登记",),
}
_BUNDLE_OF = {name: b for b, names in _BUNDLES.items() for name in names}
_DEPTH = np.array(["full", "partial", "none"])


@dataclass(frozen=True)
class Catalogue:
    """All items of all districts; arrays are indexed by the global item index (row of `frame`)."""

    frame: pl.DataFrame  # the service_item table
    district_idx: np.ndarray
    popularity: np.ndarray  # relative case volume
    enterprise: np.ndarray
    online_from_day: np.ndarray  # day number (since 1970) from which the item can be done online; huge when never
    depth: np.ndarray  # 0 full, 1 partial, 2 none
    immediate: np.ndarray  # 即办
    promised_days: np.ndarray
    required_visits: np.ndarray
    materials_required: np.ndarray
    bundled: np.ndarray
    offsets: np.ndarray  # items of district d are rows offsets[d]:offsets[d+1]


def catalogue_code(base: int, variant: int) -> str:
    """The city-wide catalogue code of a (base item, variant): the same in every district, e.g. SHC-0100."""
    return f"SHC-{base + 1:02d}{variant:02d}"


# How often a district's entry of a catalogue item keeps the city norm (its materials and promised limit), by
# supply strength s: 0.6 + 0.12·s ± 0.1 (district effect), within 0.3–0.92. No published figure: the study reports
# that the same item is handled differently by district and even by hall; this makes roughly a quarter to a half of
# the entries depart from the norm, the stronger reformers somewhat less (their changes become the city's norm).
_STD_BASE, _STD_SUPPLY, _STD_SD = 0.6, 0.12, 0.1


def make_catalogue(rng: np.random.Generator, profiles: Profiles, window: Window) -> Catalogue:
    """150–300 items per district; strong-supply districts onboard more, deeper, with fewer materials."""
    start_day = int(window.start.astype(np.int64))
    end_day = int(window.end_exclusive.astype(np.int64)) - 1
    combos = [(b, v) for b in range(len(_BASE)) for v in range(len(_VARIANTS))]
    # The city-wide norm of every catalogue item (an average district, s = 0), drawn from a child generator so the
    # main stream (and every other table) stays as it was before the norms existed.
    norm_rng = rng.spawn(1)[0]
    norm = _city_norms(norm_rng, combos)
    std_level = np.clip(_STD_BASE + _STD_SUPPLY * profiles.supply + norm_rng.normal(0, _STD_SD, len(profiles.codes)),
                        0.3, 0.92)
    parts: list[pl.DataFrame] = []
    meta: dict[str, list[np.ndarray]] = {k: [] for k in ("district_idx", "popularity", "enterprise", "online_from",
                                                         "depth", "bundled")}
    offsets = [0]
    for d, code in enumerate(profiles.codes):
        s = float(profiles.supply[d])
        lo, hi = profiles.density.items
        n = int(np.clip(round(lo + (hi - lo) * (profiles.population[d] / profiles.population.max()) ** 0.5
                              + rng.normal(0, 15 * (hi - lo) / 150)), lo, hi))
        pick = np.sort(rng.choice(len(combos), size=n, replace=False))
        base = np.array([combos[k][0] for k in pick])
        var = np.array([combos[k][1] for k in pick])
        names = [_BASE[b][0] + _VARIANTS[v] for b, v in zip(base, var, strict=True)]
        dept = [_BASE[b][1] for b in base]
        enterprise = np.array([_BASE[b][2] for b in base])
        pop_base = np.array([_BASE[b][3] for b in base])
        legal = np.array([_BASE[b][4] for b in base], dtype=np.int64)
        legal = np.where(var == 0, legal, np.maximum(legal - 3 * (legal > 5), 0))
        popularity = pop_base * np.where(var == 0, 1.0, 0.25) * rng.lognormal(0, 0.6, n)
        high_freq = popularity >= np.quantile(popularity, 0.8)
        in_basic = rng.random(n) < 0.88
        p_onb = np.clip(0.93 + 0.05 * s + 0.04 * high_freq, 0.8, 0.998)
        onboarded = rng.random(n) < np.where(in_basic, p_onb, p_onb - 0.1)
        # Most items were onboarded before the window (2018 onwards); the rest arrive during it, so coverage grows.
        early = rng.random(n) < np.clip(0.8 + 0.1 * s + 0.1 * high_freq, 0.6, 0.97)
        before = rng.integers(int(np.datetime64("2018-10-01").astype(np.int64)), start_day, n)
        during = rng.integers(start_day, end_day + 1, n)
        onb_day = np.where(early, before, during)
        immediate = (legal == 0) | (rng.random(n) < np.clip(0.18 + 0.15 * s, 0.02, 0.5))
        promised = np.where(immediate, 0, np.maximum(np.round(legal * rng.uniform(0.3 - 0.15 * s, 0.85 - 0.2 * s, n)),
                                                      1)).astype(np.int64)
        legal = np.maximum(legal, promised)
        depth = rng.choice(3, size=n, p=_probs([0.62 + 0.2 * s, 0.32 - 0.12 * s, 0.06 - 0.05 * s]))
        depth = np.where(onboarded, depth, 2)
        mobile = (depth < 2) & (rng.random(n) < np.clip(0.7 + 0.2 * s, 0.3, 0.98))
        baseline = rng.integers(2, 12, n)
        required = np.round(baseline * rng.uniform(0.25 - 0.1 * s, 0.8 - 0.2 * s, n)).astype(np.int64)
        required = np.where(rng.random(n) < np.clip(0.12 + 0.12 * s, 0.0, 0.4), 0, np.clip(required, 0, baseline))
        # Entries that keep the city norm take its materials and promised limit (and so its 即办/承诺 kind).
        at_norm = norm_rng.random(n) < std_level[d]
        immediate = np.where(at_norm, norm["immediate"][pick], immediate)
        promised = np.where(at_norm, norm["promised"][pick], promised)
        legal = np.maximum(legal, promised)
        baseline = np.where(at_norm, norm["baseline"][pick], baseline)
        required = np.where(at_norm, norm["required"][pick], required)
        visits = np.where(depth == 0, 0, np.where(rng.random(n) < 0.85 + 0.1 * s, 1, 2))
        guide_req = rng.integers(18, 26, n)
        guide_missing = rng.binomial(guide_req, np.clip(0.06 - 0.04 * s, 0.003, 0.15))
        bundle = np.array([_BUNDLE_OF.get(_BASE[b][0]) for b in base], dtype=object)
        bundle[~((rng.random(n) < 0.75 + 0.2 * s) & (var == 0))] = None  # only main variants join a bundle
        # Offline-only items always have an offline path; most high-frequency ones keep one too.
        offline_path = (high_freq & (rng.random(n) < np.clip(0.8 + 0.15 * s, 0.4, 1.0))) | (depth == 2)
        elder = high_freq & ~enterprise & (rng.random(n) < np.clip(0.55 + 0.3 * s, 0.1, 0.97))
        onboarded_on = np.where(onboarded, onb_day, -1).astype("datetime64[D]")
        parts.append(
            pl.DataFrame(
                {
                    "item_code": [f"SH{code}-{k:04d}" for k in range(1, n + 1)],
                    "name": names,
                    "district_code": [str(code)] * n,
                    "dept": dept,
                    "in_basic_catalog": in_basic,
                    "onboarded": onboarded,
                    "onboarded_on": pl.Series(onboarded_on).cast(pl.Date),
                    "legal_limit_days": legal,
                    "promised_limit_days": promised,
                    "case_kind": np.where(immediate, "即办", "承诺"),
                    "required_visits": visits.astype(np.int64),
                    "online_depth": _DEPTH[depth],
                    "mobile_enabled": mobile,
                    "materials_required_n": required,
                    "materials_baseline_n": baseline.astype(np.int64),
                    "bundle_id": pl.Series(bundle.tolist(), dtype=pl.Utf8),
                    "guide_elements_present": (guide_req - guide_missing).astype(np.int64),
                    "guide_elements_required": guide_req.astype(np.int64),
                    "high_freq": high_freq,
                    "offline_path": offline_path,
                    "elder_version": elder,
                    "catalogue_code": [catalogue_code(int(b), int(v)) for b, v in zip(base, var, strict=True)],
                }
            ).with_columns(
                pl.when(pl.col("onboarded")).then(pl.col("onboarded_on")).otherwise(None).alias("onboarded_on")
            )
        )
        meta["district_idx"].append(np.full(n, d))
        meta["popularity"].append(popularity)
        meta["enterprise"].append(enterprise)
        meta["online_from"].append(np.where(onboarded & (depth < 2), onb_day, 10**9))
        meta["depth"].append(depth)
        meta["bundled"].append(np.array([b is not None for b in bundle]))
        offsets.append(offsets[-1] + n)
    frame = pl.concat(parts)
    return Catalogue(
        frame=frame,
        district_idx=np.concatenate(meta["district_idx"]),
        popularity=np.concatenate(meta["popularity"]),
        enterprise=np.concatenate(meta["enterprise"]),
        online_from_day=np.concatenate(meta["online_from"]).astype(np.int64),
        depth=np.concatenate(meta["depth"]),
        immediate=(frame["case_kind"] == "即办").to_numpy(),
        promised_days=frame["promised_limit_days"].to_numpy(),
        required_visits=frame["required_visits"].to_numpy(),
        materials_required=frame["materials_required_n"].to_numpy(),
        bundled=np.concatenate(meta["bundled"]),
        offsets=np.array(offsets),
    )


def _city_norms(rng: np.random.Generator, combos: list[tuple[int, int]]) -> dict[str, np.ndarray]:
    """Per catalogue item (index into `combos`): the city norm's 即办 flag, promised limit, baseline and required
    materials, drawn as an average district (s = 0) would draw its own."""
    m = len(combos)
    base = np.array([b for b, _v in combos])
    var = np.array([v for _b, v in combos])
    legal = np.array([_BASE[b][4] for b in base], dtype=np.int64)
    legal = np.where(var == 0, legal, np.maximum(legal - 3 * (legal > 5), 0))
    immediate = (legal == 0) | (rng.random(m) < 0.18)
    promised = np.where(immediate, 0, np.maximum(np.round(legal * rng.uniform(0.3, 0.85, m)), 1)).astype(np.int64)
    baseline = rng.integers(2, 12, m)
    required = np.clip(np.round(baseline * rng.uniform(0.25, 0.8, m)).astype(np.int64), 0, baseline)
    required = np.where(rng.random(m) < 0.12, 0, required)
    return {"immediate": immediate, "promised": promised, "baseline": baseline, "required": required}


def _probs(p: list[float]) -> np.ndarray:
    a = np.clip(np.array(p, dtype=float), 0.01, None)
    return a / a.sum()


__all__ = ["Catalogue", "make_catalogue", "DAY_S"]
