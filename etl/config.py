"""One configuration for the whole process: a TOML file, then GOVINDEX_* variables, then CLI flags.

Built once per process (`load_config`, or `app.cli.options.load` for a command) and passed down: to the refresh,
the scheduler, `app.server.create_app(config)`, sign-in (`app.web.auth.resolve_auth`) and the stores. Every default
lives here, once; docs/configuration.md and govindex.example.toml list them (tests check both).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from etl.contract.tables import LOCAL_TZ, UNIT_CODE_PATTERN

DEFAULT_CONFIG_FILE = "govindex.toml"
CONFIG_ENV = "GOVINDEX_CONFIG"
RUNS_FILE = "runs.sqlite"  # run history beside the warehouse unless paths.runs_db says otherwise
USERS_FILE = "users.toml"  # users file beside the warehouse unless users.file says otherwise
EDITIONS_FILE = "editions.sqlite"  # assessment editions beside the warehouse unless paths.editions_db says otherwise
LOOP_FILE = "loop.sqlite"  # targets, 整改台账, alerts beside the warehouse unless paths.loop_db says otherwise
EVIDENCE_DIR = "evidence"  # 佐证材料 files beside the warehouse unless paths.evidence_dir says otherwise


class ConfigError(ValueError):
    """The configuration file or an environment variable holds a bad value; the message names the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class PathsConfig(_Strict):
    """Where data lives. Relative paths in a file are relative to that file's folder, elsewhere to the cwd."""

    db: Path = Field(default=Path("data/warehouse.duckdb"), description="the live warehouse (DuckDB snapshot) path")
    runs_db: Path | None = Field(default=None, description="run-history SQLite file; default runs.sqlite beside the db")
    editions_db: Path | None = Field(
        default=None, description="assessment editions (SQLite, append-only); default editions.sqlite beside the db")
    loop_db: Path | None = Field(
        default=None, description="targets, rectification ledger (整改台账) and alerts (SQLite); default loop.sqlite "
        "beside the db")
    evidence_dir: Path | None = Field(
        default=None, description="folder of ledger evidence files (佐证材料); default evidence/ beside the db")
    inbox: Path = Field(default=Path("data/inbox"), description="folder watched for new raw files")
    archive: Path = Field(default=Path("data/archive"), description="loaded, skipped and rejected inbox files go here")
    weights_dir: Path = Field(
        default=Path("data/weights"),
        description="writable folder for weight profiles saved in the app or CLI, their history and audit trail; "
        "the shipped profiles (the package's weights/, read-only) are always listed too",
    )

    @property
    def runs_path(self) -> Path:
        return self.runs_db if self.runs_db is not None else self.db.with_name(RUNS_FILE)

    @property
    def editions_path(self) -> Path:
        return self.editions_db if self.editions_db is not None else self.db.with_name(EDITIONS_FILE)

    @property
    def loop_path(self) -> Path:
        return self.loop_db if self.loop_db is not None else self.db.with_name(LOOP_FILE)

    @property
    def evidence_path(self) -> Path:
        return self.evidence_dir if self.evidence_dir is not None else self.db.with_name(EVIDENCE_DIR)

    @property
    def weights_path(self) -> Path:
        """The same folder as `weights_dir` (the name the refresh steps use)."""
        return self.weights_dir


class ScheduleConfig(_Strict):
    """When the scheduler refreshes."""

    cron: str = Field(default="0 2 * * *", description="crontab: 5 fields, or 6 with a leading seconds field")
    tz: str = Field(default=LOCAL_TZ, description="IANA time zone the cron is read in")
    inbox_minutes: float = Field(default=0.0, ge=0, description="poll the inbox every N minutes; 0 = off")
    misfire_grace_seconds: int = Field(default=3600, ge=1, description="a run missed by less than this still runs")
    enabled_in_serve: bool = Field(default=True, description="`govindex serve` runs the scheduler in-process")

    @field_validator("tz")
    @classmethod
    def _known_tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"unknown time zone {v!r} (use an IANA name such as Asia/Shanghai)") from e
        return v

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        from etl.cron import parse_cron  # local: apscheduler is for the scheduler, not every command's start

        parse_cron(v, "UTC")
        return v


