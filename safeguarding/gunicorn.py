"""gunicorn settings for every way the service starts (`-c python:safeguarding.gunicorn`).

The access log names the path only, never a query string or a Referer: those may carry search
terms, and a log line is not the place to find out. gunicorn believes X-Forwarded-Proto only
from TRUSTED_PROXIES (the app decides the rest, safeguarding/proxies.py).
"""

from __future__ import annotations

import os

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES") or "127.0.0.1,::1"
