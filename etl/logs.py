"""Logging for every command, from the configuration's [logging] section: the level, and text or JSON lines.

`configure_logging(config.logging)` is called once per process where the Config is built (`app.cli.options.load`,
`app.server.create_app`), so no command hard-codes a level. JSON lines carry time (UTC, ISO 8601), level, logger
and message, plus the fields an access-log record adds (method, path, status, ms, user). Python warnings (a library's
FutureWarning at import, say) go through the same handler as logger "py.warnings", so with format = json every line
on stderr is JSON.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from datetime import datetime, timezone
from typing import Any

from etl.config import LoggingConfig

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: record attributes an access-log line sets (`extra=`); the JSON formatter copies them into the object
ACCESS_FIELDS = ("method", "path", "status", "ms", "user")
#: libraries whose INFO chatter is not ours to show: they log at WARNING and above whatever the level
QUIET = ("apscheduler", "waitress.queue", "werkzeug")
_HANDLER_NAME = "govindex"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exc_info, access fields when present)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ACCESS_FIELDS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(cfg: LoggingConfig) -> None:
    """Set the root logger's level and one stderr handler in the configured format (calling it again replaces it);
    Python warnings are logged through it (logger "py.warnings") instead of printed as bare text."""
    if getattr(warnings.showwarning, "__module__", None) != "logging":
        # captureWarnings(True) does nothing once it has run, even after something (a library's
        # warnings.catch_warnings(), a test harness) put the printer back: release it first, then take it again
        logging.captureWarnings(False)
    logging.captureWarnings(True)
    root = logging.getLogger()
    for h in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if cfg.format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(cfg.level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(cfg.level)))
