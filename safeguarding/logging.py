"""Log records carry the request id, so a line can be traced without personal data."""

from __future__ import annotations

import logging

from safeguarding import request_context


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.current().request_id or "-"
        return True
