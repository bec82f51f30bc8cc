"""The audit trail of weight profiles: who saved or published which version, when, what changed and why.

An append-only JSON-lines file (`<weights>/history/audit.jsonl`): one record per line, appended under an exclusive
file lock with fsync, so it survives restarts and concurrent writers never interleave. Each record carries the
sha256 of the previous line (`prev`), so editing or deleting a past line is detectable with `verify_trail`.

The chain alone cannot see its own end cut off (deleting the last lines leaves a valid chain), so its head (the
last record's seq and the sha256 of its line) is also written, atomically, to a separate file beside it
(`audit.head.json`) after every append; `verify_trail` checks both. A new record is never appended onto a trail
that fails the check: the damage is reported (`govindex weights verify`, the history page) instead of buried.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from etl.contract.tables import LOCAL_TZ
from etl.safe_export import neutralise, neutralise_row
from indicators.profile import WeightProfile

AUDIT_FILE = "audit.jsonl"
HEAD_FILE = "audit.head.json"
SHANGHAI = zoneinfo.ZoneInfo(LOCAL_TZ)
EVENTS = ("save", "publish", "edition_publish")  # edition_publish: an assessment edition made with the profile
GENESIS = "0" * 64
SCHEMA_VERSION = 1  # of the trail's records and head; the head file says it ("schema"; none: 1, the release before)
CSV_COLUMNS = ("seq", "event", "profile", "version", "previous_version", "who", "role", "at_utc", "at_shanghai",
               "rationale", "change_count", "changes")


class AuditError(RuntimeError):
    """The audit trail cannot be written, or a line in it was altered (the message names the line)."""


class AuditTampered(AuditError):
    """The trail fails its check: a record was edited, removed or inserted, or its last records were cut off."""


def audit_path(weights_dir: str | os.PathLike[str]) -> Path:
    return Path(weights_dir) / "history" / AUDIT_FILE


def head_path(weights_dir: str | os.PathLike[str]) -> Path:
    return Path(weights_dir) / "history" / HEAD_FILE


# -- diff ----------------------------------------------------------------------------------------------------------
def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def _scoring_view(p: WeightProfile | None) -> dict[str, Any]:
    """What decides the numbers: own weights, blend, what omitted nodes weigh, and the methods (flattened)."""
    if p is None:
        return {}
    data = p.to_dict()
    flat: dict[str, Any] = {}
    for key in ("weights", "blend", "methods"):
        _flatten(key, data.get(key, {}), flat)
    flat["omitted"] = data.get("omitted", "framework")
    return flat


def profile_diff(old: WeightProfile | None, new: WeightProfile) -> list[dict[str, Any]]:
    """Changed weights and methods as [{"key": "weights.d_value", "old": 0.25, "new": 0.3}, ...], keys sorted.

    `old` None (a first version) lists every key with old = None. Lists (e.g. winsorisation bounds) compare whole.
    """
    a, b = _scoring_view(old), _scoring_view(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append({"key": key, "old": a.get(key), "new": b.get(key)})
    return out


# -- the store -----------------------------------------------------------------------------------------------------
def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextmanager
def _locked(path: Path) -> Iterator[Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # writers in other processes (CLI, app) wait their turn
        try:
            yield f
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _last_line(f: Any) -> bytes | None:
    f.seek(0, os.SEEK_END)
    end = f.tell()
    if end == 0:
        return None
    pos, chunk, tail = end, 4096, b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        f.seek(pos)
        tail = f.read(step) + tail
        lines = tail.rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or pos == 0:
            return lines[-1]
    return None  # pragma: no cover


def record(weights_dir: str | os.PathLike[str], *, event: str, profile: WeightProfile, who: str,
           rationale: str, previous: WeightProfile | None, role: str | None = None,
           when: dt.datetime | None = None) -> dict[str, Any]:
    """Append one record (event 'save' or 'publish'); returns it. Raises AuditError if it cannot be written."""
    if event not in EVENTS:
        raise AuditError(f"unknown audit event {event!r}; events: {', '.join(EVENTS)}")
    if not str(who).strip():
        raise AuditError("an audit record needs who made the change")
    when = (when or _now()).astimezone(dt.UTC).replace(microsecond=0)
    path = audit_path(weights_dir)
    try:
        with _locked(path) as f:
            f.seek(0)
            try:  # never append onto a broken chain: the new record would hide where it broke
                _check(path, f.read(), _read_head(head_path(weights_dir)))
            except AuditTampered as e:
                raise AuditTampered(f"{e}; not appending onto a broken trail (see `govindex weights verify`)") from None
            last = _last_line(f)
            if last:
                try:
                    seq = int(json.loads(last)["seq"]) + 1
                except (ValueError, KeyError, TypeError) as e:
                    raise AuditError(f"{path}: the last line is not an audit record ({e}); not appending") from None
            else:
                seq = 1
            rec = {
                "seq": seq,
                "event": event,
                "profile": profile.name,
                "version": profile.version,
                "previous_version": previous.version if previous is not None else None,
                "who": str(who).strip(),
                "role": role,
                "at_utc": when.isoformat().replace("+00:00", "Z"),
                "at_shanghai": when.astimezone(SHANGHAI).isoformat(),
                "rationale": str(rationale or "").strip(),
                "changes": profile_diff(previous, profile),
                "content_hash": profile.content_hash(),
                "prev": hashlib.sha256(last).hexdigest() if last else GENESIS,
            }
            line = json.dumps(rec, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8") + b"\n"
            f.seek(0, os.SEEK_END)
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
            _write_head(head_path(weights_dir), seq, hashlib.sha256(line.rstrip(b"\n")).hexdigest())
    except OSError as e:
        raise AuditError(f"{path}: cannot append to the audit trail ({e})") from None
    return rec


def read_trail(weights_dir: str | os.PathLike[str], profile: str | None = None) -> list[dict[str, Any]]:
    """Every record, oldest first (only `profile`'s when given). A torn last line (crash mid-write) is skipped."""
    path = audit_path(weights_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = raw.split(b"\n")
    out = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) or (i == len(lines) - 1 and not lines[-1]):
                continue  # an unfinished final line: the write never completed
            raise AuditError(f"{path}: line {i} is not valid JSON") from None
        if profile is None or rec.get("profile") == profile:
            out.append(rec)
    return out


def _read_head(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise AuditTampered(f"{path}: the trail's head file is unreadable ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("seq"), int) or not isinstance(data.get("hash"), str):
        raise AuditTampered(f"{path}: the trail's head file is not a head record")
    if not isinstance(data.get("schema", 1), int) or data.get("schema", 1) > SCHEMA_VERSION:
        raise AuditError(f"审计记录 {path} 的格式版本 {data.get('schema')!r} 高于本程序支持的 {SCHEMA_VERSION}，请升级 govindex · "
                         f"{path}: the trail was written by a later govindex (schema {data.get('schema')!r}): "
                         "upgrade govindex")
    return data


def _write_head(path: Path, seq: int, digest: str) -> None:
    """The head, replaced atomically (temp file, fsync, rename, fsync of the folder)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(json.dumps({"seq": seq, "hash": digest, "schema": SCHEMA_VERSION}).encode("utf-8") + b"\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _check(path: Path, raw: bytes, head: dict[str, Any] | None, *, need_head: bool = True) -> int:
    """The number of records of a sound trail; AuditTampered naming the first problem otherwise."""
    lines = [ln for ln in raw.split(b"\n") if ln.strip()]
    prev = GENESIS
    hashes = []
    for i, line in enumerate(lines, start=1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise AuditTampered(f"{path}: line {i} is not valid JSON") from None
        if not isinstance(rec, dict) or rec.get("prev") != prev or rec.get("seq") != i:
            seq = rec.get("seq") if isinstance(rec, dict) else None
            raise AuditTampered(f"{path}: line {i} (seq {seq}) does not follow line {i - 1}: "
                                "a record was edited, removed or inserted")
        prev = hashlib.sha256(line).hexdigest()
        hashes.append(prev)
    n = len(lines)
    if head is None:
        if n and need_head:
            raise AuditTampered(f"{path}: {n} record(s) but no head file ({HEAD_FILE}), so records cut off the end "
                                "would go unnoticed; if the trail is known to be complete, anchor it with "
                                "`govindex weights verify --anchor`")
        return n
    want_seq, want_hash = head["seq"], head["hash"]
    if n < want_seq:
        raise AuditTampered(f"{path}: the trail ends at record {n} but its head says {want_seq}: "
                            f"the last {want_seq - n} record(s) were removed")
    # one record past the head: a crash between appending and writing the head (the next append repairs it)
    at = hashes[want_seq - 1] if want_seq >= 1 else None
    if n > want_seq + 1 or (want_seq >= 1 and at != want_hash) or (want_seq == 0 and n > 1):
        raise AuditTampered(f"{path}: record {want_seq} does not match the trail's head: "
                            "records were edited or added outside govindex")
    return n


def verify_trail(weights_dir: str | os.PathLike[str]) -> int:
    """Check the hash chain and its head; returns the number of records, raises AuditTampered naming the first
    altered line or the records cut off the end."""
    path = audit_path(weights_dir)
    head = _read_head(head_path(weights_dir))
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raw = b""
    return _check(path, raw, head)


def trail_problem(weights_dir: str | os.PathLike[str]) -> str | None:
    """Why the trail fails its check, or None when it is sound (for warnings on pages and in exports)."""
    try:
        verify_trail(weights_dir)
    except AuditError as e:
        return str(e)
    return None


def anchor_trail(weights_dir: str | os.PathLike[str]) -> int:
    """Write the head of a trail that has none (one written before heads existed), after checking its chain.

    Refuses when a head exists: re-anchoring a damaged trail would launder the damage."""
    path = audit_path(weights_dir)
    with _locked(path) as f:
        hp = head_path(weights_dir)
        if _read_head(hp) is not None:
            raise AuditError(f"{hp} exists: the trail is already anchored (`govindex weights verify` checks it)")
        f.seek(0)
        raw = f.read()
        n = _check(path, raw, None, need_head=False)
        last = [ln for ln in raw.split(b"\n") if ln.strip()][-1] if n else b""
        _write_head(hp, n, hashlib.sha256(last).hexdigest() if n else GENESIS)
    return n


def format_change(ch: dict[str, Any]) -> str:
    def v(x: Any) -> str:
        if x is None:
            return "—"
        return f"{x:.4g}" if isinstance(x, float) else str(x)

    return f"{ch['key']}: {v(ch.get('old'))} → {v(ch.get('new'))}"


def trail_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flat rows for a table or CSV (changes joined as 'key: old → new; ...')."""
    rows = []
    for r in records:
        changes = r.get("changes") or []
        rows.append({**{k: r.get(k) for k in CSV_COLUMNS if k not in ("change_count", "changes")},
                     "change_count": len(changes), "changes": "; ".join(format_change(c) for c in changes)})
    return rows


def trail_csv(records: list[dict[str, Any]], warning: str | None = None) -> str:
    """CSV text (UTF-8; add a BOM when writing for Excel). A `warning` (the trail failed its check) goes first,
    on its own line, so nobody takes the records that follow for a sound trail."""
    buf = io.StringIO()
    if warning:
        csv.writer(buf, lineterminator="\n").writerows([[neutralise(warning)], []])
    w = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    w.writeheader()
    for row in trail_rows(records):  # no live spreadsheet formulas from free text (rationales, names)
        w.writerow(neutralise_row(row))
    return buf.getvalue()
