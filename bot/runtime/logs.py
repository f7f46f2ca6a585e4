"""Structured logs for the long-running service: one JSON object per line on stderr.

Log collectors (Docker's json-file driver, Loki, CloudWatch) index fields, not prose: every record
carries ``ts``, ``level``, ``logger``, ``message`` and, for the service's own milestones, an
``event`` (``started``, ``shutdown_requested``, ``shutdown``...) with its numbers as fields. Values
passed as ``extra`` are expected to be safe; secrets are never passed (settings hold them as
``SecretStr``, whose ``str()`` is masked anyway).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is a field.
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: the standard fields plus whatever was passed as ``extra``."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (non-JSON values as their ``str``)."""
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(log_format: str, level: str) -> None:
    """Replace the root handlers: JSON or plain text on stderr at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("apscheduler", "urllib3", "elastic_transport", "httpx", "sentence_transformers", "discord", "slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