class ServerConfig(_Strict):
    """Where `govindex serve` listens."""

    host: str = Field(default="127.0.0.1", min_length=1, description="address to bind")
    port: int = Field(default=8050, ge=1, le=65535, description="port to listen on")
    connection_limit: int = Field(
        default=1000, ge=10, le=100_000, description="open connections served at once; more wait to be accepted"
    )
    channel_timeout: int = Field(
        default=20, ge=1, le=3600, description="seconds an idle or stalled connection is kept before it is closed"
    )


class RefreshConfig(_Strict):
    """How a refresh behaves."""

    wait_seconds: float = Field(
        default=0.0, ge=0, description="a manual refresh waits this long for a running one; 0 = refuse"
    )
    uncertainty_samples: int = Field(
        default=2000, ge=0, description="Monte Carlo samples for the default summary; 0 = skip"
    )
    seed: int = Field(
        default=20240601, description="seed of the default uncertainty summary and of the app's rank intervals"
    )
    inbox_settle_seconds: float = Field(
        default=2.0, ge=0, description="inbox files modified more recently are left for later"
    )
    keep_snapshots: int = Field(
        default=3, ge=0, description="previous warehouse snapshots kept beside the live one for rollback; 0 = none"
    )
    cycle: Literal["year", "quarter"] = Field(
        default="year", description="the assessment cycle (年度考核: year), scored besides quarterly monitoring"
    )


class AppConfig(_Strict):
    """What the web app shows first."""

    default_profile: str = Field(default="user-centred", min_length=1, description="profile selected on arrival")
    rank_samples: int = Field(
        default=1000, ge=0, description="Monte Carlo samples of the overview's quick rank intervals; 0 = none"
    )
    map_geojson: Path | None = Field(
        default=None, description="district boundaries (GeoJSON FeatureCollection) for the map; default: the "
                                  "shipped Shanghai boundaries")
    map_code_property: str = Field(
        default="adcode", min_length=1, description="the feature property holding the district code in map_geojson"
    )


def _split_list(v: Any) -> Any:
    """A comma-separated string (an environment variable) becomes a list; lists pass through."""
    if isinstance(v, str):
        return [p.strip() for p in v.replace(";", ",").split(",") if p.strip()]
    return v


class AuthConfig(_Strict):
    """How people are identified (app/web/auth.py): the deployment's sign-in and web-safety settings."""

    mode: Literal["users", "proxy", "demo"] | None = Field(
        default=None, description="users | proxy | demo; unset: users when a users file has users, else demo"
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(), description="addresses or networks whose X-Forwarded-* headers are believed in proxy mode"
    )
    allowed_origins: tuple[str, ...] = Field(
        default=(), description="extra origins (scheme://host:port) allowed to POST"
    )
    secure_cookies: bool = Field(default=False, description="mark the session cookie Secure (serve over HTTPS)")
    max_upload_mb: float = Field(default=16.0, gt=0, description="largest request body accepted, in megabytes")

    @field_validator("mode", mode="before")
    @classmethod
    def _mode_text(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = v.strip().lower()
            return v or None
        return v

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, v: Any) -> Any:
        v = _split_list(v)
        for part in v if isinstance(v, (list, tuple)) else ():
            try:
                ipaddress.ip_network(str(part).strip(), strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)") from None
        return v

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, v: Any) -> Any:
        v = _split_list(v)
        return [str(o).strip().rstrip("/") for o in v] if isinstance(v, (list, tuple)) else v


class LoggingConfig(_Strict):
    """What every command logs (etl/logs.py sets it up once per process)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="DEBUG | INFO | WARNING | ERROR"
    )
    format: Literal["text", "json"] = Field(
        default="text", description="text lines, or one JSON object per line (for a log collector)"
    )
    access_log: bool = Field(
        default=True, description="`govindex serve` logs one line per request (method, path, status, ms, user)"
    )

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("format", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v


class WarehouseConfig(_Strict):
    """DuckDB's resources, set on every connection (etl/warehouse/connection.py)."""

    memory_limit: str = Field(
        default="1536MB", pattern=r"^\s*[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$",
        description="DuckDB's buffer pool per process (it spills to disk beyond it), e.g. 1536MB, 4GB",
    )
    threads: int = Field(default=0, ge=0, le=256, description="DuckDB worker threads; 0 = one per CPU core")


