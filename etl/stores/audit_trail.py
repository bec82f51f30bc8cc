"""The audit trail of weight profiles: who saved or published which version, when, what changed and why.

An append-only JSON-lines file (`<weights>/history/audit.jsonl`): one record per line, appended under an exclusive
file lock with fsync, so it survives restarts and concurrent writers never interleave. Each record carries the
sha256 of the previous line (`prev`), so editing or deleting a past line is detectable with `verify_trail`.
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
from indicators.profile import WeightProfile

AUDIT_FILE = "audit.jsonl"
SHANGHAI = zoneinfo.ZoneInfo(LOCAL_TZ)
EVENTS = ("save", "publish")
GENESIS = "0" * 64
CSV_COLUMNS = ("seq", "event", "profile", "version", "previous_version", "who", "role", "at_utc", "at_shanghai",
               "rationale", "change_count", "changes")


class AuditError(RuntimeError):
    """The audit trail cannot be written, or a line in it was altered (the message names the line)."""


def audit_path(weights_dir: str | os.PathLike[str]) -> Path:
    return Path(weights_dir) / "history" / AUDIT_FILE


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


def verify_trail(weights_dir: str | os.PathLike[str]) -> int:
    """Check the hash chain; returns the number of records, raises AuditError naming the first altered line."""
    path = audit_path(weights_dir)
    try:
        lines = [ln for ln in path.read_bytes().split(b"\n") if ln.strip()]
    except FileNotFoundError:
        return 0
    prev = GENESIS
    for i, line in enumerate(lines, start=1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            raise AuditError(f"{path}: line {i} is not valid JSON") from None
        if rec.get("prev") != prev or rec.get("seq") != i:
            raise AuditError(f"{path}: line {i} (seq {rec.get('seq')}) does not follow line {i - 1}: "
                             "a record was edited, removed or inserted")
        prev = hashlib.sha256(line).hexdigest()
    return len(lines)


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


def trail_csv(records: list[dict[str, Any]]) -> str:
    """CSV text (UTF-8; add a BOM when writing for Excel)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    w.writeheader()
    for row in trail_rows(records):  # no live spreadsheet formulas from free text (rationales, names)
        w.writerow({k: ("'" + v if isinstance(v, str) and v.startswith(("=", "+", "-", "@", "\t", "\r")) else v)
                    for k, v in row.items()})
    return buf.getvalue()
