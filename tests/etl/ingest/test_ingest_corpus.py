"""The messy-file corpus is ingested with exact accounting, actionable messages, and re-ingest is a no-op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.warehouse import connection as wh
from etl.ingest.files import ingest_folder
from tests.etl.ingest import corpus


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict, object]:
    root = tmp_path_factory.mktemp("corpus")
    src, db = root / "inbox", root / "wh.duckdb"
    expected = corpus.build(src)
    (src / "README.txt").write_text("not data")
    report = ingest_folder(src, db, now=corpus.LOAD_TIME)
    return src, db, expected, report


def test_exact_accounting_per_file(loaded: tuple) -> None:
    _, db, expected, report = loaded
    got = {f.name: (f.status, f.rows_in, f.rows_loaded, f.rows_quarantined, f.rows_duplicate, f.rows_blank)
           for f in report.files}
    assert got == expected
    assert report.ignored == ["README.txt"]
    log = wh.query(db, "SELECT file_name, status, rows_in, rows_loaded, rows_quarantined, rows_duplicate, rows_blank "
                       "FROM ingest_files")  # fmt: skip
    for r in log.iter_rows(named=True):
        assert r["rows_in"] == r["rows_loaded"] + r["rows_quarantined"] + r["rows_duplicate"] + r["rows_blank"]
        assert (r["status"], r["rows_in"], r["rows_loaded"], r["rows_quarantined"], r["rows_duplicate"],
                r["rows_blank"]) == expected[r["file_name"]]  # fmt: skip


def test_warehouse_contents_match_accounting(loaded: tuple) -> None:
    _, db, _, report = loaded
    cases = wh.query(db, 'SELECT case_id, visits_actual FROM "case" ORDER BY case_id')
    # 4 BOM + 2 XLSX + 2 Parquet + C301 + C002 replaced by its correction + C505; C401 conflict quarantined
    # + C601/C602 from the offset sheet (C603 quarantined)
    assert cases["case_id"].to_list() == ["C001", "C002", "C003", "C004", "C101", "C102", "C201", "C202", "C301", "C505",
                                          "C601", "C602"]  # fmt: skip
    assert cases.filter(cases["case_id"] == "C002")["visits_actual"].item() == 2
    sup = wh.query(db, "SELECT table_name, key, old_row, superseded_by_file, superseded_by_row FROM superseded")
    assert sup.height == 1
    row = sup.row(0, named=True)
    assert row["superseded_by_file"] == "case_e_conflict.csv" and row["superseded_by_row"] == 2
    assert json.loads(row["key"]) == {"case_id": "C002"} and json.loads(row["old_row"])["visits_actual"] == 0
    e = next(f for f in report.files if f.name == "case_e_conflict.csv")
    assert e.rows_superseded == 1


def test_gb18030_chinese_is_not_garbled(loaded: tuple) -> None:
    _, db, _, report = loaded
    names = wh.query(db, "SELECT name FROM service_item ORDER BY item_code")["name"].to_list()
    assert names == ["个体工商户设立登记", "居住证办理", "不动产登记（二手房转移）"]
    enc = {f.name: f.encoding for f in report.files}
    assert enc["service_item_gb.csv"] == "gb18030" and enc["case_a_bom.csv"] == "utf-8-sig"
    assert enc["district.csv"] == "utf-8"


def _reasons(db: Path, file: str) -> dict[tuple[int, str | None, str], str]:
    q = wh.query(db, "SELECT row_number, column_name, check_name, reason FROM quarantine WHERE source_file = ?", [file])
    return {(r["row_number"], r["column_name"], r["check_name"]): r["reason"] for r in q.iter_rows(named=True)}


def _zh_en(reason: str) -> tuple[str, str]:
    zh, en = reason.split(" / ", 1)
    return zh, en


def test_messages_name_file_row_column_value(loaded: tuple) -> None:
    """Chinese first, English beside; each names file, row, column, value, the rule and what to do."""
    _, db, _, _ = loaded
    r = _reasons(db, "rating_1.csv")
    assert r[(3, "level", "allowed")] == (
        "文件 rating_1.csv 第 3 行，level 列：值“6”不在允许值内（允许：1, 2, 3, 4, 5）。请改为允许值之一。 / "
        "rating_1.csv row 3, column level: value '6' is not one of the allowed values: 1, 2, 3, 4, 5; "
        "use one of the allowed values."
    )
    zh, en = _zh_en(r[(4, "level", "dtype")])
    assert zh == "文件 rating_1.csv 第 4 行，level 列：值“abc”无法识别为整数。请改为整数。"
    assert en == "rating_1.csv row 4, column level: value 'abc' cannot be read as a whole number; write it as a whole number."
    assert _zh_en(r[(5, "rated_at", "dtype")])[1].startswith("rating_1.csv row 5, column rated_at: value '2025-13-45 10:00:00'")
    zh, en = _zh_en(r[(6, "case_id", "reference")])
    assert zh.startswith("文件 rating_1.csv 第 6 行，case_id 列：值“C999”在 case.case_id 中不存在")
    assert en.startswith("rating_1.csv row 6, column case_id: value 'C999' is not a known case")
    assert _zh_en(r[(7, "prompted, prompt_source", "prompt_source_consistent")])[1].startswith(
        "rating_1.csv row 7, column prompted, prompt_source: value 'prompted=true, prompt_source=none' breaks the rule"
    )
    assert r[(8, None, "field_count")] == (
        "文件 rating_1.csv 第 8 行：有 9 个字段，但表头有 8 列。请检查该行的逗号和引号。 / "
        "rating_1.csv row 8: has 9 fields but the header has 8; check the commas and quotes of the line."
    )
    # a cast failure is not also reported as "empty": one record for row 4
    assert [k for k in r if k[0] == 4] == [(4, "level", "dtype")]
    f = _reasons(db, "case_f_rules.csv")
    assert _zh_en(f[(2, "visits_actual", "min")])[1] == (
        "case_f_rules.csv row 2, column visits_actual: value '-1' is below the minimum 0 visits; check and correct the number."
    )
    assert f[(3, "started_at, submitted_at, accepted_at, closed_at", "timestamps_in_order")]
    assert "is after the load time 2026-01-01 12:00:00" in f[(4, "started_at", "not_after_load_time")]
    assert "晚于载入时间 2026-01-01 12:00:00" in f[(4, "started_at", "not_after_load_time")]
    assert "'fax' is not one of the allowed values" in f[(5, "channel", "allowed")]
    c = _reasons(db, "case_e_conflict.csv")
    assert _zh_en(c[(3, "case_id", "conflicting_duplicate")])[1] == (
        'case_e_conflict.csv row 3, column case_id: value \'{"case_id":"C401"}\' appears on rows 3, 4 of the file with '
        "different contents; none loaded; keep only the correct row."
    )


def test_messages_carry_no_internal_check_names(loaded: tuple) -> None:
    """Finding 9: the words a clerk reads never show the internal check names (allowed, dtype, not_nullable, …)."""
    _, db, _, report = loaded
    reasons = wh.query(db, "SELECT reason FROM quarantine")["reason"].to_list()
    texts = reasons + [f.message for f in report.files]
    for internal in ("not_nullable", "field_count", " dtype", " allowed ×", "conflicting_duplicate"):
        assert not [t for t in texts if internal in t], internal
    assert all(" / " in t and any("\u4e00" <= ch <= "\u9fff" for ch in t.split(" / ")[0]) for t in texts if t)


def test_quarantine_keeps_original_row_readable(loaded: tuple) -> None:
    _, db, _, _ = loaded
    q = wh.query(db, "SELECT original_row FROM quarantine WHERE source_file = 'rating_1.csv' AND row_number = 3")
    original = q["original_row"][0]
    assert "办事很方便，点赞" in original  # not \\u escaped
    assert json.loads(original)["level"] == "6"


def test_rejected_files_have_clear_messages(loaded: tuple) -> None:
    _, _, _, report = loaded
    msg = {f.name: f.message for f in report.files if f.status == "rejected"}
    assert "required column(s) deadline_days" in msg["hotline_ticket_nodeadline.csv"]
    assert "缺少表 hotline_ticket 的必填列：deadline_days" in msg["hotline_ticket_nodeadline.csv"]
    assert "Parquet" in msg["kiosk_event_cut.parquet"]
    assert "not UTF-8 or GB18030" in msg["centre_staffing_junk.csv"]
    assert "既不是 UTF-8 也不是 GB18030" in msg["centre_staffing_junk.csv"]
    assert "does not say which table" in msg["mystery_table.csv"]
    assert "empty file" in msg["survey_response_empty.csv"]
    # Finding 9: no library text (pyarrow's "magic bytes not found in footer", paths) reaches the clerk
    assert "magic bytes" not in msg["kiosk_event_cut.parquet"] and "/" not in msg["kiosk_event_cut.parquet"].split(" / ")[0]
    assert all(m.split(" / ")[0].startswith(f"文件 {name}") for name, m in msg.items())


def test_rejected_files_are_listed_in_the_quarantine(loaded: tuple) -> None:
    """Finding 9: a whole-file rejection is one quarantine record (row 0) with its message, so `govindex quarantine`,
    its CSV and the data-quality page show it next to the rows."""
    _, db, expected, report = loaded
    q = wh.query(db, "SELECT source_file, row_number, check_name, reason FROM quarantine WHERE row_number = 0")
    rejected = {n for n, e in expected.items() if e[0] == "rejected"}
    assert sorted(q["source_file"].to_list()) == sorted(rejected)
    checks = dict(zip(q["source_file"], q["check_name"]))
    assert checks == {"hotline_ticket_nodeadline.csv": "missing_columns", "kiosk_event_cut.parquet": "parse",
                      "centre_staffing_junk.csv": "encoding", "mystery_table.csv": "unknown_table",
                      "survey_response_empty.csv": "empty_file"}  # fmt: skip
    msg = {f.name: f.message for f in report.files}
    assert dict(zip(q["source_file"], q["reason"])) == {n: msg[n] for n in rejected}


def test_every_check_has_words_in_the_catalogue(loaded: tuple) -> None:
    """The CLI and the pages name a problem by its catalogue label; only cross-column rules share the 'rule' label."""
    from etl.contract import schemas
    from etl.ingest import messages
    from etl.ingest.files import REJECTION_CHECKS

    _, db, _, _ = loaded
    rule_codes = {r.code for rules in schemas.RULES.values() for r in rules.values()}
    rule_label = messages.label("rule")
    checks = set(wh.query(db, "SELECT DISTINCT check_name FROM quarantine")["check_name"]) | set(REJECTION_CHECKS.values())
    checks |= {"cannot_read", "unexpected", "rejected"}
    for check in checks:
        assert (messages.label(check) == rule_label) == (check in rule_codes), check
    assert messages.label("parse") == "文件无法解析 / file cannot be parsed"


def test_mojibake_is_quarantined_per_column(loaded: tuple) -> None:
    """Finding 6: garbled Chinese (GB18030 read as Latin-1, U+FFFD) is not loaded as text."""
    _, db, _, report = loaded
    r = _reasons(db, "rating_2_mojibake.csv")
    assert set(r) == {(3, "comment", "mojibake"), (4, "comment", "mojibake")}
    zh, en = _zh_en(r[(3, "comment", "mojibake")])
    assert zh.startswith("文件 rating_2_mojibake.csv 第 3 行，comment 列：值“") and "是乱码" in zh and "重新导出" in zh
    assert "garbled text" in en
    comments = wh.query(db, "SELECT rating_id, comment FROM rating WHERE rating_id IN ('R21', 'R24') ORDER BY 1")
    assert comments["comment"].to_list() == ["办事很方便，点赞", "窗口·服务 25°C"]
    f = next(f for f in report.files if f.name == "rating_2_mojibake.csv")
    assert f.status == "partial" and "乱码" in f.message


def test_xlsx_rows_are_the_sheets_own_rows(loaded: tuple) -> None:
    """Finding 7: blank rows and a title above the header; the bad row is reported as sheet row 8 (after a blank row), in sheet 办件."""
    _, db, _, report = loaded
    r = _reasons(db, "case_h_offset.xlsx")
    assert set(r) == {(8, "channel", "allowed")}
    zh, en = _zh_en(r[(8, "channel", "allowed")])
    assert zh.startswith("文件 case_h_offset.xlsx 工作表“办件” 第 8 行，channel 列：值“fax”")
    assert en.startswith("case_h_offset.xlsx sheet '办件' row 8, column channel: value 'fax'")
    f = next(f for f in report.files if f.name == "case_h_offset.xlsx")
    assert "表头在第 4 行" in f.message and "1 个空行已跳过" in f.message


def test_blank_lines_are_skipped_and_counted(loaded: tuple) -> None:
    """Finding 8: blank lines are not quarantined (once per required column); they are counted per file."""
    _, db, _, _ = loaded
    assert _reasons(db, "rating_3_blank.csv") == {}
    row = wh.query(db, "SELECT rows_in, rows_loaded, rows_blank, message FROM ingest_files "
                       "WHERE file_name = 'rating_3_blank.csv'").row(0, named=True)  # fmt: skip
    assert (row["rows_in"], row["rows_loaded"], row["rows_blank"]) == (7, 2, 5)
    assert "5 个空行已跳过" in row["message"] and "5 blank row(s) skipped" in row["message"]


def test_batch_proceeds_in_load_order(loaded: tuple) -> None:
    _, _, _, report = loaded
    order = [f.name for f in report.files]
    assert order.index("district.csv") < order.index("service_item_gb.csv") < order.index("case_a_bom.csv")
    assert order.index("case_a_bom.csv") < order.index("rating_1.csv") < order.index("kiosk_event_cut.parquet")
    assert order[-1] == "mystery_table.csv"  # unknown tables last, after the rejected files before it


def test_reingest_is_a_noop(loaded: tuple) -> None:
    src, db, _, _ = loaded

    def snapshot() -> dict[str, int]:
        with wh.connection(db, read_only=True) as con:
            return {t: wh.row_count(con, t) for t in wh.table_names(con) if t not in ("ingest_files", "ingest_batches")}

    before = snapshot()
    again = ingest_folder(src, db, now=corpus.LOAD_TIME)
    # Files loaded before are unchanged; files rejected before are tried again (and, still broken, rejected again).
    rejected = {name for name, exp in loaded[2].items() if exp[0] == "rejected"}
    assert rejected and {f.name: f.status for f in again.files} == {
        f.name: "rejected" if f.name in rejected else "unchanged" for f in again.files
    }
    assert again.rows_in == again.rows_loaded == again.rows_quarantined == again.rows_duplicate == 0
    assert snapshot() == before


def test_a_rejected_file_is_retried_and_loads_once_the_cause_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file rejected for a passing reason (here a simulated environment failure while reading it) is not
    remembered as done: the same bytes are read again on the next ingest and load."""
    from etl.ingest import readers
    from etl.contract import tables
    from etl.errors import RejectedFileError

    src, db = tmp_path / "inbox", tmp_path / "wh.duckdb"
    src.mkdir()
    rows = ["310101,黄浦区,Huangpu,662030,230000", "310104,徐汇区,Xuhui,1113078,290000"]
    (src / "district.csv").write_text(",".join(tables.DISTRICT.column_names[:5]) + "\n" + "\n".join(rows) + "\n",
                                      encoding="utf-8")
    real = readers.inspect_file

    def broken(*args: object, **kwargs: object) -> object:
        raise RejectedFileError("district.csv: cannot read the file: [Errno 5] Input/output error")

    monkeypatch.setattr(readers, "inspect_file", broken)
    first = ingest_folder(src, db, now=corpus.LOAD_TIME)
    assert [(f.name, f.status) for f in first.files] == [("district.csv", "rejected")]
    monkeypatch.setattr(readers, "inspect_file", real)
    second = ingest_folder(src, db, now=corpus.LOAD_TIME)
    assert [(f.name, f.status, f.rows_loaded) for f in second.files] == [("district.csv", "loaded", 2)]
    assert wh.query(db, "SELECT count(*) AS n FROM district")["n"].item() == 2
    third = ingest_folder(src, db, now=corpus.LOAD_TIME)  # loaded now: unchanged from here on
    assert [(f.name, f.status) for f in third.files] == [("district.csv", "unchanged")]
    assert "batch 2, loaded" in third.files[0].message


