"""The deployment artefacts in deploy/ agree with the code: unit commands and options exist, variables are known,
the example server configuration loads and matches the nginx example, and every state path is writable under the
units' sandbox (docs/deployment.md)."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest

from app.cli import main
from etl.config import CONFIG_ENV, ENV_VARS, Config, load_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("govindex.service", "govindex-scheduler.service")
CONFIG_PATH = "/etc/govindex/govindex.toml"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return parser


def _server_config() -> Config:
    return load_config(DEPLOY / "govindex.toml", env={})


def _nginx() -> str:
    return (DEPLOY / "nginx-govindex.conf").read_text(encoding="utf-8")


@pytest.mark.parametrize("unit", UNITS)
def test_unit_commands_and_options_exist(unit: str) -> None:
    service = _unit(unit)["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/bin/govindex")
    command = main.commands.get(argv[1])
    assert isinstance(command, click.Command), f"{unit}: govindex has no command {argv[1]!r}"
    known = {opt for p in command.params if isinstance(p, click.Option) for opt in (*p.opts, *p.secondary_opts)}
    for arg in argv[2:]:
        if arg.startswith("--"):
            assert arg.split("=", 1)[0] in known, f"{unit}: `govindex {argv[1]}` has no option {arg}"
    for assignment in shlex.split(service.get("Environment", "")):
        var = assignment.split("=", 1)[0]
        assert var == CONFIG_ENV or var in ENV_VARS, f"{unit}: {var} is not a configuration variable"
    assert f"{CONFIG_ENV}={CONFIG_PATH}" in service["Environment"]
    assert service["User"] != "root" and service["ProtectSystem"] == "strict"


def test_the_app_unit_leaves_refreshes_to_the_scheduler_unit() -> None:
    assert "--no-scheduler" in _unit("govindex.service")["Service"]["ExecStart"]
    assert shlex.split(_unit("govindex-scheduler.service")["Service"]["ExecStart"])[1] == "schedule"


@pytest.mark.parametrize("unit", UNITS)
def test_every_state_path_is_writable_in_the_sandbox(unit: str) -> None:
    """ProtectSystem=strict makes everything read-only but ReadWritePaths: all state must be under those."""
    writable = [Path(p) for p in _unit(unit)["Service"]["ReadWritePaths"].split()]
    cfg = _server_config()
    state = [cfg.paths.db, cfg.paths.runs_path, cfg.paths.inbox, cfg.paths.archive, cfg.paths.weights_dir,
             cfg.users_path]
    for path in state:
        assert any(path.is_relative_to(w) for w in writable), f"{unit}: {path} is not under {writable}"
    assert Path(_unit(unit)["Service"]["WorkingDirectory"]) in writable


def test_server_configuration_matches_the_nginx_example() -> None:
    cfg, conf = _server_config(), _nginx()
    # the app listens where nginx sends requests, on loopback only
    upstreams = set(re.findall(r"proxy_pass http://([0-9.]+):([0-9]+);", conf))
    assert upstreams == {(cfg.server.host, str(cfg.server.port))}
    # nginx is a trusted proxy, and the public name it passes as Host is an allowed origin
    assert any(ip == "127.0.0.1" or ip.startswith("127.") for ip in cfg.auth.trusted_proxies)
    names = set(re.findall(r"server_name\s+([^;\s]+);", conf))
    assert {f"https://{n}" for n in names} <= set(cfg.auth.allowed_origins)
    assert "proxy_set_header Host $host;" in conf and "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
    # TLS, HSTS and Secure cookies together
    assert re.search(r"listen 443 ssl( http2)?;", conf) and "ssl_certificate " in conf and "return 301 https://" in conf
    assert "Strict-Transport-Security" in conf and cfg.auth.secure_cookies
    # nginx refuses what the app would refuse, before it reaches it
    (size,) = re.findall(r"client_max_body_size (\d+)m;", conf)
    assert int(size) == cfg.auth.max_upload_mb
    # probes reach the app
    assert "location = /readyz" in conf and "location = /healthz" in conf
    assert cfg.logging.format == "json" and cfg.users.file is not None


def test_units_have_no_unknown_directives() -> None:
    """systemd's own check, where systemd is installed: only the absent venv may be reported (not on this machine)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    out = subprocess.run([analyze, "verify", *(str(DEPLOY / u) for u in UNITS)], capture_output=True, text=True,
                         timeout=60)
    problems = [line for line in (out.stdout + out.stderr).splitlines()
                if line.strip() and "is not executable" not in line]
    assert not problems, "\n".join(problems)
