"""Structured logs: one JSON object per line (level, message, time, logger and the fields)."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from typing import Any


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname,
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def json_logger(name: str) -> logging.Logger:
    """The logger `name`, writing JSON lines to stderr at LOG_LEVEL (default INFO), not through
    the root logger (the runtime's would print them again as text). Set up once per process."""
    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
    logger.propagate = False
    return logger


class Log:
    """`log(level, message, **fields)`: the fields become keys of the JSON line (a logger with a
    plain formatter shows the message only)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def __call__(self, level: int, message: str, **fields: Any) -> None:
        self.logger.log(level, message, extra={"fields": fields}, stacklevel=2)
