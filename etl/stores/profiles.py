"""Weight-profile files: load, list, save and publish `<name>.toml`; every version kept in history/<name>/.

Two folders: the shipped profiles (`SHIPPED_DIR`, the package's weights/, read-only package data) and the store
`directory` every function takes (`Config.paths.weights_dir`, default data/weights), where saved profiles, their
history, publications and the audit trail are written. Reading looks in the store first, then among the shipped
profiles, so a shipped profile is listed until a newer version of it is saved in the store; nothing is ever written
to the shipped folder (unless it is itself given as the store).
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from etl.stores.audit_trail import record
from indicators.framework import Framework
from indicators.profile import SLUG_PATTERN, ProfileError, WeightProfile
from weights import SHIPPED_DIR  # the shipped profiles: package data, found wherever the package is installed
HISTORY = "history"
_SLUG = re.compile(SLUG_PATTERN)
_VERSION_FILE = re.compile(r"^v([0-9]+)\.toml$")


class ProfileNotFoundError(ProfileError):
    """No profile of that name (the message lists the available ones)."""


def _check_name(name: str) -> str:
    """A profile name is a slug, so it can never point outside the weights folder."""
    if not isinstance(name, str) or not _SLUG.fullmatch(name) or len(name) > 64:
        raise ProfileError(
            f"bad profile name {name!r}: use lower-case letters, digits and single hyphens (e.g. 'user-centred')"
        )
    return name


def profile_path(name: str, directory: Path | str = SHIPPED_DIR) -> Path:
    """Where the current version of profile `name` is written in the store `directory`."""
    directory = Path(directory).resolve()
    path = (directory / f"{_check_name(name)}.toml").resolve()
    if path.parent != directory:  # belt and braces: slugs cannot escape, but symlinked folders could confuse
        raise ProfileError(f"profile {name!r} would resolve outside {directory}")
    return path


def read_profile_file(path: Path | str) -> WeightProfile:
    """Parse one profile file; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileNotFoundError(f"{path}: no such profile file") from None
    except UnicodeDecodeError as e:
        raise ProfileError(f"{path}: not UTF-8 text ({e})") from None
    return WeightProfile.from_toml(text, source=str(path))


def _names_in(directory: Path) -> set[str]:
    if not directory.is_dir():
        return set()
    return {p.stem for p in directory.glob("*.toml") if p.is_file() and _SLUG.fullmatch(p.stem)}


def list_profiles(directory: Path | str = SHIPPED_DIR) -> list[str]:
    """Names of the profiles in the store `directory` and the shipped ones (current versions only), sorted."""
    return sorted(_names_in(Path(directory)) | _names_in(SHIPPED_DIR))


def current_path(name: str, directory: Path | str = SHIPPED_DIR) -> Path | None:
    """The file holding the current version of `name`: the store's, else the shipped one, else None."""
    path = profile_path(name, directory)
    if path.is_file():
        return path
    shipped = profile_path(name, SHIPPED_DIR)
    return shipped if shipped.is_file() else None


def load_profile(name_or_path: str | Path, directory: Path | str = SHIPPED_DIR) -> WeightProfile:
    """Load a profile by name (from the store `directory`, else shipped), or from a path to a .toml file. The file
    name must match `name`."""
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or text.endswith(".toml") or os.sep in text or "/" in text
    if looks_like_path:
        return read_profile_file(Path(name_or_path))
    path = current_path(text, directory)
    if path is None:
        available = list_profiles(directory)
        raise ProfileNotFoundError(
            f"no profile {text!r} in {Path(directory)}; available: {', '.join(available) or '(none)'}"
        )
    profile = read_profile_file(path)
    if profile.name != text:
        raise ProfileError(f"{path}: the file is named {text!r} but its name key says {profile.name!r}")
    return profile


def load_profiles(directory: Path | str = SHIPPED_DIR) -> dict[str, WeightProfile]:
    """Every current profile in `directory`, by name."""
    return {name: load_profile(name, directory) for name in list_profiles(directory)}


