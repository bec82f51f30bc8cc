"""Demo data generator: realistic, seeded raw tables for Shanghai's 16 districts (see data/README.md)."""

from etl.demo.errors import DemoConfigError
from etl.demo.generate import generate
from etl.demo.report import REPORT_FILE, DefectRecord, FileRecord, GenerationReport
from etl.demo.writers import LAYOUT, Layout

__all__ = ["generate", "GenerationReport", "FileRecord", "DefectRecord", "DemoConfigError", "LAYOUT", "Layout",
           "REPORT_FILE"]
