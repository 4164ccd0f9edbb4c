"""Structured logs: one JSON object per line, carrying the request id, so a line can be traced
without personal data.

Our own code never logs personal data. As a second line of defence the formatter leaves out
exception messages (a database error can quote a row's values; the exception's type and the
traceback's frames are kept) and masks anything shaped like an email address, which
third-party libraries (axes) put in their messages.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import traceback

from safeguarding import request_context

_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[A-Za-z]{2,}")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.current().request_id or "-"
        return True


def redact(text: str) -> str:
    return _EMAIL.sub("[email]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None)
            or request_context.current().request_id
            or "-",
            "message": redact(record.getMessage()),
        }
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            entry["status"] = status
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__qualname__
            entry["traceback"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(entry, ensure_ascii=False)
