"""The package as an operator gets it: the sdist and the wheel built with the lowest supported setuptools, the wheel
installed in a fresh venv, and the ordinary commands run from an empty folder (issue 17).

The venv reuses this test venv's installed dependencies through a .pth line (written after the wheel is installed,
so pip never sees the checkout's own editable install), so nothing but setuptools is downloaded (once per run,
from the package index pip is configured with).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import tomllib
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SHIPPED = sorted(p.stem for p in (ROOT / "weights").glob("*.toml"))
# what a source tree copy leaves out: VCS, venv, generated data and build outputs
IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".pytest_cache",
                                ".mypy_cache", ".hypothesis", "artifacts", "results", "*.duckdb", "*.duckdb.wal")


def _lowest_build_requirements() -> list[str]:
    """pyproject's build requirements pinned to their lowest release line: `setuptools>=77` → `setuptools>=77,<77.1`."""
    out = []
    for text in PYPROJECT["build-system"]["requires"]:
        req = Requirement(text)
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert lows, f"build requirement {text!r} has no lower bound to test"
        low = Version(lows[0])
        out.append(f"{req.name}>={low},<{low.major}.{low.minor + 1}")
    return out


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of an operator's shell: none of this checkout's PYTHONPATH or GOVINDEX_* settings."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("GOVINDEX_")}
    return {**env, **extra}


def _run(args: list[str], cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_clean_env(**env), capture_output=True, text=True, timeout=timeout)


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """sdist from a copy of the source tree, then the wheel from the unpacked sdist (as `python -m build` does)."""
    tmp = tmp_path_factory.mktemp("build")
    backend = tmp / "backend"
    pip = _run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(backend),
                *_lowest_build_requirements()], tmp)
    assert pip.returncode == 0, pip.stderr
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    dist = tmp / "dist"
    build = ("import sys, setuptools.build_meta as b; "
             "print(getattr(b, sys.argv[1])(sys.argv[2]))")
    sd = _run([sys.executable, "-c", build, "build_sdist", str(dist)], src, PYTHONPATH=str(backend))
    assert sd.returncode == 0, sd.stdout + sd.stderr
    sdist = dist / sd.stdout.strip().splitlines()[-1]
    unpacked = tmp / "unpacked"
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4; Debian 12's 3.11.2 has no extraction filters
            tar.extractall(unpacked, filter="data")
        else:
            tar.extractall(unpacked)  # our own freshly built archive
    (top,) = unpacked.iterdir()
    wh = _run([sys.executable, "-c", build, "build_wheel", str(dist)], top, PYTHONPATH=str(backend))
    assert wh.returncode == 0, wh.stdout + wh.stderr
    return Built(sdist, dist / wh.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_sdist_carries_what_its_tests_need(built: Built) -> None:
    with tarfile.open(built.sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for needed in ("LICENSE", "README.md", "pyproject.toml", "MANIFEST.in", "Makefile", "govindex.example.toml",
                   "constraints.txt", "docs/configuration.md", "docs/deployment.md", "data/README.md",
                   "weights/uncertainty/default.toml", "tests/conftest.py", "tests/test_packaging.py",
                   "deploy/govindex.service", "deploy/govindex-scheduler.service", "deploy/nginx-govindex.conf",
                   *(f"weights/{n}.toml" for n in SHIPPED)):
        assert needed in names, f"the sdist lacks {needed}"
    fixtures = [n for n in names if n.startswith("tests/fixtures/")]
    assert fixtures and len(fixtures) >= len(list((ROOT / "tests" / "fixtures").rglob("*.csv")))
    assert not [n for n in names if n.endswith((".duckdb", ".pyc")) or n.startswith(("tests/artifacts", "data/demo"))]


@pytest.mark.slow
def test_the_wheel_ships_the_profiles_and_declares_what_it_needs(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as whl:
        names = set(whl.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = whl.read(meta_name).decode()
    for needed in ("weights/__init__.py", "weights/uncertainty/default.toml", "indicators/catalog/indicators.toml",
                   "app/assets/style.css", *(f"weights/{n}.toml" for n in SHIPPED)):
        assert needed in names, f"the wheel lacks {needed}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: MIT" in meta and "Requires-Python: >=3.11" in meta
    assert "Operating System :: POSIX :: Linux" in meta
    requires = [Requirement(line.split(":", 1)[1]).name.lower() for line in meta.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert "salib" not in requires and "pandas" not in requires
    assert not [n for n in names if n.startswith(("tests/", "data/"))]


#: runtime dependencies used through another library rather than imported, and why they are still needed
INDIRECT = {"orjson": "plotly's JSON engine ('auto') serialises figures with it when it is installed"}
IMPORT_NAMES = {"dash-ag-grid": "dash_ag_grid", "tomli-w": "tomli_w", "chinesecalendar": "chinese_calendar"}


def test_no_runtime_dependency_is_unused() -> None:
    """Every runtime dependency is imported somewhere in the packages (SALib was not, and pulled in pandas and
    matplotlib), or is listed in INDIRECT with the reason."""
    code = "\n".join(p.read_text(encoding="utf-8") for pkg in ("app", "etl", "indicators")
                     for p in (ROOT / pkg).rglob("*.py"))
    unused = []
    for text in PYPROJECT["project"]["dependencies"]:
        name = Requirement(text).name.lower()
        module = IMPORT_NAMES.get(name, name.replace("-", "_"))
        if name not in INDIRECT and not re.search(rf"^\s*(import|from)\s+{module}\b", code, re.M):
            unused.append(name)
    assert not unused, f"runtime dependencies nothing imports: {unused}"


def test_the_constraints_pin_every_dependency_within_the_bounds() -> None:
    """constraints.txt (the tested set, with hashes) satisfies pyproject's bounds and pins every runtime dependency."""
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    pins: dict[str, Version] = {}
    for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)\s*\\\n((?:\s+--hash=sha256:[0-9a-f]{64}\s*\\?\n?)+)", text,
                         re.M):
        pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = Version(m.group(2))
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9]", text, re.M)), "every pin carries at least one hash"
    for dep in PYPROJECT["project"]["dependencies"]:
        req = Requirement(dep)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"constraints.txt does not pin {name}"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside pyproject's {req.specifier}"
        assert ">=" in str(req.specifier) and "<" in str(req.specifier).replace("<=", ""), f"{dep}: give both bounds"


def test_setuptools_bound_reads_the_spdx_license() -> None:
    """`license = "MIT"` (SPDX) needs setuptools 77; the LICENSE file it names exists."""
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    (low,) = [Version(s.version) for r in PYPROJECT["build-system"]["requires"] for s in Requirement(r).specifier
              if Requirement(r).name == "setuptools" and s.operator == ">="]
    assert low >= Version("77")


# --- the wheel in a fresh venv, run from an empty folder ----------------------------------------------------------
@dataclass(frozen=True)
class Installed:
    bin: Path
    site: Path
    work: Path


@pytest.fixture(scope="module")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("venv")
    venv = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    assert made.returncode == 0, made.stderr
    py = venv / "bin" / "python"
    # pip of this venv installs into the new one; only the wheel, nothing from an index
    pip = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps", "--no-index",
                str(built.wheel)], tmp)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp).stdout.strip())
    # the dependencies: this venv's site-packages, after the venv's own (the wheel comes first on sys.path)
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_govindex_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    work = tmp / "work"  # an empty folder, not the checkout: nothing may be found next to the cwd
    work.mkdir()
    return Installed(venv / "bin", site, work)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


