"""The audit trail: every save and publication recorded with who, when, the diff and why; append-only, chained."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etl.stores.audit_trail import (AuditError, AuditTampered, audit_path, head_path, profile_diff, read_trail, trail_csv,
                                   trail_problem, verify_trail)
from etl.stores.profiles import load_profile, load_profiles_for_viewers, load_published, profile_versions, publish_profile, published_version, save_profile
from indicators.profile import ProfileError

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent / "govindex"


@pytest.fixture()
def wdir(tmp_path: Path) -> Path:
    d = tmp_path / "weights"
    shutil.copytree(ROOT / "weights", d, ignore=shutil.ignore_patterns("history"))
    return d


def test_diff_names_weights_blend_and_methods() -> None:
    a = load_profile("user-centred", ROOT / "weights")
    b = a.with_weights({"supply": 0.2, "demand": 0.8, "supply_value": 3.0})
    b = b.model_copy(update={"methods": b.methods.model_copy(update={"fit_on": "period"})})
    keys = {c["key"]: (c["old"], c["new"]) for c in profile_diff(a, b)}
    assert keys["blend.demand"][1] == pytest.approx(0.8) and keys["weights.supply_value"] == (None, 3.0)
    assert keys["methods.fit_on"] == (a.methods.fit_on, "period")
    assert profile_diff(a, a) == []


def test_saves_and_publications_are_recorded_and_survive_reopening(wdir: Path) -> None:
    p = load_profile("supply-led", wdir)
    v2 = save_profile(p.with_weights({"supply": 0.6, "demand": 0.4}), wdir, who="ana", rationale="更均衡", role="assessor")
    publish_profile("supply-led", v2.version, "chief", "经专家评审 reviewed", wdir, role="admin")
    v3 = save_profile(v2.with_weights({"supply": 0.5, "demand": 0.5}), wdir, who="bo")
    assert published_version("supply-led", wdir) == v2.version and load_published("supply-led", wdir) == v2
    assert load_profiles_for_viewers(wdir)["supply-led"].version == v2.version
    assert load_profile("supply-led", wdir).version == v3.version
    trail = read_trail(wdir, "supply-led")  # a fresh read of the file: what a restarted server sees
    assert [(r["event"], r["version"], r["previous_version"], r["who"]) for r in trail] == [
        ("save", 2, 1, "ana"), ("publish", 2, None, "chief"), ("save", 3, 2, "bo")]
    assert trail[0]["role"] == "assessor" and trail[0]["rationale"] == "更均衡"
    assert trail[0]["at_utc"].endswith("Z") and trail[0]["at_shanghai"].endswith("+08:00")
    assert {c["key"] for c in trail[2]["changes"]} == {"blend.supply", "blend.demand"}
    assert verify_trail(wdir) == 3
    csv_text = trail_csv(trail)
    assert csv_text.splitlines()[0].startswith("seq,event,profile,version")


def test_publish_needs_a_rationale_and_an_existing_version(wdir: Path) -> None:
    with pytest.raises(ProfileError, match="needs a rationale"):
        publish_profile("equal", 1, "chief", "  ", wdir)
    with pytest.raises(ProfileError, match="has no version 9"):
        publish_profile("equal", 9, "chief", "why", wdir)
    with pytest.raises(ProfileError, match="bad profile name"):
        publish_profile("../../etc/passwd", 1, "chief", "why", wdir)
    publish_profile("equal", 1, "chief", "first", wdir)  # the shipped, never-archived v1 is archived on publish
    assert profile_versions("equal", wdir) == [1]


def test_tampering_is_detected_and_a_torn_last_line_is_skipped(wdir: Path) -> None:
    p = load_profile("equal", wdir)
    for k in range(3):
        save_profile(p.with_weights({"supply_value": 1.0 + k}), wdir, who="ana", rationale=f"step {k}")
    path = audit_path(wdir)
    lines = path.read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[1])
    rec["who"] = "someone else"
    path.write_text("\n".join([lines[0], json.dumps(rec, ensure_ascii=False, sort_keys=True), lines[2]]) + "\n")
    with pytest.raises(AuditError, match="line 3 .* does not follow"):
        verify_trail(wdir)
    path.write_text("\n".join(lines) + '\n{"seq": 4, "event": "sa')  # a crash mid-append
    assert len(read_trail(wdir)) == 3


def test_a_failed_audit_write_withdraws_the_version(wdir: Path) -> None:
    audit_path(wdir).parent.mkdir(parents=True, exist_ok=True)
    audit_path(wdir).write_text("garbage that is not a record\n")
    p = load_profile("equal", wdir)
    with pytest.raises(AuditError, match="not valid JSON.*not appending"):
        save_profile(p.with_weights({"supply_value": 2.0}), wdir, who="ana")
    assert load_profile("equal", wdir).version == 1 and 2 not in profile_versions("equal", wdir)


@pytest.mark.slow
def test_cli_history_and_publish(wdir: Path, tmp_path: Path) -> None:
    p = load_profile("equal", wdir)
    save_profile(p.with_weights({"supply_value": 2.0}), wdir, who="ana", rationale="=HYPERLINK(\"x\")")
    run = lambda *a: subprocess.run([str(BIN), "weights", *a, "--weights-dir", str(wdir)],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)
    out = run("publish", "equal", "--by", "chief", "--rationale", "审定")
    assert out.returncode == 0, out.stderr
    out = run("history", "equal", "--csv", str(tmp_path / "h.csv"))
    assert out.returncode == 0, out.stderr
    assert "published v2" in out.stdout and "weights.supply_value: — → 2" in out.stdout and "审定" in out.stdout
    text = (tmp_path / "h.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text  # no live formula reaches a spreadsheet
    assert run("history", "nope").returncode != 0


# -- issue 15: a tampered trail is reported, and never appended to -------------------------------------------------
def _three_saves(wdir: Path) -> list[str]:
    p = load_profile("equal", wdir)
    for k in range(3):
        p = save_profile(p.with_weights({"supply_value": 2.0 + k}), wdir, who="ana", rationale=f"step {k}")
    return audit_path(wdir).read_text(encoding="utf-8").splitlines()


def _weights(*args: str, wdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), "weights", *args, "--weights-dir", str(wdir)], capture_output=True, text=True,
                          timeout=60)


def test_an_edited_weight_is_reported_by_history_verify_and_refused_by_save(wdir: Path, tmp_path: Path) -> None:
    lines = _three_saves(wdir)
    assert _weights("verify", wdir=wdir).returncode == 0
    rec = json.loads(lines[0])
    rec["changes"] = [{**c, "new": 9.0} if c["key"] == "weights.supply_value" else c for c in rec["changes"]]
    lines[0] = json.dumps(rec, ensure_ascii=False, sort_keys=True)  # a forged past weight
    audit_path(wdir).write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(AuditTampered, match="line 2 .* does not follow"):
        verify_trail(wdir)
    out = _weights("verify", wdir=wdir)
    assert out.returncode == 1 and "audit trail check failed" in out.stderr
    out = _weights("history", "equal", "--csv", str(tmp_path / "h.csv"), wdir=wdir)
    assert out.returncode != 0 and "fails its check" in out.stderr
    assert (tmp_path / "h.csv").read_text(encoding="utf-8-sig").lstrip("\"").startswith("审计记录已被篡改或不完整")
    p = load_profile("equal", wdir)
    with pytest.raises(AuditTampered, match="not appending onto a broken trail"):
        save_profile(p.with_weights({"supply_value": 7.0}), wdir, who="mallory")
    assert len(audit_path(wdir).read_text(encoding="utf-8").splitlines()) == 3  # nothing appended


def test_a_deleted_middle_line_is_caught(wdir: Path) -> None:
    lines = _three_saves(wdir)
    audit_path(wdir).write_text("\n".join([lines[0], lines[2]]) + "\n", encoding="utf-8")
    with pytest.raises(AuditTampered, match="line 2 .* does not follow"):
        verify_trail(wdir)


def test_a_deleted_last_line_is_caught_by_the_head(wdir: Path) -> None:
    lines = _three_saves(wdir)
    head = json.loads(head_path(wdir).read_text(encoding="utf-8"))
    assert head["seq"] == 3 and len(head["hash"]) == 64
    audit_path(wdir).write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")  # the chain alone is still valid
    with pytest.raises(AuditTampered, match="the last 1 record"):
        verify_trail(wdir)
    assert "the last 1 record" in (trail_problem(wdir) or "")
    out = _weights("history", "equal", wdir=wdir)
    assert out.returncode != 0 and "the last 1 record" in out.stderr


def test_a_crash_before_the_head_is_written_is_not_tampering(wdir: Path) -> None:
    _three_saves(wdir)
    head = head_path(wdir)
    old = head.read_text(encoding="utf-8")
    p = load_profile("equal", wdir)
    save_profile(p.with_weights({"supply_value": 11.0}), wdir, who="ana")
    head.write_text(old, encoding="utf-8")  # as if the process died between appending and writing the head
    assert verify_trail(wdir) == 4
    save_profile(load_profile("equal", wdir).with_weights({"supply_value": 12.0}), wdir, who="ana")
    assert verify_trail(wdir) == 5 and json.loads(head.read_text(encoding="utf-8"))["seq"] == 5


def test_a_trail_without_head_is_flagged_until_anchored(wdir: Path) -> None:
    _three_saves(wdir)
    head_path(wdir).unlink()  # a trail from before heads, or a removed head
    with pytest.raises(AuditTampered, match="no head file"):
        verify_trail(wdir)
    out = _weights("verify", "--anchor", wdir=wdir)
    assert out.returncode == 0 and "anchored" in out.stdout and "3 record(s)" in out.stdout
    assert verify_trail(wdir) == 3
    again = _weights("verify", "--anchor", wdir=wdir)
    assert again.returncode != 0 and "already anchored" in again.stderr
