"""The shipped weight profiles and the default uncertainty spec, as read-only package data.

`weights/` stays the repository's top-level folder for them; making it a package (this file) ships its TOML files in
the wheel (pyproject's package-data), so an installed govindex finds them next to this module, wherever
site-packages is. Saved profiles, their history and the audit trail never go here: they live in the writable data
directory `Config.paths.weights_dir` (etl/stores/profiles.py).
"""

from pathlib import Path

#: the folder holding the shipped `<name>.toml` profiles and `uncertainty/default.toml`
SHIPPED_DIR = Path(__file__).resolve().parent
