"""The national demo's units: 2,844 county-level units under China's 31 provinces, in GB/T 2260's shape.

The province codes, names, populations (2020 census, rounded) and shares aged 60+ are real; the county-level
units are NOT the real list (no well-kept package ships GB/T 2260's county codes with a licence to bundle them):
each province gets about its real number of county-level units (2,844 in all), numbered the way GB/T 2260 numbers
them — PP (province) CC (prefecture, 01…) DD (01–20 市辖区 districts, 21–80 县 counties, 81–99 县级市
county-level cities) — with synthetic names and the province's population spread over them. The peer group is the
kind of unit (市辖区 / 县 / 县级市): comparable units, as the national evaluation ranks them.
"""

from __future__ import annotations

from collections.abc import Callable
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
KINDS = (("市辖区", "district", 1), ("县", "county", 21), ("县级市", "county-level city", 81))
PER_PREFECTURE = 12  # county-level units per prefecture (GB/T 2260's CC) before the next one starts
_MUNICIPALITIES = {"11", "12", "31", "50"}


def national_rows(rng: np.random.Generator, provinces: int | None = None,
                  counties: int | None = None) -> list[dict[str, object]]:
    """The unit table: the provinces (level province) and their county-level units (level county, parent the
    province, peer group the kind). `provinces`/`counties` cut it down for tests: the first `provinces`
    provinces with at most `counties` units each."""
    rows: list[dict[str, object]] = []
    for code, zh, en, n, pop_10k, old in PROVINCES[:provinces]:
        n = min(n, counties) if counties is not None else n
        pop = pop_10k * 10_000
        rows.append({"district_code": f"{code}0000", "name_zh": zh, "name_en": en, "population": pop,
                     "pop_60plus": round(pop * old), "level": "province", "parent_code": None, "peer_group": None})
        share = rng.lognormal(0.0, 0.6, n)
        share /= share.sum()
        for k in range(n):
            prefecture, pos = divmod(k, PER_PREFECTURE)
            if code in _MUNICIPALITIES:  # a municipality's districts and counties sit under 01 and 02
                kind = 0 if k < max(1, round(n * 0.85)) else 1
            else:
                kind = 0 if pos < 3 else (2 if pos >= PER_PREFECTURE - 2 else 1)
            label, label_en, first = KINDS[kind]
            number = first + (pos if kind != 2 else pos - (PER_PREFECTURE - 2))
            if kind == 1 and code not in _MUNICIPALITIES:
                number = first + pos - 3
            if code in _MUNICIPALITIES:
                prefecture, number = kind, first + (k if kind == 0 else k - round(n * 0.85))
            cpop = max(20_000, int(pop * share[k]))
            local_old = float(np.clip(old + rng.normal(0, 0.03), 0.05, 0.45))
            rows.append({
                "district_code": f"{code}{prefecture + 1:02d}{number:02d}",
                "name_zh": f"{zh.removesuffix('省').removesuffix('市')}第{k + 1}{label}",
                "name_en": f"{en} {label_en} {k + 1}",
                "population": cpop, "pop_60plus": round(cpop * local_old), "level": "county",
                "parent_code": f"{code}0000", "peer_group": label,
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