def test_unexpected_errors_do_not_show_library_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 9: an error nobody foresaw rejects the file with the catalogue's words; the library's text (here a
    temp path, like calamine's EOCD error) stays in the log, and the rejection is in the quarantine."""
    from etl.contract import tables
    from etl.ingest import cast

    src, db = tmp_path / "inbox", tmp_path / "wh.duckdb"
    src.mkdir()
    (src / "district.csv").write_text(",".join(tables.DISTRICT.column_names) + "\n310101,黄浦区,Huangpu,10,2\n",
                                      encoding="utf-8")  # fmt: skip

    def boom(*args: object, **kwargs: object) -> object:
        raise ValueError("Could not find EOCD in /tmp/.tmpAbC123/upload.xlsx")

    monkeypatch.setattr(cast, "cast_frame", boom)
    f = ingest_folder(src, db, now=corpus.LOAD_TIME).files[0]
    assert f.status == "rejected" and "EOCD" not in f.message and "/tmp" not in f.message
    assert f.message.startswith("文件 district.csv：载入时发生意外错误（ValueError）") and "please report" in f.message
    q = wh.query(db, "SELECT row_number, check_name, reason FROM quarantine").row(0, named=True)
    assert (q["row_number"], q["check_name"], q["reason"]) == (0, "unexpected", f.message)
