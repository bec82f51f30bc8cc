"""Per-file and per-batch ingest accounting, always:
rows_in == rows_loaded + rows_quarantined + rows_duplicate + rows_blank.

A row that fails several checks has one quarantine record per failed check but counts once in rows_quarantined
(count(DISTINCT row_number) of its file's row-level quarantine records, row_number > 0, == rows_quarantined; a
rejected file's single record has row_number 0). Blank rows (every cell empty) are read, counted and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from etl.errors import AccountingError

STATUSES = ("loaded", "partial", "rejected", "unchanged")


@dataclass
class FileReport:
    """What happened to one source file."""

    path: str
    name: str
    table: str | None
    sha256: str = ""
    size: int = 0
    encoding: str | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_blank: int = 0  # blank rows skipped (every cell empty)
    rows_superseded: int = 0  # warehouse rows (from earlier files) replaced by rows of this file
    rows_resolved: int = 0  # quarantined rows of earlier files whose key this file loaded (a corrected resubmission)
    status: str = "loaded"
    message: str = ""
    file_id: int | None = None

    def check(self) -> None:
        """Raise AccountingError unless every input row is accounted for."""
        if self.status not in STATUSES:
            raise AccountingError(f"{self.name}: unknown status {self.status!r}")
        counted = self.rows_loaded + self.rows_quarantined + self.rows_duplicate + self.rows_blank
        if self.rows_in != counted or min(self.rows_loaded, self.rows_quarantined, self.rows_duplicate, self.rows_blank) < 0:
            raise AccountingError(
                f"{self.name}: rows_in={self.rows_in} but loaded={self.rows_loaded} + quarantined="
                f"{self.rows_quarantined} + duplicate={self.rows_duplicate} + blank={self.rows_blank} = {counted}"
            )


@dataclass
class IngestReport:
    """The files of one ingest batch, in processing order, plus files that were not ingested at all."""

    batch_id: int
    db_path: str
    files: list[FileReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # not CSV/XLSX/Parquet: left alone

    def total(self, attr: str) -> int:
        return sum(int(getattr(f, attr)) for f in self.files)

    @property
    def rows_in(self) -> int:
        return self.total("rows_in")

    @property
    def rows_loaded(self) -> int:
        return self.total("rows_loaded")

    @property
    def rows_quarantined(self) -> int:
        return self.total("rows_quarantined")

    @property
    def rows_duplicate(self) -> int:
        return self.total("rows_duplicate")

    @property
    def rows_blank(self) -> int:
        return self.total("rows_blank")

    @property
    def processed(self) -> bool:
        """True when at least one file was read (loaded, partial or unchanged); False when all were rejected."""
        return any(f.status != "rejected" for f in self.files)

    def by_status(self, status: str) -> list[FileReport]:
        return [f for f in self.files if f.status == status]