@contextmanager
def serving(installed: Installed) -> Iterator[str]:
    """`govindex serve` of the installed wheel from the work folder, until /readyz answers 200; stopped after."""
    port = _free_port()
    proc = subprocess.Popen([str(installed.bin / "govindex"), "serve", "--port", str(port), "--no-scheduler"],
                            cwd=installed.work, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _get(url + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("serve did not become ready:\n" + (proc.stdout.read() if proc.stdout else ""))
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    log = proc.stdout.read() if proc.stdout else ""
    assert "could not warm" not in log, log
    assert re.search(r"GET /readyz 200 [0-9.]+ms", log), "serve writes an access log line per request"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_installed_wheel_runs_demo_refresh_score_sensitivity_weights_and_serve(installed: Installed) -> None:
    """The chain of issue 17 as subprocesses from an empty folder: each command does its job."""
    work, gx = installed.work, str(installed.bin / "govindex")
    imported = _run([str(installed.bin / "python"), "-c", "import etl, weights; print(etl.__file__, weights.__file__)"],
                    work)
    assert imported.returncode == 0 and str(installed.site) in imported.stdout.split()[1], imported
    assert str(installed.site) in imported.stdout.split()[0], "the installed etl must be the one running, not a checkout"

    demo = _run([gx, "demo", "--out", "demo", "--months", "6", "--seed", "7"], work)
    assert demo.returncode == 0, demo.stderr
    (work / "data").mkdir()

    refresh = _run([gx, "refresh", "--source", "demo", "--json"], work, GOVINDEX_UNCERTAINTY_SAMPLES="100")
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    record = json.loads(refresh.stdout)
    steps = {s["name"]: s for s in record["steps"]}
    assert record["status"] == "succeeded" and record["files"] > 0
    assert {s["status"] for s in steps.values()} == {"ok"}, steps
    for name in SHIPPED:  # every shipped profile was scored and summarised
        assert f"{name} → " in steps["scores"]["note"], steps["scores"]["note"]
    assert steps["uncertainty"]["note"].startswith(f"{len(SHIPPED)} profile(s)")

    score = _run([gx, "score", "--profile", "user-centred", "--json"], work)
    assert score.returncode == 0, score.stderr
    scored = json.loads(score.stdout)
    assert scored["status"] == "ok" and scored["n_units"] == 16 and len(scored["ranking"]) == 16

    sens = _run([gx, "sensitivity", "--profile", "equal", "--samples", "64", "--sobol-samples", "64", "--out", "sens"],
                work)
    assert sens.returncode == 0, sens.stdout + sens.stderr
    assert (work / "sens" / "summary.md").is_file() and (work / "sens" / "run.json").is_file()

    listed = _run([gx, "weights", "list"], work)
    assert listed.returncode == 0 and all(n in listed.stdout for n in SHIPPED), listed.stdout + listed.stderr

    # nothing was written into the installed package (saved state lives in the data directory)
    assert sorted(p.relative_to(installed.site / "weights").as_posix() for p in (installed.site / "weights").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts) == sorted(
        ["__init__.py", "uncertainty/default.toml", *(f"{n}.toml" for n in SHIPPED)])


    with serving(installed) as url:
        status, body = _get(url + "/healthz")
        health = json.loads(body)
        assert status == 200 and health["status"] == "ok" and health["warehouse"]["ok"], body
        assert health["warehouse"]["indicator_values"] > 0 and health["last_refresh"]["status"] == "succeeded"
        status, body = _get(url + "/readyz")
        assert status == 200 and json.loads(body)["ready"] is True
        status, body = _get(url + "/")
        assert status == 200 and "<html" in body.lower()
