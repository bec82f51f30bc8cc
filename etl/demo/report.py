"""What a demo run wrote: files, rows per table and every injected defect, so ETL tests can account exactly."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

REPORT_FILE = "_demo_report.json"
EXACT_DUPLICATE = "exact_duplicate"
CONFLICTING_KEY = "conflicting_duplicate_key"


class FileRecord(BaseModel):
    """One file written."""

    model_config = ConfigDict(extra="forbid")
    file: str
    table: str
    format: str  # csv, xlsx, parquet
    encoding: str  # utf-8, utf-8-sig (BOM), gb18030, binary
    rows: int  # data rows, header excluded


class DefectRecord(BaseModel):
    """Rows of one kind of defect injected into one file; keys are their primary keys ("|"-joined if composite)."""

    model_config = ConfigDict(extra="forbid")
    table: str
    file: str
    kind: str
    count: int
    keys: list[str]


class GenerationReport(BaseModel):
    """The accounting of one generator run; written beside the data as _demo_report.json."""

    model_config = ConfigDict(extra="forbid")
    seed: int
    months: int
    scale: float
    end_month: str
    files: list[FileRecord]
    rows: dict[str, int]  # table -> rows written (valid + duplicates + invalid)
    defects: list[DefectRecord]
    supply_demand_corr: float = 0.3  # the latent supply–demand correlation drawn with (reports before it: 0.3)

    def count(self, table: str | None = None, kind: str | None = None, file: str | None = None) -> int:
        """Injected rows matching the filters."""
        return sum(d.count for d in self.defects
                   if (table is None or d.table == table) and (kind is None or d.kind == kind)
                   and (file is None or d.file == file))

    def invalid_rows(self, table: str) -> int:
        """Rows that validation must reject (everything injected except exact duplicates)."""
        return self.count(table) - self.count(table, EXACT_DUPLICATE)

    def exact_duplicates(self, table: str) -> int:
        return self.count(table, EXACT_DUPLICATE)

    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.defects:
            out[d.kind] = out.get(d.kind, 0) + d.count
        return dict(sorted(out.items()))

    def write(self, out_dir: Path) -> Path:
        path = out_dir / REPORT_FILE
        path.write_text(json.dumps(self.model_dump(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, out_dir: Path) -> GenerationReport:
        return cls.model_validate_json((out_dir / REPORT_FILE).read_text(encoding="utf-8"))