def profile_versions(name: str, directory: Path | str = SHIPPED_DIR) -> list[int]:
    """Versions of `name` kept in history, ascending (the current file's version is among them once archived)."""
    folder = Path(directory) / HISTORY / _check_name(name)
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_FILE.fullmatch(p.name)))


def load_profile_version(name: str, version: int, directory: Path | str = SHIPPED_DIR) -> WeightProfile:
    """One archived version; the current version is also found when it has not been archived yet."""
    path = Path(directory) / HISTORY / _check_name(name) / f"v{int(version)}.toml"
    if path.is_file():
        return read_profile_file(path)
    current = load_profile(name, directory)
    if current.version == version:
        return current
    raise ProfileNotFoundError(
        f"profile {name!r} has no version {version}; kept: {profile_versions(name, directory) or [current.version]}"
    )


def _write_atomic(path: Path, text: str, *, exclusive: bool) -> bool:
    """Write via a temp file in the same folder. exclusive=True never replaces an existing file (returns False)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            try:
                os.link(tmp, path)  # atomic and fails if the target exists: no lock needed between savers
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
        else:
            os.replace(tmp, path)
        return True
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _rationale_text(profile: WeightProfile) -> str:
    return " / ".join(x for x in (profile.rationale.zh.strip(), profile.rationale.en.strip()) if x)


def save_profile(profile: WeightProfile, directory: Path | str, *, who: str | None = None,
                 rationale: str | None = None, role: str | None = None) -> WeightProfile:
    """Save `profile` as the current version of its name and keep every version in history/<name>/v<N>.toml.

    The version is assigned here (one more than any kept), so nothing is ever overwritten. Saving content identical
    to the current version (same content_hash) writes nothing and returns the current profile. Every new version is
    recorded in the audit trail (history/audit.jsonl) with `who` (default: the profile's author), the change against
    the previous version and the `rationale` (default: the profile's own); if that record cannot be written the
    version is withdrawn and the error raised, so no version exists without its audit record.
    """
    from etl.stores.audit_trail import AuditError, record  # local: audit_trail is a leaf module, profiles is imported widely

    directory = Path(directory)
    target = profile_path(profile.name, directory)
    found = current_path(profile.name, directory)  # the store's current file, else the shipped one
    current: WeightProfile | None = None
    if found is not None:
        current = read_profile_file(found)
        if current.content_hash() == profile.content_hash():
            return current
        # archive the current file first (shipped profiles start without history)
        _write_atomic(
            directory / HISTORY / profile.name / f"v{current.version}.toml",
            found.read_text(encoding="utf-8"),
            exclusive=True,
        )
    known = [*profile_versions(profile.name, directory), current.version if current else 0]
    version = max(known) + 1
    while True:
        saved = profile.model_copy(update={"version": version})
        saved = WeightProfile.from_dict(saved.to_dict(), source=f"profile {profile.name!r}")  # re-validate
        text = saved.to_toml()
        archived = directory / HISTORY / profile.name / f"v{version}.toml"
        if _write_atomic(archived, text, exclusive=True):
            break
        version += 1  # another saver took this version number meanwhile
    try:
        record(directory, event="save", profile=saved, who=who or saved.author,
               rationale=rationale if rationale is not None else _rationale_text(saved), previous=current, role=role)
    except AuditError:
        archived.unlink(missing_ok=True)
        raise
    _write_atomic(target, text, exclusive=False)
    return saved


# -- publication: which version leaders see ------------------------------------------------------------------------
PUBLISHED_FILE = "published.json"


def published_info(name: str, directory: Path | str = SHIPPED_DIR) -> dict[str, Any] | None:
    """The publication pointer of `name` ({version, content_hash, who, at_utc, rationale}), or None."""
    path = Path(directory) / HISTORY / _check_name(name) / PUBLISHED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ProfileError(f"{path}: not a valid publication record ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise ProfileError(f"{path}: not a valid publication record (no integer 'version')")
    return data


def published_version(name: str, directory: Path | str = SHIPPED_DIR) -> int | None:
    info = published_info(name, directory)
    return int(info["version"]) if info else None


def load_published(name: str, directory: Path | str = SHIPPED_DIR) -> WeightProfile | None:
    """The published version of `name` (None when none was published); its content must match the pointer."""
    info = published_info(name, directory)
    if info is None:
        return None
    p = load_profile_version(name, int(info["version"]), directory)
    if info.get("content_hash") and p.content_hash() != info["content_hash"]:
        raise ProfileError(
            f"profile {name!r} v{p.version}: the archived file no longer matches what was published "
            f"(content hash {p.content_hash()[:12]} ≠ {str(info['content_hash'])[:12]})"
        )
    return p


def publish_profile(name: str, version: int, who: str, rationale: str, directory: Path | str,
                    *, role: str | None = None) -> WeightProfile:
    """Make version `version` of `name` the one leaders see by default; recorded in the audit trail.

    The version is archived first (if it is the not-yet-archived current file) so what was published stays
    readable for ever. A rationale is required.
    """
    if not str(who or "").strip():
        raise ProfileError("publishing needs who publishes")
    if not str(rationale or "").strip():
        raise ProfileError(f"publishing {name!r} v{version} needs a rationale (why this version)")
    directory = Path(directory)
    target = load_profile_version(name, int(version), directory)
    archived = directory / HISTORY / name / f"v{target.version}.toml"
    if not archived.is_file():
        # not archived means load_profile_version found it as the current file: archive that file's exact text
        found = current_path(name, directory)
        if found is None:  # removed since load_profile_version read it
            raise ProfileNotFoundError(f"profile {name!r} disappeared while being published")
        _write_atomic(archived, found.read_text(encoding="utf-8"), exclusive=True)
    before = published_info(name, directory)
    previous = None
    if before is not None:
        try:
            previous = load_profile_version(name, int(before["version"]), directory)
        except ProfileError:
            previous = None
    rec = record(directory, event="publish", profile=target, who=who, rationale=rationale, previous=previous,
                 role=role)
    pointer = {"name": name, "version": target.version, "content_hash": target.content_hash(), "who": rec["who"],
               "at_utc": rec["at_utc"], "rationale": rec["rationale"], "audit_seq": rec["seq"]}
    _write_atomic(directory / HISTORY / name / PUBLISHED_FILE,
                  json.dumps(pointer, ensure_ascii=False, indent=2) + "\n", exclusive=False)
    return target


def viewer_profiles(current: Mapping[str, WeightProfile], directory: Path | str = SHIPPED_DIR, *,
                    framework: Framework | None = None,
                    on_error: Callable[[str, Exception], None] | None = None) -> dict[str, WeightProfile]:
    """Each of the `current` profiles as leaders and district officials see it: its published version where one
    exists (checked against `framework` when given), else the current one.

    A publication that cannot be read or does not fit raises ProfileError; with `on_error` it is reported there
    (name, error) instead and the current version stands in for it (the app logs it and keeps serving).
    """
    out: dict[str, WeightProfile] = {}
    for name, cur in current.items():
        try:
            pub = load_published(name, directory)
            if pub is not None and framework is not None:
                pub.validate_against(framework)
        except (ProfileError, OSError) as e:
            if on_error is None:
                raise
            on_error(name, e)
            pub = None
        out[name] = pub if pub is not None else cur
    return out


def load_profiles_for_viewers(directory: Path | str = SHIPPED_DIR) -> dict[str, WeightProfile]:
    """Every profile as leaders see it: the published version where one exists, else the current one."""
    return viewer_profiles(load_profiles(directory), directory)


# -- inputs to weight derivation (CSV files) ----------------------------------------------------------------------
def _read_csv_rows(path: Path | str) -> list[list[str]]:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such file") from None
    for enc in ("utf-8-sig", "gb18030"):  # assessors' spreadsheets are often saved as GB18030
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes almost anything
        raise ProfileError(f"{path}: neither UTF-8 nor GB18030 text")
    rows = [[c.strip() for c in r] for r in csv.reader(text.splitlines()) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise ProfileError(f"{path}: needs a header row and at least one data row")
    width = len(rows[0])
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != width:
            raise ProfileError(f"{path}: row {i} has {len(r)} cells, the header has {width}")
    return rows


def _number(path: Path | str, row: int, col: str, cell: str) -> float:
    if cell == "":
        return float("nan")
    try:
        return float(Fraction(cell)) if "/" in cell else float(cell)
    except (ValueError, ZeroDivisionError):
        raise ProfileError(f"{path}: row {row}, column {col!r}: {cell!r} is not a number") from None


def read_pairwise_csv(path: Path | str) -> tuple[list[str], list[list[float]]]:
    """An AHP matrix: header `code,<c1>,<c2>,...`, then one row per code in the same order; cells like 3 or 1/3."""
    rows = _read_csv_rows(path)
    codes = rows[0][1:]
    if [r[0] for r in rows[1:]] != codes:
        raise ProfileError(
            f"{path}: the row labels ({', '.join(r[0] for r in rows[1:])}) must repeat the header codes "
            f"({', '.join(codes)}) in the same order"
        )
    matrix = [[_number(path, i, codes[j], c) for j, c in enumerate(r[1:])] for i, r in enumerate(rows[1:], start=2)]
    return codes, matrix


def read_allocations_csv(path: Path | str) -> dict[str, dict[str, float]]:
    """Budget allocations: header `assessor,<c1>,<c2>,...`, one row per assessor with the points given."""
    rows = _read_csv_rows(path)
    codes = rows[0][1:]
    out: dict[str, dict[str, float]] = {}
    for i, r in enumerate(rows[1:], start=2):
        who = r[0] or f"row {i}"
        if who in out:
            raise ProfileError(f"{path}: row {i}: assessor {who!r} appears twice")
        vals = {c: _number(path, i, c, v) for c, v in zip(codes, r[1:], strict=True)}
        missing = [c for c, v in vals.items() if v != v]
        if missing:
            raise ProfileError(f"{path}: row {i} (assessor {who!r}): no points for {', '.join(missing)} (write 0)")
        out[who] = vals
    return out


def read_matrix_csv(path: Path | str) -> tuple[list[str], list[str], list[list[float]]]:
    """Units × indicators: header `<unit column>,<code1>,...`, one row per unit; empty cells are missing (NaN)."""
    rows = _read_csv_rows(path)
    codes = rows[0][1:]
    units = [r[0] for r in rows[1:]]
    matrix = [[_number(path, i, codes[j], c) for j, c in enumerate(r[1:])] for i, r in enumerate(rows[1:], start=2)]
    return units, codes, matrix


def read_warehouse_matrix(
    db: Path | str, period: str | None = None
) -> tuple[str, list[str], list[str], list[list[float]]]:
    """Units × indicators of one period (default: the latest) from the warehouse's `indicator_values` table.

    Returns (period, units, indicator codes, values); a missing value is NaN.
    """
    # local: duckdb loads only when a matrix is read; the configuration and the CLI import this module
    from etl.warehouse.connection import WarehouseError, query

    try:
        if period is None:
            latest = query(db, "SELECT max(CAST(period AS VARCHAR)) AS p FROM indicator_values")
            period = latest["p"][0] if latest.height else None
            if period is None:
                raise ProfileError(f"{db}: indicator_values is empty (run a refresh first)")
        long = query(
            db,
            "SELECT CAST(unit_code AS VARCHAR) AS unit, CAST(indicator_id AS VARCHAR) AS code, "
            "CAST(value AS DOUBLE) AS value FROM indicator_values WHERE CAST(period AS VARCHAR) = ? "
            "ORDER BY unit, code",
            [period],
        )
    except WarehouseError as e:
        raise ProfileError(f"{db}: cannot read indicator_values ({str(e).splitlines()[0]})") from None
    if long.height == 0:
        raise ProfileError(f"{db}: no indicator values for period {period!r}")
    wide = long.pivot(on="code", index="unit", values="value", aggregate_function="first").sort("unit")
    codes = [c for c in wide.columns if c != "unit"]
    values = wide.select(codes).fill_null(float("nan")).to_numpy().tolist()
    return str(period), wide["unit"].to_list(), codes, values
