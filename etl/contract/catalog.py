"""Load the indicator catalog (indicators/catalog/*.toml) from disk into indicators.catalog.Catalog."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import indicators
from etl.contract import tables
from indicators.catalog import FRAMEWORK_FILE, INDICATORS_FILE, RETIRED_FILE, Catalog, CatalogError

__all__ = ["CatalogError", "default_catalog_dir", "load_catalog"]


def default_catalog_dir() -> Path:
    """indicators/catalog/ inside the installed (or editable) indicators package."""
    return Path(indicators.__file__).resolve().parent / "catalog"


def _read_toml(path: Path) -> dict[str, object]:
    if not path.is_file():
        raise CatalogError(f"{path}: catalog file not found")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise CatalogError(f"{path}: not valid TOML: {e}") from None


def _check_tables(catalog: Catalog, ind_file: Path) -> None:
    """Every listed table exists in the contract and is named in the SQL; no contract table is used unlisted."""
    known = set(tables.TABLES)
    for d in catalog:
        sql = "\n".join(d.sql.texts()).lower()
        unknown = [t for t in d.tables if t not in known]
        if unknown:
            raise CatalogError(
                f"{ind_file}: indicator {d.id!r}: key 'tables' names unknown table(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(known))}"
            )
        used = {t for t in known if re.search(rf'(?<![\w"]){t}(?![\w"])|"{t}"', sql)}
        # "case" appears as a keyword in CASE WHEN; only the quoted identifier counts for it.
        if "case" in used and '"case"' not in sql:
            used.discard("case")
        listed = set(d.tables)
        if used - listed or listed - used:
            raise CatalogError(
                f"{ind_file}: indicator {d.id!r}: key 'tables' lists {sorted(listed)} but the SQL uses "
                f"{sorted(used)}"
            )


def load_catalog(directory: Path | None = None) -> Catalog:
    """Read framework.toml, indicators.toml and (when present) retired.toml from `directory` (default:
    indicators/catalog/) and validate them."""
    d = Path(directory) if directory is not None else default_catalog_dir()
    framework = _read_toml(d / FRAMEWORK_FILE)
    indicators_ = _read_toml(d / INDICATORS_FILE)
    retired = _read_toml(d / RETIRED_FILE) if (d / RETIRED_FILE).is_file() else None
    catalog = Catalog.from_dicts(framework, indicators_, source=str(d), retired=retired)
    _check_tables(catalog, d / INDICATORS_FILE)
    return catalog
