"""The catalogue of ingest messages: every check kind and file-level outcome, in Chinese first with English beside.

Messages are for the clerk who sent the file: they name the file, the sheet (XLSX), the row as the clerk's program
shows it (spreadsheet row counting the header; CSV line number), the column, the value, the rule broken and what to
do. Ingest code never writes message text itself: it names a kind from CELL_KINDS / FILE_KINDS / NOTES and passes
the facts; this module renders "中文 / English". Check names stored in the quarantine (`check_name`) stay the
machine codes (allowed, dtype, …); `kind_of` maps them to a catalogue kind and `label` gives the words for them.
"""

from __future__ import annotations

from dataclasses import dataclass

SEP = " / "  # between the Chinese and the English text


@dataclass(frozen=True)
class Kind:
    """One kind of message: what is wrong (zh, en), what to do about it (zh, en), and a short label (zh, en)."""

    label_zh: str
    label_en: str
    zh: str
    en: str
    todo_zh: str = ""
    todo_en: str = ""


DTYPE_WORDS: dict[str, tuple[str, str]] = {
    "str": ("文本", "text"),
    "int": ("整数", "a whole number"),
    "float": ("数字", "a number"),
    "bool": ("是/否（true/false）", "true/false"),
    "date": ("日期（YYYY-MM-DD）", "a date (YYYY-MM-DD)"),
    "datetime": ("日期时间（YYYY-MM-DD HH:MM:SS）", "a date-time (YYYY-MM-DD HH:MM:SS)"),
}

# Cell (row) kinds. Templates see {detail} (the rule's parameter) and, for dtype, {what_zh}/{what_en}.
CELL_KINDS: dict[str, Kind] = {
    "dtype": Kind("格式无法识别", "unreadable value", "无法识别为{what_zh}", "cannot be read as {what_en}",
                  "请改为{what_zh}", "write it as {what_en}"),
    "not_nullable": Kind("必填项为空", "required value empty", "为空，但此列为必填项",
                         "is empty but the column is required", "请填写该单元格", "fill in the cell"),
    "allowed": Kind("不在允许值内", "not an allowed value", "不在允许值内（允许：{detail}）",
                    "is not one of the allowed values: {detail}", "请改为允许值之一", "use one of the allowed values"),
    "min": Kind("低于下限", "below the minimum", "低于下限 {detail}", "is below the minimum {detail}",
                "请核对并更正该数值", "check and correct the number"),
    "max": Kind("高于上限", "above the maximum", "高于上限 {detail}", "is above the maximum {detail}",
                "请核对并更正该数值", "check and correct the number"),
    "pattern": Kind("格式不符", "wrong format", "不符合格式 {detail}", "does not match the pattern {detail}",
                    "请按规定格式填写", "write it in the required format"),
    "not_after_load_time": Kind("时间晚于载入时间", "in the future", "晚于载入时间 {detail}",
                                "is after the load time {detail}", "请核对日期时间", "check the date and time"),
    "unique_key": Kind("主键重复", "repeated key", "与另一行的主键（{detail}）重复",
                       "repeats the primary key ({detail}) of another row", "请保留一行或更正主键",
                       "keep one row or correct the key"),
    "rule": Kind("违反跨列规则", "breaks a cross-column rule", "违反规则“{detail}”", "breaks the rule '{detail}'",
                 "请核对这几列的取值", "check these columns together"),
    "reference": Kind("引用不存在", "unknown reference", "在 {detail} 中不存在（仓库及本批次先前文件中均无）",
                      "is not a known {detail} (not in the warehouse nor earlier in this batch)",
                      "请更正编号，或先提交被引用的数据", "correct the code, or submit the referenced data first"),
    "field_count": Kind("列数不符", "wrong number of fields", "有 {actual} 个字段，但表头有 {expected} 列",
                        "has {actual} fields but the header has {expected}",
                        "请检查该行的逗号和引号", "check the commas and quotes of the line"),
    "conflicting_duplicate": Kind("同一文件内主键冲突", "conflicting copies in the file",
                                  "在本文件第 {detail} 行出现且内容不同，均未载入",
                                  "appears on rows {detail} of the file with different contents; none loaded",
                                  "请只保留正确的一行", "keep only the correct row"),
    "mojibake": Kind("乱码", "garbled text", "是乱码（文字在导出时用错了编码，如 GB18030 被当作 Latin-1，或含替换字符 �）",
                     "is garbled text (decoded with the wrong encoding before it reached us, e.g. GB18030 read as "
                     "Latin-1, or it holds the replacement character �)",
                     "请从源系统重新导出（UTF-8 或 GB18030），或按原文更正", "export it again from the source system "
                     "(UTF-8 or GB18030) or retype the original text"),
    # Rules across the rows of one case (etl.ingest.sequences): {detail} names the case, the neighbouring step
    # ("C…-0001 #2 received @ 2025-03-04 10:00:00") and, for sequence_step, the steps allowed after it.
    "sequence_first": Kind("首步不是收件", "first step not received", "是办件 {detail} 的第 1 步，但第 1 步须为 received（收件）",
                           "is step 1 of case {detail}, but step 1 must be received",
                           "请核对该办件的步骤编号（seq），补上收件步骤后重新提交",
                           "check the case's step numbers (seq), add its received step and submit again"),
    "sequence_step": Kind("步骤顺序不符", "step out of order", "不能接在同一办件的上一步 {detail} 之后（→ 后为允许的下一步）",
                          "cannot follow the case's previous step {detail} (after →: the steps allowed next)",
                          "请核对该办件各步骤的顺序和编号（seq），更正后重新提交",
                          "check the order and numbering (seq) of the case's steps, correct them and submit again"),
    "sequence_time": Kind("步骤时间倒退", "step earlier than the previous one", "早于同一办件的上一步 {detail}",
                          "is earlier than the case's previous step {detail}",
                          "请核对该步骤的时间（event_at）", "check the step's time (event_at)"),
    "sequence_next": Kind("与已载入的下一步不衔接", "does not fit the next step loaded",
                          "与同一办件已载入的下一步 {detail} 不衔接（顺序或时间不符）",
                          "does not fit the case's next step already loaded, {detail} (order or time)",
                          "请核对该办件各步骤后重新提交", "check the case's steps and submit again"),
}  # fmt: skip