class EngineConfig(_Strict):
    """Which engine runs the indicator stage (docs/scale.md: what runs where)."""

    indicators: Literal["duckdb", "spark"] = Field(
        default="duckdb", description="duckdb: in process, one machine; spark: Apache Spark ([spark], govindex[spark])"
    )


class SparkConfig(_Strict):
    """The Spark engine: where it runs and where the cleaned tables are exported to as Parquet."""

    master: str = Field(default="local[*]", min_length=1,
                        description="Spark master URL: local[*] (this machine), spark://host:7077, yarn, k8s://…")
    driver_memory: str = Field(default="1g", pattern=r"^[0-9]+[kmgt]?$", description="spark.driver.memory, e.g. 1g")
    local_ip: str = Field(default="127.0.0.1", min_length=1,
                          description="address the driver binds to (SPARK_LOCAL_IP)")
    shuffle_partitions: int = Field(default=8, ge=1, le=100_000,
                                    description="spark.sql.shuffle.partitions (small for one machine, ~2-3× cores)")
    parallel_queries: int = Field(default=4, ge=1, le=256,
                                  description="indicator queries submitted to Spark at once (small jobs overlap)")
    broadcast_threshold: str = Field(
        default="1m", pattern=r"^(-1|[0-9]+[kmg]?)$",
        description="spark.sql.autoBroadcastJoinThreshold: a join side Spark estimates below it is copied whole to "
        "every task (-1: never). At Spark's 10m, demo scale 5 broadcast the ~240k ratings (estimated at 5-9 MB, the "
        "cached size scaled to the columns used; several times that as a hash table), four queries at once, and ran "
        "out of memory; 1m still broadcasts the grid's units and periods, the calendar and the service catalogue")
    parquet_dir: Path | None = Field(
        default=None, description="folder of the Parquet export Spark reads; default: <db>.parquet beside the db"
    )


class UsersConfig(_Strict):
    """The users file of sign-in mode `users` (managed with `govindex user`)."""

    file: Path | None = Field(default=None, description=f"users file; default: {USERS_FILE} beside the db")


