"""A messy-file corpus: one small file per kind of defect, with the exact accounting the ingest must produce."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import xlsxwriter

from etl.contract import tables
from etl.demo.units import DISTRICTS as DEMO_DISTRICTS

LOAD_TIME = dt.datetime(2026, 1, 1, 12, 0, 0)

CASE_HEADER = [c.name for c in tables.CASE.columns]
RATING_HEADER = [c.name for c in tables.RATING.columns]


def case_row(case_id: str, **over: str) -> dict[str, str]:
    row = {
        "case_id": case_id, "item_code": "IT001", "district_code": "310101", "centre_id": "", "channel": "pc",
        "applicant_type": "person", "age_band": "30-44", "started_at": "2025-03-01 09:00:00",
        "submitted_at": "2025-03-01 09:10:00", "accepted_at": "2025-03-01 10:00:00", "closed_at": "2025-03-03 10:00:00",
        "promised_due_at": "2025-03-10 10:00:00", "status": "closed", "visits_actual": "0",
        "materials_submitted_n": "3", "materials_via_sharing_n": "1", "assisted": "false", "via_bundle": "true",
    }  # fmt: skip
    row.update(over)
    return row


def rating_row(rating_id: str, **over: str) -> dict[str, str]:
    row = {"rating_id": rating_id, "case_id": "C001", "channel": "app", "rated_at": "2025-03-04 08:00:00",
           "level": "5", "prompted": "false", "prompt_source": "none", "comment": "办事很方便，点赞"}  # fmt: skip
    row.update(over)
    return row


def _csv(rows: list[dict[str, str]], header: list[str]) -> str:
    def q(v: str) -> str:
        return f'"{v}"' if ("," in v or '"' in v) else v

    return "\n".join([",".join(header)] + [",".join(q(r[h]) for h in header) for r in rows]) + "\n"


def item_rows() -> list[dict[str, str]]:
    base = {"district_code": "310101", "dept": "区市场监管局", "in_basic_catalog": "true", "onboarded": "true",
            "onboarded_on": "2024-01-05", "legal_limit_days": "20", "promised_limit_days": "5", "case_kind": "承诺",
            "required_visits": "0", "online_depth": "full", "mobile_enabled": "true", "materials_required_n": "3",
            "materials_baseline_n": "6", "bundle_id": "", "guide_elements_present": "10",
            "guide_elements_required": "12", "high_freq": "true", "offline_path": "true", "elder_version": "false"}  # fmt: skip
    return [
        {**base, "item_code": "IT001", "name": "个体工商户设立登记"},
        {**base, "item_code": "IT002", "name": "居住证办理", "district_code": "310104"},
        {**base, "item_code": "IT003", "name": "不动产登记（二手房转移）", "district_code": "310115"},
    ]


def garble(text: str) -> str:
    """Chinese as it arrives after a GB18030 export was read as Latin-1 and saved again as UTF-8."""
    return text.encode("gb18030").decode("latin-1")


def write_sheet(path: Path, rows: list[list[str] | None], sheet: str = "Sheet1") -> None:
    """An XLSX whose first sheet holds `rows` from row 1 (None = an empty row, as a clerk leaves above a table)."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, v in enumerate(row or []):
            ws.write_string(r, c, v)
    wb.close()