# Whole-file outcomes (a rejected file, or the header cannot be found). Templates see the facts passed by name.
FILE_KINDS: dict[str, Kind] = {
    "cannot_read": Kind("文件无法读取", "cannot read the file", "无法读取该文件（{detail}）", "cannot read the file ({detail})",
                        "请检查文件权限后重新提交", "check the file's permissions and submit it again"),
    "unknown_table": Kind("文件名无法识别", "unknown file name", "文件名看不出是哪张表",
                          "the file name does not say which table it holds",
                          "请将文件命名为 <表名>[_<后缀>]{ext}，表名为：{known}",
                          "name it <table>[_<suffix>]{ext} with table one of: {known}"),
    "unsupported_format": Kind("格式不支持", "unsupported format", "不是 CSV、XLSX 或 Parquet 文件",
                               "not a CSV, XLSX or Parquet file", "请另存为 CSV（UTF-8）或 XLSX",
                               "save it as CSV (UTF-8) or XLSX"),
    "empty_file": Kind("空文件", "empty file", "是空文件（0 字节，没有表头行）", "empty file (0 bytes, no header row)",
                       "请重新导出", "export it again"),
    "no_header": Kind("缺少表头", "no header row", "第一行是空的，没有表头", "no header row (the first line is empty)",
                      "请把列名放在第一行", "put the column names on the first line"),
    "empty_sheet": Kind("工作表为空", "empty sheet", "第一个工作表“{sheet}”是空的", "the first sheet '{sheet}' is empty",
                        "请把数据放在第一个工作表", "put the data on the first sheet"),
    "header_not_found": Kind("找不到表头", "header row not found",
                             "第一个工作表“{sheet}”的前 {rows} 行中找不到含必填列（{required}）的表头行",
                             "no row among the first {rows} of sheet '{sheet}' holds the required columns ({required})",
                             "请把列名放在数据上方的一行（前 {rows} 行之内）",
                             "put the column names on one row above the data, within the first {rows} rows"),
    "encoding": Kind("编码无法识别", "unknown encoding", "既不是 UTF-8 也不是 GB18030 文本（二进制数据或其他编码）",
                     "not UTF-8 or GB18030 text (binary data or another encoding)",
                     "请另存为 CSV UTF-8 后重新提交", "save it as CSV UTF-8 and submit it again"),
    "parse_csv": Kind("CSV 无法解析", "broken CSV", "无法按 CSV 解析（引号或分隔符有误）",
                      "cannot be parsed as CSV (broken quotes or separators)",
                      "请检查引号是否成对，或重新导出", "check that quotes are paired, or export it again"),
    "parse_xlsx": Kind("XLSX 无法读取", "broken XLSX", "无法按 XLSX 读取（文件损坏、被截断或不是 Excel 工作簿）",
                       "cannot be read as XLSX (damaged, truncated or not an Excel workbook)",
                       "请在 Excel 中打开并重新保存，或重新导出", "open and save it again in Excel, or export it again"),
    "parse_parquet": Kind("Parquet 无法读取", "broken Parquet", "无法按 Parquet 读取（文件被截断或已损坏）",
                          "cannot be read as Parquet (truncated or damaged)",
                          "请重新导出", "export it again"),
    "missing_columns": Kind("缺少必填列", "required columns missing",
                            "表头缺少表 {table} 的必填列：{columns}（现有：{found}）",
                            "required column(s) {columns} of table {table} missing from the header (found: {found})",
                            "请补上这些列后重新提交", "add these columns and submit it again"),
    "duplicate_columns": Kind("列名重复", "repeated column", "表头中列 {columns} 出现不止一次",
                              "the header names column(s) {columns} more than once",
                              "请删除重复的列", "remove the repeated column"),
    "unexpected": Kind("意外错误", "unexpected error", "载入时发生意外错误（{error}），文件未载入",
                       "unexpected error while ingesting ({error}); file rejected",
                       "请联系系统管理员", "please report it to the administrator"),
}  # fmt: skip

