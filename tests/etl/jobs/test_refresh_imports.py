"""A refresh with nothing new, run as `govindex refresh` (issue 16.2: under a second from the command line), starts
no more than it needs: not scipy (the uncertainty step), not pandera or pandas (the ingest's checks), not dash (the
pages), not pyarrow (a frame read from the warehouse), and not the command modules of the other commands. Before,
the CLI imported every command's module and the refresh imported every step's, some 5 s of imports for a check
that itself takes a few tenths of a second."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, Warehouses

HEAVY = ("scipy", "pandera", "pandas", "dash", "plotly", "pyarrow", "pyspark", "indicators.uncertainty",
         "etl.ingest.files", "etl.jobs.uncertainty_summary", "etl.stores.scores", "app.cli.serve", "app.ui")

# The CLI as `govindex` runs it, in this process, then the heavy modules it left in sys.modules.
_RUN = """
import json, sys
from app.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    heavy = json.loads(sys.stdin.read())
    print("\\nLOADED " + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in heavy or
                                              any(m == h or m.startswith(h + ".") for h in heavy))))
"""


def _govindex_refresh(db: Path, src: Path) -> tuple[str, list[str]]:
    env = {**os.environ, "GOVINDEX_CONFIG": "", "GOVINDEX_DB": str(db), "GOVINDEX_INBOX": str(db.parent / "inbox"),
           "GOVINDEX_ARCHIVE": str(db.parent / "archive"), "GOVINDEX_WEIGHTS_DIR": str(db.parent / "weights"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", _RUN, "refresh", "--source", str(src)], input=json.dumps(HEAVY),
                         capture_output=True, text=True, timeout=600, cwd=ROOT, env=env)  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    head, _, loaded = out.stdout.rpartition("\nLOADED ")
    return head, json.loads(loaded)


def test_a_refresh_with_nothing_new_from_the_command_line_imports_no_step_nor_page(
    warehouses: Warehouses, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    shutil.copytree(warehouses.demo_sources(months=3, scale=0.05), src)
    (tmp_path / "w" / "weights").mkdir(parents=True)
    db = tmp_path / "w" / "warehouse.duckdb"
    first, loaded = _govindex_refresh(db, src)
    assert "step indicator_values: ok" in first, first
    assert "scipy" in loaded and "etl.ingest.files" in loaded  # the check sees what a real refresh imports
    again, loaded = _govindex_refresh(db, src)
    assert "nothing new since snapshot" in again, again
    assert loaded == [], f"a refresh with nothing new imported {loaded}"