def build(folder: Path) -> dict[str, tuple[str, int, int, int, int, int]]:
    """Write the corpus into `folder`; return file → (status, rows_in, loaded, quarantined, duplicate, blank)."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, tuple[str, int, int, int, int, int]] = {}
    # district: plain UTF-8
    dist = [{"district_code": c, "name_zh": zh, "name_en": en, "population": "1000000", "pop_60plus": "300000"}
            for c, zh, en in DEMO_DISTRICTS]  # fmt: skip
    # the columns of the Shanghai release (no level, parent_code, peer_group): old unit files keep loading
    (folder / "district.csv").write_text(_csv(dist, list(dist[0])), encoding="utf-8")
    expected["district.csv"] = ("loaded", 16, 16, 0, 0, 0)
    # service items: GB18030 (Chinese names must survive)
    (folder / "service_item_gb.csv").write_bytes(
        _csv(item_rows(), list(tables.SERVICE_ITEM.column_names)).encode("gb18030")
    )
    expected["service_item_gb.csv"] = ("loaded", 3, 3, 0, 0, 0)
    # cases: UTF-8 with BOM
    bom = [case_row(f"C00{i}") for i in range(1, 5)]
    (folder / "case_a_bom.csv").write_bytes(b"\xef\xbb\xbf" + _csv(bom, CASE_HEADER).encode("utf-8"))
    expected["case_a_bom.csv"] = ("loaded", 4, 4, 0, 0, 0)
    # cases: XLSX export
    pl.DataFrame([case_row("C101"), case_row("C102", channel="window", centre_id="CT01")]).write_excel(
        folder / "case_b_export.xlsx"
    )
    expected["case_b_export.xlsx"] = ("loaded", 2, 2, 0, 0, 0)
    # cases: Parquet with native types
    pq = pl.DataFrame([case_row("C201"), case_row("C202")]).with_columns(
        pl.col("visits_actual", "materials_submitted_n", "materials_via_sharing_n").cast(pl.Int64),
        pl.col("started_at", "submitted_at", "accepted_at", "closed_at", "promised_due_at").str.to_datetime(),
        pl.col("assisted", "via_bundle") == "true",
    )
    pq.write_parquet(folder / "case_c.parquet")
    expected["case_c.parquet"] = ("loaded", 2, 2, 0, 0, 0)
    # exact duplicates: one copy of C001 (already loaded) + C301 twice in the file
    dupes = [case_row("C001"), case_row("C301"), case_row("C301")]
    (folder / "case_d_dupes.csv").write_text(_csv(dupes, CASE_HEADER), encoding="utf-8")
    expected["case_d_dupes.csv"] = ("loaded", 3, 1, 0, 2, 0)
    # conflicting duplicates: C002 corrected (supersedes) + C401 twice with different content (quarantined)
    conflict = [case_row("C002", visits_actual="2"), case_row("C401", channel="app"), case_row("C401", channel="pc")]
    (folder / "case_e_conflict.csv").write_text(_csv(conflict, CASE_HEADER), encoding="utf-8")
    expected["case_e_conflict.csv"] = ("partial", 3, 1, 2, 0, 0)
    # rule breaks: negative count, closed before submitted, future timestamp, level-6-like bad enum
    rules = [
        case_row("C501", visits_actual="-1"),  # row 2
        case_row("C502", closed_at="2025-03-01 08:00:00"),  # row 3
        case_row("C503", started_at="2026-02-01 09:00:00", submitted_at="", accepted_at="", closed_at="",
                 status="abandoned"),  # row 4: future (load time 2026-01-01 12:00)  # fmt: skip
        case_row("C504", channel="fax"),  # row 5
        case_row("C505"),  # row 6: fine
    ]
    (folder / "case_f_rules.csv").write_text(_csv(rules, CASE_HEADER), encoding="utf-8")
    expected["case_f_rules.csv"] = ("partial", 5, 1, 4, 0, 0)
    # ratings: level 6, unparseable number/date, broken reference, prompt inconsistency, ragged row
    ratings = _csv(
        [
            rating_row("R1"),  # row 2
            rating_row("R2", level="6"),  # row 3
            rating_row("R3", level="abc"),  # row 4
            rating_row("R4", rated_at="2025-13-45 10:00:00"),  # row 5
            rating_row("R5", case_id="C999"),  # row 6
            rating_row("R6", prompted="true", prompt_source="none"),  # row 7
        ],
        RATING_HEADER,
    ) + "R7,C001,app,2025-03-04 08:00:00,5,false,none,ok,EXTRA\n"  # row 8: 9 fields
    (folder / "rating_1.csv").write_text(ratings, encoding="utf-8")
    expected["rating_1.csv"] = ("partial", 7, 1, 6, 0, 0)
    # mojibake (finding 6): a valid UTF-8 file whose Chinese was garbled before it reached us
    moji = [
        rating_row("R21"),  # row 2: fine
        rating_row("R22", comment=garble("办事很方便，点赞")),  # row 3: GB18030 read as Latin-1
        rating_row("R23", comment="办事\ufffd\ufffd方便"),  # row 4: replacement characters
        rating_row("R24", comment="窗口·服务 25°C"),  # row 5: a middle dot and a degree sign are not mojibake
    ]
    (folder / "rating_2_mojibake.csv").write_text(_csv(moji, RATING_HEADER), encoding="utf-8")
    expected["rating_2_mojibake.csv"] = ("partial", 4, 2, 2, 0, 0)
    # blank lines (finding 8): an empty line, a line of bare commas, whitespace, trailing empty lines
    lines = _csv([rating_row("R31"), rating_row("R32")], RATING_HEADER).splitlines()
    blank_text = "\n".join([lines[0], lines[1], "", ",,,,,,,", lines[2], " , ,,,,,, ", "", ""]) + "\n"
    (folder / "rating_3_blank.csv").write_text(blank_text, encoding="utf-8")
    expected["rating_3_blank.csv"] = ("loaded", 7, 2, 0, 0, 5)
    # XLSX with blank rows and a title above the header (finding 7): the bad row is on sheet row 8
    xl = [case_row("C601"), case_row("C602"), case_row("C603", channel="fax")]
    write_sheet(folder / "case_h_offset.xlsx", [None, None, ["2025年3月办件明细"], CASE_HEADER]
                + [[r[h] for h in CASE_HEADER] for r in xl[:2]] + [None] + [[xl[2][h] for h in CASE_HEADER]],
                sheet="办件")  # fmt: skip
    expected["case_h_offset.xlsx"] = ("partial", 4, 2, 1, 0, 1)
    # whole-file rejections
    hdr = [c for c in tables.HOTLINE_TICKET.column_names if c != "deadline_days"]
    (folder / "hotline_ticket_nodeadline.csv").write_text(",".join(hdr) + "\nT1,2025-03-01 10:00:00,310101,其他,true,,,,,\n")
    expected["hotline_ticket_nodeadline.csv"] = ("rejected", 0, 0, 0, 0, 0)
    good_pq = folder / "_tmp.parquet"
    pl.DataFrame({"event_id": ["E1"] * 50, "device_id": ["D1"] * 50}).write_parquet(good_pq)
    (folder / "kiosk_event_cut.parquet").write_bytes(good_pq.read_bytes()[:-40])
    good_pq.unlink()
    expected["kiosk_event_cut.parquet"] = ("rejected", 0, 0, 0, 0, 0)
    (folder / "centre_staffing_junk.csv").write_bytes(bytes(range(256)) * 8)
    expected["centre_staffing_junk.csv"] = ("rejected", 0, 0, 0, 0, 0)
    (folder / "mystery_table.csv").write_text("a,b\n1,2\n")
    expected["mystery_table.csv"] = ("rejected", 0, 0, 0, 0, 0)
    (folder / "survey_response_empty.csv").write_bytes(b"")
    expected["survey_response_empty.csv"] = ("rejected", 0, 0, 0, 0, 0)
    return expected