# Notes in a loaded file's message (govindex ingest, the data-quality page).
NOTES: dict[str, tuple[str, str]] = {
    "absent": ("列 {columns} 不在文件中，按空值读取", "column(s) {columns} absent from the file: read as empty"),
    "superseded": ("{n} 条旧记录被替换（见 superseded 表）", "{n} earlier row(s) superseded (see table superseded)"),
    "duplicate": ("{n} 条重复行已跳过", "{n} duplicate row(s) skipped"),
    "resolved": ("{n} 行更正了此前被隔离的行", "{n} earlier quarantined row(s) resolved by this file"),
    "blank": ("{n} 个空行已跳过", "{n} blank row(s) skipped"),
    "no_rows": ("没有数据行（只有表头）", "no data rows (header only)"),
    "header_row": ("表头在第 {row} 行", "header on row {row}"),
    "quarantined": ("{file} 中 {n} 行被隔离：{parts}", "{n} row(s) quarantined in {file}: {parts}"),
    "quarantined_part": ("{what}×{n}（首个：第 {row} 行，值 {value}）", "{what} ×{n} (first: row {row}, value {value})"),
    "more_kinds": ("另有 {n} 类", "+{n} more kinds"),
    "unchanged": ("与 {file}（批次 {batch}，{status}）内容相同，无需处理",
                  "same content as {file} (batch {batch}, {status}): nothing to do"),
    "unchanged_open": ("{file} 仍有 {n} 行被隔离，相同文件不会重新校验：请用 govindex quarantine --resubmit {file} "
                       "导出更正表，更正后（或所缺的引用数据到达后原样）提交",
                       "{n} row(s) of {file} are still quarantined and the same file is not checked again: write its "
                       "fix sheet (govindex quarantine --resubmit {file}) and submit it corrected (or as it is once "
                       "the rows it references have arrived)"),
    "original_line": ("原始行：{text}", "original line: {text}"),
}  # fmt: skip


