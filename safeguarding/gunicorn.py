"""gunicorn settings for every way the service starts (`-c python:safeguarding.gunicorn`).

The access log names the path only, never a query string or a Referer: those may carry search
terms, and a log line is not the place to find out. gunicorn believes X-Forwarded-Proto only
from TRUSTED_PROXIES (the app decides the rest, safeguarding/proxies.py).

Workers and threads were measured (docs/design.md, "Performance": gunicorn): on two cores that
PostgreSQL shares, one worker a core with eight threads each served the most API submissions a
second with the shortest p95 and the least CPU a request. A worker runs Python on one core at a
time (the GIL), so fewer workers than cores leave one idle; more fight PostgreSQL and each other
for the cores (six workers: twice the CPU a request and a p95 of 8 s). A request waits on
PostgreSQL for about a third of its time, so a worker needs a few threads to keep its core
busy; eight cover that with room for the slow ones (2 x 4 was as fast on average, with a longer
p95). WEB_CONCURRENCY and WEB_THREADS override both; keep workers at the cores the host gives.
"""

from __future__ import annotations

import os

accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES") or "127.0.0.1,::1"

# The cores this process may run on (a container's cpuset, not the host's count).
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
threads = int(os.environ.get("WEB_THREADS") or 8)
