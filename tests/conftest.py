"""Fixtures shared by every test folder: vendored reference files and the one demo-warehouse builder."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
COINR_ASEM = FIXTURES / "coinr-asem"
