"""Evidence files: content sniffed (not the extension), size and type limits from config, stored under their
SHA-256 (the name never a path), permissions, and every refusal changes nothing."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from etl.config import load_config
from etl.contract.catalog import load_catalog
from etl.stores import evidence, ledger
from etl.stores.loop import Actor, BadInput, Forbidden, LoopStore

OFFICIAL = Actor("zhang", "district_official", "310104")
OTHER = Actor("wang", "district_official", "310115")
LEADER = Actor("li", "leader")
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


XLSX = _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<w/>"})
XLSM = _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<w/>", "xl/vbaProject.bin": b"\x00"})
DOCX = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<d/>"})


@pytest.fixture()
def env(tmp_path: Path) -> tuple[LoopStore, int]:
    cfg = load_config(env={}, overrides={"db": str(tmp_path / "warehouse.duckdb"), "ledger.evidence_max_mb": 0.01})
    store = LoopStore.for_config(cfg)
    item = ledger.open_item(store, OFFICIAL, "310104", "high_freq_full_online_rate", problem="p", action="a",
                            owner="o", due_date="2026-04-01", catalog=load_catalog(), now=NOW)
    return store, item.item_id


def test_sniffing_reads_the_content() -> None:
    assert [evidence.sniff(b) for b in (PDF, PNG, b"\xff\xd8\xff\xe0", XLSX, XLSM, DOCX, b"MZ\x90", b"<html>",
                                         b"hello", b"PK\x03\x04broken", b"\xff\xfe\x00")] == [
        "pdf", "png", "jpeg", "xlsx", "xlsm", "docx", "exe", "html", "text", "unknown", "unknown"]


def test_a_file_is_stored_under_its_sha256_and_read_back(env: tuple[LoopStore, int]) -> None:
    store, item_id = env
    ref = evidence.attach(store, OFFICIAL, item_id, "../../etc/整改报告.pdf", PDF, now=NOW)
    sha = hashlib.sha256(PDF).hexdigest()
    assert (ref.sha256, ref.name, ref.kind, ref.size_bytes) == (sha, "整改报告.pdf", "pdf", len(PDF))
    assert (store.evidence_dir / sha[:2] / sha).read_bytes() == PDF
    assert not any("etc" in p.name or p.name.endswith(".pdf") for p in store.evidence_dir.rglob("*"))
    got, data = evidence.read(store, LEADER, ref.evidence_id)
    assert data == PDF and got == ref
    assert [e.name for e in ledger.get_item(store, LEADER, item_id, now=NOW).evidence] == ["整改报告.pdf"]
    with pytest.raises(Forbidden):
        evidence.read(store, OTHER, ref.evidence_id)


@pytest.mark.parametrize("name,data,words", [
    ("big.pdf", b"%PDF-" + b"x" * 20000, "超过上限 0.01 MB"),
    ("empty.pdf", b"", "空文件"),
    ("tool.pdf", b"MZ\x90\x00" + b"\x00" * 10, "按内容识别为：exe"),
    ("page.png", b"<html><script>x</script></html>", "按内容识别为：html"),
    ("macro.xlsx", XLSM, "xlsm"),
    ("report.exe", PDF, "扩展名与内容不符"),
    ("report.png", PDF, "扩展名与内容不符"),
    ("noext", DOCX, "扩展名与内容不符"),
])
def test_bad_files_are_refused_and_nothing_is_stored(env: tuple[LoopStore, int], name: str, data: bytes,
                                                     words: str) -> None:
    store, item_id = env
    with pytest.raises(BadInput) as e:
        evidence.attach(store, OFFICIAL, item_id, name, data, now=NOW)
    assert words in e.value.message("zh") and "Nothing was changed" in e.value.message("en")
    assert not store.evidence_dir.exists() or not any(store.evidence_dir.rglob("*"))
    assert ledger.get_item(store, LEADER, item_id, now=NOW).evidence == ()


def test_only_the_districts_officials_attach(env: tuple[LoopStore, int]) -> None:
    store, item_id = env
    for actor in (OTHER, LEADER):
        with pytest.raises(Forbidden):
            evidence.attach(store, actor, item_id, "a.pdf", PDF, now=NOW)
    assert not store.evidence_dir.exists()


def test_the_type_list_comes_from_config(tmp_path: Path) -> None:
    cfg = load_config(env={}, overrides={"db": str(tmp_path / "w.duckdb"), "ledger.evidence_types": "pdf"})
    store = LoopStore.for_config(cfg)
    with pytest.raises(BadInput, match="PDF"):
        evidence.check(store, "a.png", PNG)
    assert evidence.check(store, "a.PDF", PDF) == ("pdf", "a.PDF")
