"""Evidence files (佐证材料) of ledger items, stored safely beside the warehouse.

A file is accepted only when its CONTENT is one of the configured types (`ledger.evidence_types`: pdf, png, jpeg,
xlsx, docx — recognised by magic bytes and, for the Office formats, by the parts inside the zip; macro-enabled
workbooks are refused), its name's extension agrees with that content, and its size is within
`ledger.evidence_max_mb`. It is stored under its SHA-256 (`<evidence_dir>/<sha[:2]>/<sha>`, written to a temporary
file and renamed): the name a person gave is kept for display only and is never part of a path.

API:
- `sniff(data) -> str`: what the bytes are (pdf, png, jpeg, xlsx, docx, or for the refusal message: xlsm, docm,
  zip, exe, html, text, unknown).
- `check(store, name, data) -> (kind, display_name)`: raises BadInput (too large, empty, forbidden type, extension
  not matching the content); changes nothing.
- `attach(store, actor, item_id, name, data, *, now=None) -> EvidenceRef`: checks the permission (officials of the
  item's district), the file, stores it and records it (append-only, in the change record).
- `read(store, actor, evidence_id) -> (EvidenceRef, bytes)`: for a download; the bytes are checked against their
  SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from etl.stores.ledger import EvidenceRef, item_unit
from etl.stores.loop import (
    Actor, BadInput, LoopStore, NotFound, check_edit, check_see, iso, record_event,
)

EXTENSIONS: dict[str, tuple[str, ...]] = {
    "pdf": (".pdf",), "png": (".png",), "jpeg": (".jpg", ".jpeg"), "xlsx": (".xlsx",), "docx": (".docx",),
}
LABELS: dict[str, str] = {"pdf": "PDF", "png": "PNG", "jpeg": "JPEG", "xlsx": "Excel (.xlsx)", "docx": "Word (.docx)"}
_NAME_BAD = re.compile(r"[\x00-\x1f\x7f]")


def sniff(data: bytes) -> str:
    """The type the content says it is (never the file's name)."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return "unknown"
        macro = any(n.lower().endswith("vbaproject.bin") for n in names)
        if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
            return "xlsm" if macro else "xlsx"
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "docm" if macro else "docx"
        return "zip"
    if data.startswith(b"MZ") or data.startswith(b"\x7fELF"):
        return "exe"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml")):
        return "html"
    try:
        data[:4096].decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "unknown"


def display_name(name: str) -> str:
    """The name shown for a file: its last path part, no control characters, at most 200 characters."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = _NAME_BAD.sub("", base).strip() or "evidence"
    return base[:200]


def check(store: LoopStore, name: str, data: bytes) -> tuple[str, str]:
    """(kind, display name) of an acceptable file; BadInput otherwise."""
    shown = display_name(name)
    limit = store.ledger.evidence_max_mb * 1024 * 1024
    if len(data) == 0:
        raise BadInput("loop.err.evidence_empty", name=shown)
    if len(data) > limit:
        raise BadInput("loop.err.evidence_size", name=shown, size_mb=f"{len(data) / 1048576:.1f}",
                       limit_mb=f"{store.ledger.evidence_max_mb:g}")
    kind = sniff(data)
    allowed = tuple(store.ledger.evidence_types)
    if kind not in allowed:
        raise BadInput("loop.err.evidence_type", name=shown, found=kind,
                       allowed="、".join(LABELS.get(k, k) for k in allowed))
    if not shown.lower().endswith(EXTENSIONS[kind]):
        raise BadInput("loop.err.evidence_mismatch", name=shown, found=LABELS.get(kind, kind))
    return kind, shown


def blob_path(store: LoopStore, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise NotFound("loop.err.evidence_missing", sha=sha256[:80])
    return store.evidence_dir / sha256[:2] / sha256


def _write_blob(store: LoopStore, sha256: str, data: bytes) -> None:
    dest = blob_path(store, sha256)
    if dest.is_file() and dest.stat().st_size == len(data):
        return  # the same content is already stored
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o640)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def attach(store: LoopStore, actor: Actor, item_id: int, name: str, data: bytes, *,
           now: datetime | None = None) -> EvidenceRef:
    """Attach an evidence file to an item; refused (nothing stored) without permission or for a bad file."""
    check_edit(actor, item_unit(store, item_id))
    kind, shown = check(store, name, data)
    sha = hashlib.sha256(data).hexdigest()
    _write_blob(store, sha, data)
    at = iso(store.clock(now))
    with store.transaction() as con:
        cur = con.execute("INSERT INTO evidence (item_id, sha256, name, kind, size_bytes, who, role, at_utc) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (item_id, sha, shown, kind, len(data), actor.name,
                                                              actor.role, at))
        eid = int(cur.lastrowid or 0)
        record_event(con, actor, "item_evidence", f"item:{item_id}",
                     {"evidence_id": eid, "sha256": sha, "name": shown, "kind": kind, "size_bytes": len(data)}, at)
    return EvidenceRef(eid, item_id, sha, shown, kind, len(data), actor.name, actor.role, at)


def read(store: LoopStore, actor: Actor, evidence_id: int) -> tuple[EvidenceRef, bytes]:
    """An evidence file's record and bytes, for those who may see the item's district."""
    with store.connect() as con:
        r = con.execute("SELECT * FROM evidence WHERE evidence_id = ?", (int(evidence_id),)).fetchone()
    if r is None:
        raise NotFound("loop.err.evidence_missing", sha=str(evidence_id))
    check_see(actor, item_unit(store, int(r["item_id"])), store.units())
    ref = EvidenceRef(r["evidence_id"], r["item_id"], r["sha256"], r["name"], r["kind"], r["size_bytes"], r["who"],
                      r["role"], r["at_utc"])
    path = blob_path(store, ref.sha256)
    try:
        data = path.read_bytes()
    except OSError:
        raise NotFound("loop.err.evidence_missing", sha=ref.sha256) from None
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise NotFound("loop.err.evidence_missing", sha=ref.sha256)
    return ref, data