class UnitsConfig(_Strict):
    """The scored units: their codes (the units themselves are data, the warehouse's `district` table)."""

    code_pattern: str | None = Field(
        default=None, description="regular expression unit codes must match instead of GB/T 2260's six digits under "
        "a province prefix (a deployer's own codes, e.g. ^31\\d{7}$ for streets); empty: GB/T 2260")

    @field_validator("code_pattern")
    @classmethod
    def _pattern(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a regular expression: {v!r} ({e})") from e
        return v


class LedgerConfig(_Strict):
    """The rectification ledger (整改台账): evidence limits and the red/amber/green band of targets."""

    evidence_max_mb: float = Field(default=10.0, gt=0, le=1024, description="largest evidence file, in megabytes")
    evidence_types: tuple[Literal["pdf", "png", "jpeg", "xlsx", "docx"], ...] = Field(
        default=("pdf", "png", "jpeg", "xlsx", "docx"), min_length=1,
        description="evidence file types accepted (recognised by content, not by the name's extension)",
    )
    today: date | None = Field(
        default=None, description="a simulated today (YYYY-MM-DD, Beijing) for demos and tests: overdue items and "
        "alerts are judged as of this date; unset = the real clock")
    amber_band: float = Field(
        default=0.05, ge=0, le=1,
        description="amber (黄) when a value misses its target by at most this share of the indicator's goalpost "
        "span; beyond it red (红)",
    )

    @field_validator("evidence_types", mode="before")
    @classmethod
    def _types(cls, v: Any) -> Any:
        v = _split_list(v)
        return [str(t).strip().lower() for t in v] if isinstance(v, (list, tuple)) else v


class EmailConfig(_Strict):
    """Alerts by e-mail through an SMTP server (off while host is empty). User and password come from the
    environment variables GOVINDEX_SMTP_USER / GOVINDEX_SMTP_PASSWORD, never from the file."""

    host: str = Field(default="", description="SMTP server; empty = no e-mail")
    port: int = Field(default=587, ge=1, le=65535, description="SMTP port")
    sender: str = Field(default="", alias="from", description="the From address")
    starttls: bool = Field(default=True, description="upgrade the connection with STARTTLS before signing in")
    timeout_seconds: float = Field(default=10.0, gt=0, description="give up on the server after this long")
    to: tuple[str, ...] = Field(default=(), description="addresses that receive every alert (e.g. the 督查 office)")
    district_to: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="district code → addresses that receive that district's alerts")

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, populate_by_name=True)

    @field_validator("to", mode="before")
    @classmethod
    def _to(cls, v: Any) -> Any:
        return _split_list(v)

    @field_validator("district_to")
    @classmethod
    def _districts(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        # The units are data (the warehouse's unit table), not known here: a code is checked for its shape only.
        bad = sorted(code for code in v if not re.fullmatch(UNIT_CODE_PATTERN, code))
        if bad:
            raise ValueError(f"unknown district code(s) {', '.join(bad)}: not unit codes (use GB/T 2260 codes, e.g. 310104)")
        return v


class AlertsConfig(_Strict):
    """Which alerts are raised after each refresh, and their thresholds."""

    enabled: bool = Field(default=True, description="evaluate the alert rules after each successful refresh")
    rank_drop: int = Field(default=3, ge=1, le=15, description="a district that drops this many places or more")
    below_target: bool = Field(default=True, description="an indicator that falls below its target or its band")
    overdue: bool = Field(default=True, description="a ledger item that becomes overdue (逾期)")
    missing_share: float = Field(
        default=0.3, gt=0, le=1, description="a district missing this share of its indicator values or more")
    quarantine_share: float = Field(
        default=0.2, gt=0, le=1, description="a district with this share of its rows quarantined or more")
    email: EmailConfig = Field(default_factory=lambda: EmailConfig.model_validate({}))


class HaochapingConfig(_Strict):
    """好差评 rules that differ by locality; unset keys take the indicator catalog's defaults."""

    callback_working_days: int | None = Field(
        default=None, ge=1, le=30,
        description="a bad rating must be called back within this many working days (local rules: 5–15); unset = "
        "the catalog's default (bad_rating_callback_rate, params.callback_working_days)")
    rectification_working_days: int | None = Field(
        default=None, ge=1, le=30,
        description="a bad rating must be rectified within this many working days at the latest (local rules: "
        "5–15); unset = the catalog's default (bad_rating_closure_rate, params.rectification_working_days)")

    def params(self) -> dict[str, int]:
        """The indicator formula parameters set here ({param(name)} in the catalog SQL), the unset ones left out."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Config(_Strict):
    """The whole configuration."""

    paths: PathsConfig = Field(default_factory=lambda: PathsConfig.model_validate({}))
    schedule: ScheduleConfig = Field(default_factory=lambda: ScheduleConfig.model_validate({}))
    server: ServerConfig = Field(default_factory=lambda: ServerConfig.model_validate({}))
    refresh: RefreshConfig = Field(default_factory=lambda: RefreshConfig.model_validate({}))
    app: AppConfig = Field(default_factory=lambda: AppConfig.model_validate({}))
    auth: AuthConfig = Field(default_factory=lambda: AuthConfig.model_validate({}))
    users: UsersConfig = Field(default_factory=lambda: UsersConfig.model_validate({}))
    logging: LoggingConfig = Field(default_factory=lambda: LoggingConfig.model_validate({}))
    warehouse: WarehouseConfig = Field(default_factory=lambda: WarehouseConfig.model_validate({}))
    ledger: LedgerConfig = Field(default_factory=lambda: LedgerConfig.model_validate({}))
    units: UnitsConfig = Field(default_factory=lambda: UnitsConfig.model_validate({}))
    alerts: AlertsConfig = Field(default_factory=lambda: AlertsConfig.model_validate({}))
    haochaping: HaochapingConfig = Field(default_factory=lambda: HaochapingConfig.model_validate({}))
    engine: EngineConfig = Field(default_factory=lambda: EngineConfig.model_validate({}))
    spark: SparkConfig = Field(default_factory=lambda: SparkConfig.model_validate({}))
    source: str = Field(default="defaults", description="where the configuration came from (for messages)")

    @property
    def users_path(self) -> Path:
        """The users file: `users.file`, else users.toml beside the warehouse."""
        return self.users.file if self.users.file is not None else self.paths.db.with_name(USERS_FILE)


# Environment variable → (section, key). Kept as a table so docs/configuration.md and the tests can check it.
ENV_VARS: dict[str, tuple[str, str]] = {
    "GOVINDEX_DB": ("paths", "db"),
    "GOVINDEX_RUNS_DB": ("paths", "runs_db"),
    "GOVINDEX_EDITIONS_DB": ("paths", "editions_db"),
    "GOVINDEX_LOOP_DB": ("paths", "loop_db"),
    "GOVINDEX_EVIDENCE_DIR": ("paths", "evidence_dir"),
    "GOVINDEX_INBOX": ("paths", "inbox"),
    "GOVINDEX_ARCHIVE": ("paths", "archive"),
    "GOVINDEX_WEIGHTS_DIR": ("paths", "weights_dir"),
    "GOVINDEX_MAP_GEOJSON": ("app", "map_geojson"),
    "GOVINDEX_MAP_CODE_PROPERTY": ("app", "map_code_property"),
    "GOVINDEX_CRON": ("schedule", "cron"),
    "GOVINDEX_TZ": ("schedule", "tz"),
    "GOVINDEX_INBOX_MINUTES": ("schedule", "inbox_minutes"),
    "GOVINDEX_MISFIRE_GRACE_SECONDS": ("schedule", "misfire_grace_seconds"),
    "GOVINDEX_SCHEDULER": ("schedule", "enabled_in_serve"),
    "GOVINDEX_HOST": ("server", "host"),
    "GOVINDEX_PORT": ("server", "port"),
    "GOVINDEX_CONNECTION_LIMIT": ("server", "connection_limit"),
    "GOVINDEX_CHANNEL_TIMEOUT": ("server", "channel_timeout"),
    "GOVINDEX_REFRESH_WAIT_SECONDS": ("refresh", "wait_seconds"),
    "GOVINDEX_UNCERTAINTY_SAMPLES": ("refresh", "uncertainty_samples"),
    "GOVINDEX_SEED": ("refresh", "seed"),
    "GOVINDEX_INBOX_SETTLE_SECONDS": ("refresh", "inbox_settle_seconds"),
    "GOVINDEX_KEEP_SNAPSHOTS": ("refresh", "keep_snapshots"),
    "GOVINDEX_DEFAULT_PROFILE": ("app", "default_profile"),
    "GOVINDEX_RANK_SAMPLES": ("app", "rank_samples"),
    "GOVINDEX_AUTH": ("auth", "mode"),
    "GOVINDEX_TRUSTED_PROXIES": ("auth", "trusted_proxies"),
    "GOVINDEX_ALLOWED_ORIGINS": ("auth", "allowed_origins"),
    "GOVINDEX_SECURE_COOKIES": ("auth", "secure_cookies"),
    "GOVINDEX_MAX_UPLOAD_MB": ("auth", "max_upload_mb"),
    "GOVINDEX_USERS": ("users", "file"),
    "GOVINDEX_LOG_LEVEL": ("logging", "level"),
    "GOVINDEX_LOG_FORMAT": ("logging", "format"),
    "GOVINDEX_ACCESS_LOG": ("logging", "access_log"),
    "GOVINDEX_DUCKDB_MEMORY_LIMIT": ("warehouse", "memory_limit"),
    "GOVINDEX_DUCKDB_THREADS": ("warehouse", "threads"),
    "GOVINDEX_EVIDENCE_MAX_MB": ("ledger", "evidence_max_mb"),
    "GOVINDEX_AMBER_BAND": ("ledger", "amber_band"),
    "GOVINDEX_TODAY": ("ledger", "today"),
    "GOVINDEX_ALERTS": ("alerts", "enabled"),
    "GOVINDEX_ALERT_RANK_DROP": ("alerts", "rank_drop"),
    "GOVINDEX_ENGINE": ("engine", "indicators"),
    "GOVINDEX_SPARK_MASTER": ("spark", "master"),
    "GOVINDEX_SPARK_DRIVER_MEMORY": ("spark", "driver_memory"),
    "GOVINDEX_SPARK_LOCAL_IP": ("spark", "local_ip"),
    "GOVINDEX_SPARK_PARQUET_DIR": ("spark", "parquet_dir"),
}
# SMTP credentials: only ever from the environment (etl/jobs/alerts.py reads them when it sends).
SMTP_USER_ENV = "GOVINDEX_SMTP_USER"
SMTP_PASSWORD_ENV = "GOVINDEX_SMTP_PASSWORD"

_SECTIONS: dict[str, type[_Strict]] = {
    "paths": PathsConfig,
    "schedule": ScheduleConfig,
    "server": ServerConfig,
    "refresh": RefreshConfig,
    "app": AppConfig,
    "auth": AuthConfig,
    "users": UsersConfig,
    "logging": LoggingConfig,
    "warehouse": WarehouseConfig,
    "ledger": LedgerConfig,
    "units": UnitsConfig,
    "alerts": AlertsConfig,
    "haochaping": HaochapingConfig,
    "engine": EngineConfig,
    "spark": SparkConfig,
}
# Keys holding a path: relative ones in a file are read relative to that file's folder.
_PATH_KEYS: dict[str, set[str]] = {"paths": set(PathsConfig.model_fields), "users": {"file"},
                                   "spark": {"parquet_dir"}}


def _config_file(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"configuration file {p} does not exist")
        return p
    if env.get(CONFIG_ENV):
        p = Path(env[CONFIG_ENV])
        if not p.is_file():
            raise ConfigError(f"{CONFIG_ENV}={p}: configuration file does not exist")
        return p
    p = Path(DEFAULT_CONFIG_FILE)
    return p if p.is_file() else None


def _read_file(p: Path) -> dict[str, dict[str, Any]]:
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text: {e}") from e
    out: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{p}: unknown section [{section}] (allowed: {', '.join(_SECTIONS)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{p}: {section} must be a table [{section}], got {values!r}")
        section_values = dict(values)
        for key, value in section_values.items():
            # Relative paths in a file mean "next to this file", so a config works from any cwd.
            if key in _PATH_KEYS.get(section, ()) and isinstance(value, str) and not Path(value).is_absolute():
                section_values[key] = str(p.parent / value)
        out[section] = section_values
    return out


def _set(merged: dict[str, dict[str, Any]], section: str, key: str, value: Any) -> None:
    merged.setdefault(section, {})[key] = value


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Defaults ← TOML file (`path`, else $GOVINDEX_CONFIG, else ./govindex.toml) ← GOVINDEX_* ← overrides.

    `overrides` takes dotted keys ("paths.db", "schedule.cron") or bare keys unique across sections ("db", "cron");
    None values are ignored, so CLI options can be passed straight through.
    """
    env = os.environ if env is None else env
    file = _config_file(path, env)
    merged: dict[str, dict[str, Any]] = _read_file(file) if file else {}
    origin: dict[tuple[str, str], str] = {(s, k): f"{file}: {s}.{k}" for s, vs in merged.items() for k in vs}
    for var, (section, key) in ENV_VARS.items():
        if env.get(var, "") != "":
            _set(merged, section, key, env[var])
            origin[(section, key)] = f"environment {var}"
    for raw_key, value in (overrides or {}).items():
        if value is None:
            continue
        section, key = _resolve_key(raw_key)
        _set(merged, section, key, value)
        origin[(section, key)] = f"option {key}"
    try:
        cfg = Config.model_validate({**merged, "source": str(file) if file else "defaults"})
    except ValidationError as e:
        raise ConfigError(_describe(e, origin, file)) from None
    return cfg


def _resolve_key(raw: str) -> tuple[str, str]:
    if "." in raw:
        section, key = raw.split(".", 1)
        if section in _SECTIONS and key in _SECTIONS[section].model_fields:
            return section, key
        raise ConfigError(f"unknown configuration key {raw!r}")
    hits = [(s, raw) for s, m in _SECTIONS.items() if raw in m.model_fields]
    if len(hits) != 1:
        raise ConfigError(f"unknown or ambiguous configuration key {raw!r}")
    return hits[0]


def _describe(e: ValidationError, origin: Mapping[tuple[str, str], str], file: Path | None) -> str:
    lines = []
    for err in e.errors():
        loc = tuple(str(x) for x in err["loc"])
        where = origin.get((loc[0], loc[1])) if len(loc) >= 2 else None
        if where is None:
            where = f"{file}: {'.'.join(loc)}" if file else ".".join(loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            section = loc[0] if len(loc) > 1 else None
            allowed = ", ".join(_SECTIONS[section].model_fields) if section in _SECTIONS else ", ".join(_SECTIONS)
            msg = f"unknown key (allowed: {allowed})"
        got = err.get("input")
        lines.append(f"{where}: {msg}" + ("" if err["type"] == "extra_forbidden" else f" (got {got!r})"))
    return "invalid configuration:\n  " + "\n  ".join(lines)