# Check names of whole-file rejections that cover several FILE_KINDS (labels only; the message names the kind).
REJECTION_LABELS: dict[str, tuple[str, str]] = {
    "parse": ("文件无法解析", "file cannot be parsed"),
    "rejected": ("文件被拒收", "file rejected"),
}


def kind_of(check: str) -> str:
    """The catalogue kind of a quarantine check name (cross-column rule codes are all kind 'rule')."""
    if check in CELL_KINDS or check in FILE_KINDS or check in REJECTION_LABELS:
        return check
    return "rule"


def label(check: str) -> str:
    """Short words for a check name: '不在允许值内 / not an allowed value'."""
    kind = kind_of(check)
    if kind in REJECTION_LABELS:
        zh, en = REJECTION_LABELS[kind]
        return f"{zh}{SEP}{en}"
    k = CELL_KINDS.get(kind) or FILE_KINDS[kind]
    return f"{k.label_zh}{SEP}{k.label_en}"


def _where_zh(file: str, sheet: str | None, row: int | None, column: str | None) -> str:
    s = f"文件 {file}"
    if sheet:
        s += f" 工作表“{sheet}”"
    if row:
        s += f" 第 {row} 行"
    if column:
        s += f"，{column} 列"
    return s


def _where_en(file: str, sheet: str | None, row: int | None, column: str | None) -> str:
    s = file
    if sheet:
        s += f" sheet '{sheet}'"
    if row:
        s += f" row {row}"
    if column:
        s += f", column {column}"
    return s


def cell(
    check: str,
    *,
    file: str,
    row: int | None,
    column: str | None,
    value: str | None,
    detail: str | None = None,
    sheet: str | None = None,
    **facts: object,
) -> str:
    """The message for one failed check of one cell (or row): where, value, the rule, what to do; zh / en."""
    k = CELL_KINDS[kind_of(check)]
    what_zh, what_en = DTYPE_WORDS.get(str(detail), ("", ""))
    params = {"detail": detail if detail is not None else "", "what_zh": what_zh, "what_en": what_en, **facts}
    rule_zh, rule_en = k.zh.format(**params), k.en.format(**params)
    todo_zh, todo_en = k.todo_zh.format(**params), k.todo_en.format(**params)
    if value is None and check == "field_count":
        zh = f"{_where_zh(file, sheet, row, column)}：{rule_zh}。{todo_zh}。"
        en = f"{_where_en(file, sheet, row, column)}: {rule_en}; {todo_en}."
    else:
        shown_zh = "（空）" if value is None else f"“{value}”"
        shown_en = "empty" if value is None else f"'{value}'"
        zh = f"{_where_zh(file, sheet, row, column)}：值{shown_zh}{rule_zh}。{todo_zh}。"
        en = f"{_where_en(file, sheet, row, column)}: value {shown_en} {rule_en}; {todo_en}."
    return zh + SEP + en


def file_message(kind: str, *, file: str, sheet: str | None = None, **facts: object) -> str:
    """The message for a whole-file outcome (`FILE_KINDS`): zh / en, with what to do."""
    k = FILE_KINDS[kind]
    params = {"sheet": sheet or "", **facts}
    zh = f"{_where_zh(file, None, None, None)}：{k.zh.format(**params)}。{k.todo_zh.format(**params)}。"
    en = f"{file}: {k.en.format(**params)}; {k.todo_en.format(**params)}."
    return zh + SEP + en


def note(kind: str, **facts: object) -> tuple[str, str]:
    """A note of a file's message as (zh, en)."""
    zh, en = NOTES[kind]
    return zh.format(**facts), en.format(**facts)


def join_notes(notes: list[tuple[str, str]]) -> str:
    """Notes as one message: all the Chinese, then all the English."""
    if not notes:
        return ""
    return "；".join(z for z, _ in notes) + SEP + "; ".join(e for _, e in notes)
